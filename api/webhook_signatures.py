"""Signed webhook deliveries: `X-Flowbuilder-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw
body>">`, with `X-Flowbuilder-Timestamp` (unix seconds) within 5 minutes of the server's clock, so
a captured delivery cannot be replayed later."""

from __future__ import annotations

import hashlib
import hmac
import re

from api.errors import ApiError

TIMESTAMP_HEADER = "X-Flowbuilder-Timestamp"
SIGNATURE_HEADER = "X-Flowbuilder-Signature"
SIGNATURE_TOLERANCE_S = 300
SIGNATURE_PATTERN = re.compile(r"^v1=([0-9a-fA-F]{64})$")


def signature(secret: str, timestamp: str, raw: bytes) -> str:
    """The `X-Flowbuilder-Signature` value for a body sent at `timestamp` (unix seconds, as sent)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def check_signature(secret: str, timestamp: str | None, presented: str | None, raw: bytes, now: float) -> None:
    """401 naming the header at fault: missing, malformed, outside the 5-minute window, or wrong."""
    if timestamp is None:
        raise bad_signature(f"this webhook requires signed deliveries: send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise bad_signature(f"{TIMESTAMP_HEADER} must be unix seconds (digits only)")
    if abs(now - int(timestamp)) > SIGNATURE_TOLERANCE_S:
        raise bad_signature(
            f"{TIMESTAMP_HEADER} is more than {SIGNATURE_TOLERANCE_S} s away from the server's clock; "
            "sign each delivery when you send it"
        )
    if presented is None:
        raise bad_signature(f"this webhook requires signed deliveries: send {SIGNATURE_HEADER}")
    if SIGNATURE_PATTERN.match(presented.strip()) is None:
        raise bad_signature(f"{SIGNATURE_HEADER} must be v1=<64 hex digits of HMAC-SHA256>")
    expected = signature(secret, timestamp, raw)
    if not hmac.compare_digest(expected.encode(), presented.strip().lower().encode()):
        raise bad_signature(f"{SIGNATURE_HEADER} does not match the timestamp and body")


def bad_signature(message: str) -> ApiError:
    return ApiError(401, "invalid_signature", message)
