"""`make build-lambda`: the Lambda code without Docker.

`pip install --target` the project's runtime dependencies as wheels for the Lambda platform
(Linux, arm64, the runtime's CPython), then copy in the project's own packages. CDK's
`Code.from_asset` zips the directory at synth time. Usage:

    python -m infra.build_lambda [--out build/lambda]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON_VERSION = "3.13"  # keep in step with infra.runtime.RUNTIME
PLATFORMS = ("manylinux_2_28_aarch64", "manylinux2014_aarch64")  # infra.runtime.ARCHITECTURE
PACKAGES = ("api", "shared", "scheduler_lambda", "worker_image")
INFRA_RUNTIME_FILES = ("infra/__init__.py", "infra/migrate_handler.py")
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", "dist")


def runtime_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    return list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])


def pip_command(out: Path, requirements: list[str]) -> list[str]:
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", str(out), *platforms, "--implementation", "cp", "--python-version", PYTHON_VERSION,
        "--only-binary=:all:", *requirements,
    ]  # fmt: skip


def build(out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    subprocess.run(pip_command(out, runtime_requirements()), check=True)  # noqa: S603 - our own interpreter
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, out / package, ignore=SKIPPED)
    for name in INFRA_RUNTIME_FILES:
        (out / name).parent.mkdir(exist_ok=True)
        shutil.copy2(REPO_ROOT / name, out / name)
    for cache in out.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.build_lambda", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "lambda")
    out = build(parser.parse_args(argv).out)
    size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    print(f"lambda code in {out} ({size / 1e6:.1f} MB unzipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
