"""Run every benchmark and write docs/performance.md: one table (our figure, the peer's in the same
run, the ratio, the goal), each benchmark's notes, the machine and the versions.

    python -m bench.write_report [--only engine_overhead throughput ...] [--quick] [--output PATH]

Only the part between the `bench:start` and `bench:end` markers is rewritten; the hand-written prose
below it stays. Each benchmark runs as its own process and prints `BENCH-RESULT` lines
(bench/report.py); for benchmarks that print only text lines, `legacy_sections` reads those.
A benchmark that fails is listed as failed, the others are still written, and the exit code is 1.
`--quick` runs tiny sizes (the smoke test's), for checking the writer, not for figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import peer_env
from bench.report import Row, Section, at_most, fmt, parse

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

FULL = [
    ("engine_overhead", []),
    ("throughput", []),
    ("throughput", ["--processes", "2", "--databases", "postgresql"]),
    ("memory", []),
    ("api_import", []),
    ("api_latency", []),
    ("scheduler_dispatch", []),
]
QUICK = [
    ("engine_overhead", ["--runs", "1", "--linear", "5", "--fan", "3", "--peers", "none"]),
    ("throughput", ["--executions", "40", "--warmup", "5", "--reads", "20", "--connections", "4"]),
    ("memory", ["--skip-browser"]),
    ("api_import", ["--runs", "1"]),
    ("api_latency", ["--requests", "5", "--warmup", "1"]),
    ("scheduler_dispatch", ["--sizes", "20"]),
]
MODULES = sorted({module for module, _ in FULL})


def run(module: str, args: list[str]) -> tuple[int, str, str]:
    """Run `python -m bench.<module>`, echoing its output as it comes; (exit code, stdout, stderr tail)."""
    print(f"== bench.{module} {' '.join(args)}", flush=True)
    process = subprocess.Popen(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    assert process.stdout is not None and process.stderr is not None
    for line in process.stdout:
        lines.append(line)
        if not line.startswith("BENCH-RESULT "):
            print("   " + line, end="", flush=True)
    stderr = process.stderr.read()
    code = process.wait()
    if code != 0:
        print(stderr[-3000:], file=sys.stderr, flush=True)
    return code, "".join(lines), stderr.strip()[-500:]


def legacy_sections(module: str, output: str) -> list[Section]:
    """Sections for benchmarks that print text only (their lines are pinned by tests/bench)."""
    if module == "api_latency":
        found = re.search(r"api latency p50: ([\d.]+) ms vs bare ([\d.]+) ms, ratio ([\d.]+)x", output)
        if not found:
            return []
        ours, bare, ratio = map(float, found.groups())
        row = Row(
            "authenticated GET /api/workflows/{id}, in-process p50",
            ours,
            "ms",
            peer="bare FastAPI route, same JSON",
            peer_value=bare,
            ratio=ratio,
            ratio_label="ours / bare",
            goal="<= 2x",
            met=at_most(ratio, 2.0),
        )
        return [Section("API latency", "python -m bench.api_latency", [row])]
    if module == "scheduler_dispatch":
        rows, notes = [], []
        for count, seconds, trips, calls in re.findall(
            r"^(\d+) due: ([\d.]+) s, (\d+) round trips, (\d+) SQS calls$", output, re.MULTILINE
        ):
            judged = int(count) == 10000
            rows.append(
                Row(
                    f"{int(count):,} due workflows to SQS (moto), seconds",
                    float(seconds),
                    "s",
                    goal="<= 10 s" if judged else "",
                    met=at_most(float(seconds), 10.0) if judged else None,
                )
            )
            per_thousand = float(seconds) * 1000 / int(count)
            notes.append(
                f"{int(count):,} due: {trips} database round trips, {calls} SQS calls, {per_thousand:.2f} s per 1,000."
            )
        return [Section("Scheduler dispatch", "python -m bench.scheduler_dispatch", rows, notes)] if rows else []
    return []


def machine(load_before: str) -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory = next((line.split()[1] for line in _read("/proc/meminfo").splitlines() if line.startswith("MemTotal")), "0")
    load = _read("/proc/loadavg").split()[:3]
    return [
        f"Machine: {os.cpu_count()} cores ({cpu}), {int(memory) / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}; load average (1, 5, 15 min) before the run {load_before}, "
        f"after it {' '.join(load) or 'unknown'}",
        "Versions: " + ", ".join(versions()),
    ]


def versions() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    found = [f"Python {platform.python_version()}"]
    for package in ("fastapi", "uvicorn", "sqlalchemy", "psycopg", "playwright"):
        with contextlib.suppress(PackageNotFoundError):
            found.append(f"{package} {version(package)}")
    found.append(_command(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"], "PostgreSQL"))
    found.append(_command(["redis-cli", "-h", "127.0.0.1", "INFO", "server"], "Redis", r"redis_version:(\S+)"))
    found.append(_command(["/usr/bin/chromium", "--version"], "", r"(Chromium \S+)"))
    for package, name in (("prefect", "Prefect"), ("celery", "Celery")):
        found.append(f"{name} {peer_env.version(package) or 'not installed'}")
    return [item for item in found if item]


def _command(command: list[str], name: str, pattern: str = r"(\S+)") -> str:
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False).stdout
    except OSError:
        return f"{name} unknown".strip()
    found = re.search(pattern, output)
    return f"{name} {found.group(1)}".strip() if found else f"{name} unknown".strip()


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def table(sections: list[Section]) -> list[str]:
    lines = [
        "| benchmark | measure | Flow Builder | peer | peer's figure | ratio | goal | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for section in sections:
        for row in section.rows:
            ratio = f"{row.ratio:.2f}x {row.ratio_label}".strip() if row.ratio is not None else "—"
            met = {True: "yes", False: "**no**", None: "—"}[row.met]
            peer_figure = fmt(row.peer_value, row.unit) if row.peer else "—"
            lines.append(
                f"| {section.benchmark} | {row.measure} | {fmt(row.ours, row.unit)} | {row.peer or '—'} | "
                f"{peer_figure} | {ratio} | {row.goal or '—'} | {met} |"
            )
    return lines


def generated(sections: list[Section], failures: list[str], quick: bool, load_before: str = "unknown") -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        f"Generated by `make bench` (`python -m bench.write_report{' --quick' if quick else ''}`) on {when}. "
        "Peers run in their own virtual environment (`make bench-peers`); every figure in a row comes from "
        "the same run on the same machine.",
        "",
        *[f"{line}  " for line in machine(load_before)],
        "",
        *table(sections),
        "",
    ]
    if quick:
        lines += ["**Quick run (tiny sizes): these figures check the writer and mean nothing.**", ""]
    for failure in failures:
        lines.append(f"- **failed**: {failure}")
    if failures:
        lines.append("")
    for section in sections:
        if section.notes:
            lines.append(f"**{section.benchmark}** (`{section.command}`):")
            lines += [f"- {note}" for note in section.notes]
            lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else "# Performance\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + block + after
    else:
        heading, _, rest = text.partition("\n")
        text = f"{heading}\n\n{block}\n{rest}"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=MODULES, help="run these benchmarks only")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the writer, not the figures")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "performance.md")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    load_before = " ".join(_read("/proc/loadavg").split()[:3]) or "unknown"
    sections, failures = [], []
    for module, module_args in plan:
        if args.only and module not in args.only:
            continue
        code, output, stderr = run(module, module_args)
        found = parse(output) or legacy_sections(module, output)
        sections += found
        if code != 0 or not found:
            failures.append(f"`python -m bench.{module}` exited {code}: {stderr.splitlines()[-1] if stderr else ''}")
    write(args.output, generated(sections, failures, args.quick, load_before))
    print(f"wrote {args.output}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
