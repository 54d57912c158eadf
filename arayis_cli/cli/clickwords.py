"""Typer's and Click's own words (usage errors, help headings) through our catalogue.

The one place that reaches into typer's internals, pinned by
tests/test_i18n.py::test_clickwords_hooks_exist, which fails loudly when typer changes.

Typer 0.29 vendors Click as ``typer._click`` with Click's gettext calls taken out: its
words are plain English literals. What is left of gettext is ``typer.core``'s
``from gettext import gettext as _`` ("Options", "Arguments", "Commands", "required",
"No such command …"), which reads the *process-global* gettext domain and the ``LANG``
variables, not ``ARAYIS_LANG``. So, once, at import of the root app:

* ``typer.core._`` is pointed at :func:`arayis_cli.i18n.gettext` (headings, defaults);
* the help option's "Show this message and exit." and the "Usage: " prefix are worded
  through the catalogue when help is built;
* ``UsageError.show`` (what typer calls for a usage error, in ``main`` and under
  ``CliRunner`` alike) writes :func:`usage_message`, which rebuilds Click's English
  sentences from the exception's fields in the current language.

The app is built with ``rich_markup_mode=None``, so typer's Rich formatter
(``typer.rich_utils``, with its own gettext constants) is never used and not patched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import IO, Any

import typer.core
from typer._click import core as click_core
from typer._click import exceptions as click_exc
from typer._click import formatting as click_formatting
from typer._click.utils import echo

from arayis_cli.i18n import N_, _, gettext

# Click's and pydantic's English sentences that reach people, as patterns; the msgid of
# each is our wording of it (N_ so that extraction finds them).
_KNOWN: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(?P<message>.*)\. Did you mean (?P<suggestions>.*)\?$"), "nested"),
    (
        re.compile(r"^Option '(?P<option>.+)' requires an argument\.$"),
        N_("Option '{option}' needs a value."),
    ),
    (
        re.compile(r"^Option '(?P<option>.+)' requires (?P<n>\d+) arguments\.$"),
        N_("Option '{option}' needs {n} values."),
    ),
    (
        re.compile(r"^Option '(?P<option>.+)' does not take a value\.$"),
        N_("Option '{option}' takes no value."),
    ),
    (
        re.compile(r"^Got unexpected extra argument\(s\) \((?P<args>.*)\)$"),
        N_("Unexpected extra argument(s): {args}"),
    ),
    (re.compile(r"^Input should be a valid integer.*$"), N_("a whole number is expected")),
    (re.compile(r"^Input should be a valid (number|decimal).*$"), N_("a number is expected")),
    (re.compile(r"^Input should be a valid date.*$"), N_("a date (YYYY-MM-DD) is expected")),
    (re.compile(r"^Input should be (?P<choices>'.*)$"), N_("expected one of {choices}")),
    (
        re.compile(r"^Value (?P<value>.*) is not a valid (?P<kind>\w+)\.$"),
        N_("{value} is not a valid {kind}."),
    ),
]

#: typer.core's own gettext msgids (translated through ``typer.core._``), listed for extraction.
TYPER_MSGIDS = (
    N_("Options"),
    N_("Arguments"),
    N_("Commands"),
    N_("required"),
    N_("default: {default}"),
    N_("env var: {var}"),
    N_("(dynamic)"),
    N_("Aborted!"),
    N_("No such command {name!r}."),
    # typer's completion options (their help is worded through the catalogue like ours)
    N_("Install completion for the current shell."),
    N_("Show completion for the current shell, to copy it or customize the installation."),
)

#: The type words typer shows in help (``--limit <int>``), worded for people.
TYPE_WORDS = {
    "int": N_("number"),
    "str": N_("text"),
    "path": N_("path"),
    "list[int]": N_("numbers"),
    "list[str]": N_("texts"),
    "file": N_("file"),
    "bool": N_("yes/no"),
}
#: The placeholders of the usage line.
USAGE_WORDS = {
    "[OPTIONS]": N_("[OPTIONS]"),
    "COMMAND [ARGS]...": N_("COMMAND [ARGS]..."),
}

_MISSING = {
    "argument": N_("Missing argument {name}."),
    "option": N_("Missing option {name}."),
}


def known(text: str) -> str:
    """One of Click's (or pydantic's) English sentences in the current language."""
    for pattern, msgid in _KNOWN:
        match = pattern.match(text)
        if match is None:
            continue
        if msgid == "nested":
            return gettext("{message}. Did you mean {suggestions}?").format(
                message=known(match["message"] + ".").rstrip("."), suggestions=match["suggestions"]
            )
        return gettext(msgid).format(**match.groupdict())
    return text


def _hint(exc: click_exc.BadParameter) -> str | None:
    if exc.param_hint is not None:
        hint = exc.param_hint
    elif exc.param is not None:
        hint = exc.param.get_error_hint()
    else:
        return None
    return click_exc._join_param_hints(hint)


def usage_message(exc: click_exc.UsageError) -> str:
    """The one-line message of a usage error, in the current language."""
    if isinstance(exc, click_exc.MissingParameter):
        hint = _hint(exc) or ""
        param_type = exc.param_type or (exc.param.param_type_name if exc.param else "")
        template = _MISSING.get(param_type, N_("Missing value {name}."))
        text = gettext(template).format(name=hint).replace(" .", ".")
        return f"{text} {known(exc.message)}" if exc.message else text
    if isinstance(exc, click_exc.BadParameter):
        hint = _hint(exc)
        inner = known(exc.message)
        if hint is None:
            return _("Invalid value: {message}").format(message=inner)
        return _("Invalid value for {name}: {message}").format(name=hint, message=inner)
    if isinstance(exc, click_exc.NoSuchOption):
        message = exc.message
        if message == f"No such option: {click_exc._escape_control_characters(exc.option_name)}":
            message = _("No such option: {option}").format(option=exc.option_name)
        if exc.possibilities:
            possible = ", ".join(sorted(exc.possibilities))
            message += " " + _("(Did you mean: {options})").format(options=possible)
        return message
    return known(exc.message)


def _show(self: click_exc.UsageError, file: IO[Any] | None = None) -> None:
    """Click's ``UsageError.show`` with its words through the catalogue."""
    if file is None:
        file = click_exc.get_text_stderr()
    color = None
    if self.ctx is not None:
        hint = ""
        if self.ctx.command.get_help_option(self.ctx) is not None:
            hint = (
                _("Try '{command} {option}' for help.").format(
                    command=self.ctx.command_path, option=self.ctx.help_option_names[0]
                )
                + "\n"
            )
        color = self.ctx.color
        echo(f"{self.ctx.get_usage()}\n{hint}", file=file, color=color)
    from arayis_cli.cli.output import for_terminal

    error = _("Error: {message}").format(message=usage_message(self))
    echo(for_terminal(error, indent="  "), file=file, color=color)


