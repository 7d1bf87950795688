"""User errors: what went wrong in one line that names the file, field or setting, and the fix.

Raise a subclass of :class:`UserError` for anything the user can fix; the CLI prints its
message as one line (no traceback unless ``--verbose``). :func:`describe` turns the other
exceptions a user can cause (OS errors, invalid settings) into such a line too.
"""

from __future__ import annotations


class UserError(Exception):
    """Input, settings or environment the user can fix; the message says what and how."""


def describe(exc: BaseException) -> str | None:
    """One line for an error the user can act on, or ``None`` for a bug."""
    from pydantic import ValidationError

    from cryptovol.files import describe_os_error

    if isinstance(exc, UserError | LookupError):
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ValidationError):
        parts = []
        for e in exc.errors():
            name = ".".join(str(p) for p in e.get("loc", ())) or exc.title
            parts.append(f"setting {name} (env CRYPTOVOL_{name.upper()}): {e.get('msg')}")
        return "; ".join(parts)
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    return None
