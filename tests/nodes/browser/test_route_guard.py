"""The route guard's decisions that need no browser: schemes, and which refusals concern a page."""

from __future__ import annotations

import pytest

from shared.browser.route_guard import RouteGuard, refusal_reason
from shared.nodes.egress import EgressPolicy


@pytest.mark.parametrize(
    ("url", "navigation", "reason"),
    [
        ("https://example.com/", True, None),
        ("http://example.com/a.png", False, None),
        ("data:image/png;base64,AAAA", False, None),
        ("blob:https://example.com/1234", False, None),
        ("data:text/html,<h1>x</h1>", True, "the 'data' scheme is not allowed for navigation"),
        ("file:///etc/passwd", False, "the 'file' scheme is not allowed"),
        ("chrome://settings", True, "the 'chrome' scheme is not allowed"),
        ("ftp://example.com/x", False, "the 'ftp' scheme is not allowed"),
    ],
)
def test_schemes(url: str, navigation: bool, reason: str | None) -> None:
    assert refusal_reason(url, navigation=navigation) == reason


def test_a_refusal_concerns_a_page_only_on_the_same_host() -> None:
    guard = RouteGuard(EgressPolicy())
    guard.refuse("https://cdn.example.com/a.js", "egress to cdn.example.com refused: ...")
    mark = guard.total
    guard.refuse("cdn.example.com:443", "egress to cdn.example.com refused: tunnel")
    guard.refuse("[::1]:8080", "egress to ::1 refused: loopback")

    assert guard.refusal_of_host("example.com", mark) is None
    assert guard.refusal_of_host("CDN.example.com", mark).reason == "egress to cdn.example.com refused: tunnel"
    assert guard.refusal_of_host("::1", mark).reason == "egress to ::1 refused: loopback"
    assert guard.refusal_of_host("cdn.example.com", guard.total) is None


def test_only_recent_refusals_are_kept() -> None:
    guard = RouteGuard(EgressPolicy(), keep=3)
    for index in range(5):
        guard.refuse(f"http://10.0.0.{index}/", f"refused {index}")

    assert [refusal.reason for refusal in guard.since(0)] == ["refused 2", "refused 3", "refused 4"]
    assert [refusal.reason for refusal in guard.since(4)] == ["refused 4"]
