"""The ``pprofx`` command line: thin commands over ``pprofx.report`` and ``pprofx.profile``.

Each command is one entry of :data:`COMMANDS` (name -> class with ``help``,
``add_arguments`` and ``run``); adding a command is a new class and one line. Flags are
parsed once here into option dataclasses; lower layers never see argparse. Errors in the
input (files, URLs, profiles, flags) print one line and exit with status 2 — never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import __version__
from .profile import DEFAULT_MAX_SIZE, ProfileError

EXIT_USAGE = 2

DESCRIPTION = """pprof for Python services: read and analyse pprof profiles.

examples:
  pprofx run -- python app.py          # serve /debug/pprof/ from app.py, unchanged
  pprofx raw -seconds 5 http://127.0.0.1:6060/debug/pprof/profile
  pprofx raw profile.pb.gz
"""


class UsageError(Exception):
    """A bad command-line argument, reported as ``pprofx: <message>`` with status 2."""


def _add_source_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="profile file or URL (http://host:port/debug/pprof/…, or host:port); "
                        "several sources are merged")
    p.add_argument("-seconds", "--seconds", type=int, default=None, metavar="N",
                   help="duration for time-based profiles fetched from URLs")
    p.add_argument("-timeout", "--timeout", type=float, default=None, metavar="N",
                   help="HTTP timeout in seconds (default 1.5×seconds, else 60)")
    p.add_argument("-all_frames", "--all-frames", dest="all_frames", action="store_true",
                   help="ignore the profile's drop_frames/keep_frames")
    p.add_argument("-token", "--token", default=None, metavar="TOKEN",
                   help="bearer token for an agent started with PPROFX_TOKEN (default $PPROFX_TOKEN)")
    p.add_argument("-token_file", "--token-file", dest="token_file", default=None, metavar="FILE",
                   help="read the bearer token from FILE")
    p.add_argument("-tls_ca", "--tls-ca", dest="tls_ca", default=None, metavar="FILE",
                   help="CA certificates to verify https sources with")
    p.add_argument("-tls_cert", "--tls-cert", dest="tls_cert", default=None, metavar="FILE",
                   help="client certificate for https sources")
    p.add_argument("-tls_key", "--tls-key", dest="tls_key", default=None, metavar="FILE",
                   help="client key for https sources")
    p.add_argument("--max-profile-size", type=int, default=DEFAULT_MAX_SIZE, metavar="BYTES",
                   help="refuse profiles larger than this once decompressed "
                        f"(default {DEFAULT_MAX_SIZE})")


def _source_options(args: argparse.Namespace):
    from .report.source import SourceOptions

    if args.seconds is not None and args.seconds <= 0:
        raise UsageError(f"-seconds must be a positive integer, got {args.seconds}")
    base = list(getattr(args, "base", None) or [])
    diff_base = list(getattr(args, "diff_base", None) or [])
    if base and diff_base:
        raise UsageError("-base and -diff_base flags cannot both be set")
    token = args.token
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as e:
            raise UsageError(f"cannot read token file {args.token_file}: {e.strerror or e}") from None
    return SourceOptions(seconds=args.seconds, timeout=args.timeout,
                         all_frames=args.all_frames, max_size=args.max_profile_size,
                         base=base or diff_base, diff_base=bool(diff_base),
                         normalize=getattr(args, "normalize", False), token=token,
                         tls_ca=args.tls_ca, tls_cert=args.tls_cert, tls_key=args.tls_key,
                         save_remote=True)


def _write_output(text: str | bytes, output: str | None) -> None:
    if not output:
        if isinstance(text, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(text)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(text)
        return
    try:
        if isinstance(text, bytes):
            with open(output, "wb") as f:
                f.write(text)
            return
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise UsageError(f"cannot write {output}: {e.strerror or e}") from None


class ReportCommand:
    """A text report with go tool pprof's layout and numbers (see `pprofx COMMAND -h`)."""

    def __init__(self, name: str, help: str, takes_regex: bool = False) -> None:  # noqa: A002
        self.name = name
        self.help = help
        self.takes_regex = takes_regex

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        from .cli_flags import add_report_arguments

        if self.takes_regex:
            p.add_argument("regex", metavar="REGEX", help="functions to report on (regular expression)")
        _add_source_arguments(p)
        p.add_argument("-output", "--output", "-o", dest="output", default=None, metavar="FILE",
                       help="write the report to FILE instead of standard output")
        add_report_arguments(p)

    def run(self, args: argparse.Namespace) -> int:
        from .cli_flags import report_options
        from .report.generate import EXPORTERS, export, generate
        from .report.source import load_sources

        binary = self.name in EXPORTERS
        if binary and not args.output and sys.stdout.isatty():
            raise UsageError(f"{self.name} output is binary: use -output FILE or redirect stdout")
        options = report_options(args, symbol=getattr(args, "regex", ""))
        profile = load_sources(args.sources, _source_options(args))
        text, warnings = (export if binary else generate)(profile, self.name, options)
        for w in warnings:
            print(w, file=sys.stderr)
        _write_output(text, args.output)
        return 0


