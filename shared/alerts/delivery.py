"""Sending a failure alert: an email (the owner's SMTP credential or the platform's server) and a
JSON POST to a webhook, both through the egress guard and each bounded by `alert_timeout_s`."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import TYPE_CHECKING

from shared.engine.errors import CredentialNotFound, NodeError
from shared.nodes.egress import EgressDenied, make_http_client
from shared.nodes.smtp_delivery import SmtpServer, deliver

if TYPE_CHECKING:
    from shared.alerts.report import AlertClaim
    from shared.engine.context import CredentialProvider
    from shared.settings import Settings


class AlertFailed(Exception):
    """One channel of an alert could not be sent; the message says why."""


async def send_email(claim: AlertClaim, settings: Settings, credentials: CredentialProvider) -> str:
    """Email the report; returns the recipient. Raises AlertFailed."""
    server = await _smtp_server(claim, settings, credentials)
    sender = server.from_address or settings.smtp_from or (server.username if "@" in (server.username or "") else None)
    if not sender:
        raise AlertFailed("no sender address: set from_address on the SMTP credential, or smtp_from")
    report = claim.report
    message = EmailMessage()
    message["From"] = sender
    message["To"] = claim.targets["email"]
    message["Subject"] = report.subject()
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "flowbuilder.invalid"
    message["Message-ID"] = f"<fb-alert-{report.execution_id}@{domain}>"
    message.set_content(report.text())
    try:
        async with asyncio.timeout(settings.alert_timeout_s):
            refused = await deliver(message, server, settings)
    except TimeoutError:
        raise AlertFailed(f"SMTP {server.host} timed out after {settings.alert_timeout_s:g}s") from None
    except NodeError as exc:
        raise AlertFailed(exc.message) from None
    if refused:
        raise AlertFailed(f"the server refused {claim.targets['email']}: {next(iter(refused.values()))}")
    return claim.targets["email"]


async def _smtp_server(claim: AlertClaim, settings: Settings, credentials: CredentialProvider) -> SmtpServer:
    name = claim.targets.get("smtp_credential")
    if not name:
        server = SmtpServer.from_settings(settings)
        if server is None:
            raise AlertFailed("no SMTP server: set smtp_credential on the alert, or the platform's smtp_host")
        return server
    try:
        values = await credentials.get(claim.owner_id, name)
    except CredentialNotFound:
        raise AlertFailed(f"the SMTP credential {name!r} no longer exists") from None
    if values.get("type") != "smtp":
        raise AlertFailed(f"the credential {name!r} is not an smtp credential")
    return SmtpServer.from_credential(values)


async def post_webhook(claim: AlertClaim, settings: Settings) -> int:
    """POST the report as JSON; returns the status. Raises AlertFailed on a refused address, a
    connection failure, a timeout or a status of 300 and above."""
    import httpx

    url = claim.targets["webhook_url"]
    headers = {"Idempotency-Key": f"fb-alert-{claim.report.execution_id}", "User-Agent": "FlowBuilder-Alerts/1"}
    shown = httpx.URL(url).copy_with(query=None, userinfo=b"")
    try:
        async with make_http_client(settings) as client, asyncio.timeout(settings.alert_timeout_s):
            response = await client.post(url, json=claim.report.as_json(), headers=headers, follow_redirects=False)
    except EgressDenied as exc:
        raise AlertFailed(str(exc)) from None
    except (TimeoutError, httpx.TimeoutException):
        raise AlertFailed(f"{shown} timed out after {settings.alert_timeout_s:g}s") from None
    except httpx.HTTPError as exc:
        raise AlertFailed(f"{shown}: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 300:
        raise AlertFailed(f"{shown} answered HTTP {response.status_code}")
    return response.status_code
