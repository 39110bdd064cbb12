"""The workflow engine: definition schema and validation, templating, planner and runner.

Imports no FastAPI, boto3 or Powertools: storage, credentials and HTTP reach it through
small interfaces.
"""
