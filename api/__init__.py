"""The HTTP API: a FastAPI app built by `api.app.create_app(settings)`; `api.handler` is the Lambda entry."""
