"""Flow Builder's domain: settings, data, the workflow engine, nodes and the CLI.

Nothing here imports FastAPI, boto3 or CDK at import time, so the same code runs in a
test, a Lambda, a Fargate task and on a laptop.
"""
