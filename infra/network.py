"""The VPC: public subnets (NAT, Fargate tasks with a public IP), private subnets with egress
(the Lambdas: they need the database and the internet) and isolated subnets (the database).

A NAT gateway costs about 32 USD a month idle, each; a t4g.nano NAT instance about 3. The
instance is the default (`nat=instance`); `nat=gateway` puts a managed gateway in each AZ."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from infra.nag import suppress

AZS = 2


class Network(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, nat: str) -> None:
        super().__init__(scope, construct_id)
        if nat == "gateway":
            provider, nat_count = ec2.NatProvider.gateway(), AZS
        else:
            provider = ec2.NatProvider.instance_v2(
                instance_type=ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.NANO),
                machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=ec2.AmazonLinuxCpuType.ARM_64),
                default_allowed_traffic=ec2.NatTrafficDirection.OUTBOUND_ONLY,
                associate_public_ip_address=True,
            )
            nat_count = 1
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=AZS,
            nat_gateway_provider=provider,
            nat_gateways=nat_count,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="Functions", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22),
                ec2.SubnetConfiguration(name="Database", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDB": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
            },
            restrict_default_security_group=True,
        )
        if nat != "gateway":
            provider.security_group.add_ingress_rule(
                ec2.Peer.ipv4(self.vpc.vpc_cidr_block), ec2.Port.all_traffic(), "NAT for the private subnets"
            )
            suppress(
                self.vpc,
                ("AwsSolutions-EC26", "The NAT instance keeps no data: its root volume holds only the OS"),
                ("AwsSolutions-EC28", "Detailed monitoring would cost more than the NAT instance itself"),
                ("AwsSolutions-EC29", "The NAT instance is disposable: CloudFormation replaces it"),
                ("CdkNagValidationFailure", "EC23 cannot read the VPC's CIDR token; the rule admits only the VPC"),
            )
        suppress(
            self.vpc,
            ("AwsSolutions-VPC7", "Flow logs are billed per GB; enable them when investigating traffic"),
        )

    @property
    def lambda_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

    @property
    def task_subnet_ids(self) -> list[str]:
        """Fargate tasks: public subnets, a public IP each, no inbound rules; no NAT needed."""
        return self.vpc.select_subnets(subnet_type=ec2.SubnetType.PUBLIC).subnet_ids

    @property
    def database_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
