"""Worker memory: the browser-lane worker (`python -m worker_image`) running one execution, as a
subprocess, with its peak memory sampled.

    python -m bench.memory [--database-url URL] [--skip-browser]

Two workflows on a scratch PostgreSQL database (or --database-url): a light one (`data.map` ->
`logic.condition`), and a browser one (`browser.goto` to a page served on 127.0.0.1, then
`browser.extract`), which starts Chromium with one context. Reported: the worker process's peak
RSS (VmHWM, sampled from /proc), and the peak of the process tree's proportional set size (PSS, so pages shared
between Chromium's processes count once), sampled every 20 ms from /proc. Goals: <= 80 MB light
(the worker's RSS), <= 400 MB with Chromium (the whole tree).
If the browser workflow cannot run in the worker, Chromium is measured through Playwright directly
(one browser, one context, one page) and the note says so.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlmodel import Session

from bench.database import benchmark_database
from bench.report import Row, Section, at_most, emit
from shared.browser.launch import executable_path
from shared.db.crud import create_workflow, ensure_local_user, queue_execution
from shared.settings import Settings

REPO = Path(__file__).resolve().parents[1]
LIGHT_GOAL_MB, BROWSER_GOAL_MB = 80.0, 400.0
LIGHT = {
    "nodes": [
        {"id": "order", "type": "data.map", "config": {"fields": {"total": "{{ input.total }}"}}},
        {"id": "large", "type": "logic.condition", "config": {"expr": "nodes.order.output.total > 100"}},
    ],
    "edges": [{"from": "order", "to": "large"}],
}
PAGE = b"<!doctype html><html><head><title>bench</title></head><body><h1>Orders</h1></body></html>"


def browser_definition(url: str) -> dict:
    return {
        "nodes": [
            {"id": "open", "type": "browser.goto", "config": {"url": url}},
            {"id": "heading", "type": "browser.extract", "config": {"selector": "h1"}},
        ],
        "edges": [{"from": "open", "to": "heading"}],
    }


def tree(root: int) -> list[int]:
    """`root` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def high_water_rss_kib(pid: int) -> int:
    """The process's peak RSS since it started its program (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_sampled(command: list[str], env: dict[str, str]) -> tuple[int, float, float]:
    """Run `command`; (exit code, its peak RSS in MB, the tree's peak PSS in MB).

    The peak RSS is the process's VmHWM, sampled every 20 ms until it exits: `ru_maxrss` from
    wait4 would count this benchmark's own memory too, which a spawned child carries until it
    starts its program."""
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak, rss = [0], [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sum(pss_kib(pid) for pid in tree(process.pid)))
            rss[0] = max(rss[0], high_water_rss_kib(process.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = process.stderr.read() if process.stderr else b""
    _, status, _ = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    if process.returncode != 0:
        sys.stderr.write(stderr.decode(errors="replace")[-3000:])
    return process.returncode, rss[0] / 1024, peak[0] / 1024


def worker_run(engine, url: str, definition: dict) -> tuple[int, float, float]:
    with Session(engine, expire_on_commit=False) as session:
        owner = ensure_local_user(session)
        workflow, _ = create_workflow(session, owner.id, "memory", definition)
        execution_id = queue_execution(session, workflow, trigger="api", input={"total": 150}).id
        session.commit()
    env = {**os.environ, "FLOWBUILDER_DATABASE_URL": url, "FLOWBUILDER_EGRESS_ALLOW_PRIVATE": "true"}
    return run_sampled([sys.executable, "-m", "worker_image", "--execution-id", str(execution_id)], env)


PLAYWRIGHT_ONLY = """
import asyncio, sys
from playwright.async_api import async_playwright
from shared.browser.launch import chromium_args, executable_path, tune_driver_memory, use_sandbox
from shared.settings import Settings
async def main():
    settings = Settings()
    executable, sandbox = executable_path(settings), use_sandbox(settings)
    tune_driver_memory()
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=executable, headless=True, chromium_sandbox=sandbox, args=chromium_args(executable, sandbox)
        )
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(sys.argv[1])
        assert await page.inner_text("h1") == "Orders"
        await asyncio.sleep(0.5)
        await browser.close()
asyncio.run(main())
"""


def chromium_used() -> str:
    """The Chromium the worker launches, as the product chooses it (shared/browser/launch.py)."""
    return executable_path(Settings()) or "the driver's own Chromium"


class Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *_) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a scratch database on the local PostgreSQL")
    parser.add_argument("--skip-browser", action="store_true", help="measure the light workflow only")
    args = parser.parse_args()
    section = Section("Worker memory", "python -m bench.memory")
    with benchmark_database(args.database_url) as (engine, url):
        code, rss, tree_pss = worker_run(engine, url, LIGHT)
        if code != 0:
            raise SystemExit(f"the light workflow's worker exited {code}")
        print(f"light workflow: worker peak RSS {rss:.1f} MB, tree peak PSS {tree_pss:.1f} MB", flush=True)
        section.rows.append(
            Row(
                "worker peak RSS, light workflow",
                rss,
                "MB",
                goal=f"<= {LIGHT_GOAL_MB:g} MB",
                met=at_most(rss, LIGHT_GOAL_MB),
            )
        )
        if not args.skip_browser:
            server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            page = f"http://127.0.0.1:{server.server_address[1]}/orders"
            try:
                code, rss, tree_pss = worker_run(engine, url, browser_definition(page))
                how = "the worker running browser.goto -> browser.extract"
                if code != 0:
                    print(f"the browser workflow's worker exited {code}; measuring Playwright directly", flush=True)
                    code, rss, tree_pss = run_sampled([sys.executable, "-c", PLAYWRIGHT_ONLY, page], dict(os.environ))
                    how = "Playwright directly (the worker could not run the browser workflow)"
                    if code != 0:
                        raise SystemExit(f"Chromium through Playwright exited {code}")
            finally:
                server.shutdown()
            print(f"with Chromium ({how}): process peak RSS {rss:.1f} MB, tree peak PSS {tree_pss:.1f} MB")
            section.rows.append(
                Row(
                    "peak PSS of the worker and Chromium, one context",
                    tree_pss,
                    "MB",
                    goal=f"<= {BROWSER_GOAL_MB:g} MB",
                    met=at_most(tree_pss, BROWSER_GOAL_MB),
                )
            )
            section.notes.append(f"With Chromium: measured through {how}, {chromium_used()} headless.")
    section.notes.append(
        "Light: peak RSS of `python -m worker_image` (imports, database connection, one execution). "
        "With Chromium: the peak proportional set size of the worker and all its child processes."
    )
    emit(section)


if __name__ == "__main__":
    main()
