"""Usage errors: a did-you-mean for commands, options and choices; which command argv names."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

JSON_FLAG = "--json"
END_OF_OPTIONS = "--"
_CHOICE = re.compile(r"invalid choice: '(?P<given>.*?)' \(choose from (?P<known>.*)\)$")
_UNRECOGNIZED = "unrecognized arguments: "


class UsageError(Exception):
    """A command line argparse refused; the parser that refused it prints its usage."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


def terminal_columns(fallback: int = 80) -> int:
    """The terminal's width as shutil.get_terminal_size gives it: COLUMNS, stdout's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else fallback


class Formatter(argparse.HelpFormatter):
    """argparse's help formatter, sized to the terminal without importing shutil."""

    # argparse makes a formatter for every argument it adds (to check its metavar), and each
    # one imported shutil, with bz2 and lzma, to ask the width: 2 ms of a `riskwatch run`
    # with no new data, which cron starts every few minutes.
    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = terminal_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of printing and exiting."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    # argparse prints its message and exits at once; raising lets main add a did-you-mean
    # and the JSON error document that --json promises.
    def error(self, message: str) -> NoReturn:
        """Refuse the command line."""
        raise UsageError(self, message)


def command_path(
    parser: argparse.ArgumentParser, argv: Sequence[str]
) -> tuple[list[str], argparse.ArgumentParser]:
    """The command words argv names (e.g. ['cron', 'install']) and the innermost parser."""
    words: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if token == END_OF_OPTIONS:
            break
        action = parser._option_string_actions.get(token.split("=", 1)[0])
        if action is not None:
            if action.nargs != 0 and "=" not in token:
                next(tokens, None)  # the option's value, not a command word
            continue
        commands = _subcommands(parser)
        if commands is None or token not in commands:
            continue
        words.append(token)
        parser = commands[token]
    return words, parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:  # argparse keeps its subcommands only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


def takes_json(parser: argparse.ArgumentParser) -> bool:
    """Whether the (sub)command parser has a --json option."""
    return JSON_FLAG in parser._option_string_actions


def explain(error: UsageError, words: list[str], innermost: argparse.ArgumentParser) -> str:
    """The refusal in plain words, with the nearest known name where there is one."""
    message = str(error)
    choice = _CHOICE.search(message)
    if choice:
        given, known = choice["given"], re.findall(r"'([^']*)'", choice["known"])
        if set(known) == set(_subcommands(error.parser) or ()):
            near = _nearest(given, known)
            hint = f"; did you mean '{' '.join([*words, near])}'?" if near else ""
            return f"unknown command '{' '.join([*words, given])}'{hint}"
        return message + _did_you_mean(given, known)
    if message.startswith(_UNRECOGNIZED):
        return _unrecognized(message[len(_UNRECOGNIZED) :].split(), words, innermost)
    return message


def _unrecognized(tokens: list[str], words: list[str], parser: argparse.ArgumentParser) -> str:
    options = [name for name in parser._option_string_actions if name.startswith("--")]
    where = f" for {' '.join(words)}" if words else ""
    said = []
    for at, token in enumerate(tokens):
        if token.startswith("-"):
            name = token.split("=", 1)[0]
            said.append(f"unknown option '{name}'{where}{_did_you_mean(name, options)}")
        elif at == 0 or not tokens[at - 1].startswith("-") or "=" in tokens[at - 1]:
            # (a word right after an unknown option is most likely its value: calllist --tpo 5)
            said.append(f"unexpected argument '{token}'{where}")
    return "; ".join(said)


def _did_you_mean(given: str, known: list[str]) -> str:
    near = _nearest(given, known)
    return f"; did you mean '{near}'?" if near else ""


def _nearest(given: str, known: list[str]) -> str | None:
    """The known name closest to the given one, if any is close."""
    import difflib  # noqa: PLC0415 - only a refused command line needs it

    near = difflib.get_close_matches(given, known, n=1)
    return near[0] if near else None
