"""CloudFront: the web app from a private bucket, `/api/*` to the API uncached, security headers,
and the runtime `config.json` the web app reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from tests.infra.test_lanes import logical_id

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def distribution_config(synthesized) -> dict:
    return next(iter(synthesized.resources("AWS::CloudFront::Distribution").values()))["Properties"][
        "DistributionConfig"
    ]


def test_api_paths_go_to_the_api_function_uncached_with_every_viewer_header_but_host(synthesized):
    stack = synthesized.stack
    config = distribution_config(synthesized)
    (api,) = config["CacheBehaviors"]
    assert api["PathPattern"] == "/api/*"
    assert api["CachePolicyId"] == CACHING_DISABLED
    assert api["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER  # Authorization included
    assert set(api["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert api["ViewerProtocolPolicy"] == "https-only"
    origin = next(o for o in config["Origins"] if o["Id"] == api["TargetOriginId"])
    url_id = stack.resolve(stack.api.url.url)["Fn::GetAtt"][0]
    assert json.dumps(origin["DomainName"]).count(url_id) == 1
    assert origin["CustomOriginConfig"]["OriginReadTimeout"] == 30
    synthesized.template.has_resource_properties(
        "AWS::Lambda::Url", {"AuthType": "NONE", "TargetFunctionArn": Match.any_value()}
    )


def test_the_default_behaviour_serves_the_private_site_bucket_through_origin_access_control(synthesized):
    stack = synthesized.stack
    config = distribution_config(synthesized)
    default = config["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    origin = next(o for o in config["Origins"] if o["Id"] == default["TargetOriginId"])
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert "OriginAccessControlId" in origin
    site = logical_id(stack, stack.web.bucket)
    assert origin["DomainName"] == {"Fn::GetAtt": [site, "RegionalDomainName"]}
    synthesized.template.has_resource_properties(
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": Match.object_like(
                {"OriginAccessControlOriginType": "s3", "SigningBehavior": "always"}
            )
        },
    )
    bucket = synthesized.resources("AWS::S3::Bucket")[site]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert {
        "ErrorCode": 404,
        "ResponseCode": 200,
        "ResponsePagePath": "/index.html",
        "ErrorCachingMinTTL": 0,
    } in config["CustomErrorResponses"]


def test_every_behaviour_sends_security_headers(synthesized):
    synthesized.template.has_resource_properties(
        "AWS::CloudFront::ResponseHeadersPolicy",
        {
            "ResponseHeadersPolicyConfig": Match.object_like(
                {
                    "SecurityHeadersConfig": Match.object_like(
                        {
                            "StrictTransportSecurity": Match.object_like({"AccessControlMaxAgeSec": 31536000}),
                            "ContentTypeOptions": {"Override": True},
                            "FrameOptions": {"FrameOption": "DENY", "Override": True},
                            "ReferrerPolicy": Match.any_value(),
                        }
                    )
                }
            )
        },
    )
    config = distribution_config(synthesized)
    policy_id = config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]
    assert all(b["ResponseHeadersPolicyId"] == policy_id for b in config["CacheBehaviors"])


def test_config_json_tells_the_web_app_where_the_api_is_and_clerks_key(synthesized):
    synthesized.template.has_resource_properties(
        "Custom::CDKBucketDeployment",
        {
            "SourceMarkers": Match.array_with([Match.object_like({})]),
            "DistributionPaths": ["/index.html", "/config.json"],
        },
    )
    deployment = next(iter(synthesized.template.find_resources("Custom::CDKBucketDeployment").values()))
    assert len(deployment["Properties"]["SourceObjectKeys"]) == 1  # no web/dist: config.json alone
    staged = list(Path(synthesized.stack.node.root.outdir).rglob("config.json"))
    assert staged, "the config.json asset is staged"
    assert json.loads(staged[0].read_text()) == {
        "apiBase": "/api",
        "mode": "aws",
        "clerkPublishableKey": "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k",
    }


@pytest.fixture(scope="module")
def site_with_dist(tmp_path_factory):
    """The Web construct alone, in a small stack, with a built web app present."""
    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_s3 as s3
    from aws_cdk.assertions import Template

    from infra.config import StackConfig
    from infra.web import Web

    root = tmp_path_factory.mktemp("site")
    dist = root / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>Flow Builder</title>")
    app = cdk.App(outdir=str(root / "cdk.out"))
    stack = cdk.Stack(app, "Site")
    function = lambda_.Function(
        stack,
        "Api",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c): return None"),
    )
    url = function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
    config = StackConfig(
        web_dist=str(dist),
        domain_name="flows.example.com",
        certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/abc",
    )
    Web(stack, "Web", config=config, api_url=url, logs_bucket=s3.Bucket(stack, "Logs"))
    return Template.from_stack(stack)


def test_a_built_web_app_is_deployed_beside_config_json(site_with_dist):
    deployment = next(iter(site_with_dist.find_resources("Custom::CDKBucketDeployment").values()))
    assert len(deployment["Properties"]["SourceObjectKeys"]) == 2


def test_a_custom_domain_gets_its_certificate_and_tls_1_2(site_with_dist):
    site_with_dist.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "Aliases": ["flows.example.com"],
                    "ViewerCertificate": Match.object_like(
                        {"MinimumProtocolVersion": "TLSv1.2_2021", "SslSupportMethod": "sni-only"}
                    ),
                }
            )
        },
    )
