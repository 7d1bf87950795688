"""The CLI's consoles and its one way to report a user error.

When output goes to a file or a pipe there is no terminal width to respect, so tables are
printed whole (no cell is cut or wrapped at 80 columns).
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

PIPE_WIDTH = 1000


def make_console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPE_WIDTH)


console = make_console()
err = make_console(stderr=True)


def print_error(message: str) -> None:
    """``error: <message>`` on stderr; the message is printed as is (no markup, no wrapping)."""
    err.print("[bold red]error:[/] ", end="")
    err.print(message, markup=False, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error and return the ``typer.Exit`` to raise."""
    print_error(message)
    return typer.Exit(code=code)
