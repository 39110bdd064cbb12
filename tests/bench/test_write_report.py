"""The report writer: the generated block replaces only its own part of docs/performance.md."""

from __future__ import annotations

from bench.report import Row, Section, emit, parse
from bench.write_report import END, START, generated, legacy_sections, table, write


def test_a_section_printed_by_a_benchmark_is_read_back(capsys):
    section = Section("Engine", "python -m bench.x", [Row("40 steps", 0.5, "ms", peer="Celery", peer_value=2.0)])

    emit(section)

    assert parse("other output\n" + capsys.readouterr().out) == [section]


def test_rows_show_our_figure_the_peers_the_ratio_and_the_goal():
    row = Row("40 steps", 0.5, "ms", "Celery", 2.0, 4.0, "below", ">= 3x below", True)

    [_, _, line] = table([Section("Engine", "cmd", [row])])

    assert line == "| Engine | 40 steps | 0.50 ms | Celery | 2.00 ms | 4.00x below | >= 3x below | yes |"


def test_text_only_benchmarks_are_read_from_their_lines():
    output = "api latency p50: 3.50 ms vs bare 0.70 ms, ratio 5.00x (goal <= 2.0x)\n"
    [latency] = legacy_sections("api_latency", output)
    [dispatch] = legacy_sections("scheduler_dispatch", "10000 due: 12.2 s, 253 round trips, 1000 SQS calls\n")

    assert (latency.rows[0].ours, latency.rows[0].peer_value, latency.rows[0].met) == (3.5, 0.7, False)
    assert (dispatch.rows[0].ours, dispatch.rows[0].goal, dispatch.rows[0].met) == (12.2, "<= 10 s", False)


def test_only_the_generated_block_is_rewritten_and_the_prose_stays(tmp_path):
    path = tmp_path / "performance.md"
    path.write_text(f"# Performance\n\n{START}\nold table\n{END}\n\n## How it got there\n\nprose\n")

    write(path, generated([Section("Engine", "cmd", [Row("40 steps", 0.5, "ms")])], ["`x` exited 1"], quick=False))

    text = path.read_text()
    assert "old table" not in text
    assert "| Engine | 40 steps | 0.50 ms |" in text
    assert "- **failed**: `x` exited 1" in text
    assert text.endswith(f"{END}\n\n## How it got there\n\nprose\n")
    assert text.count(START) == 1
