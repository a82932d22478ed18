"""``pprofx shell SOURCE…``: pprof's interactive mode, over the same report engine.

As in ``go tool pprof``: the profile's header, then a ``(pprofx)`` prompt; report commands
take ``[N] [focus_regex]* [-ignore_regex]* [-cum] [>file]`` (``top20`` is ``top 20``; a bare
``top`` shows 10 rows); ``name=value`` sets an option for the following commands (``o``
lists them); ``help``; ``q``/``quit``/``exit``/Ctrl-D leave. Options given on the command
line are the starting values. Errors are printed and the shell goes on.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from typing import TextIO

from .profile import Profile, ProfileError
from .report.core import prepare, sample_index
from .report.generate import RENDERERS, generate
from .report.options import GRANULARITIES, ReportOptions

_TAIL_DIGITS = re.compile(r"[0-9]+$")
_REGEX_COMMANDS = ("peek", "list")
_FIELDS = {f.name: f for f in dataclasses.fields(ReportOptions)}
_HIDDEN = ("symbol",)


def _convert(name: str, value: str, current):
    if isinstance(current, bool):
        v = value.lower()
        if v in ("", "1", "t", "true", "yes"):
            return True
        if v in ("0", "f", "false", "no"):
            return False
        raise ValueError(f"invalid boolean value {value!r} for {name}")
    if isinstance(current, int):
        return int(value)
    if isinstance(current, float):
        return float(value)
    return value


class Shell:
    """One interactive session on one profile; ``run`` reads commands until EOF or quit."""

    def __init__(self, profile: Profile, options: ReportOptions, out: TextIO = sys.stdout,
                 err: TextIO = sys.stderr) -> None:
        self.profile = profile
        self.options = dataclasses.replace(options, compact_labels=True)
        self.out = out
        self.err = err

    # -- options --------------------------------------------------------------------------
    def set_option(self, name: str, value: str | None) -> None:
        if name == "sort":
            if value not in ("cum", "flat"):
                raise ValueError("sort must be cum or flat")
            self.options.cum = value == "cum"
            return
        if name in GRANULARITIES:
            self.options.granularity = name
            return
        if name == "granularity":
            if value not in GRANULARITIES:
                raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")
            self.options.granularity = value
            return
        if name not in _FIELDS or name in _HIDDEN:
            raise ValueError(f"unknown option {name!r} (type o to list the options)")
        current = getattr(self.options, name)
        if value is None and not isinstance(current, bool):
            raise ValueError(f"please specify a value, e.g. {name}=<val>")
        if name == "sample_index":
            i = sample_index(self.profile, value or "")
            value = self.profile.sample_types[i].type
        setattr(self.options, name, _convert(name, value or "", current))

    def print_options(self) -> None:
        for name in sorted(_FIELDS):
            if name in _HIDDEN:
                continue
            self.out.write(f"  {name:<22} = {getattr(self.options, name)!r}\n")

    # -- commands -------------------------------------------------------------------------
    def report(self, tokens: list[str]) -> None:
        name, args = tokens[0], tokens[1:]
        if name not in RENDERERS:
            digits = _TAIL_DIGITS.search(name)
            if digits and digits.group() != name:
                name, args = name[:digits.start()], [digits.group(), *args]
        if name not in RENDERERS:
            if name in _FIELDS:
                raise ValueError(f"did you mean: {name}={args[0] if args else '<val>'}")
            raise ValueError(f"unrecognized command: {name!r}")
        o = dataclasses.replace(self.options)
        if name in _REGEX_COMMANDS:
            if not args:
                raise ValueError(f"command {name} requires an argument")
            o.symbol, args = args[0], args[1:]
        focus: list[str] = []
        ignore: list[str] = []
        output = None
        i = 0
        while i < len(args):
            t = args[i]
            if t.lstrip("-").isdigit() and not t.startswith("-"):
                o.nodecount = int(t)
            elif t.startswith(">"):
                output = t[1:] or (args[i + 1] if i + 1 < len(args) else None)
                if not t[1:]:
                    i += 1
                if not output:
                    raise ValueError("unexpected end of line after >")
            elif t in ("-cum", "--cum"):
                o.cum = True
            elif t.startswith("-"):
                ignore.append(t[1:])
            else:
                focus.append(t)
            i += 1
        if name == "tags":
            o.tagfocus = "|".join(focus) or o.tagfocus
            o.tagignore = "|".join(ignore) or o.tagignore
        else:
            o.focus = "|".join(focus) or o.focus
            o.ignore = "|".join(ignore) or o.ignore
        if o.nodecount == -1 and name in ("top", "text"):
            o.nodecount = 10
        text, warnings = generate(self.profile, name, o)
        for w in warnings:
            self.err.write(w + "\n")
        if output:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)
            self.err.write(f"Generating report in {output}\n")
        else:
            self.out.write(text)

    def handle(self, line: str) -> bool:
        """Run one input line; returns False when the user asked to leave."""
        line = line.strip()
        if not line:
            return True
        if "=" in line.split()[0]:
            name, _, value = line.partition("=")
            self.set_option(name.strip(), value.strip())
            return True
        tokens = line.split()
        if tokens[0] in ("q", "quit", "exit"):
            return False
        if tokens[0] in ("o", "options"):
            self.print_options()
        elif tokens[0] == "help":
            self.out.write(HELP)
        elif len(tokens) == 1 and (tokens[0] in _FIELDS or tokens[0] in GRANULARITIES) \
                and isinstance(getattr(self.options, tokens[0], True), bool):
            self.set_option(tokens[0], None)
        else:
            self.report(tokens)
        return True

    def greet(self) -> None:
        rpt = prepare(self.profile, "top", dataclasses.replace(self.options, compact_labels=False))
        # Like pprof, the greeting goes to stderr: stdout carries only prompts and reports.
        self.err.write("\n".join(rpt.profile_labels()) + "\n")
        if rpt.total == 0 and len(self.profile.sample_types) > 1:
            self.err.write("No samples were found with the default sample value type.\n"
                           'Try "sample_index" command to analyze different sample values.\n\n')
        self.err.write('Entering interactive mode (type "help" for commands, "o" for options)\n')

    def run(self, stdin: TextIO = sys.stdin) -> int:
        self.greet()
        interactive = stdin.isatty()
        if interactive:
            try:
                import readline  # noqa: F401 - line editing and history for input()
            except ImportError:
                pass
        while True:
            try:
                if interactive:
                    line = input("(pprofx) ")
                else:
                    self.out.write("(pprofx) ")
                    line = stdin.readline()
                    if not line:
                        self.out.write("\n")
                        return 0
            except EOFError:
                self.out.write("\n")
                return 0
            except KeyboardInterrupt:
                self.out.write("\n")
                continue
            try:
                if not self.handle(line):
                    return 0
            except (ProfileError, ValueError, OSError) as e:
                self.err.write(f"{e}\n")


HELP = """  Commands:
    top [N] [focus]* [-ignore]* [-cum] [>file]   top entries (top20 = top 20; 10 by default)
    tree, traces, tags, comments, peek REGEX     the same reports as the pprofx commands
    name=value                                   set an option (nodecount=20, sample_index=alloc_space,
                                                 focus=…, tagfocus=…, unit=ms, sort=cum, lines, …)
    o, options                                   show the current options
    help                                         this text
    q, quit, exit, Ctrl-D                        leave
"""
