"""``cryptovol``: the Typer app (every command, grouped in the help as a user meets them) and
:func:`main`, which turns any failure into one line (a traceback only with ``--verbose``)."""

from __future__ import annotations

import os
import signal
import sys
import traceback

import typer

from cryptovol.cli.alerts import alerts_app
from cryptovol.cli.console import print_error
from cryptovol.cli.data import data_app, ingest
from cryptovol.cli.loop import drift, monitor, refresh, replay, retrain, schedule
from cryptovol.cli.models import models_app, train
from cryptovol.cli.ops import env, ui
from cryptovol.cli.pipeline import pipeline
from cryptovol.cli.serving import predict, serve
from cryptovol.cli.sources import pull, sources_app, stream
from cryptovol.cli.stack import stack_app

app = typer.Typer(
    help="cryptovol: crypto volatility forecasting, from candles to a served model.\n\n"
         "Start with `cryptovol pipeline`, then `cryptovol serve` and, in another shell, "
         "`cryptovol predict BTC ETH`. Every command has --help with an example.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode="markdown")

START, DATA, MODELS, LOOP, OPERATE = ("Start here", "Candles in", "Models and the registry",
                                      "The living loop", "Operate")
for command, panel in ((pipeline, START), (serve, START), (predict, START),
                       (ingest, DATA), (refresh, DATA), (pull, DATA), (stream, DATA),
                       (train, MODELS),
                       (monitor, LOOP), (drift, LOOP), (retrain, LOOP), (schedule, LOOP),
                       (replay, LOOP),
                       (ui, OPERATE), (env, OPERATE)):
    app.command(rich_help_panel=panel)(command)
for group, name, panel in ((data_app, "data", DATA), (sources_app, "sources", DATA),
                           (models_app, "models", MODELS), (alerts_app, "alerts", OPERATE),
                           (stack_app, "stack", OPERATE)):
    app.add_typer(group, name=name, rich_help_panel=panel)


def command():
    """The app as a command tree, its flags shown without a type label (an on/off switch has
    no value to describe)."""
    root = typer.main.get_command(app)
    pending = [root]
    while pending:
        node = pending.pop()
        node.get_help_option(node.context_class(node))  # created (and cached) now, to be seen here
        for param in [*node.params, node._help_option]:
            if param is not None and getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        pending.extend(getattr(node, "commands", {}).values())
    return root


def _verbose(argv: list[str]) -> bool:
    return "--verbose" in argv or "-v" in argv or os.environ.get("CRYPTOVOL_VERBOSE", "") == "1"


def main(argv: list[str] | None = None) -> None:
    """Run a command; a user error is one line, a traceback only with --verbose.

    The ``cryptovol`` executable is :func:`cryptovol.cli.entry.main`, which runs long commands under a
    supervisor that calls this in a child process.
    """
    from cryptovol.errors import describe

    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _terminate)  # SIGTERM unwinds like Ctrl-C: servers stopped
    # explicitly: a process started in the background inherits SIGINT *ignored*
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = command().main(args=argv, prog_name="cryptovol", standalone_mode=False)
    except typer.Abort as exc:
        if not isinstance(exc.__cause__, KeyboardInterrupt):
            print_error("aborted")
            sys.exit(1)
        _stopped(exc.__cause__)
    except typer.TyperException as exc:  # usage errors: Typer's own message and usage line
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:  # outside a command's own code (start-up, clean-up)
        _stopped(exc)
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        message = describe(exc)
        if _verbose(argv):
            traceback.print_exc()
        if message is None:
            message = (f"unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                       " (a bug: run again with --verbose for the traceback and report it)")
        if type(exc).__name__ == "TerminationSignal":  # Prefect's SIGTERM inside a flow
            _stopped(Terminated())
        print_error(message)
        sys.exit(1)
    if code == 130:  # Typer turns an interrupt inside a command into exit code 130
        _stopped(KeyboardInterrupt())
    sys.exit(code or 0)


_received: list[int] = []


def _stopped(exc: KeyboardInterrupt) -> None:
    # Prefect answers SIGTERM inside a flow with its own TerminationSignal
    term = (isinstance(exc, Terminated) or type(exc).__name__ == "TerminationSignal"
            or signal.SIGTERM in _received)
    print_error(f"stopped{' by SIGTERM' if term else ''}; files already stored are complete "
                "(every write is atomic)")
    # the servers are stopped (their `finally` blocks ran); skip library exit hooks that may
    # wait on them
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(143 if term else 130)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be so that the same clean-up runs."""


def _terminate(signum, frame) -> None:
    _received.append(signum)
    raise Terminated
