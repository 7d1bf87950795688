"""The reference pages of the docs site, generated from the code itself: the configuration from
the settings' field descriptions, the command line from the Typer app, the HTTP API from the
service's OpenAPI document. No hand-kept copy can drift from what runs.

It is also the MkDocs hook that puts them into the site (``hooks:`` in ``mkdocs.yml``), with
``CONTRIBUTING.md`` from the repository root.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

from pydantic_settings import BaseSettings

from cryptovol.settings import REPO_ROOT

# Variables read outside the settings objects: (name, default, meaning)
OTHER_VARIABLES = (
    ("CRYPTOVOL_VERBOSE", "unset", "`1`: every error with its traceback, as `--verbose` does."),
    ("CRYPTOVOL_TEST_SLOWDOWN", "`1`", "Tests only: stretches every wait of the suite on a slow "
     "machine (`CRYPTOVOL_TEST_SLOWDOWN=3 make test`)."),
)
# building the site imports the service: its libraries' deprecation chatter is not for readers
warnings.filterwarnings("ignore", category=DeprecationWarning)


def env_names(model: type[BaseSettings], name: str) -> list[str]:
    """The environment variables a field of ``model`` is read from."""
    field = model.model_fields[name]
    alias = field.validation_alias
    if alias is not None:
        choices = getattr(alias, "choices", [alias])
        return [str(c) for c in choices]
    return [f"{model.model_config.get('env_prefix', '')}{name}".upper()]


def _default(model: type[BaseSettings], name: str) -> str:
    field = model.model_fields[name]
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None or value == []:
        return "unset"
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if isinstance(value, Path) and value.is_absolute():
        with contextlib.suppress(ValueError):
            value = value.relative_to(REPO_ROOT)
    return f"`{value}`"


def settings_models() -> list[tuple[str, type[BaseSettings]]]:
    from cryptovol.settings import Settings
    from cryptovol.stack.config import StackSettings

    return [("Platform (`cryptovol/settings.py`)", Settings),
            ("Production stack (`cryptovol stack`, `cryptovol/stack/config.py`)", StackSettings)]


def undocumented_settings() -> list[str]:
    """Fields without a description: each is a gap in the reference (a test keeps this empty)."""
    return [f"{model.__name__}.{name}" for _, model in settings_models()
            for name, field in model.model_fields.items() if not (field.description or "").strip()]


def configuration_markdown() -> str:
    lines = ["# Configuration", "",
             "Generated from the settings' own field descriptions (`cryptovol/cli/reference.py`). "
             "Every value comes from the environment; a `.env` file is not read. A setting's "
             "CLI option, where one exists, wins over its variable.", ""]
    for title, model in settings_models():
        lines += [f"## {title}", "", "| variable | default | meaning |", "| --- | --- | --- |"]
        for name, field in model.model_fields.items():
            names = " or ".join(f"`{n}`" for n in env_names(model, name))
            meaning = " ".join((field.description or "").split()).replace("|", "\\|")
            lines.append(f"| {names} | {_default(model, name)} | {meaning} |")
        lines.append("")
    lines += ["## Read elsewhere", "", "| variable | default | meaning |", "| --- | --- | --- |"]
    for name, default, meaning in OTHER_VARIABLES + tuple(_cli_envvars()):
        lines.append(f"| `{name}` | {default} | {meaning} |")
    return "\n".join(lines) + "\n"


def _walk(command, path: tuple[str, ...] = ()):
    yield path, command
    for name, child in getattr(command, "commands", {}).items():
        yield from _walk(child, (*path, name))


def _cli_envvars():
    from cryptovol.cli.app import command

    for path, cmd in _walk(command()):
        for param in cmd.params:
            if getattr(param, "envvar", None):
                yield (param.envvar, "unset",
                       f"{param.help} (`cryptovol {' '.join(path)} {param.opts[0]}`)")


def cli_commands() -> list[str]:
    """Every command of the app, as typed: ``models promote``, ``pipeline``, ..."""
    from cryptovol.cli.app import command

    return [" ".join(path) for path, cmd in _walk(command()) if path and not hasattr(cmd, "commands")]


def cli_markdown() -> str:
    import typer

    from cryptovol.cli.app import command

    root = command()
    lines = ["# Command line", "",
             "Generated from the Typer app (`cryptovol/cli/`); `cryptovol COMMAND --help` prints "
             "the same. Long commands stop within seconds on Ctrl-C or SIGTERM and leave no "
             "server behind; a user error is one line (`--verbose` adds the traceback).", ""]
    for path, cmd in _walk(root):
        if not path:
            continue
        ctx = typer.Context(cmd, info_name=" ".join(("cryptovol", *path)))
        level = "#" * min(len(path) + 1, 4)
        lines += [f"{level} `cryptovol {' '.join(path)}`", ""]
        lines += [_plain(cmd.help or ""), ""]
        if hasattr(cmd, "commands"):
            continue
        lines += ["```text", f"{cmd.get_usage(ctx).strip()}", "```", ""]
        rows = [p for p in cmd.params if not getattr(p, "hidden", False)]
        if rows:
            lines += ["| argument / option | type | default | help |", "| --- | --- | --- | --- |"]
            for p in rows:
                lines.append(_param_row(p, ctx))
            lines.append("")
    return "\n".join(lines) + "\n"


def _plain(text: str) -> str:
    """A docstring as Markdown paragraphs (Typer's help is Markdown already)."""
    import inspect

    return inspect.cleandoc(text).replace("\b\n", "")


def _param_row(param, ctx) -> str:
    names = ", ".join(f"`{o}`" for o in [*param.opts, *getattr(param, "secondary_opts", [])])
    if param.param_type_name == "argument":
        names = f"`{param.name.upper()}`" + (" ..." if param.nargs != 1 else "")
    kind = "flag" if getattr(param, "is_flag", False) else param.display_type(ctx).strip("<>")
    default = param.default
    if default is None or default == () or getattr(param, "required", False):
        shown = "required" if getattr(param, "required", False) else ""
    else:
        shown = f"`{default}`"
    help_text = " ".join((getattr(param, "help", None) or "").split()).replace("|", "\\|")
    return f"| {names} | {kind} | {shown} | {help_text} |"


def api_spec() -> dict:
    """The service's OpenAPI document, as ``/docs.json`` serves it (with API keys on)."""
    from serving.openapi import corrected
    from serving.service import VolatilityService

    spec = json.loads(json.dumps(VolatilityService.openapi_spec.asdict(), default=str))
    return corrected(spec, api_keys=True)


def api_markdown(spec: dict | None = None) -> str:
    spec = spec or api_spec()
    info = spec["info"]
    lines = [f"# HTTP API: {info['title']} {info['version']}", "",
             "Generated from the service's OpenAPI document (`serving/openapi.py` over BentoML's), "
             "the one `GET /docs.json` serves; the Swagger UI is at `/`.", "",
             info.get("description", ""), ""]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            text = _plain(op.get("description") or op.get("summary", ""))
            lines += [f"## `{method.upper()} {path}`", "", text, ""]
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                lines += _request_section(body)
            lines += ["| status | meaning |", "| --- | --- |"]
            for code, response in sorted(op.get("responses", {}).items()):
                lines.append(f"| {code} | {' '.join(response.get('description', '').split())} |")
            lines.append("")
    lines += ["## Schemas", ""]
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        lines += [f"### {name}", "", schema.get("description", ""), ""]
        props = schema.get("properties", {})
        if props:
            required = set(schema.get("required", []))
            lines += ["| field | type | required | meaning |", "| --- | --- | --- | --- |"]
            for field, prop in props.items():
                lines.append(f"| `{field}` | {_type(prop)} | {'yes' if field in required else ''} | "
                             f"{' '.join(prop.get('description', '').split())} |")
            lines.append("")
    lines += ["## The OpenAPI document", "", "```json", json.dumps(spec, indent=1), "```", ""]
    return "\n".join(lines)


def _request_section(body: dict) -> list[str]:
    lines = ["Request body (`application/json`):", ""]
    examples = body.get("examples") or {}
    for name, example in examples.items():
        lines += [f"*{example.get('summary', name)}*", "", "```json",
                  json.dumps(example["value"]), "```", ""]
    return lines


def _type(prop: dict) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[1]
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"array of {_type(prop.get('items', {}))}"
    return str(prop.get("type", "any"))


def on_files(files, config):  # the MkDocs hook
    from mkdocs.structure.files import File

    pages = {"reference/configuration.md": configuration_markdown(),
             "reference/cli.md": cli_markdown(),
             "reference/api.md": api_markdown(),
             # the repository's CONTRIBUTING.md, its links made relative to the site
             "contributing.md": (REPO_ROOT / "CONTRIBUTING.md").read_text().replace("](docs/", "](")}
    for path, content in pages.items():
        files.append(File.generated(config, path, content=content))
    return files
