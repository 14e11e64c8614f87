"""The ``formcheck`` command. Each subcommand lives in its own module with
``add_arguments(parser)`` and ``run(args) -> int``.

Exit codes (README's table is the user-facing copy): 0 success; 1 no usable lift measured, or a
user/environment error (a bad option value, an unwritable --out, a full disk); 2 bad video input;
3 model missing or invalid; 4 plugin/rule configuration error; 64 the command line could not be
parsed (unknown option, missing argument); 130 interrupted; 70 internal error (a bug: please
report it with ``--debug`` output).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys

from ..errors import FormcheckError
from .stdout import tolerant_stdout

#: Subcommand name -> (module, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("analyze", "Analyse a lifting video: metrics per rep, findings, cues and a report."),
    "models": ("models", "Provision and check model files (pose model, LLM)."),
    "rules": ("rules", "List the loaded form rules and their thresholds."),
    "batch": ("batch", "Analyse many clips (files, folders, globs) into tidy tables, locally or on Dask."),
    "compare": ("compare", "Compare threshold-rule flags with LLM-only flags over clips."),
}
#: Other spellings a command answers to (British "analyse", as the help text writes it).
ALIASES: dict[str, str] = {"analyse": "analyze"}
#: What ``formcheck --help`` says above the commands (the module docstring is for developers).
DESCRIPTION = (
    "Film a deadlift, get back what a good coach would say: reps and key moments, metrics, form "
    "faults and cues, each tied to a measured number, with a report. Everything runs on this machine."
)
#: Below the commands: where to go next.
EPILOG = (
    "Run `formcheck COMMAND --help` for a command's options, e.g. `formcheck analyze --help`; "
    'the exit codes are in README.md ("Exit codes").'
)
EXIT_INTERNAL = 70
#: The command line could not be parsed (BSD sysexits' EX_USAGE); 2 means "video unreadable".
EXIT_USAGE = 64


class _Parser(argparse.ArgumentParser):
    """argparse with formcheck's one-line error and exit code :data:`EXIT_USAGE`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        argv = sys.argv[1:]
        dashed = [a for a in argv if a.startswith("-") and len(a) > 1 and os.path.isfile(a)]
        if dashed:  # a file named like an option was taken for one
            message += f"; {dashed[0]} is a file whose name starts with '-': write ./{dashed[0]}"
        elif message.startswith("unrecognized arguments") and _command(argv) == "analyze":
            clips = [a for a in argv if not a.startswith("-") and os.path.isfile(a)]
            if len(clips) > 1:  # `formcheck analyze a.mp4 b.mp4`
                message += (
                    "; analyze takes one clip: for several, use `formcheck batch " + " ".join(clips) + "`"
                )
        print(f"formcheck: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (keeps ``formcheck --help`` fast)."""
    parser = _Parser(prog="formcheck", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        aliases = [alias for alias, to in ALIASES.items() if to == name]
        cmd = sub.add_parser(name, help=help_text, description=help_text, aliases=aliases)
        if name == command:
            mod = importlib.import_module(f"{__name__}.{module}")
            mod.add_arguments(cmd)
            cmd.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; Ctrl-C at any point (even while the options are being parsed and
    their modules imported) ends with ``formcheck: interrupted`` and exit code 130."""
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        print("formcheck: interrupted", file=sys.stderr)
    # The interrupted work's frames (and a pose model one of them opened) are unreferenced now:
    # finalise them while the interpreter is whole, not during its shutdown, where MediaPipe's
    # own __del__ fails with a traceback. An object Ctrl-C stopped half-built (a MediaPipe Image
    # without its native pointer) fails in its __del__ all the same: that is the interruption
    # already said, so the process ends without printing finalisers' errors.
    previous = sys.unraisablehook
    sys.unraisablehook = _ignore_unraisable
    gc.collect()
    if argv is not None:  # called in-process (a notebook, a test): the host's hook as it was
        sys.unraisablehook = previous
    return 130


def _ignore_unraisable(_unraisable: object) -> None:
    """``sys.unraisablehook`` after Ctrl-C: finalisers of interrupted objects print nothing."""


def _command(argv: list[str]) -> str | None:
    """The command ``argv`` names (an alias resolved), or None when it names none."""
    word = next((a for a in argv if not a.startswith("-")), None)
    word = ALIASES.get(word or "", word)
    return word if word in COMMANDS else None


def _main(argv: list[str]) -> int:
    args = build_parser(_command(argv)).parse_args(argv)
    try:
        with tolerant_stdout():  # `formcheck analyze clip.mp4 | head` still writes the report
            return int(args._run(args) or 0)
    except FormcheckError as exc:
        print(f"formcheck: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the environment: full disk, no permission, ...
        from ..outdir import os_error_message

        if args.debug:
            raise
        print(f"formcheck: error: {os_error_message(exc, 'reading or writing files')}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line unless --debug
        if args.debug:
            raise
        print(
            f"formcheck: internal error: {type(exc).__name__}: {exc} (rerun with --debug and report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
