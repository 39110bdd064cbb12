"""`flowbuilder credits grant USER N`: operators adding credits (or taking them back with a
negative N), always through the ledger."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from shared.cli.accounts import DataDirOption, _engine

credits_app = typer.Typer(help="Credits.", no_args_is_help=True)
out = Console()
err = Console(stderr=True, soft_wrap=True)


@credits_app.command("grant", context_settings={"ignore_unknown_options": True})
def grant_credits(
    user: Annotated[str, typer.Argument(help="User id, or email")],
    amount: Annotated[int, typer.Argument(help="Credits to add (negative to take away)")],
    reason: Annotated[str, typer.Option("--reason", help="The ledger row's reason")] = "grant",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Add credits to a user's balance with a ledger row; prints the new balance."""
    from sqlmodel import Session

    from shared.credits import grant
    from shared.db.crud import find_user

    with Session(_engine(data_dir), expire_on_commit=False) as session:
        owner = find_user(session, user)
        if owner is None:
            err.print(f"error: no user {user!r}", markup=False)
            raise typer.Exit(1)
        balance = grant(session, owner.id, amount, reason=reason)
        session.commit()
    if as_json:
        print(json.dumps({"user": str(owner.id), "granted": amount, "balance": balance}))
    else:
        out.print(f"user {owner.id}: {amount:+d} credits, balance {balance}", highlight=False)
