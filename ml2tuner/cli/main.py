"""The `ml2tuner` command. Bad input prints one line naming the problem and exits with status 2."""
from __future__ import annotations

import argparse
import sys

from ..errors import UserError
from . import accel, hpo, prior, train, tune, tvm_tune

# each module adds its subcommands, in this order, to the parser (and so to `--help`)
COMMAND_MODULES = (accel, tune, train, prior, hpo, tvm_tune)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) with exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of the `ml2tuner` command with every subcommand."""
    ap = _Parser(prog="ml2tuner", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return ap


def main(argv=None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]); returns the exit status."""
    ap = build_parser()
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:         # a usage error (already printed on one line) or --help
        return e.code if isinstance(e.code, int) else 2
    try:
        a.func(a)
    except UserError as e:
        print(f"ml2tuner {a.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ml2tuner {a.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
