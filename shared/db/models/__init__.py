"""All tables of the data model; importing this registers them on `SQLModel.metadata`."""

from sqlmodel import SQLModel

# Set before any table is declared, so constraint names are the same on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from shared.db.models.accounts import AuditLog, Credential, CreditLedgerEntry, RateLimitCounter
from shared.db.models.executions import Artifact, Execution, ExecutionEvent, StepRun
from shared.db.models.identity import ApiKey, User
from shared.db.models.workflows import Workflow, WorkflowVersion

__all__ = [
    "ApiKey",
    "Artifact",
    "AuditLog",
    "Credential",
    "CreditLedgerEntry",
    "Execution",
    "ExecutionEvent",
    "RateLimitCounter",
    "StepRun",
    "User",
    "Workflow",
    "WorkflowVersion",
]
