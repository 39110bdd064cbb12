"""The `flowbuilder` command as a user runs it: a subprocess with its own data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.json"))
FLOWBUILDER = str(Path(sys.executable).with_name("flowbuilder"))


def flowbuilder(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOWBUILDER_DATA_DIR": str(data_dir), "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("FLOWBUILDER_DATABASE_URL", None)
    return subprocess.run([FLOWBUILDER, *args], capture_output=True, text=True, env=env, timeout=120, cwd=REPO)


def write(tmp_path: Path, name: str, content: dict | str) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return path


GREETING = {
    "nodes": [
        {"id": "who", "type": "data.map", "config": {"fields": {"name": "{{ input.name }}", "n": "{{ input.n }}"}}},
        {
            "id": "say",
            "type": "text.combine",
            "config": {"parts": ["hi", "{{ nodes.who.output.name }}"], "separator": " "},
        },
    ],
    "edges": [{"from": "who", "to": "say"}],
}


def test_validate_accepts_a_valid_file(tmp_path):
    result = flowbuilder("validate", str(write(tmp_path, "ok.json", GREETING)), data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "valid (2 nodes)" in result.stdout


def test_validate_prints_one_line_per_problem_naming_node_and_field(tmp_path):
    broken = {
        "nodes": [
            {"id": "a", "type": "data.map", "config": {"fields": {"x": "{{ input.x "}}},
            {"id": "a", "type": "nope.nothing"},
        ],
        "edges": [{"from": "a", "to": "ghost"}],
    }

    result = flowbuilder("validate", str(write(tmp_path, "bad.json", broken)), data_dir=tmp_path)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 4
    assert all(line.startswith(str(tmp_path / "bad.json")) for line in lines)
    text = result.stderr
    assert "config.fields.x" in text and "'ghost'" in text and "nope.nothing" in text and "duplicate" in text


def test_malformed_json_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, "broken.json", '{\n  "nodes": [\n    {"id": "a",,}\n  ]\n}\n')

    result = flowbuilder("validate", str(path), data_dir=tmp_path)

    assert result.returncode == 2
    assert f"{path}:3:" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_prints_json_with_every_step(tmp_path):
    path = write(tmp_path, "greet.json", GREETING)

    result = flowbuilder("run", str(path), "--input", "name=Ada", "--input", "n=3", "--json", data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["status"] == "succeeded"
    assert body["steps"]["who"]["output"] == {"name": "Ada", "n": 3}
    assert body["output"] == {"say": {"text": "hi Ada"}}


def test_input_json_and_input_pairs_combine(tmp_path):
    path = write(tmp_path, "greet.json", GREETING)

    result = flowbuilder(
        "run", str(path), "--input-json", '{"name": "Bo", "n": 1}', "--input", "n=2", "--json", data_dir=tmp_path
    )

    assert json.loads(result.stdout)["steps"]["who"]["output"] == {"name": "Bo", "n": 2}


def test_run_shows_a_table_of_steps(tmp_path):
    result = flowbuilder("run", str(write(tmp_path, "greet.json", GREETING)), "-i", "name=Cy", data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "who" in result.stdout and "say" in result.stdout
    assert "succeeded" in result.stdout


def test_a_failed_run_exits_non_zero_with_the_error(tmp_path):
    failing = {"nodes": [{"id": "wait", "type": "flow.delay", "config": {"seconds": 100000}}]}

    result = flowbuilder("run", str(write(tmp_path, "fail.json", failing)), "--json", data_dir=tmp_path)

    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["status"] == "failed"
    assert "wait" in body["error"]


def test_an_invalid_workflow_is_not_run(tmp_path):
    result = flowbuilder("run", str(write(tmp_path, "bad.json", {"nodes": []})), data_dir=tmp_path)

    assert result.returncode == 1
    assert not (tmp_path / "flowbuilder.db").exists()


def test_bad_input_flag_is_a_usage_error(tmp_path):
    result = flowbuilder("run", str(write(tmp_path, "g.json", GREETING)), "--input", "novalue", data_dir=tmp_path)

    assert result.returncode == 2
    assert "expected key=value" in result.stderr


def test_running_the_same_file_again_reuses_the_workflow_and_versions_changes(tmp_path):
    path = write(tmp_path, "greet.json", GREETING)
    flowbuilder("run", str(path), "--json", data_dir=tmp_path)
    flowbuilder("run", str(path), "--json", data_dir=tmp_path)
    changed = json.loads(json.dumps(GREETING))
    changed["nodes"][1]["config"]["separator"] = ", "
    path.write_text(json.dumps(changed))
    flowbuilder("run", str(path), "--json", data_dir=tmp_path)

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'flowbuilder.db'}")
    with engine.connect() as conn:
        workflows = conn.execute(sa.text("select name, current_version from workflows")).all()
        executions = conn.execute(sa.text("select count(*) from executions")).scalar()
    engine.dispose()
    assert workflows == [("greet", 2)]
    assert executions == 3


def test_node_types_lists_every_type_with_its_schema(tmp_path):
    result = flowbuilder("node-types", "--json", data_dir=tmp_path)

    types = {t["name"]: t for t in json.loads(result.stdout)}
    assert {"http.request", "logic.condition", "data.transform", "data.map", "text.combine", "flow.delay"} <= set(types)
    assert types["logic.condition"]["branches"] == ["true", "false"]
    assert "properties" in types["http.request"]["config_schema"]


def test_db_upgrade_creates_the_local_database(tmp_path):
    result = flowbuilder("db", "upgrade", data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout
    assert (tmp_path / "flowbuilder.db").exists()


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_runs_offline(example, tmp_path):
    result = flowbuilder("run", str(example), "--json", data_dir=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["status"] == "succeeded"


def test_there_are_at_least_four_examples():
    assert len(EXAMPLES) >= 4


def test_an_operator_makes_a_user_and_a_key_that_the_api_accepts(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from shared.settings import Settings

    user = json.loads(flowbuilder("users", "create", "--email", "ops@example.com", "--json", data_dir=tmp_path).stdout)
    by_email = flowbuilder(
        "keys", "create", "--user", "ops@example.com", "--scope", "read", "--json", data_dir=tmp_path
    )
    by_id = flowbuilder("keys", "create", "--user", user["id"], "--json", data_dir=tmp_path)

    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    for result in (by_email, by_id):
        key = json.loads(result.stdout)["key"]
        me = client.get("/api/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200 and me.json()["id"] == user["id"]
    assert json.loads(by_email.stdout)["scope"] == "read"


def test_a_key_for_an_unknown_user_is_refused(tmp_path):
    result = flowbuilder("keys", "create", "--user", "nobody@example.com", data_dir=tmp_path)

    assert result.returncode == 1
    assert "no user 'nobody@example.com'" in result.stderr