def _wrap_write_usage(original: Callable[..., None]) -> Callable[..., None]:
    def write_usage(
        self: click_formatting.HelpFormatter, prog: str, args: str = "", prefix: str | None = None
    ) -> None:
        for english, msgid in USAGE_WORDS.items():
            args = args.replace(english, gettext(msgid))
        original(self, prog, args, _("Usage: ") if prefix is None else prefix)

    return write_usage


def _wrap_display_type(original: Callable[..., str]) -> Callable[..., str]:
    def display_type(self: Any, ctx: click_core.Context) -> str:
        shown = original(self, ctx)
        word = TYPE_WORDS.get(shown.strip("<>"))
        return f"<{gettext(word)}>" if word is not None else shown

    return display_type


def _wrap_get_help_option(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_help_option(self: click_core.Command, ctx: click_core.Context) -> Any:
        option = original(self, ctx)
        if option is not None:
            option.help = _("Show this message and exit.")
        return option

    return get_help_option


def _translate_help(cmd: Any) -> None:
    """Help texts are msgids marked with N_ at definition (before the language is known);
    worded here, when help is built. The msgid is kept beside the text it became."""
    for thing in [cmd, *getattr(cmd, "params", ()), *getattr(cmd, "commands", {}).values()]:
        for attr in ("help", "short_help"):
            msgid = getattr(thing, f"_arayis_{attr}", None) or getattr(thing, attr, None)
            if isinstance(msgid, str) and msgid:
                setattr(thing, f"_arayis_{attr}", msgid)
                setattr(thing, attr, gettext(msgid))


def _wrap_get_help(original: Callable[..., str]) -> Callable[..., str]:
    def get_help(self: click_core.Command, ctx: click_core.Context) -> str:
        _translate_help(self)
        return original(self, ctx)

    return get_help


def install() -> None:
    """Route typer's words through the catalogue; idempotent."""
    if getattr(click_exc.UsageError.show, "_arayis", False):
        return
    typer.core._ = gettext  # type: ignore[attr-defined]
    click_exc.UsageError.show = _show  # type: ignore[method-assign]
    _show._arayis = True  # type: ignore[attr-defined]
    click_formatting.HelpFormatter.write_usage = _wrap_write_usage(  # type: ignore[method-assign]
        click_formatting.HelpFormatter.write_usage
    )
    click_core.Command.get_help = _wrap_get_help(  # type: ignore[method-assign]
        click_core.Command.get_help
    )
    click_core.Command.get_help_option = _wrap_get_help_option(  # type: ignore[method-assign]
        click_core.Command.get_help_option
    )
    parameter = getattr(typer.core, "_TyperParameter", None)
    if parameter is not None and hasattr(parameter, "display_type"):
        parameter.display_type = _wrap_display_type(parameter.display_type)


def extract_with_help(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Any:
    """Babel extractor for the command modules (babel.cfg): the usual Python extraction,
    plus each command's docstring, which typer shows as its help (``inspect.getdoc``).

    Used only by ``pybabel extract``; Babel is a development dependency.
    """
    import ast
    import inspect

    from babel.messages.extract import extract_python

    source = fileobj.read()
    fileobj.seek(0)
    yield from extract_python(fileobj, keywords, comment_tags, options)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = [d.id for d in node.decorator_list if isinstance(d, ast.Name)]
        doc = ast.get_docstring(node, clean=False)
        if "command" in decorators and doc:
            yield node.lineno, "", inspect.cleandoc(doc), []
