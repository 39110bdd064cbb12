"""The egress guard inside the browser: every request a page makes is routed through `RouteGuard`,
which lets http(s) to allowed addresses through and aborts the rest, remembering why.

Playwright does not call route handlers for redirect hops, and Chromium resolves names again after
the check, so for a locally launched browser `egress_proxy` enforces the same policy on the wire;
this layer refuses early, covers remote (CDP) browsers, and gives steps a reason to report.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.nodes.egress import ALLOWED_SCHEMES, EgressDenied, EgressPolicy, resolve_checked

INLINE_SCHEMES = frozenset({"data", "blob"})
"""Content a page already holds (inline images, generated files): fine as sub-resources, refused as
a navigation, which is how `data:` pages are used to reach files or escape the page's origin."""


@dataclass(frozen=True)
class Refusal:
    url: str
    reason: str


def refusal_reason(url: str, *, navigation: bool) -> str | None:
    """Why a URL is refused before any lookup (its scheme), or None."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in ALLOWED_SCHEMES:
        return None
    if scheme in INLINE_SCHEMES and not navigation:
        return None
    return f"the {scheme!r} scheme is not allowed" + (" for navigation" if scheme in INLINE_SCHEMES else "")


class RouteGuard:
    """`context.route("**/*", guard.handle)`: checks each request with the egress policy."""

    def __init__(self, policy: EgressPolicy, *, keep: int = 50) -> None:
        self.policy = policy
        self.refusals: deque[Refusal] = deque(maxlen=keep)
        self.total = 0
        """Refusals so far; a step notes it at its start to find the refusals made during it."""

    def refuse(self, target: str, reason: str) -> None:
        """Record a refusal of `target` (a URL here, `host:port` from the proxy)."""
        self.refusals.append(Refusal(target, reason))
        self.total += 1

    def since(self, mark: int) -> list[Refusal]:
        count = min(self.total - mark, len(self.refusals))
        return list(self.refusals)[-count:] if count > 0 else []

    def refusal_of_host(self, host: str | None, mark: int) -> Refusal | None:
        """The latest refusal since `mark` of a request to `host` (a page whose own address was refused)."""
        for refusal in reversed(self.since(mark)):
            target = refusal.url
            refused_host = urlsplit(target).hostname if "://" in target else target.rpartition(":")[0].strip("[]")
            if host and refused_host and refused_host.lower() == host.lower():
                return refusal
        return None

    async def handle(self, route: Any, request: Any) -> None:
        url = request.url
        reason = refusal_reason(url, navigation=request.is_navigation_request())
        if reason is None and urlsplit(url).scheme.lower() in ALLOWED_SCHEMES:
            reason = await self._address_refusal(url)
        if reason is None:
            await route.continue_()
            return
        self.refuse(url, reason)
        await route.abort("blockedbyclient")

    async def _address_refusal(self, url: str) -> str | None:
        split = urlsplit(url)
        host = split.hostname or ""
        try:
            port = split.port or (443 if split.scheme == "https" else 80)
            await resolve_checked(host, port, self.policy)
        except EgressDenied as exc:
            return str(exc)
        except (OSError, ValueError):
            return None  # unresolvable or malformed: let Chromium fail it with its own error
        return None
