"""The scheduler Lambda: an EventBridge schedule invokes `scheduler_lambda.handler.handler` every minute."""
