"""`flowbuilder`: validate and run workflow files, list node types, manage the database.

Exit codes: 0 success; 1 the workflow is invalid or its run failed/was cancelled; 2 bad
command-line input (unreadable file, malformed JSON, bad --input)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from shared.cli.accounts import keys_app, users_app
from shared.cli.credits import credits_app
from shared.cli.files import CliInputError, load_credentials_file, load_workflow_file, parse_inputs
from shared.local.dev_server import dev as dev_command

app = typer.Typer(
    name="flowbuilder",
    help="Flow Builder: build, run, schedule and watch workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(credits_app, name="credits")
app.command("dev")(dev_command)

out = Console()
err = Console(stderr=True, soft_wrap=True)

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Where the SQLite file lives (default: $FLOWBUILDER_DATA_DIR)")
]


def _settings(data_dir: Path | None):
    from shared.settings import Settings, get_settings

    return Settings(data_dir=data_dir) if data_dir else get_settings()


def _fail_input(exc: CliInputError) -> typer.Exit:
    err.print(f"error: {exc}", markup=False, highlight=False)
    return typer.Exit(2)


@app.command()
def validate(file: Annotated[Path, typer.Argument(help="Workflow JSON file")]) -> None:
    """Check a workflow file; prints one line per problem, naming the node and field."""
    from shared.engine.validation import validate_definition
    from shared.nodes import default_registry

    try:
        workflow = load_workflow_file(file)
    except CliInputError as exc:
        raise _fail_input(exc) from None
    _, issues = validate_definition(workflow.definition, default_registry())
    if issues:
        for issue in issues:
            err.print(f"{file}: {issue}", markup=False, highlight=False)
        raise typer.Exit(1)
    out.print(f"{file}: valid ({len(workflow.definition.get('nodes', []))} nodes)", highlight=False)


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="Workflow JSON file")],
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="key=value (value parsed as JSON)")] = None,
    input_json: Annotated[str | None, typer.Option("--input-json", help="The whole input as a JSON object")] = None,
    credentials: Annotated[
        Path | None, typer.Option("--credentials", help="JSON file: {name: {values}} for nodes' credentials")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON, no table")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Run a workflow file here, on the local database, showing each step as it runs."""
    from shared.cli.local_run import run_workflow_file
    from shared.engine.validation import DefinitionInvalid

    try:
        workflow = load_workflow_file(file)
        values = parse_inputs(input or [], input_json)
        creds = load_credentials_file(credentials)
    except CliInputError as exc:
        raise _fail_input(exc) from None
    settings = _settings(data_dir)
    try:
        if as_json:
            outcome = asyncio.run(run_workflow_file(workflow, values, settings, credentials=creds))
        else:
            outcome = _run_with_live_table(workflow, values, settings, creds)
    except DefinitionInvalid as exc:
        for issue in exc.issues:
            err.print(f"{file}: {issue}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(json.dumps(_outcome_json(outcome), default=str))
    else:
        _print_outcome(outcome)
    if outcome.status != "succeeded":
        raise typer.Exit(1)


def _run_with_live_table(workflow, values, settings, creds):
    from rich.live import Live

    from shared.cli.local_run import run_workflow_file
    from shared.cli.progress import StepTable

    table = StepTable(workflow.definition.get("nodes", []))
    with Live(table.render(), console=out, refresh_per_second=10, transient=False) as live:

        def refresh(execution_id, event) -> None:
            table.on_event(execution_id, event)
            live.update(table.render())

        outcome = asyncio.run(run_workflow_file(workflow, values, settings, credentials=creds, listeners=[refresh]))
    out.line()
    for line in table.logs:
        out.print(line, markup=False, highlight=False)
    return outcome


def _outcome_json(outcome) -> dict[str, Any]:
    return {
        "execution_id": str(outcome.execution_id),
        "status": outcome.status,
        "output": outcome.output,
        "error": outcome.error,
        "credits_used": outcome.credits_used,
        "steps": {
            node_id: {"status": step.status, "output": step.output, "error": step.error, "credits": step.credits}
            for node_id, step in outcome.steps.items()
        },
    }


def _print_outcome(outcome) -> None:
    style = "green" if outcome.status == "succeeded" else "bold red"
    out.print(f"execution {outcome.execution_id}: [{style}]{outcome.status}[/] ({outcome.credits_used} credits)")
    if outcome.error:
        err.print(f"error: {outcome.error}", markup=False, highlight=False)
    if outcome.output is not None:
        out.print_json(json.dumps(outcome.output, default=str))


@app.command("settings")
def settings_reference(
    markdown: Annotated[bool, typer.Option("--markdown", help="The reference page docs/settings.md")] = False,
):
    """List every setting (FLOWBUILDER_* environment variable) with its default and meaning."""
    from shared.cli.settings_docs import render_markdown

    if markdown:
        print(render_markdown(), end="")
        return
    from rich.table import Table

    from shared.settings import Settings

    table = Table("variable", "default", "description")
    for name, field in Settings.model_fields.items():
        table.add_row(f"FLOWBUILDER_{name.upper()}", repr(field.default), field.description or "")
    out.print(table)


@app.command("node-types")
def node_types(
    as_json: Annotated[bool, typer.Option("--json", help="Full descriptions with JSON Schemas")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="The reference page docs/nodes.md")] = False,
):
    """List the node types this installation can run."""
    from rich.table import Table

    from shared.nodes import default_registry

    registry = default_registry()
    if markdown:
        from shared.cli.node_docs import render_markdown

        print(render_markdown(registry), end="")
        return
    if as_json:
        out.print_json(json.dumps([node_type.describe() for node_type in registry]))
        return
    table = Table("type", "lane", "credits", "branches", "description")
    for node_type in registry:
        summary = node_type.description.split(". ")[0]
        table.add_row(node_type.name, node_type.lane, str(node_type.cost), ",".join(node_type.branches), summary)
    out.print(table)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head", data_dir: DataDirOption = None
) -> None:
    """Apply database migrations (SQLite in the data dir, or FLOWBUILDER_DATABASE_URL)."""
    from shared.db.migrate import current_revision, upgrade
    from shared.db.session import create_db_engine

    settings = _settings(data_dir)
    engine = create_db_engine(settings.resolved_database_url)
    upgrade(engine, revision)
    out.print(f"database at revision {current_revision(engine)}", highlight=False)


def main() -> None:
    app()
