"""Entry point of the ``shapley-sets`` command (also ``python -m shapley_sets``).

Each subcommand lives in its own module, imported only when it runs, so
``shapley-sets --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib

from .._version import __version__

# name -> (module under shapley_sets.cli, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "train a toy set policy on three tasks with GRPO, Shapley and marginal credit rules and compare them"),
    "demo-lm": ("demo_lm", "train a small transformer with TRL's GRPOTrainer under each credit rule (the trl extra)"),
    "bench": ("bench", "time the exact engines against GRPO normalisation, numpy and the reference engine"),
    "warmup": ("warmup", "compile every kernel into numba's on-disk cache (for image builds)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shapley-sets",
        description=(
            "Exact Shapley credit for the candidates of a set, turned into GRPO "
            "advantages. Run a subcommand with --help for its options."
        ),
    )
    parser.add_argument("--version", action="version", version=f"shapley-sets {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        mod = importlib.import_module(f"{__package__}.{module}")
        mod.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    module = importlib.import_module(f"{__package__}.{SUBCOMMANDS[args.command][0]}")
    return int(module.run(args) or 0)
