"""The database, the wake gate, the artifacts bucket, the settings secret, and who may reach them."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from tests.infra.test_lanes import logical_id


def test_database_is_aurora_serverless_v2_that_pauses_at_zero_acu(synthesized):
    synthesized.template.has_resource_properties(
        "AWS::RDS::DBCluster",
        {
            "Engine": "aurora-postgresql",
            "StorageEncrypted": True,
            "ServerlessV2ScalingConfiguration": {"MinCapacity": 0, "MaxCapacity": 2, "SecondsUntilAutoPause": 300},
            "MasterUsername": Match.any_value(),
            "MasterUserPassword": Match.any_value(),
        },
    )
    synthesized.template.has_resource_properties(
        "AWS::RDS::DBInstance", {"DBInstanceClass": "db.serverless", "Engine": "aurora-postgresql"}
    )


def test_database_credentials_are_generated_into_secrets_manager(synthesized):
    cluster = next(iter(synthesized.resources("AWS::RDS::DBCluster").values()))["Properties"]
    password = json.dumps(cluster["MasterUserPassword"])
    assert "{{resolve:secretsmanager:" in password
    synthesized.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({"GenerateStringKey": "password"})},
    )


def test_database_lives_in_the_isolated_subnets(synthesized):
    stack = synthesized.stack
    isolated = {stack.resolve(subnet.subnet_id)["Ref"] for subnet in stack.network.vpc.isolated_subnets}
    group = next(iter(synthesized.resources("AWS::RDS::DBSubnetGroup").values()))["Properties"]
    assert {subnet["Ref"] for subnet in group["SubnetIds"]} == isolated


def test_database_admits_only_the_functions_and_the_browser_tasks(synthesized):
    stack = synthesized.stack
    cluster_group = stack.resolve(stack.data.database.connections.security_groups[0].security_group_id)
    sources = {
        json.dumps(rule["Properties"]["SourceSecurityGroupId"])
        for rule in synthesized.resources("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == cluster_group
    }
    assert sources == {
        json.dumps(stack.resolve(group.security_group_id))
        for group in (stack.workers.task_security_group, _function_security_group(stack))
    }


def _function_security_group(stack):
    return stack.node.find_child("Runtime").function_security_group


def test_settings_secret_holds_the_database_url_by_reference_never_the_password(synthesized):
    stack = synthesized.stack
    secret = synthesized.resources("AWS::SecretsManager::Secret")[logical_id(stack, stack.data.settings_secret)]
    rendered = json.dumps(secret["Properties"]["SecretString"])
    assert "postgresql+psycopg://" in rendered
    assert "{{resolve:secretsmanager:" in rendered and ":SecretString:password::}}" in rendered
    assert "guest_ip_salt" in rendered
    assert 'smtp_password\\":\\"{{resolve:secretsmanager:flowbuilder/smtp-password:SecretString:::}}' in rendered


def test_extra_settings_reach_every_process_but_cannot_override_the_stacks_own(synthesized):
    functions = synthesized.resources("AWS::Lambda::Function").values()
    ours = [f["Properties"]["Environment"]["Variables"] for f in functions if "FLOWBUILDER_MODE" in str(f)]
    assert ours and all(env["FLOWBUILDER_SMTP_HOST"] == "smtp.example.com" for env in ours)
    assert all(env["FLOWBUILDER_MODE"] == "aws" for env in ours)


def test_wake_gate_is_an_on_demand_table_keyed_by_id(synthesized):
    synthesized.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )


def test_artifacts_bucket_is_private_encrypted_tls_only_and_expires_objects(synthesized):
    stack = synthesized.stack
    bucket_id = logical_id(stack, stack.data.artifacts)
    synthesized.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "LifecycleConfiguration": {
                "Rules": Match.array_with([Match.object_like({"ExpirationInDays": 30, "Status": "Enabled"})])
            },
        },
    )
    assert "LifecycleConfiguration" in synthesized.resources("AWS::S3::Bucket")[bucket_id]["Properties"]
    synthesized.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": bucket_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            },
        },
    )


def test_no_secret_value_is_in_any_environment(synthesized):
    environments = [
        function["Properties"].get("Environment", {}).get("Variables", {})
        for function in synthesized.resources("AWS::Lambda::Function").values()
    ]
    for task in synthesized.resources("AWS::ECS::TaskDefinition").values():
        for container in task["Properties"]["ContainerDefinitions"]:
            environments.append({item["Name"]: item["Value"] for item in container.get("Environment", [])})
            assert "Secrets" not in container
    ours = [env for env in environments if "FLOWBUILDER_MODE" in env]
    assert len(ours) == 5  # api, scheduler, migrations, light worker, browser task
    for env in environments:
        for name, value in env.items():
            assert "{{resolve:" not in json.dumps(value), name
            assert not any(word in name for word in ("PASSWORD", "SALT", "DATABASE_URL", "TOKEN", "PRIVATE")), name
    for env in ours:
        assert env["FLOWBUILDER_SETTINGS_SECRET_ID"] == {
            "Ref": logical_id(synthesized.stack, synthesized.stack.data.settings_secret)
        }
        assert env["FLOWBUILDER_MODE"] == "aws"


def _policies_of(synthesized, role_logical_id: str) -> list[dict]:
    statements = []
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _role_of(stack, function) -> str:
    return logical_id(stack, function.role)


def _actions(statement) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else actions


def test_each_function_may_use_only_its_own_queues(synthesized):
    stack = synthesized.stack
    light, browser = stack.queues.light.queue, stack.queues.browser.queue
    light_arn = {"Fn::GetAtt": [logical_id(stack, light), "Arn"]}
    browser_arn = {"Fn::GetAtt": [logical_id(stack, browser), "Arn"]}

    def receives(role):
        return [s["Resource"] for s in _policies_of(synthesized, role) if "sqs:ReceiveMessage" in _actions(s)]

    def sends(role):
        return [s["Resource"] for s in _policies_of(synthesized, role) if "sqs:SendMessage" in _actions(s)]

    light_role = _role_of(stack, stack.workers.light_function)
    assert receives(light_role) == [light_arn]
    assert sends(light_role) == [browser_arn]  # past its deadline an execution goes to Fargate, never back
    assert receives(_role_of(stack, stack.api.function)) == []
    assert receives(_role_of(stack, stack.scheduler.function)) == []
    task_role = logical_id(stack, stack.workers.task_definition.task_role)
    assert receives(task_role) == []
    assert sends(task_role) == [browser_arn]
    pipe_role = stack.resolve(stack.workers.pipe.role_arn)["Fn::GetAtt"][0]
    assert receives(pipe_role) == [browser_arn]


def test_credential_secrets_are_reachable_only_under_the_prefix_with_the_least_actions(synthesized):
    stack = synthesized.stack
    expected = {
        _role_of(stack, stack.api.function): {"secretsmanager:CreateSecret", "secretsmanager:DeleteSecret"},
        _role_of(stack, stack.scheduler.function): {"secretsmanager:DeleteSecret"},
        _role_of(stack, stack.workers.light_function): {"secretsmanager:GetSecretValue"},
        logical_id(stack, stack.workers.task_definition.task_role): {"secretsmanager:GetSecretValue"},
    }
    for role, must_have in expected.items():
        prefixed = [
            s
            for s in _policies_of(synthesized, role)
            if "secret:flowbuilder/credentials/*" in json.dumps(s["Resource"])
        ]
        assert len(prefixed) == 1, role
        actions = set(_actions(prefixed[0]))
        assert must_have <= actions
        if must_have == {"secretsmanager:GetSecretValue"}:
            assert actions == must_have
    scheduler_actions = {
        a
        for s in _policies_of(synthesized, _role_of(stack, stack.scheduler.function))
        if "credentials" in json.dumps(s["Resource"])
        for a in _actions(s)
    }
    assert "secretsmanager:CreateSecret" not in scheduler_actions


def test_nothing_may_touch_every_secret(synthesized):
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if any(action.startswith("secretsmanager:") for action in _actions(statement)):
                assert statement["Resource"] != "*"


def test_gate_table_is_used_only_by_the_processes_that_lower_or_read_it(synthesized):
    stack = synthesized.stack
    table = {"Fn::GetAtt": [logical_id(stack, stack.data.gate_table), "Arn"]}
    holders = set()
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if table in resources:
                holders.update(role["Ref"] for role in policy["Properties"]["Roles"])
    assert holders == {
        _role_of(stack, stack.api.function),
        _role_of(stack, stack.scheduler.function),
        _role_of(stack, stack.workers.light_function),
        logical_id(stack, stack.workers.task_definition.task_role),
    }


def test_cheap_network_a_nat_instance_and_free_gateway_endpoints(synthesized):
    assert synthesized.resources("AWS::EC2::NatGateway") == {}
    synthesized.template.has_resource_properties("AWS::EC2::Instance", {"InstanceType": "t4g.nano"})
    endpoints = synthesized.resources("AWS::EC2::VPCEndpoint").values()
    assert {e["Properties"]["VpcEndpointType"] for e in endpoints} == {"Gateway"}
    names = json.dumps([e["Properties"]["ServiceName"] for e in endpoints])
    assert ".s3" in names and ".dynamodb" in names


def test_migrations_run_on_deploy_after_the_database_and_before_new_code(synthesized):
    stack = synthesized.stack
    (trigger_id, trigger), *_ = synthesized.template.find_resources("Custom::Trigger").items()
    assert logical_id(stack, stack.data.database) in trigger["DependsOn"]
    functions = synthesized.resources("AWS::Lambda::Function")
    for function in (stack.api.function, stack.scheduler.function, stack.workers.light_function):
        assert trigger_id in functions[logical_id(stack, function)]["DependsOn"]
    synthesized.template.has_resource_properties("AWS::Lambda::Function", {"Handler": "infra.migrate_handler.handler"})


def test_artifacts_bucket_lets_the_web_app_read_presigned_objects_cross_origin(synthesized):
    stack = synthesized.stack
    bucket = synthesized.resources("AWS::S3::Bucket")[logical_id(stack, stack.data.artifacts)]

    [rule] = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    assert sorted(rule["AllowedMethods"]) == ["GET", "HEAD"]
