"""Stored credentials: create, list, read, replace and delete, by name, owner-scoped.

Values are write-only: they go into the vault and never come back out through the API, not even
masked. Another owner's credential answers 404, exactly like a missing one.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.deps import CurrentUser, RequireFull, ServicesDep
from api.errors import ApiError, not_found
from api.schemas.credentials import (
    CredentialCreate,
    CredentialName,
    CredentialPublic,
    CredentialsPublic,
    CredentialTypePublic,
    CredentialUpdate,
)
from shared.db.models import User
from shared.vault.local import VaultDecryptError
from shared.vault.secretsmanager import SecretsManagerError
from shared.vault.store import BackendMismatch, CredentialExists, CredentialInfo, CredentialVault, vault_from_settings
from shared.vault.types import GUEST_FORBIDDEN_TYPES, SIGNING_NAME_PREFIX, CredentialInvalid

router = APIRouter(tags=["credentials"])
_vault_lock = threading.Lock()


def get_vault(request: Request, services: ServicesDep) -> CredentialVault:
    """One vault per app, so the Secrets Manager client and read cache are shared by requests."""
    state = request.app.state
    with _vault_lock:
        vault = getattr(state, "credential_vault", None)
        if vault is None:
            vault = state.credential_vault = vault_from_settings(services.engine, services.settings)
        return vault


VaultDep = Annotated[CredentialVault, Depends(get_vault)]


def public(info: CredentialInfo) -> CredentialPublic:
    return CredentialPublic(**asdict(info))


def invalid(exc: CredentialInvalid) -> ApiError:
    details = [{"field": field, "node": None, "message": message} for field, message in exc.problems]
    return ApiError(422, "validation_error", f"the credential is invalid: {exc}", details)


def store_failed(exc: Exception) -> ApiError:
    """The secret store refused or failed (Secrets Manager down, a backend switched under a row)."""
    if isinstance(exc, BackendMismatch):
        return ApiError(409, "conflict", str(exc))
    return ApiError(502, "secret_store_error", f"the secret store failed: {exc}")


STORE_ERRORS = (BackendMismatch, SecretsManagerError, VaultDecryptError)


def check_guest_may_store(user: User, type_: str | None) -> None:
    """Guests cannot store credentials of paid integrations (`GUEST_FORBIDDEN_TYPES`: email, SMS)."""
    if user.kind == "guest" and type_ in GUEST_FORBIDDEN_TYPES:
        raise ApiError(
            403,
            "guest_not_allowed",
            f"guests cannot store `{type_}` credentials: sign in to use paid integrations such as email and SMS",
        )


def is_hidden(name: str) -> bool:
    """Webhook signing secrets live in the vault too, but only the webhook routes manage them."""
    return name.startswith(SIGNING_NAME_PREFIX)


@router.get("/credential-types", response_model=list[CredentialTypePublic])
def list_credential_types(user: CurrentUser) -> list[CredentialTypePublic]:
    """Every credential type with the JSON Schema of its values (for forms: which fields, which are
    secret), and whether the caller may store it (guests cannot store paid integrations' types)."""
    from shared.vault.types import CREDENTIAL_TYPES

    return [
        CredentialTypePublic(
            type=name,
            values_schema=model.model_json_schema(),
            allowed=not (user.kind == "guest" and name in GUEST_FORBIDDEN_TYPES),
        )
        for name, model in CREDENTIAL_TYPES.items()
    ]


@router.post("/credentials", status_code=201, response_model=CredentialPublic, dependencies=[RequireFull])
def create_credential(
    body: CredentialCreate, request: Request, response: Response, user: CurrentUser, vault: VaultDep
) -> CredentialPublic:
    """Store a credential. 422 names the field at fault (`type`, `values.<field>`); 409 when the
    name is taken; 403 `guest_not_allowed` for a guest storing a paid integration's type (`smtp`).
    The values are never returned."""
    check_guest_may_store(user, body.type)
    if is_hidden(body.name):
        raise invalid(CredentialInvalid([("name", f"names starting with {SIGNING_NAME_PREFIX!r} are reserved")]))
    try:
        info = vault.create(user.id, body.name, body.type, body.values)
    except CredentialInvalid as exc:
        raise invalid(exc) from None
    except CredentialExists as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except STORE_ERRORS as exc:
        raise store_failed(exc) from None
    response.headers["Location"] = request.app.url_path_for("get_credential", name=info.name)
    return public(info)


@router.get("/credentials", response_model=CredentialsPublic)
def list_credentials(user: CurrentUser, vault: VaultDep) -> CredentialsPublic:
    """The caller's credentials by name: type, backend and timestamps, never values."""
    found = [public(info) for info in vault.list(user.id) if not is_hidden(info.name)]
    return CredentialsPublic(data=found, count=len(found))


@router.get("/credentials/{name}", response_model=CredentialPublic)
def get_credential(name: CredentialName, user: CurrentUser, vault: VaultDep) -> CredentialPublic:
    """One credential's name, type, backend and timestamps; never its values."""
    info = None if is_hidden(name) else vault.info(user.id, name)
    if info is None:
        raise not_found("credential")
    return public(info)


@router.put("/credentials/{name}", response_model=CredentialPublic, dependencies=[RequireFull])
def replace_credential(
    name: CredentialName, body: CredentialUpdate, user: CurrentUser, vault: VaultDep
) -> CredentialPublic:
    """Replace all the values (and the type, when given); running executions that already read the
    old values keep them. A guest cannot change the type to a paid integration's (403)."""
    check_guest_may_store(user, body.type)
    if is_hidden(name):
        raise not_found("credential")
    try:
        info = vault.update(user.id, name, body.values, body.type)
    except CredentialInvalid as exc:
        raise invalid(exc) from None
    except STORE_ERRORS as exc:
        raise store_failed(exc) from None
    if info is None:
        raise not_found("credential")
    return public(info)


@router.delete(
    "/credentials/{name}", status_code=204, response_class=Response, response_model=None, dependencies=[RequireFull]
)
def delete_credential(name: CredentialName, user: CurrentUser, vault: VaultDep) -> Response:
    """Delete the credential and its stored secret (in Secrets Manager too, without a recovery window)."""
    if is_hidden(name):
        raise not_found("credential")
    try:
        deleted = vault.delete(user.id, name)
    except STORE_ERRORS as exc:
        raise store_failed(exc) from None
    if not deleted:
        raise not_found("credential")
    return Response(status_code=204)
