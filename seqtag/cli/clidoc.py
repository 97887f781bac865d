"""docs/cli.md, the command-line reference, generated from the app itself: `python -m seqtag.cli.clidoc > docs/cli.md`.
A test checks that the committed file is what this prints, so the reference cannot drift from the commands."""

from __future__ import annotations

import enum
import typing
from pathlib import Path

import typer

from seqtag import settings


def render() -> str:
    from seqtag.cli import commands as cli

    app = typer.main.get_command(cli.app)
    lines = ["# Command-line reference", "",
             "Generated from the app by `python -m seqtag.cli.clidoc > docs/cli.md`; `seqtag COMMAND --help` prints the "
             "same. Errors and exit codes: docs/errors.md.", ""]
    lines += [f"- [`seqtag {name}`](#seqtag-{name}): {_first_line(command.help)}" for name, command in app.commands.items()]
    for name, command in app.commands.items():
        lines += ["", f"## seqtag {name}", "", (command.help or "").strip(), "", "| argument or option | takes | "
                  "default | what it does |", "|---|---|---|---|"]
        for param in command.params:
            if param.name == "help" or getattr(param, "hidden", False):
                continue
            lines.append(f"| {_names(param)} | {_takes(param)} | {_default(param)} | "
                         f"{(getattr(param, 'help', None) or '').replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if text and text.strip() else ""


def _names(param) -> str:
    if param.param_type_name == "argument":  # typer carries its own click: its classes are not click's
        return f"`{param.name.upper()}`" + (" ..." if param.nargs == -1 else "")
    return ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])


def _takes(param) -> str:
    """What a parameter takes, from the annotation typer read it from (typer carries its own click)."""
    if getattr(param, "is_flag", False):
        return "flag"
    setting = settings.FLAGGED.get(param.name)  # a kind's setting: its choices and bounds are declared there
    if setting is not None:
        if setting.choices:
            return " / ".join(f"`{choice}`" for choice in setting.choices)
        takes = _TAKES[setting.type]
        if setting.minimum is not None or setting.maximum is not None:
            takes += f" ({_bound(setting.minimum)}..{_bound(setting.maximum)})"
        return takes + (f" (above {setting.above:g})" if setting.above is not None else "")
    annotation = param.type_descriptor.annotation
    inner = typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else annotation
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return " / ".join(f"`{member.value}`" for member in inner)
    takes = _TAKES.get(inner, str(inner))
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None or high is not None:
        takes += f" ({low if low is not None else ''}..{high if high is not None else ''})"
    return takes + (", several" if typing.get_origin(annotation) is list else "")


_TAKES = {int: "integer", float: "number", bool: "flag", Path: "path", str: "text"}


def _bound(value) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _default(param) -> str:
    default = param.default
    if default is None or default is False or param.param_type_name == "argument" and not default:
        return ""
    if hasattr(default, "value"):
        default = default.value
    return f"`{default}`"


if __name__ == "__main__":
    print(render(), end="")
