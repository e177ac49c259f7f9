"""K × K matrices of a measure between networks, with per-network work done once."""

import contextlib
import copy
import importlib
import pickle
import sys
from numbers import Integral

import joblib
import numpy as np
from sklearn.utils.parallel import Parallel, delayed

from skequiv._compat import Interval, validate_params
from skequiv.metric import check_finite_scale, is_metric_source
from skequiv.population._measures import resolve_measure
from skequiv.utils._threads import one_thread

# the progress bar appears only on runs longer than this (seconds)
_PROGRESS_DELAY = 2.0


@validate_params(
    {
        "sources": ["array-like"],
        "X": ["array-like", None],
        "measure": "no_validation",
        "layers": [str, list, tuple],
        "input_shape": [None, list, tuple],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": "no_validation",
        "n_jobs": [Integral, None],
        "progress": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def pairwise_similarity(
    sources,
    X=None,
    *,
    measure="equivalence",
    layers=("output",),
    input_shape=None,
    batch_size=256,
    device="cpu",
    n_jobs=None,
    progress=True,
):
    """The K × K matrix of a similarity (or directed score) between K networks.

    Each network's activations on ``X`` are computed once and prepared once
    by the measure (centring, whitening, factors, a train/test split); only
    the cheap pair kernel runs per pair. Pairs are dispatched with
    :class:`sklearn.utils.parallel.Parallel`, so ``joblib.parallel_config``
    chooses where they run: threads, processes, or a Dask cluster with
    ``joblib.parallel_config(backend="dask")`` inside a
    ``dask.distributed.Client`` (``pip install 'skequiv[dask]'``). The result
    does not depend on the order in which pairs finish; it is bit for bit the
    serial one on threads, loky processes and an in-process Dask cluster (on
    Dask worker processes, within the last bit; see Notes).

    Parameters
    ----------
    sources : sequence of K networks or arrays
        Each a ``torch.nn.Module``, a fitted skorch net (plain or wrapped in
        :class:`sklearn.frozen.FrozenEstimator`), a
        :class:`~skequiv.NetworkActivations`, or an array of precomputed
        activations of shape (n_samples, n_units) (rows paired across
        sources). At least two.
    X : array-like of shape (n_samples, ...), default=None
        Inputs every network sees. ``None`` only when all sources are arrays.
    measure : str or measure object, default="equivalence"
        ``"equivalence"`` (directed: entry ``[i, j]`` is the held-out R² of
        the transform i → j, see :class:`EquivalenceScore`), the name of a
        similarity of :mod:`skequiv.similarity`, or any object with
        ``prepare(X) -> state``, ``compare(state_x, state_y) -> float`` and a
        ``symmetric`` flag. A measure whose ``uses_metric_data`` is true
        (:class:`EquivalenceScore` with a diffusion map) gets a network's
        activations with their Jacobians,
        ``prepare(X, jacobians=...)`` (or ``covariances=``), read once per
        network as :meth:`~skequiv.NetworkActivations.metric_data` gives them.
    layers : str, sequence of str, or list of K of them, default=("output",)
        Layers to read (see :class:`~skequiv.NetworkActivations`): one
        specification for every network, or a list with one per network (a
        list whose items are lists or tuples). Ignored for array sources and
        :class:`~skequiv.NetworkActivations`, which carry their own.
    input_shape : tuple of int, default=None
        Per-sample input shape, as in :class:`~skequiv.NetworkActivations`.
    batch_size : int, default=256
        Samples per forward pass.
    device : str or torch.device, default="cpu"
        Where forward passes run.
    n_jobs : int, default=None
        Parallel jobs for the per-network and per-pair work; ``None`` means 1
        unless a :func:`joblib.parallel_config` context says otherwise.
    progress : bool, default=True
        Show a progress bar over pairs on stderr (it appears only on runs
        that take more than two seconds).

    Returns
    -------
    matrix : ndarray of shape (K, K)
        Larger = more similar. Symmetric measures: the upper triangle
        (diagonal included) is computed and mirrored. Directed measures:
        every ordered pair ``[i, j]`` (from i to j), diagonal included.

    See Also
    --------
    ModelEmbedding : Embeds a population by emulating every model (DYNAMO).
    cluster_population : Clusters a population from this matrix.

    Notes
    -----
    **Reproducibility.** Each task (one network's preparation, one pair)
    runs its BLAS calls on one thread, and any joblib call nested in it (a
    scikit-learn estimator's ``n_jobs``) runs serially in the task's thread;
    parallelism comes from ``n_jobs``, across tasks. Every task therefore
    does the same arithmetic in the same order wherever it runs, and the
    matrix is bit for bit the ``n_jobs=1`` one under the threading and loky
    backends and on an in-process Dask cluster (``LocalCluster(
    processes=False)``), for every measure, directed ones included, provided
    the measure is deterministic (a seeded ``random_state``). Without the
    serial nesting, a Dask task's nested calls would see the whole cluster's
    cores and scikit-learn would split, e.g., a Nyström kernel into slices
    whose products round differently (~1e-9 in a held-out R²).

    One BLAS thread per task is also the fast choice: multithreaded BLAS
    inside many mid-sized tasks stalls on a busy machine (measured 5 to 40
    times slower on a shared 2-core machine; see
    ``benchmarks/results/population.md``), and it oversubscribes the cores
    when jobs run side by side, which is why netrep advises
    ``OMP_NUM_THREADS=1``.

    Arrays that reach Dask worker processes over its transport can be
    aligned differently in memory, and numpy's vectorised summation then
    rounds the last bit differently (linear CKA within 2.2e-16 of the serial
    matrix in ``benchmarks/results/population.md``).

    Under a process-based backend (``loky``, ``multiprocessing``, a Dask
    cluster with worker processes) every network travels to the workers by
    pickle; modules that cannot be pickled (lambdas, locally defined classes,
    hooks) are refused up front. Ship precomputed activations (arrays)
    instead, or use a thread-based backend.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.population import pairwise_similarity
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(200, 1))
    >>> acts = [np.hstack([x, x**2]), np.hstack([2 * x, x**2]), np.cos(6 * x)]
    >>> from sklearn.linear_model import LinearRegression
    >>> from skequiv.population import EquivalenceScore
    >>> score = EquivalenceScore(LinearRegression())
    >>> M = pairwise_similarity(acts, measure=score, progress=False)
    >>> M.shape, bool(M[0, 1] > 0.99), bool(M[0, 2] < 0.9)
    ((3, 3), True, True)
    """
    sources = list(sources)
    if len(sources) < 2:
        raise ValueError(
            f"sources holds {len(sources)} network(s); a population needs at least 2."
        )
    measure = resolve_measure(measure)
    options = {"input_shape": input_shape, "batch_size": batch_size, "device": device}
    per_source = _layers_per_source(layers, len(sources))
    _check_inputs(sources, X)
    _check_picklable(sources, n_jobs)

    # BLAS limits are process-wide: tasks run in threads (the threading or an
    # in-process dask backend) would lift each other's limit on exit, and the
    # summation order, hence the last bits, would depend on timing. Holding
    # one thread for the whole call keeps every backend bit-identical.
    with one_thread():
        states = Parallel(n_jobs=n_jobs)(
            delayed(_prepare)(measure, k, source, X, per_source[k], options)
            for k, source in enumerate(sources)
        )
        _check_rows(states)
        return _fill_matrix(measure, [s for s, _ in states], n_jobs, progress)


def _layers_per_source(layers, k):
    if isinstance(layers, str) or all(isinstance(item, str) for item in layers):
        return [layers] * k
    if len(layers) != k or not all(isinstance(i, (str, list, tuple)) for i in layers):
        raise ValueError(
            f"layers={layers!r} is neither one layer specification (a str or a "
            f"sequence of str) nor a list of {k}, one per source."
        )
    return list(layers)


def _is_array(source):
    # tensors and arrays expose __array__; modules and estimators do not
    return hasattr(source, "__array__")


def _check_inputs(sources, X):
    if X is None and not all(_is_array(s) for s in sources):
        networks = [k for k, s in enumerate(sources) if not _is_array(s)]
        raise ValueError(
            f"X=None, but sources {networks} are networks, which need inputs; "
            "pass X, the inputs every network sees."
        )


def _check_picklable(sources, n_jobs):
    """Refuse, before any work, networks that a process-based backend cannot ship."""
    backend, _ = joblib.parallel.get_active_backend()
    if getattr(backend, "uses_threads", False) or joblib.effective_n_jobs(n_jobs) == 1:
        return
    for k, source in enumerate(sources):
        if _is_array(source):
            continue
        try:
            _pickler().dumps(source)
        except Exception as exc:
            raise TypeError(
                f"sources[{k}] ({type(source).__name__}) cannot be pickled "
                f"({type(exc).__name__}: {exc}), and the {type(backend).__name__} "
                "runs jobs in other processes. Ship its activations instead "
                "(an array, e.g. NetworkActivations(net).fit(X).transform(X)), "
                "or a module built from an importable class with its "
                "state_dict loaded, or use a thread-based backend "
                "(joblib.parallel_config(backend='threading'))."
            ) from exc


def _pickler():
    """cloudpickle, which loky and Dask ship arguments with, where installed."""
    try:
        return importlib.import_module("cloudpickle")
    except ImportError:  # pragma: no cover - joblib >= 1.5 depends on it
        return pickle


def _activations(source, X, layers, options, *, with_metric):
    """One network's activations on ``X`` as a 2-D float array, and their metric.

    The metric data (``{"jacobians": ...}`` or ``{"covariances": ...}``) is
    computed only for networks, and only when ``with_metric``; else ``{}``.
    """
    metric = {}
    if _is_array(source):
        acts = _numeric(source)
    else:
        from skequiv.networks import NetworkActivations

        if isinstance(source, NetworkActivations):
            extractor = copy.copy(source)  # fit sets attributes; keep the user's
        else:
            extractor = NetworkActivations(source, layers=layers, **options)
        extractor.fit(X)
        if with_metric and is_metric_source(extractor):
            acts, metric = _metric_data(extractor, X)
        else:
            acts = extractor.transform(X)
    if acts.ndim < 2 or acts.shape[0] < 2:
        raise ValueError(f"activations of shape {acts.shape}; need (n_samples, ...)")
    acts = acts.reshape(acts.shape[0], -1)
    _check_signal(acts)
    return acts, metric


def _metric_data(extractor, X):
    """Activations, their Jacobians (or covariances), as the network path has them."""
    data = extractor.metric_data(X)
    if data.jacobians is not None:
        return np.asarray(data.observations), {"jacobians": data.jacobians}
    return np.asarray(data.observations), {"covariances": data.covariances}


def _numeric(source):
    """Precomputed activations as an array; a clear error for non-numbers."""
    acts = np.asarray(source)
    if acts.dtype.kind in "biufc":
        return acts
    try:
        return acts.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"precomputed activations must be numeric; got dtype {acts.dtype} ({exc})."
        ) from exc


def _check_signal(acts):
    """Refuse activations that no measure can compare, before any pair runs.

    Constant activations (a dead layer) carry no signal, and magnitudes beyond
    1e±100 over- or underflow the squares every measure takes; each would
    otherwise surface per pair, blamed on a measure's own argument names.
    """
    if not np.iscomplexobj(acts) and np.all(np.isfinite(acts)):
        check_finite_scale(
            acts, name="activations", fix="rescale them (divide by their spread)"
        )
        if acts.size and np.all(acts == acts[:1]):
            raise ValueError(
                "the activations are constant over the samples, so they carry "
                "no signal to compare; check that the layer is not dead, or "
                "drop this network."
            )


@contextlib.contextmanager
def _one_task():
    """What every task (one preparation, one pair) runs under, on any backend.

    One BLAS thread (a controller cached per process, scipy's OpenBLAS
    included), and nested joblib calls run in the
    task's own thread. The nesting matters on Dask: joblib runs each task
    inside ``parallel_config(backend="dask")``, so nested calls with
    ``n_jobs=None`` see the whole cluster's cores, and scikit-learn then
    splits, e.g., a Nyström kernel (``pairwise_kernels``) into one slice per
    core. The products of slices round differently from the product of the
    whole, by ~1e-9 in a held-out R². Under the other backends nested calls
    already run serially, as they do here on every backend.
    """
    with joblib.parallel_config(backend="sequential"), one_thread():
        yield


def _prepare(measure, k, source, X, layers, options):
    """Per-network work: activations, then the measure's state; and the row count."""
    try:
        with _one_task():
            with_metric = getattr(measure, "uses_metric_data", False)
            acts, metric = _activations(
                source, X, layers, options, with_metric=with_metric
            )
            return measure.prepare(acts, **metric), acts.shape[0]
    except (ValueError, TypeError, RuntimeError) as exc:
        # the measure names its argument X: say which source it was
        raise type(exc)(f"sources[{k}]: {exc}") from exc


def _check_rows(states):
    rows = [n for _, n in states]
    if len(set(rows)) > 1:
        raise ValueError(
            f"the sources have different numbers of samples {rows}; the rows of "
            "all activations must be the same inputs, in the same order."
        )


def _pairs(k, symmetric):
    if symmetric:
        return [(i, j) for i in range(k) for j in range(i, k)]
    return [(i, j) for i in range(k) for j in range(k)]


def _compare(measure, state_x, state_y):
    with _one_task():
        return measure.compare(state_x, state_y)


def _fill_matrix(measure, states, n_jobs, progress):
    from tqdm.auto import tqdm

    k = len(states)
    pairs = _pairs(k, measure.symmetric)
    # results come back in submission order whatever order they finish in
    values = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_compare)(measure, states[i], states[j]) for i, j in pairs
    )
    matrix = np.empty((k, k))
    bar = tqdm(
        total=len(pairs),
        desc="pairs",
        disable=not progress,
        delay=_PROGRESS_DELAY,
        file=sys.stderr,
    )
    with bar:
        for (i, j), value in zip(pairs, values, strict=True):
            matrix[i, j] = value
            if measure.symmetric:
                matrix[j, i] = value
            bar.update()
    return matrix
