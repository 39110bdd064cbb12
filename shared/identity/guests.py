"""Guests: people trying Flow Builder without signing up, one trial per client IP per trial window.

The client IP is read from `X-Forwarded-For` by counting `trusted_proxy_hops` entries from the
right: each trusted proxy appends the address it was connected from, so the entry our outermost
proxy (CloudFront) added is the real client, and anything a client writes to the left of it is
ignored. IPv6 clients are grouped by /64 (one household or host usually owns a whole /64). Only
a salted HMAC of that group is stored.

The guest token is an API key of scope `full` owned by the guest user (name `guest`): guests must
be able to build workflows to try the product, and a key is already hashed, revocable and removed
with its owner. What a guest may not do comes from `kind == "guest"` and the trial's expiry.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, select

from shared.db.models import User
from shared.db.models.accounts import CreditLedgerEntry
from shared.db.types import utcnow
from shared.identity.api_keys import issue_api_key

if TYPE_CHECKING:
    from shared.settings import Settings

GUEST_KEY_NAME = "guest"
TRIAL_CREDITS_REASON = "guest_trial"
UNKNOWN_CLIENT = "unknown"


class TrialUnavailable(Exception):
    """This client already has an active trial."""

    def __init__(self, expires_at: datetime) -> None:
        super().__init__(f"a guest trial from this network is active until {expires_at.isoformat()}")
        self.expires_at = expires_at


@dataclass(frozen=True)
class GuestTrial:
    user: User
    token: str
    expires_at: datetime
    credits: int


def client_ip(forwarded_for: str | None, peer: str | None, trusted_hops: int) -> str:
    """The client's address: the `trusted_hops`-th entry from the right of X-Forwarded-For, or the
    peer address when there are no trusted proxies or the header is too short to have passed
    through all of them. Entries that are not IP addresses yield the peer address too."""
    entries = [entry.strip() for entry in (forwarded_for or "").split(",") if entry.strip()]
    if trusted_hops > 0 and len(entries) >= trusted_hops:
        address = _parse_ip(entries[-trusted_hops])
        if address is not None:
            return str(address)
    address = _parse_ip(peer or "")
    return str(address) if address is not None else UNKNOWN_CLIENT


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_group(ip: str) -> str:
    """What one trial is counted against: the address for IPv4, its /64 network for IPv6."""
    address = _parse_ip(ip)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address) if address is not None else UNKNOWN_CLIENT


def ip_hash(ip: str, salt: str) -> str:
    return hmac.new(salt.encode(), client_group(ip).encode(), hashlib.sha256).hexdigest()


def active_trial(session: Session, hashed_ip: str, now: datetime) -> User | None:
    return session.exec(
        select(User)
        .where(User.kind == "guest", User.guest_ip_hash == hashed_ip, User.trial_expires_at > now)
        .order_by(User.trial_expires_at.desc())  # type: ignore[union-attr]
    ).first()


def start_guest_trial(session: Session, settings: Settings, ip: str, now: datetime | None = None) -> GuestTrial:
    """A new guest with trial credits and a token, or TrialUnavailable while another guest from
    the same IP hash is in its trial. On PostgreSQL a per-hash advisory lock makes concurrent
    sign-ups from one network yield one trial. The caller commits."""
    now = now or utcnow()
    hashed_ip = ip_hash(ip, settings.guest_ip_salt.get_secret_value())
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": hashed_ip})
    existing = active_trial(session, hashed_ip, now)
    if existing is not None and existing.trial_expires_at is not None:
        raise TrialUnavailable(existing.trial_expires_at)
    expires_at = now + timedelta(days=settings.guest_trial_days)
    credits = settings.guest_trial_credits
    user = User(kind="guest", guest_ip_hash=hashed_ip, trial_expires_at=expires_at, credits=credits)
    session.add(user)
    session.flush()
    if credits:
        session.add(CreditLedgerEntry(owner_id=user.id, delta=credits, reason=TRIAL_CREDITS_REASON))
    issued = issue_api_key(session, user.id, GUEST_KEY_NAME, "full")
    return GuestTrial(user=user, token=issued.key, expires_at=expires_at, credits=credits)


def trial_has_ended(user: User, now: datetime | None = None) -> bool:
    if user.kind != "guest":
        return False
    return user.trial_expires_at is None or user.trial_expires_at <= (now or utcnow())


def trial_ended_at(instant: datetime) -> sa.ColumnElement[bool]:
    """SQL twin of `trial_has_ended`: users who are guests whose trial had ended by `instant`."""
    users = User.__table__
    expires = users.c.trial_expires_at
    return sa.and_(users.c.kind == "guest", sa.or_(expires.is_(None), expires <= instant))
