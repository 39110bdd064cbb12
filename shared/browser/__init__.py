"""Browser automation for the `browser` lane: the driver (Playwright or Patchright) and how Chromium
is launched (`launch`), the one browser context an execution's steps share (`session`), and the
egress guard every page request passes (`route_guard` in the browser, `egress_proxy` on the wire).

Nothing here imports the driver at module import time: the light lane never pays for it.
"""