class RawCommand:
    """Print the profile's samples, locations and mappings like `go tool pprof -raw`."""

    help = "print a profile's raw contents (like go tool pprof -raw)"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        _add_source_arguments(p)

    def run(self, args: argparse.Namespace) -> int:
        from .report.raw import render_raw
        from .report.source import load_sources

        profile = load_sources(args.sources, _source_options(args))
        sys.stdout.write(render_raw(profile))
        return 0


class RunCommand:
    """Run a Python program with the pprofx agent, without changing its code.

    The program's interpreter imports pprofx.auto at start-up, which serves /debug/pprof/
    on PPROFX_HTTP (default 127.0.0.1:6060). Example:

      pprofx run --http 127.0.0.1:6060 -- python app.py --port 8000
    """

    help = "run a Python program with the agent injected (like ddtrace-run)"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        p.add_argument("--http", metavar="HOST:PORT", default=None,
                       help="where to serve /debug/pprof/ (sets PPROFX_HTTP)")
        p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND ARGS",
                       help="the program to run, e.g. python app.py or python -m module")

    def run(self, args: argparse.Namespace) -> int:
        import os
        import shutil

        import pprofx

        command = list(args.command)
        if command and command[0] == "--":
            command = command[1:]
        if not command:
            raise UsageError("run needs a command, e.g. pprofx run -- python app.py")
        if command[0].endswith(".py"):
            command = [sys.executable, *command]
        exe = shutil.which(command[0])
        if exe is None:
            raise UsageError(f"command not found: {command[0]}")
        env = dict(os.environ)
        bootstrap = os.path.join(os.path.dirname(pprofx.__file__), "_bootstrap")
        package_root = os.path.dirname(os.path.dirname(pprofx.__file__))
        paths = [bootstrap, package_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        if args.http:
            env["PPROFX_HTTP"] = args.http
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execvpe(exe, command, env)
        except OSError as e:
            raise UsageError(f"cannot run {command[0]}: {e.strerror or e}") from None
        return 1  # not reached


class MergeCommand:
    """Merge profiles (files or URLs) into one gzip pprof file, as pprof merges sources:
    they must have the same sample types; identical samples are summed. Example:

      pprofx merge -o all.pb.gz host1.pb.gz host2.pb.gz
    """

    help = "merge several profiles into one file"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        _add_source_arguments(p)
        p.add_argument("-o", "-output", "--output", dest="output", required=True, metavar="FILE",
                       help="where to write the merged profile (gzip pprof)")

    def run(self, args: argparse.Namespace) -> int:
        from .profile import write
        from .report.source import load_sources

        opts = _source_options(args)
        opts.all_frames = True  # keep the data intact; drop_frames travels in the file
        profile = load_sources(args.sources, opts)
        try:
            write(profile, args.output)
        except OSError as e:
            raise UsageError(f"cannot write {args.output}: {e.strerror or e}") from None
        print(f"Merged {len(args.sources)} profile(s) into {args.output} "
              f"({len(profile.samples)} samples)", file=sys.stderr)
        return 0


class ShellCommand:
    """Load the sources and read report commands interactively, like `go tool pprof` without a
    report flag: `top20 -cum`, `peek json`, `sample_index=alloc_space`, `o`, `help`, `quit`."""

    help = "interactive shell over a profile (like go tool pprof's)"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        from .cli_flags import add_report_arguments

        _add_source_arguments(p)
        add_report_arguments(p)

    def run(self, args: argparse.Namespace) -> int:
        from .cli_flags import report_options
        from .report.source import load_sources
        from .shell import Shell

        profile = load_sources(args.sources, _source_options(args))
        return Shell(profile, report_options(args)).run()


EXIT_REGRESSION = 3


class DiffCommand:
    """Compare NEW with BASE function by function: each function's share of its own profile
    (flat, or cum with -cum), biggest growth first. With --fail-on-regression PCT the exit
    status is 3 when some function's share grew by more than PCT percentage points, for CI:

      pprofx diff --fail-on-regression 5 baseline.pb.gz candidate.pb.gz
    """

    help = "compare two profiles; exit status 3 on a regression (--fail-on-regression)"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        from .cli_flags import add_report_arguments

        p.add_argument("base_source", metavar="BASE", help="the baseline profile (file or URL)")
        p.add_argument("new_source", metavar="NEW", help="the profile to check (file or URL)")
        p.add_argument("--fail-on-regression", "-fail_on_regression", dest="fail_on_regression",
                       type=float, default=None, metavar="PCT",
                       help="exit with status 3 if a function's share grew by more than PCT points")
        p.add_argument("-seconds", "--seconds", type=int, default=None, metavar="N",
                       help="duration for time-based profiles fetched from URLs")
        p.add_argument("-timeout", "--timeout", type=float, default=None, metavar="N",
                       help="HTTP timeout in seconds")
        p.add_argument("-output", "--output", "-o", dest="output", default=None, metavar="FILE",
                       help="write the report to FILE instead of standard output")
        add_report_arguments(p)

    def run(self, args: argparse.Namespace) -> int:
        from .cli_flags import report_options
        from .report.diff import diff_profiles, render_diff
        from .report.source import SourceOptions, load_sources

        if args.fail_on_regression is not None and args.fail_on_regression < 0:
            raise UsageError("--fail-on-regression must be a non-negative number of percentage points")
        opts = SourceOptions(seconds=args.seconds, timeout=args.timeout, save_remote=True)
        base = load_sources([args.base_source], opts)
        new = load_sources([args.new_source], opts)
        options = report_options(args)
        d = diff_profiles(base, new, options)
        _write_output(render_diff(d, max(options.nodecount, 0), args.fail_on_regression), args.output)
        if args.fail_on_regression is not None:
            bad = d.regressions(args.fail_on_regression)
            for r in bad:
                print(f"pprofx: regression: {r.name} {r.growth(d.cum):+.2f}pp", file=sys.stderr)
            if bad:
                return EXIT_REGRESSION
        return 0


class LeaksCommand:
    """Compare two goroutine (or threadcreate) profiles, BASE then NEW, and list the stacks
    whose count grew, biggest growth first, with the site that created them:

      pprofx leaks before.pb.gz http://127.0.0.1:6060/debug/pprof/goroutine
    """

    help = "thread/task leaks: stacks whose count grew between two goroutine profiles"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        _add_source_arguments(p)
        p.add_argument("--limit", type=int, default=20, metavar="N", help="show at most N stacks")
        p.add_argument("--min-growth", type=int, default=1, metavar="N",
                       help="only stacks that grew by at least N (default 1)")

    def run(self, args: argparse.Namespace) -> int:
        from .report.leaks import find_leaks, render_leaks
        from .report.source import load_sources

        if len(args.sources) != 2:
            raise UsageError("leaks needs two sources: BASE NEW")
        opts = _source_options(args)
        base, new = (load_sources([src], opts) for src in args.sources)
        leaks = find_leaks(base, new, max(args.min_growth, 1))
        sys.stdout.write(render_leaks(base, new, leaks, limit=max(args.limit, 0)))
        return 0


COMMANDS = {
    "leaks": LeaksCommand,
    "top": lambda: ReportCommand("top", "top functions: flat, cum and their shares (like -top)"),
    "text": lambda: ReportCommand("text", "same as top"),
    "tree": lambda: ReportCommand("tree", "callers and callees of each function (like -tree)"),
    "peek": lambda: ReportCommand("peek", "callers and callees of functions matching REGEX",
                                  takes_regex=True),
    "traces": lambda: ReportCommand("traces", "every sample with its labels and stack"),
    "tags": lambda: ReportCommand("tags", "label values and their share of the total"),
    "comments": lambda: ReportCommand("comments", "the profile's comments"),
    "dot": lambda: ReportCommand("dot", "the call graph in Graphviz DOT (like -dot)"),
    "svg": lambda: ReportCommand("svg", "the call graph as SVG, laid out by Graphviz's dot"),
    "callgrind": lambda: ReportCommand("callgrind", "the call graph for KCachegrind (like -callgrind)"),
    "list": lambda: ReportCommand("list", "annotated source of functions matching REGEX",
                                  takes_regex=True),
    "collapsed": lambda: ReportCommand("collapsed", "folded stacks for flamegraph.pl and friends"),
    "speedscope": lambda: ReportCommand("speedscope", "a speedscope JSON file (www.speedscope.app)"),
    "proto": lambda: ReportCommand("proto", "the filtered profile as gzip profile.proto (like -proto)"),
    "diff": DiffCommand,
    "merge": MergeCommand,
    "raw": RawCommand,
    "run": RunCommand,
    "shell": ShellCommand,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pprofx", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pprofx {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, factory in COMMANDS.items():
        cmd = factory()
        sp = sub.add_parser(name, help=cmd.help, description=f"{cmd.help}. {type(cmd).__doc__}",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        cmd.add_arguments(sp)
        sp.set_defaults(_command=cmd)
    return parser


def go_style(argv: list[str]) -> list[str]:
    """Accept ``go tool pprof``'s spelling: ``pprofx -top [flags] FILE`` (the report as a flag,
    anywhere) means ``pprofx top [flags] FILE``, and ``pprofx [flags] FILE`` with no report
    opens the interactive shell, as pprof does."""
    if not argv or argv[0] in COMMANDS or argv[0] in ("-h", "--help", "--version"):
        return argv
    for i, a in enumerate(argv):
        name = a.lstrip("-")
        if a.startswith("-") and name in COMMANDS and name not in ("run", "merge", "diff"):
            rest = argv[:i] + argv[i + 1:]
            if name in ("peek", "list") and i + 1 < len(argv):  # -peek REGEX
                return [name, argv[i + 1], *argv[:i], *argv[i + 2:]]
            return [name, *rest]
    return ["shell", *argv]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input, 1 internal error)."""
    from .cli_flags import FlagError, normalize_bool_flags

    parser = build_parser()
    try:
        argv = go_style(normalize_bool_flags(sys.argv[1:] if argv is None else argv))
    except FlagError as e:
        print(f"pprofx: {e}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    cmd = getattr(args, "_command", None)
    if cmd is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return cmd.run(args)
    except (ProfileError, UsageError) as e:
        print(f"pprofx: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error worth a message.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI must never show a traceback
        print(f"pprofx: internal error: {type(e).__name__}: {e} "
              "(please report this with the command you ran)", file=sys.stderr)
        return 1


def entry_point() -> None:
    """Console-script entry: exit with :func:`main`'s status."""
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
