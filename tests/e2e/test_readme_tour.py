"""The README's API tour, run verbatim with bash and curl against a real `flowbuilder dev`.

Only the two things that differ per machine are substituted: the port and the data dir."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOUR = re.compile(r"<!-- api-tour:start -->(.*?)<!-- api-tour:end -->", re.DOTALL)
SHELL_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)


def tour_script() -> str:
    section = TOUR.search((ROOT / "README.md").read_text())
    assert section, "README.md has no api-tour section"
    return "\n".join(SHELL_BLOCK.findall(section.group(1)))


def test_the_readme_api_tour_works_as_written(start_dev, tmp_path):
    server = start_dev()
    script = tour_script().replace("http://127.0.0.1:8000", server.url)
    script = script.replace(".flowbuilder/dev-api-key", str(tmp_path / "data" / "dev-api-key"))

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stdout + result.stderr + server.output()
    out = result.stdout
    assert "event: run_finished" in out
    assert "succeeded" in out
    assert "order A-1 from Ada" in out
    assert re.search(r"\['20\d\d-\d\d-\d\dT0[78]:00:00Z'", out), "next fire times of 09:00 Berlin in UTC"
    assert out.strip().splitlines()[-1] == "2", "the webhook made a second execution"
