"""Alarms to one topic, log retention and structured logs everywhere."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.infra.test_lanes import logical_id


def alarms(synthesized) -> list[dict]:
    return [alarm["Properties"] for alarm in synthesized.resources("AWS::CloudWatch::Alarm").values()]


def test_every_alarm_notifies_the_alarm_topic(synthesized):
    topic = {"Ref": logical_id(synthesized.stack, synthesized.stack.observability.topic)}
    assert alarms(synthesized)
    for alarm in alarms(synthesized):
        assert alarm["AlarmActions"] == [topic]
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_any_message_in_a_dead_letter_queue_raises_an_alarm(synthesized):
    stack = synthesized.stack
    watched = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in alarms(synthesized)
        if alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    assert watched == {logical_id(stack, queue) for queue in stack.queues.dead_letter_queues.values()}


def test_function_errors_raise_alarms(synthesized):
    stack = synthesized.stack
    watched = {
        alarm["Dimensions"][0]["Value"]["Ref"] for alarm in alarms(synthesized) if alarm["MetricName"] == "Errors"
    }
    functions = (stack.api.function, stack.scheduler.function, stack.workers.light_function, stack.migrations.function)
    assert watched == {logical_id(stack, function) for function in functions}


def test_stale_executions_reported_by_the_scheduler_raise_an_alarm(synthesized):
    synthesized.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "FlowBuilder",
            "MetricName": "StaleExecutions",
            "Dimensions": [{"Name": "service", "Value": "flowbuilder-scheduler"}],
            "Statistic": "Sum",
            "Threshold": 0,
        },
    )


def test_alarm_topic_refuses_publishing_without_tls(synthesized):
    synthesized.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_every_log_group_has_a_retention(synthesized):
    groups = synthesized.resources("AWS::Logs::LogGroup")
    assert groups
    assert all(group["Properties"].get("RetentionInDays") == 30 for group in groups.values())
    synthesized.template.has_resource_properties("Custom::LogRetention", {"RetentionInDays": 30})


def test_our_functions_log_json_into_their_own_log_group(synthesized):
    ours = [
        function["Properties"]
        for function in synthesized.resources("AWS::Lambda::Function").values()
        if "FLOWBUILDER_MODE" in function["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert len(ours) == 4
    for function in ours:
        assert function["LoggingConfig"]["LogFormat"] == "JSON"
        assert "Ref" in function["LoggingConfig"]["LogGroup"]
        assert function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"].startswith("flowbuilder-")
