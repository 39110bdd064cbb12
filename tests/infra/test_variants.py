"""The options that change the shape of the stack, each synthesized in a small stack of its own."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk.assertions import Template

from infra.config import StackConfig
from infra.data import Data
from infra.network import Network


def test_nat_gateways_option_puts_a_managed_gateway_in_each_zone_and_no_instance(tmp_path):
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Net")
    Network(stack, "Network", nat="gateway")
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::NatGateway", 2)
    template.resource_count_is("AWS::EC2::Instance", 0)


def test_database_encryption_option_creates_a_base64_master_key_secret(tmp_path):
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Db")
    config = StackConfig(vault_backend="database")
    network = Network(stack, "Network", nat="instance")
    data = Data(stack, "Data", network=network, config=config)
    template = Template.from_stack(stack).to_json()
    key = template["Resources"][stack.get_logical_id(data.master_key_secret.node.default_child)]
    joined = key["Properties"]["SecretString"]["Fn::Join"][1]
    assert joined[-1].endswith("}}=")  # 43 base64 letters and digits, then "=": 32 bytes
    assert key["DeletionPolicy"] == "Retain"  # losing it loses every stored credential
    material = next(
        resource["Properties"]["GenerateSecretString"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::SecretsManager::Secret"
        and resource["Properties"].get("GenerateSecretString", {}).get("PasswordLength") == 43
    )
    assert material["ExcludePunctuation"] is True
    assert "{{resolve:secretsmanager:" in json.dumps(joined)
