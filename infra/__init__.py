"""The CDK app (`python -m infra.app`): one stack assembled from small constructs.

Nothing here imports the CDK at package import: `infra.migrate_handler` ships inside the Lambda
code, where the CDK is not installed."""
