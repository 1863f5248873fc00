"""The `ml2tuner` command line: one module per subcommand (or small group of them), each with
its `cmd_*` functions and a `register(subparsers)`; `common` holds the one output function
(`emit`) and the `--hp` parser. Domain modules never import this package.

    from ml2tuner.cli import main
    main(["space", "--workload", "resnet18.C5", "--json"])   # returns the exit status
"""
from .main import build_parser, main

__all__ = ["build_parser", "main"]
