"""Command-line entry point: ``skequiv demo``, ``skequiv compare``, ``--version``."""

import argparse
import sys

import skequiv


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="skequiv",
        description="When have two neural networks learned the same task?",
    )
    parser.add_argument(
        "--version", action="version", version=f"skequiv {skequiv.__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run the equivalence test end to end on built-in data",
        description=(
            "Train small networks on a built-in task, test whether they are "
            "equivalent, print the report and write its figures."
        ),
    )
    demo.add_argument(
        "--output",
        default="skequiv-demo",
        help="folder for the reports and figures (default: %(default)s)",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    from skequiv._demo import DEFAULT_EXPERIMENTS, EXPERIMENTS

    demo.add_argument(
        "--experiment",
        nargs="+",
        choices=EXPERIMENTS,
        default=list(DEFAULT_EXPERIMENTS),
        metavar="NAME",
        help=(
            "which experiments to run, one or more of "
            f"{', '.join(EXPERIMENTS)} (default: {' '.join(DEFAULT_EXPERIMENTS)})"
        ),
    )
    demo.add_argument(
        "--no-plots", action="store_true", help="skip the figures (no matplotlib)"
    )
    from skequiv._compare import add_parser as add_compare_parser

    add_compare_parser(commands)
    return parser


def main(argv=None):
    """Run the command line; returns the process exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        from skequiv._demo import run_demo

        return run_demo(
            output=args.output,
            seed=args.seed,
            plots=not args.no_plots,
            experiments=args.experiment,
        )
    if args.command == "compare":
        from skequiv._compare import run as run_compare

        return run_compare(args)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
