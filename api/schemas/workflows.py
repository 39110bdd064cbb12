"""Workflows in and out: Create / Update / Public, versions, export and import, validation results.

Text fields refuse NUL characters and lone surrogates (PostgreSQL text can't hold them), and
definitions are capped in size and must be plain JSON (no NaN or Infinity), so no input reaches the
database, or a response, in a shape it rejects.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from api.schemas.alerts import FailureAlerts
from api.schemas.common import Page
from shared.db.models import Workflow, WorkflowVersion
from shared.version_memo import VersionMemo

EXPORT_FORMAT = "flowbuilder.workflow/v1"
MAX_DEFINITION_BYTES = 256 * 1024
DEFINITION_KEYS = ("nodes", "edges", "timeout_s", "max_concurrency")


def storable_text(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return text


def _plain_json(definition: dict[str, Any]) -> dict[str, Any]:
    try:
        size = len(json.dumps(definition, allow_nan=False, ensure_ascii=False).encode())
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    except (ValueError, RecursionError):
        raise ValueError("must be plain JSON (no NaN or Infinity, nested at most a few hundred levels)") from None
    if size > MAX_DEFINITION_BYTES:
        raise ValueError(f"is {size} bytes; the limit is {MAX_DEFINITION_BYTES}")
    return definition


Text = Annotated[str, AfterValidator(storable_text)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
Description = Annotated[Text, Field(max_length=10_000)]
Definition = Annotated[
    dict[str, Any],
    AfterValidator(_plain_json),
    Field(description='The graph: {"nodes": [...], "edges": [...]}; see GET /node-types for node configs.'),
]
Status = Literal["draft", "active", "archived"]
VersionNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkflowCreate(StrictModel):
    name: Name
    description: Description = ""
    definition: Definition
    status: Literal["draft", "active"] = "draft"
    notify_on_failure: FailureAlerts | None = Field(default=None, description="Failure alerts; none when unset.")


class WorkflowUpdate(StrictModel):
    """Every field is optional; a field left out (or null) keeps its value. A definition equal to
    the current one does not make a new version."""

    name: Name | None = None
    description: Description | None = None
    status: Status | None = None
    definition: Definition | None = None
    notify_on_failure: FailureAlerts | None = Field(
        default=None, description="Replaces the failure alerts; an empty object turns them off."
    )


class WorkflowPublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    status: str
    current_version: int
    cron: str | None
    timezone: str
    schedule_enabled: bool
    misfire_policy: str
    next_run_at: datetime | None
    has_webhook: bool
    created_at: datetime
    updated_at: datetime
    notify_on_failure: dict[str, str] | None = Field(
        default=None, description="Failure alerts (email, webhook_url, smtp_credential); null when off."
    )
    lane: str | None = Field(description="light | browser; null when the definition no longer plans")
    credit_estimate: int | None = Field(description="credits to run every node once")
    definition: dict[str, Any] | None = Field(
        default=None, description="the current version's definition; only on single-workflow responses"
    )

    @classmethod
    def build(cls, workflow: Workflow, definition: dict[str, Any] | None, *, with_definition: bool) -> WorkflowPublic:
        lane, credits = version_summary(workflow.id, workflow.current_version, definition)
        return cls(
            **workflow.model_dump(exclude={"definition"}),
            has_webhook=workflow.webhook_token_hash is not None,
            lane=lane,
            credit_estimate=credits,
            definition=definition if with_definition else None,
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> WorkflowPublic:
        """From `workflow_crud.owned_workflow_row`: the workflow's columns and its `definition`."""
        definition = row["definition"] if row["definition"] is not None else {}
        lane, credits = version_summary(row["id"], row["current_version"], definition)
        fields = {name: row[name] for name in WORKFLOW_COLUMNS}
        has_webhook = row["webhook_token_hash"] is not None
        return cls(**fields, has_webhook=has_webhook, lane=lane, credit_estimate=credits, definition=definition)


WORKFLOW_COLUMNS = tuple(name for name in WorkflowPublic.model_fields if name in Workflow.__table__.columns)
"""The public fields that are columns of `workflow` as they are."""

WorkflowsPublic = Page[WorkflowPublic]


class VersionPublic(BaseModel):
    version: int
    created_at: datetime
    current: bool
    node_count: int
    definition: dict[str, Any] | None = Field(default=None, description="only when one version is asked for")

    @classmethod
    def build(cls, found: WorkflowVersion, workflow: Workflow, *, with_definition: bool) -> VersionPublic:
        nodes = found.definition.get("nodes")
        return cls(
            version=found.version,
            created_at=found.created_at,
            current=found.version == workflow.current_version,
            node_count=len(nodes) if isinstance(nodes, list) else 0,
            definition=found.definition if with_definition else None,
        )


VersionsPublic = Page[VersionPublic]


class RollbackRequest(StrictModel):
    version: VersionNumber = Field(description="the version whose definition becomes a new current version")


class WorkflowExport(BaseModel):
    format: Literal["flowbuilder.workflow/v1"] = EXPORT_FORMAT
    name: str
    description: str
    definition: dict[str, Any]


class WorkflowImport(StrictModel):
    """An export (`{"format", "name", "description", "definition"}`), or a bare definition with a
    name beside its nodes and edges (`{"name", "nodes", "edges"}`)."""

    format: Literal["flowbuilder.workflow/v1"] | None = None
    name: Name
    description: Description = ""
    definition: Definition
    status: Literal["draft", "active"] = "draft"

    @model_validator(mode="before")
    @classmethod
    def _bare_definition(cls, data: Any) -> Any:
        if isinstance(data, dict) and "definition" not in data and "nodes" in data:
            data = dict(data)
            data["definition"] = {key: data.pop(key) for key in DEFINITION_KEYS if key in data}
        return data


class DefinitionCheck(StrictModel):
    definition: Definition


class IssuePublic(BaseModel):
    field: str | None
    node: str | None
    message: str


class ValidationResult(BaseModel):
    valid: bool
    issues: list[IssuePublic]
    lane: str | None
    credit_estimate: int | None


_VERSION_SUMMARIES: VersionMemo[tuple[str | None, int | None]] = VersionMemo()


def version_summary(
    workflow_id: uuid.UUID, version: int, definition: dict[str, Any] | None
) -> tuple[str | None, int | None]:
    """`plan_summary` of a workflow's version, remembered: versions never change, so listing and
    reading workflows plan each version once per process."""
    return _VERSION_SUMMARIES.get_or_compute(workflow_id, version, lambda: plan_summary(definition))


def plan_summary(definition: dict[str, Any] | None) -> tuple[str | None, int | None]:
    """(lane, credit estimate) of a stored definition, or (None, None) when it no longer plans (a
    node type was removed, say). Cheaper than full validation: stored definitions passed it once."""
    from shared.engine.definition import WorkflowDefinition
    from shared.engine.planner import build_plan
    from shared.nodes import default_registry

    if not definition:
        return None, None
    try:
        plan = build_plan(WorkflowDefinition.model_validate(definition), default_registry())
    except (ValidationError, KeyError, TypeError, ValueError):
        return None, None
    return plan.lane, plan.credit_estimate()
