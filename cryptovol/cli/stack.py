"""``cryptovol stack up|status|down``: the production profile on this machine's servers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cryptovol.cli.console import console, err
from cryptovol.cli.console import fail as _fail
from cryptovol.cli.options import Bar, Home

stack_app = typer.Typer(
    help="The production profile, started natively: PostgreSQL-backed MLflow, Prefect and Feast "
         "registry, Redis, the schedule runner, the Bento service and the Evidently UI, supervised "
         "(logs and pid files under CRYPTOVOL_HOME/stack). PostgreSQL must run already: "
         "CRYPTOVOL_STACK_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres).\n\n"
         "Example: `cryptovol stack up && cryptovol stack status`",
    no_args_is_help=True)



def _stack(home: Path | None, bar: str | None):
    from cryptovol.cli.runtime import bootstrap
    from cryptovol.stack.config import Stack, StackSettings

    # the stack's own servers are not up yet: nothing to check before it starts them
    settings = bootstrap(check_backends=False, home=home, bar=bar)
    return Stack(settings, StackSettings())


def _table(statuses) -> Table:
    table = Table(title="cryptovol stack")
    for column in ("component", "state", "pid", "url", "health", "log"):
        table.add_column(column)
    for s in statuses:
        health = "[green]ok[/]" if s.healthy else f"[red]{s.problem or s.state}[/]"
        table.add_row(s.name, s.state, str(s.pid or ""), s.url, health, str(s.log))
    return table


@stack_app.command()
def up(
    pipeline: Annotated[bool, typer.Option(
        help="Run the first pipeline when the registry has no @champion (the service needs one).")]
    = True,
    bar: Bar = None, home: Home = None,
) -> None:
    """Create the databases, start every component in order, each healthy before the next (the
    first pipeline before the service), and print the URLs. Running it again starts only what
    is not running.

    Example: `CRYPTOVOL_STACK_POSTGRES=postgresql://postgres@127.0.0.1:5432/postgres cryptovol stack up`
    """
    from cryptovol.stack.lifecycle import StackError
    from cryptovol.stack.lifecycle import up as start

    stack = _stack(home, bar)
    try:
        statuses = start(stack, lambda line: err.print(line, highlight=False), pipeline)
    except StackError as exc:
        raise _fail(f"stack up: {exc} (what started keeps running: `cryptovol stack status`, "
                    "`cryptovol stack down`)") from None
    console.print(_table(statuses))
    console.print(f"clients: set -a; . {stack.env_file}; set +a   (then any cryptovol command "
                  "runs against the stack)", highlight=False)


@stack_app.command()
def status(bar: Bar = None, home: Home = None,
           as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False) -> None:
    """Each component's state, pid, URL, live health check and log; exit 1 unless all healthy.

    Example: `cryptovol stack status --json`
    """
    from cryptovol.stack.lifecycle import describe
    from cryptovol.stack.lifecycle import status as current

    statuses = current(_stack(home, bar))
    if as_json:
        print(describe(statuses))
    else:
        console.print(_table(statuses))
    raise typer.Exit(0 if all(s.healthy for s in statuses) else 1)


@stack_app.command()
def down(bar: Bar = None, home: Home = None) -> None:
    """Stop every component the stack started and its supervisor (PostgreSQL, and a Redis given
    by REDIS_URL, keep running; every database and volume keeps its data).

    Example: `cryptovol stack down`
    """
    from cryptovol.stack.lifecycle import down as stop

    stopped = stop(_stack(home, bar))
    console.print(f"stack down: stopped {', '.join(stopped) if stopped else 'nothing (not running)'}",
                  highlight=False)
