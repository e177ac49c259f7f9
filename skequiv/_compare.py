"""``skequiv compare``: saved models in, a verdict and a self-contained report out.

Exit status: 0 when the comparison ran; 1 with ``--check`` when a verdict is not
"equivalent"; 2 for bad arguments or inputs (one line on stderr); 3 when the
comparison itself failed (one line on stderr; ``--debug`` shows the traceback).
"""

import argparse
import hashlib
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import skequiv
from skequiv._compare_results import (
    PairResult,
    PopulationResult,
    pairwise_equivalence,
)
from skequiv.utils._errors import first_line

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
DATASETS = ("scalar", "vector_field", "rotating_object", "digits")
# inputs drawn for --dataset when --n-samples is not given
_DATASET_SAMPLES = 1000


class UsageError(Exception):
    """Bad arguments or inputs: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """Errors in one line (no usage block), unknown options included."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


def _count(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    return parse


def _tolerance(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value <= 1):
        raise argparse.ArgumentTypeError(f"{value} is not an R² of at most 1")
    return value


def _shape(text):
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape such as 64 or 1,8,8")
    return shape


def add_parser(commands):
    """Add the ``compare`` command to the subcommands of ``skequiv``."""
    parser = commands.add_parser(
        "compare",
        help="compare two (or more) saved models: verdict, JSON and HTML report",
        description=(
            "Test whether saved networks have learned the same task: fit the "
            "transform between their activations both ways, report held-out R², "
            "bootstrap intervals, permutation p-values and a verdict. Models are "
            "torch.export programs (.pt2) or state dicts (.pt, .pth, "
            ".safetensors) with --model-class; nothing is unpickled beyond "
            "tensors. Exit status: 0 ran, 1 --check failed, 2 bad arguments or "
            "inputs, 3 the comparison failed."
        ),
    )
    parser.__class__ = _Parser  # one-line errors for this command only
    parser.add_argument(
        "models",
        nargs="+",
        metavar="MODEL",
        help="model files: .pt2 (torch.export), .pt/.pth/.safetensors (state dict)",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--inputs", metavar="FILE", help="network inputs: .npy, .npz or .csv"
    )
    source.add_argument(
        "--dataset", choices=DATASETS, help="inputs of a built-in experiment"
    )
    parser.add_argument(
        "--inputs-key", metavar="KEY", help="the array to use from an .npz file"
    )
    parser.add_argument(
        "--model-class",
        action="append",
        metavar="PKG.MODULE:FACTORY",
        help=(
            "what builds the architecture of a state dict, called without "
            "arguments (a torch module or skorch net); give it once for every "
            "state-dict model or once per state-dict model, in order"
        ),
    )
    parser.add_argument(
        "--layers",
        nargs="+",
        metavar="LAYER",
        help=(
            "layer to compare, by its name in named_modules(), or 'output' "
            "(default); one for every model or one per model"
        ),
    )
    parser.add_argument(
        "--input-shape",
        type=_shape,
        metavar="D1,D2,...",
        help="per-sample input shape the models expect, e.g. 1,8,8",
    )
    parser.add_argument(
        "--n-samples",
        type=_count(10),
        metavar="N",
        help=(
            "inputs to use: a seeded random subset of --inputs (default: all), "
            f"or drawn for --dataset (default: {_DATASET_SAMPLES})"
        ),
    )
    parser.add_argument(
        "--permutations",
        type=_count(0),
        default=199,
        metavar="N",
        help="permutations of the null; p-values are at least 1/(N+1) "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--tolerance",
        type=_tolerance,
        default=0.95,
        metavar="T",
        help="held-out R² each direction must reach (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed (default: %(default)s)"
    )
    parser.add_argument(
        "--jobs",
        type=_count(1),
        metavar="N",
        help="parallel jobs for the permutation refits (default: 1)",
    )
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument(
        "--html", metavar="FILE", help="write a self-contained HTML report"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit with status 1 unless every verdict is 'equivalent' (for CI)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress messages on stderr"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks of errors"
    )
    return parser


def run(args):
    """Run ``skequiv compare`` on parsed arguments; returns the exit status."""
    from skequiv.utils._threads import one_thread

    try:
        # hundreds of small eigendecompositions: one BLAS thread is fastest
        # (one_thread loads scipy's own BLAS first, so that it is limited too)
        with one_thread(), warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            return _Comparison(args).run()
    except UsageError as exc:
        if args.debug:
            raise
        print(f"skequiv compare: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"skequiv compare: failed: {type(exc).__name__}: {first_line(exc)} "
            "(--debug shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    # a warning is news for the user, not for a developer: no source location
    print(f"skequiv compare: warning: {category.__name__}: {message}", file=sys.stderr)


@dataclass
class _Model:
    name: str
    loaded: object  # skequiv.io.LoadedModel
    layer: str
    source: object = None  # fitted NetworkActivations


class _Comparison:
    """One run of the command, stage by stage."""

    def __init__(self, args):
        self.args = args
        self.started = time.perf_counter()

    def say(self, message):
        if not self.args.quiet:
            print(message, file=sys.stderr, flush=True)

    def run(self):
        args = self.args
        self.check_arguments()
        models = self.load_models()
        X, inputs = self.load_inputs()
        self.fit_sources(models, X)
        if len(models) == 2:
            result = self.compare_pair(models, X)
        else:
            result = self.compare_population(models, X)
        print(result.text)
        record = self.record(models, inputs, result)
        if args.json:
            self.write(args.json, json.dumps(record, indent=2) + "\n")
        if args.html:
            from skequiv._compare_report import html_report

            self.write(args.html, html_report(record, result))
        self.say(f"done in {time.perf_counter() - self.started:.1f} s")
        if args.check and not result.all_equivalent:
            return EXIT_CHECK_FAILED
        return EXIT_OK

    # -- stages ------------------------------------------------------------

    def check_arguments(self):
        args = self.args
        if len(args.models) < 2:
            raise UsageError(
                f"give at least two models to compare, got {len(args.models)}"
            )
        if args.layers is not None and len(args.layers) not in (1, len(args.models)):
            raise UsageError(
                f"--layers takes one layer for every model or one per model "
                f"({len(args.models)}); got {len(args.layers)}"
            )
        if args.inputs_key is not None and args.inputs is None:
            raise UsageError("--inputs-key applies to --inputs FILE.npz only")
        for path in [*args.models, *([args.inputs] if args.inputs else [])]:
            if not Path(path).is_file():
                raise UsageError(f"{path}: no such file")
        for path in (args.json, args.html):
            if path is not None and not Path(path).parent.is_dir():
                raise UsageError(f"{path}: its folder does not exist")

    def load_models(self):
        from skequiv.io import load_model

        args = self.args
        paths = [Path(p) for p in args.models]
        stateful = [p for p in paths if p.suffix.lower() != ".pt2"]
        classes = args.model_class or []
        if classes and not stateful:
            raise UsageError(
                "--model-class is for state dicts (.pt, .pth, .safetensors); the "
                ".pt2 programs carry their architecture"
            )
        if len(classes) not in (0, 1, len(stateful)):
            raise UsageError(
                f"--model-class is given {len(classes)} times for {len(stateful)} "
                "state-dict models; give it once for all or once per state-dict "
                "model, in order"
            )
        class_of = dict(zip(stateful, classes * len(stateful), strict=False))
        layers = args.layers or ["output"]
        layers = layers * len(paths) if len(layers) == 1 else layers
        models = []
        for path, name, layer in zip(paths, _names(paths), layers, strict=True):
            try:
                loaded = load_model(path, model_class=class_of.get(path))
            except (ValueError, FileNotFoundError) as exc:
                # skequiv.io's messages name the file and the fix, in one line
                raise UsageError(first_line(exc)) from exc
            batch = loaded.static_batch
            note = f", static batch {batch}: runs padded batches" if batch else ""
            self.say(f"loaded {name}: {path} ({loaded.format}{note})")
            models.append(_Model(name, loaded, layer))
        return models

    def load_inputs(self):
        """The inputs as a 2-D array, and how they were obtained."""
        args = self.args
        rng = np.random.default_rng(args.seed)
        if args.dataset is not None:
            n = args.n_samples or _DATASET_SAMPLES
            X = dataset_inputs(args.dataset, n, args.seed)
            inputs = {"dataset": args.dataset}
        else:
            from skequiv.io import load_inputs

            try:
                X = load_inputs(args.inputs, key=args.inputs_key)
            except (ValueError, FileNotFoundError) as exc:
                raise UsageError(first_line(exc)) from exc
            inputs = {"file": str(args.inputs)}
            if args.n_samples is not None and args.n_samples < X.shape[0]:
                keep = np.sort(rng.choice(X.shape[0], args.n_samples, replace=False))
                X = X[keep]
        self.sample_shape = tuple(X.shape[1:])
        inputs.update(n_samples=int(X.shape[0]), sample_shape=list(self.sample_shape))
        self.say(
            f"inputs: {X.shape[0]} samples of shape {self.sample_shape} "
            f"from {inputs.get('file') or 'the ' + args.dataset + ' experiment'}"
        )
        # one flat array for every model; each reshapes it to what it expects
        return np.ascontiguousarray(X.reshape(X.shape[0], -1)), inputs

    def fit_sources(self, models, X):
        from skequiv import NetworkActivations

        for model in models:
            shape = self.input_shape(model)
            source = NetworkActivations(
                model.loaded.module,
                layers=(model.layer,),
                input_shape=shape,
                dtype=model.loaded.dtype,
            )
            try:
                model.source = source.fit(X)
            except (ValueError, TypeError) as exc:
                raise UsageError(f"{model.name}: {first_line(exc)}") from exc

    def input_shape(self, model):
        """Per-sample shape fed to ``model``: given, exported, or the inputs'."""
        wanted = self.args.input_shape or model.loaded.input_shape
        if wanted is None:
            return self.sample_shape
        if math.prod(wanted) != math.prod(self.sample_shape):
            origin = "--input-shape" if self.args.input_shape else "its exported input"
            raise UsageError(
                f"{model.name}: inputs have per-sample shape {self.sample_shape}, "
                f"which does not fit the shape {wanted} of {origin}"
            )
        return tuple(wanted)

    def report_options(self, names):
        args = self.args
        return {
            "n_permutations": args.permutations,
            "tolerance": args.tolerance,
            "names": names,
            "n_jobs": args.jobs,
            "verbose": not args.quiet,
            "random_state": args.seed,
        }

    def compare_pair(self, models, X):
        from skequiv import equivalence_report

        a, b = models
        self.say(
            f"comparing {a.name} ({a.layer}) and {b.name} ({b.layer}): activations, "
            f"Jacobians, transforms both ways, {self.args.permutations} permutations"
        )
        report = equivalence_report(
            a.source, b.source, X, **self.report_options((a.name, b.name))
        )
        return PairResult(report)

    def compare_population(self, models, X):
        matrix, reports = pairwise_equivalence(
            [m.source for m in models],
            X,
            [m.name for m in models],
            self.report_options,
            self.say,
        )
        return PopulationResult([m.name for m in models], matrix, reports)

    # -- output ------------------------------------------------------------

    def record(self, models, inputs, result):
        import torch

        args = self.args
        return {
            "skequiv_version": skequiv.__version__,
            "torch_version": torch.__version__,
            "seed": args.seed,
            "command": command_line(args),
            "models": [
                {
                    "name": m.name,
                    "path": str(m.loaded.path),
                    "sha256": _sha256(m.loaded.path),
                    "format": m.loaded.format,
                    "layer": m.layer,
                    "n_activations": len(m.source.neuron_indices_),
                }
                for m in models
            ],
            "inputs": inputs,
            **result.record(),
        }

    def write(self, path, text):
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{path}: cannot write ({exc.strerror})") from exc
        self.say(f"wrote {path}")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def command_line(args):
    """The command, rebuilt from its parsed arguments (defaults spelt out)."""
    words = ["skequiv", "compare", *args.models]
    options = [
        ("--inputs", args.inputs),
        ("--inputs-key", args.inputs_key),
        ("--dataset", args.dataset),
        ("--layers", args.layers),
        ("--input-shape", args.input_shape and ",".join(map(str, args.input_shape))),
        ("--n-samples", args.n_samples),
        ("--permutations", args.permutations),
        ("--tolerance", args.tolerance),
        ("--seed", args.seed),
        ("--jobs", args.jobs),
    ]
    options += [("--model-class", c) for c in args.model_class or []]
    for flag, value in options:
        if value is not None:
            words += [flag, *(value if isinstance(value, list) else [str(value)])]
    return words


def _names(paths):
    """Short, distinct names for the models: file stems, made unique."""
    stems = [p.stem for p in paths]
    names = []
    for i, stem in enumerate(stems):
        names.append(stem if stems.count(stem) == 1 else f"{stem}#{i + 1}")
    return names


def dataset_inputs(name, n_samples, seed):
    """``n_samples`` inputs of a built-in experiment, without training networks.

    The inputs :func:`~skequiv.datasets.load_experiment` trains its networks
    on: drawn anew for the three tasks of the paper; for ``"digits"``, a seeded
    subset of scikit-learn's 1,797 digits, scaled to [0, 1] (all of them when
    ``n_samples`` is larger).
    """
    from skequiv import datasets

    if name == "scalar":
        return datasets.make_scalar_task(n_samples, random_state=seed)[0]
    if name == "vector_field":
        return datasets.make_vector_field_task(n_samples, random_state=seed)[0]
    if name == "rotating_object":
        return datasets.make_rotating_object(n_samples, random_state=seed)[0]
    from sklearn.datasets import load_digits

    X = (load_digits().data / 16.0).astype(np.float32)
    if n_samples >= X.shape[0]:
        return X
    rng = np.random.default_rng(seed)
    return X[np.sort(rng.choice(X.shape[0], n_samples, replace=False))]
