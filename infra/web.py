"""The site: CloudFront in front of a private S3 bucket (origin access control) for the web app,
and `/api/*` to the API's function URL, uncached, with every header but Host forwarded (the
Authorization header included). `config.json` tells the web app where the API is."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from infra.config import StackConfig
from infra.nag import suppress

API_PATH = "/api/*"
API_BASE = "/api"
API_READ_TIMEOUT = Duration.seconds(30)


class Web(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        api_url: lambda_.FunctionUrl,
        logs_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix="site/",
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True
                ),
                xss_protection=cloudfront.ResponseHeadersXSSProtection(protection=True, mode_block=True, override=True),
            ),
        )
        api_origin = origins.FunctionUrlOrigin(api_url, read_timeout=API_READ_TIMEOUT)
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", config.certificate_arn)
            if config.domain_name
            else None
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Flow Builder",
            default_root_object="index.html",
            domain_names=[config.domain_name] if config.domain_name else None,
            certificate=certificate,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=logs_bucket,
            log_file_prefix="cloudfront/",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                compress=True,
            ),
            additional_behaviors={
                API_PATH: cloudfront.BehaviorOptions(
                    origin=api_origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=headers,
                    compress=False,  # event streams must not wait for a compressor's buffer
                )
            },
            error_responses=[  # client-side routes: the app's index.html answers them
                cloudfront.ErrorResponse(
                    http_status=status,
                    response_http_status=200,
                    response_page_path="/index.html",
                    ttl=Duration.seconds(0),
                )
                for status in (403, 404)
            ],
        )
        suppress(
            self.distribution,
            ("AwsSolutions-CFR1", "Geo restrictions are a product decision; the app is meant to be reachable anywhere"),
            ("AwsSolutions-CFR2", "AWS WAF costs at least 5 USD a month idle; the API rate-limits every identity"),
            (
                "AwsSolutions-CFR4",
                "The default *.cloudfront.net certificate allows TLSv1; set domain_name for a TLSv1.2 minimum",
            ),
        )
        self._deploy_site(config)

    def _deploy_site(self, config: StackConfig) -> None:
        """The built app (when `web_dist` exists at synth time) and `config.json` beside it."""
        runtime_config = {
            "apiBase": API_BASE,
            "mode": "aws",
            "clerkPublishableKey": config.clerk_publishable_key or None,
        }
        sources = [s3_deployment.Source.json_data("config.json", runtime_config)]
        dist = Path(config.web_dist)
        if (dist / "index.html").is_file():
            sources.insert(0, s3_deployment.Source.asset(str(dist)))
        s3_deployment.BucketDeployment(
            self,
            "Deploy",
            sources=sources,
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/index.html", "/config.json"],
            prune=False,
            memory_limit=256,
        )
