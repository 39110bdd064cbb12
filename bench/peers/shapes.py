"""The workflow shapes every engine runs, named as bench/engine_overhead.py names them."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--linear", type=int, nargs="*", default=[40, 100], help="sequential steps per workflow")
    parser.add_argument("--fan", type=int, nargs="*", default=[10], help="widths of a fan-out/fan-in")


def shapes(args: argparse.Namespace) -> list[tuple[str, str, int]]:
    """(name, kind, size) for each shape asked for."""
    return [(f"linear{n}", "linear", n) for n in args.linear] + [(f"fan{w}", "fan", w) for w in args.fan]


def step_count(kind: str, size: int) -> int:
    """A linear shape runs `size` steps; a fan-out runs a root, `size` branches and a join."""
    return size if kind == "linear" else size + 2
