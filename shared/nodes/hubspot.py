"""`hubspot.upsert_contact`: create or update a HubSpot CRM contact by email (CRM API v3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from shared.engine.errors import NodeError
from shared.nodes.json_api import credential_of, joined_url, post_json
from shared.nodes.registry import NodeType
from shared.nodes.service_call import MESSAGE_CHARS, ServiceReply

if TYPE_CHECKING:
    from shared.engine.context import NodeContext

UPSERT_PATH = "/crm/v3/objects/contacts/batch/upsert"
PropertyValue = str | int | float | bool | None


def _error_text(body: Any) -> str | None:
    """HubSpot errors: {"status": "error", "message", "category", "correlationId"}."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return None
    category = body.get("category")
    return f"{body['message']} ({category})" if isinstance(category, str) else body["message"]


class UpsertContactConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="hubspot.upsert_contact")

    credential: str = Field(
        description="Name of a stored hubspot credential (a private app token with crm.objects.contacts.write).",
        examples=["hubspot-main"],
    )
    email: str = Field(
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="The contact's email address: the contact with it is updated, or created when there is none.",
        examples=["{{ input.email }}"],
    )
    properties: dict[str, PropertyValue] = Field(
        default_factory=dict,
        description="Contact properties by internal name (firstname, lastname, phone, company, lifecyclestage, ...).",
        examples=[{"firstname": "{{ input.first_name }}", "lifecyclestage": "lead"}],
    )
    timeout_s: float | None = Field(
        default=None, gt=0, description="Time limit of the request; capped by the server's limit.", examples=[15]
    )


async def run_upsert_contact(ctx: NodeContext, config: UpsertContactConfig) -> dict[str, Any]:
    """Create or update a HubSpot contact identified by its email; returns its id, whether it was created,
    and its properties.

    Uses the CRM v3 batch upsert with `idProperty=email`, so running the step again (a retry) updates
    the same contact instead of creating a duplicate; HubSpot takes no idempotency key, and needs none
    here. Property values are sent as text, the way HubSpot stores them. A validation error (an unknown
    property, a bad value) fails the step with HubSpot's message; rate limits (429) and server errors
    are retried when the node has retries.
    """
    values = await credential_of(ctx, config.credential, "hubspot")
    properties = {name: _as_text(value) for name, value in config.properties.items()}
    properties["email"] = config.email
    body = {"inputs": [{"idProperty": "email", "id": config.email, "properties": properties}]}
    reply = await post_json(
        ctx,
        "HubSpot",
        joined_url(values["base_url"], UPSERT_PATH),
        body,
        read_error=_read_error,
        headers={"Authorization": f"Bearer {values['token']}"},
        timeout_s=config.timeout_s,
    )
    parsed = reply.json()
    result = parsed if isinstance(parsed, dict) else {}
    errors = result.get("errors") or []
    results = result.get("results") or []
    if errors or not results:
        messages = "; ".join(_error_text(error) or str(error) for error in errors) or reply.text()
        raise NodeError(f"HubSpot did not upsert {config.email}: {messages[:MESSAGE_CHARS]}")
    contact = results[0]
    return {
        "id": contact.get("id"),
        "created": bool(contact.get("new")),
        "properties": contact.get("properties", {}),
        "updated_at": contact.get("updatedAt"),
    }


def _read_error(reply: ServiceReply) -> str | None:
    return _error_text(reply.json())


def _as_text(value: PropertyValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


NODE_TYPES = (
    NodeType(
        name="hubspot.upsert_contact",
        config_model=UpsertContactConfig,
        run=run_upsert_contact,
        cost=1,
        side_effects=True,
    ),
)
