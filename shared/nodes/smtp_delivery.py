"""Delivering one email over SMTP (stdlib `smtplib`, in a thread), for `email.send` and failure alerts.

The host is resolved and checked by the egress guard first, and the connection goes to a checked
address, never to the name again, so DNS cannot change between check and use; TLS still verifies the
certificate against the host name. Failures are `NodeError`s: authentication, refused senders or
recipients and 5xx replies fail for good; refused connections, timeouts, dropped connections and 4xx
replies are retryable.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Literal

from shared.engine.errors import NodeError
from shared.nodes.egress import EgressDenied, EgressPolicy, resolve_checked

if TYPE_CHECKING:
    from shared.settings import Settings

Security = Literal["starttls", "ssl", "none"]


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = None
    from_address: str | None = None

    @classmethod
    def from_credential(cls, values: dict[str, Any]) -> SmtpServer:
        return cls(
            host=values["host"],
            port=int(values["port"]),
            security=values.get("security") or "starttls",
            username=values.get("username") or None,
            password=values.get("password") or None,
            from_address=values.get("from_address") or None,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpServer | None:
        """The platform's SMTP server, or None when `smtp_host` is not set."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            from_address=settings.smtp_from or None,
        )


async def deliver(message: EmailMessage, server: SmtpServer, settings: Settings) -> dict[str, str]:
    """Send `message` to every recipient in its To, Cc and Bcc headers (Bcc is not transmitted);
    returns the recipients the server refused while accepting others, with its reply."""
    where = f"SMTP {server.host}:{server.port}"
    try:
        addresses = await resolve_checked(server.host, server.port, EgressPolicy.from_settings(settings))
    except EgressDenied as exc:
        raise NodeError(str(exc), retryable=False) from None
    except OSError as exc:
        raise NodeError(f"{where}: could not resolve the host: {exc}", retryable=True) from None
    timeout = settings.smtp_timeout_s
    try:
        async with asyncio.timeout(timeout + 1):
            refused = await asyncio.to_thread(_send_blocking, message, server, addresses, timeout)
    except TimeoutError:
        raise NodeError(f"{where} timed out after {timeout:g}s", retryable=True) from None
    return {address: f"{code} {reply.decode(errors='replace')}" for address, (code, reply) in refused.items()}


def _send_blocking(
    message: EmailMessage, server: SmtpServer, addresses: list[str], timeout: float
) -> dict[str, tuple[int, bytes]]:
    where = f"SMTP {server.host}:{server.port}"
    try:
        with _connect(server, addresses, timeout) as smtp:
            if server.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if server.username:
                smtp.login(server.username, server.password or "")
            return smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise NodeError(f"{where}: authentication failed: {_reply(exc)}", retryable=False) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise NodeError(f"{where}: {exc} (check the security setting)", retryable=False) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = "; ".join(f"{address}: {code} {reply.decode(errors='replace')}" for address, (code, reply) in
                            exc.recipients.items())  # fmt: skip
        retryable = all(400 <= code < 500 for code, _ in exc.recipients.values())
        raise NodeError(f"{where} refused every recipient: {refused}", retryable=retryable) from None
    except smtplib.SMTPSenderRefused as exc:
        raise NodeError(f"{where} refused the sender {exc.sender}: {_reply(exc)}", retryable=_temporary(exc)) from None
    except smtplib.SMTPResponseException as exc:
        raise NodeError(f"{where} answered {_reply(exc)}", retryable=_temporary(exc)) from None
    except ssl.SSLCertVerificationError as exc:
        raise NodeError(f"{where}: the TLS certificate is not valid: {exc.verify_message}", retryable=False) from None
    except ssl.SSLError as exc:
        raise NodeError(f"{where}: TLS failed: {exc} (check the security setting)", retryable=False) from None
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
        raise NodeError(f"{where}: could not deliver: {type(exc).__name__}: {exc}", retryable=True) from None
    except smtplib.SMTPException as exc:
        raise NodeError(f"{where}: {type(exc).__name__}: {exc}", retryable=False) from None


def _connect(server: SmtpServer, addresses: list[str], timeout: float) -> smtplib.SMTP:
    failure: OSError | None = None
    for address in addresses:
        if server.security == "ssl":
            context = ssl.create_default_context()
            smtp: smtplib.SMTP = _PinnedSMTPSSL(address, server.host, timeout=timeout, context=context)
        else:
            smtp = _PinnedSMTP(address, server.host, timeout=timeout)
        try:
            smtp.connect(server.host, server.port)
            return smtp
        except ssl.SSLError:
            smtp.close()
            raise
        except OSError as exc:
            smtp.close()
            failure = exc
    assert failure is not None
    raise failure


class _PinnedSMTP(smtplib.SMTP):
    """Connects to a checked address; STARTTLS verifies the certificate against the host name."""

    def __init__(self, address: str, hostname: str, **kwargs: Any) -> None:
        self._address = address
        super().__init__(**kwargs)
        self._host = hostname  # what smtplib hands to TLS as server_hostname

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((self._address, port), timeout, self.source_address)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    def __init__(self, address: str, hostname: str, **kwargs: Any) -> None:
        self._address = address
        super().__init__(**kwargs)
        self._host = hostname

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((self._address, port), timeout, self.source_address)
        return self.context.wrap_socket(sock, server_hostname=host)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {' '.join(text.split())}"


def _temporary(exc: smtplib.SMTPResponseException) -> bool:
    return 400 <= exc.smtp_code < 500
