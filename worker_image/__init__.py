"""The workers' deployable entry points: `python -m worker_image` (the browser lane's Fargate task)
and `worker_image.light_lambda.handler` (the light lane's Lambda). The logic is in `shared.workers`."""
