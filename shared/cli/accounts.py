"""`flowbuilder users ...` and `flowbuilder keys ...`: operators making users and API keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

users_app = typer.Typer(help="Users.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
out = Console()
err = Console(stderr=True, soft_wrap=True)

DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="Default: $FLOWBUILDER_DATA_DIR")]


def _engine(data_dir: Path | None):
    from shared.db.migrate import upgrade
    from shared.db.session import create_db_engine
    from shared.settings import Settings, get_settings

    settings = Settings(data_dir=data_dir) if data_dir else get_settings()
    engine = create_db_engine(settings.resolved_database_url)
    upgrade(engine)
    return engine


@users_app.command("create")
def create_user(
    email: Annotated[str, typer.Option("--email", help="The user's email")],
    credits: Annotated[int, typer.Option("--credits", min=0, help="Starting credits")] = 1000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Create a user; prints its id."""
    from sqlmodel import Session

    from shared.db.models import User

    with Session(_engine(data_dir), expire_on_commit=False) as session:
        user = User(kind="user", email=email, credits=credits)
        session.add(user)
        session.commit()
    if as_json:
        print(json.dumps({"id": str(user.id), "email": email, "credits": credits}))
    else:
        out.print(f"user {user.id} ({email}, {credits} credits)", highlight=False)


@keys_app.command("create")
def create_key(
    user: Annotated[str, typer.Option("--user", help="User id, or email")],
    name: Annotated[str, typer.Option("--name")] = "cli",
    scope: Annotated[str, typer.Option("--scope", help="read | run | full")] = "full",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Create an API key for a user; the key is printed once and only its hash is kept."""
    from sqlmodel import Session

    from shared.db.crud import find_user
    from shared.identity.api_keys import SCOPES, issue_api_key

    if scope not in SCOPES:
        err.print(f"error: --scope must be one of {', '.join(SCOPES)}")
        raise typer.Exit(2)
    with Session(_engine(data_dir), expire_on_commit=False) as session:
        owner = find_user(session, user)
        if owner is None:
            err.print(f"error: no user {user!r}", markup=False)
            raise typer.Exit(1)
        issued = issue_api_key(session, owner.id, name, scope)
        session.commit()
    if as_json:
        print(json.dumps({"key": issued.key, "prefix": issued.record.prefix, "scope": scope, "user": str(owner.id)}))
    else:
        out.print(f"{issued.key}\n(shown once; prefix {issued.record.prefix}, scope {scope})", highlight=False)
