"""Fixtures for the web app's end-to-end tests: the built app (built here when missing or stale),
`flowbuilder dev` as a subprocess serving it, a Clerk JWKS on 127.0.0.1, and headless Chromium
(Debian's, through Playwright) with a page that fails its test on any console error. The server
and the browser live as long as tests/web runs (package scope), not the whole session."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.dev_server import dev_command, free_port, wait_until_healthy
from tests.support.http_server import RecordingServer, Reply

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
ARTIFACTS = ROOT / ".flowbuilder" / "test-artifacts" / "web"
CHROMIUM = os.environ.get("FLOWBUILDER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
CLERK_ISSUER = "https://clerk.flowbuilder.test"
BUILD_INPUTS = ("src", "public", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json")


def newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        if path.is_dir():
            newest = max([newest, *(p.stat().st_mtime for p in path.rglob("*") if p.is_file())])
        elif path.exists():
            newest = max(newest, path.stat().st_mtime)
    return newest


def run_npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to build the web app (Node 20+)")
    done = subprocess.run([npm, *args], cwd=WEB, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"npm {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


def ensure_node_modules() -> None:
    installed = WEB / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < (WEB / "package-lock.json").stat().st_mtime:
        run_npm("ci", "--no-audit", "--no-fund")


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """web/dist, rebuilt (npm ci + npm run build) when missing or older than its sources."""
    index = DIST / "index.html"
    ensure_node_modules()
    if not index.exists() or index.stat().st_mtime < newest_mtime([WEB / name for name in BUILD_INPUTS]):
        run_npm("run", "build")
    return DIST


class DevServer:
    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log = open(data_dir.parent / "dev.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            dev_command(self.port, data_dir),
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_healthy(self) -> None:
        wait_until_healthy(self.url, self.process, self.output)

    def output(self) -> str:
        self.log.flush()
        return (self.data_dir.parent / "dev.log").read_text()

    @property
    def api_key(self) -> str:
        return (self.data_dir / "dev-api-key").read_text().strip()

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/api", headers={"Authorization": f"Bearer {self.api_key}"})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def clerk_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="package")
def clerk_jwks(clerk_key) -> Iterator[RecordingServer]:
    server = RecordingServer().start()
    key = {**jwt.algorithms.RSAAlgorithm.to_jwk(clerk_key.public_key(), as_dict=True), "kid": "web-1", "use": "sig"}
    server.route("/.well-known/jwks.json", Reply(body={"keys": [key]}))
    yield server
    server.stop()


@pytest.fixture(scope="package")
def dev_server(web_dist, clerk_jwks) -> Iterator[DevServer]:
    """`flowbuilder dev` serving the built app, accepting Clerk tokens signed by `clerk_key`. Rate
    limits are off: the tests load many pages a minute as one user."""
    temp = Path(tempfile.mkdtemp(prefix="fb-web-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWBUILDER_")}
    env.update(
        FLOWBUILDER_CLERK_ISSUER=CLERK_ISSUER,
        FLOWBUILDER_CLERK_JWKS_URL=clerk_jwks.url("/.well-known/jwks.json"),
        FLOWBUILDER_RATE_LIMIT_ENABLED="false",
        FLOWBUILDER_EGRESS_ALLOW_PRIVATE="true",  # browser steps visit the dev server itself
    )
    server = DevServer(temp / "data", env)
    try:
        server.wait_until_healthy()
        yield server
    finally:
        server.stop()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is needed at {CHROMIUM} (Debian package `chromium`)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


class ConsoleErrors(list):
    def attach(self, page) -> None:
        page.on("console", lambda message: message.type == "error" and self.append(message.text))
        page.on("pageerror", lambda error: self.append(f"uncaught: {error}"))


@pytest.fixture
def console_errors() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture
def new_page(browser, dev_server, console_errors):
    """Opens pages in fresh contexts (own storage); every console error fails the test."""
    contexts = []

    def open_page(width: int = 1400, height: int = 900, color_scheme: str = "light"):
        context = browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=color_scheme, base_url=dev_server.url
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        console_errors.attach(page)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert list(console_errors) == [], f"console errors: {list(console_errors)}"


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
