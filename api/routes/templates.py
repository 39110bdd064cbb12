"""Templates: the starter workflows shipped with Flow Builder, and making one the caller's own."""

from __future__ import annotations

import copy
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentUser, RequireFull, SessionDep
from api.errors import not_found
from api.routes.workflows import checked_definition, commit, created_workflow
from api.schemas.workflows import Name, WorkflowPublic, plan_summary
from shared.db import workflow_crud as crud
from shared.starters import Starter, get_starter, load_starters

router = APIRouter(tags=["templates"])

TemplateId = Annotated[str, Path(max_length=100, description="e.g. lead-router")]


class TemplatePublic(BaseModel):
    id: str
    name: str
    description: str
    node_count: int
    lane: str | None
    credit_estimate: int | None
    credentials: list[str] = Field(description="credentials (by name) to create before running it")
    definition: dict[str, Any] | None = Field(default=None, description="only when one template is asked for")

    @classmethod
    def build(cls, starter: Starter, *, with_definition: bool) -> TemplatePublic:
        lane, credits = plan_summary(starter.definition)
        return cls(
            id=starter.id,
            name=starter.name,
            description=starter.description,
            node_count=starter.node_count,
            lane=lane,
            credit_estimate=credits,
            credentials=starter.credentials,
            definition=copy.deepcopy(starter.definition) if with_definition else None,
        )


class InstantiateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = Field(default=None, description="the new workflow's name; the template's by default")


def found_starter(template_id: str) -> Starter:
    starter = get_starter(template_id)
    if starter is None:
        raise not_found("template")
    return starter


@router.get("/templates", response_model=list[TemplatePublic])
def list_templates(_user: CurrentUser) -> list[TemplatePublic]:
    """Every starter workflow, without definitions: what it does, its size, lane and credit cost."""
    return [TemplatePublic.build(starter, with_definition=False) for starter in load_starters()]


@router.get("/templates/{template_id}", response_model=TemplatePublic)
def get_template(template_id: TemplateId, _user: CurrentUser) -> TemplatePublic:
    """One starter with its definition, e.g. to preview it in the builder."""
    return TemplatePublic.build(found_starter(template_id), with_definition=True)


@router.post(
    "/templates/{template_id}/instantiate", status_code=201, response_model=WorkflowPublic, dependencies=[RequireFull]
)
def instantiate_template(
    template_id: TemplateId,
    request: Request,
    response: Response,
    session: SessionDep,
    user: CurrentUser,
    body: Annotated[InstantiateRequest | None, Body()] = None,
) -> WorkflowPublic:
    """Create a draft workflow for the caller from a starter (optionally under another `name`);
    it is the caller's own from then on and later changes to the starter don't touch it."""
    starter = found_starter(template_id)
    definition = checked_definition(copy.deepcopy(starter.definition))
    name = body.name if body is not None and body.name else starter.name
    workflow = crud.new_workflow(session, user.id, name, definition, description=starter.description)
    commit(session)
    return created_workflow(request, response, workflow, definition)
