"""The application the commands register on, and its one error boundary: every command runs inside
reports_errors, so an error is one `error:` line and an exit code (docs/errors.md); `run` parses, dispatches and
turns usage errors into the same one line. The commands register on `app` when seqtag.cli.commands is imported,
which the entry points (`seqtag`, `python -m seqtag`) do. Exit codes: 0 success, 1 a failed `--fail-under` gate, 2
bad input or usage, 3 a model that cannot be loaded, 4 an internal error, 130 (143) interrupted by Ctrl-C (SIGTERM).
"""

from __future__ import annotations

import copy
import functools
import signal
import sys
import threading
import warnings
from typing import Annotated, NoReturn

import typer

from seqtag.version import __version__
from seqtag.cli import streams
from seqtag.errors import Interrupted, SeqtagError, SeqtagWarning
from seqtag.inputs import shown


app = typer.Typer(
    name="seqtag",
    help="Sequence labelling from the command line: POS tagging, NER, chunking and word segmentation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,  # plain help: option texts like "[model]" are not markup, flags show no <bool>
)
_state = {"debug": False, "signal": signal.SIGINT}  # the signal that interrupts, for the exit code


def print_error(message: str) -> None:
    """One plain line that scripts can grep, never wrapped; what it quotes from files cannot reach the terminal as
    control sequences."""
    print("error: " + shown(" ".join(message.split("\n"))), file=sys.stderr)


def fail(message: str, code: int) -> NoReturn:
    """The one way a command ends in error: one line, one exit code."""
    print_error(message)
    raise typer.Exit(code)


def _described(error: BaseException) -> tuple[str, int]:
    """What the user reads for an error, and the exit code (docs/errors.md)."""
    interrupted = 128 + _state["signal"]  # 130 for Ctrl-C, 143 for SIGTERM, as a shell counts them
    if isinstance(error, Interrupted):
        return str(error), interrupted
    if isinstance(error, SeqtagError):
        return str(error), error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return "interrupted", interrupted
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}", 2
    if isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and (
            "can't allocate memory" in str(error) or "out of memory" in str(error).lower())):
        return ("out of memory: this run asked for more than the machine (or the GPU) has free; lower --batch-size, "
                "--hidden or --layers, or --window when tagging", 2)
    return (f"internal error, please report it: {type(error).__name__}: {error} (seqtag --debug COMMAND ... shows "
            "the traceback)", 4)


def reports_errors(command):
    """Every command runs inside this: an error becomes one `error: FILE:LINE: message` line and its exit code
    (the traceback with --debug); nothing else reaches the user as a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", SeqtagWarning)  # every time, also when a process runs twice
                warnings.showwarning = _show_warning
                return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException, SystemExit):
            raise
        except BrokenPipeError:  # `| head` closed the pipe: stop quietly
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except BaseException as error:
            if _state["debug"]:
                raise
            fail(*_described(error))

    wrapper.reports_errors = True
    return wrapper


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """seqtag's warnings as one `warning:` line; a library's as Python shows them."""
    if issubclass(category, SeqtagWarning):
        print(f"warning: {shown(str(message))}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _on_terminate(signum, frame) -> None:
    """SIGTERM takes the path Ctrl-C takes (save what is finished, say what was kept), and exits 143."""
    _state["signal"] = signum
    raise KeyboardInterrupt


def _version(value: bool) -> None:
    if value:
        print(f"seqtag {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")] = False,
) -> None:
    _state["debug"] = debug


def _app_for(args: list[str]) -> typer.Typer:
    """The app with only the command that `args` runs, when they name one: typer inspects every command's
    parameters before it parses, and the commands not run would add to `seqtag tag`'s start-up (docs/benchmarks.md).
    Its help, errors and exit codes are the full app's (tested)."""
    name = next((arg for arg in args if not arg.startswith("-")), None)
    chosen = [info for info in app.registered_commands
              if (info.name or info.callback.__name__).replace("_", "-") == name]
    if not chosen:  # `seqtag --help`, a misspelt command (typer suggests the right one): the whole app
        return app
    single = copy.copy(app)
    single.registered_commands = chosen
    return single


def run(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code. Usage errors (unknown option, a value out of range) are one
    `error:` line with exit code 2, like every other error."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_terminate)
    if refusal := streams.refusal(sys.argv[1:] if argv is None else list(argv)):
        print_error(refusal)
        return 2
    command = typer.main.get_command(_app_for(sys.argv[1:] if argv is None else argv))
    try:
        code = command.main(args=argv, prog_name="seqtag", standalone_mode=False)
    except typer.TyperException as e:  # click's usage errors
        context = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError":  # plain `seqtag`: the help, as before
            print(context.get_help() if context else str(e), file=sys.stderr)
            return 2
        message = (e.format_message() if hasattr(e, "format_message") else str(e)).replace("Value error, ", "")
        command_name = " ".join(context.command_path.split()[1:]) if context else ""
        hint = f" (seqtag {command_name} --help lists the options)" if command_name else " (seqtag --help)"
        if command_name == "tag" and "unexpected extra argument" in message.lower():  # `seqtag tag -m M file.txt`
            hint = (": tag reads stdin and writes stdout (seqtag tag -m MODEL < FILE), or tags files into a folder "
                    "(--input FILE --output-dir DIR)")
        print_error(" ".join(message.split()) + hint)
        return getattr(e, "exit_code", 2)
    except typer.Abort:
        print_error("interrupted")
        return 128 + _state["signal"]
    return code if isinstance(code, int) else 0


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(argv))
