"""NetworkTransform: the map T with f_B ≈ T ∘ f_A between two trained networks."""

import inspect
import numbers
import warnings
from typing import ClassVar

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
    clone,
)
from sklearn.model_selection import KFold
from sklearn.neighbors import KNeighborsRegressor
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.validation import check_array, check_is_fitted

from skequiv._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    validate_data,
)
from skequiv.equivalence._alignment import align_embeddings
from skequiv.equivalence._candidates import (
    CANDIDATES,
    PreparedCandidate,
    fixed_regressor,
    kernel_ridge_regressor,
    ridge_regressor,
    stacked_null_predictions,
)
from skequiv.equivalence._scores import equivalence_r2
from skequiv.metric import check_metric_data, is_metric_source
from skequiv.utils._threads import one_thread
from skequiv.utils._validation import check_numeric_target, check_varying_target
from skequiv.utils._warnings import user_stacklevel

_METADATA = ("jacobians", "covariances")


# fewer training samples per inner fold than this: no inner cross-validation
_MIN_FOLD_SIZE = 5


class EuclideanMetricWarning(UserWarning):
    """The diffusion map ran with the Euclidean metric: no metric data came along."""


class CandidateFailedWarning(UserWarning):
    """A candidate map failed in NetworkTransform's inner cross-validation."""


def default_embedding(random_state=None):
    """The embedding used when ``embedding=None``: a Mahalanobis diffusion map."""
    from skequiv.embedding import MahalanobisDiffusionMap

    # the diffusion map's own defaults carry the rest (rank=1e-8 drops the
    # directions normal to the data manifold, regularization="auto" bounds the
    # near-singular local precisions), so GridSearchCV over any of its
    # parameters starts from exactly this estimator
    return MahalanobisDiffusionMap(n_components=4, random_state=random_state)


# above this many training samples the default geometric harmonics truncates
# its kernel to neighbours (sparse eigensolver) instead of the dense O(n³) one
_DENSE_HARMONICS_MAX = 3000


def default_regressor(n_samples=0):
    """The regressor used when ``regressor=None``: geometric harmonics.

    Dense up to 3,000 training samples; beyond, the kernel truncated to 100
    neighbours with 200 eigenpairs (cost growing like n·k).
    """
    from skequiv.regression import GeometricHarmonicsRegressor

    if n_samples > _DENSE_HARMONICS_MAX:
        return GeometricHarmonicsRegressor(n_eigenpairs=200, n_neighbors=100)
    return GeometricHarmonicsRegressor()


def _accepts(method, name):
    """Whether the bound ``method`` takes a keyword argument called ``name``."""
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False
    return name in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )


def _check_metadata(jacobians, covariances, n_samples, n_features, *, where):
    """Validate per-sample metric data; return a dict with at most one entry."""
    jacobians, covariances = check_metric_data(
        jacobians, covariances, n_samples=n_samples, n_features=n_features, where=where
    )
    return _drop_none(jacobians, covariances)


def _slice_metadata(metadata, support):
    """Restrict per-sample metric data to the selected features (rows)."""
    if "jacobians" in metadata:
        return {"jacobians": metadata["jacobians"][:, support, :]}
    if "covariances" in metadata:
        cov = metadata["covariances"]
        return {"covariances": cov[:, support][:, :, support]}
    return {}


def _metadata_from(metric_data):
    if metric_data.jacobians is not None:
        return {"jacobians": np.asarray(metric_data.jacobians, dtype=np.float64)}
    return {"covariances": np.asarray(metric_data.covariances, dtype=np.float64)}


def _restrict_source(source, support, n_activations):
    """A clone of ``source`` that computes only the activations in ``support``.

    ``support`` indexes the columns of ``source.transform``; when the source
    already has a ``neurons`` subset, the new subset is expressed in its terms.
    """
    support = np.asarray(support)
    if support.size == n_activations and np.array_equal(
        support, np.arange(n_activations)
    ):
        return clone(source)
    params = source.get_params(deep=False)
    if "neurons" not in params:
        raise ValueError(
            f"source_a={source!r} has no `neurons` parameter, so the selected "
            "neurons cannot be routed to the embedding's metric; use a source "
            "with a `neurons` parameter, or selector=None."
        )
    current = params["neurons"]
    if current is None:
        neurons = [int(i) for i in support]
    else:
        neurons = [np.asarray(current, dtype=object)[i] for i in support]
        neurons = [n.item() if isinstance(n, np.generic) else n for n in neurons]
    return clone(source).set_params(neurons=neurons)


class NetworkTransform(
    ClassNamePrefixFeaturesOutMixin, RegressorMixin, TransformerMixin, BaseEstimator
):
    """The transformation T from network A's activations to network B's.

    A and B are equivalent when a transformation T with ``f_B ≈ T ∘ f_A``
    exists and generalises to held-out inputs (Bertalan, Dietrich &
    Kevrekidis 2024). ``NetworkTransform`` builds T by choosing, by
    cross-validation on the training data it is given (``cv`` folds; nothing
    held out from ``fit`` is used), between candidate maps from A's
    (optionally selected, ``selector``) neurons to B's activations:

    - ``"intrinsic"``: the paper's construction, intrinsic coordinates of A's
      neurons (``embedding``, a Mahalanobis diffusion map by default) and
      geometric harmonics from them (``regressor``);
    - ``"kernel_ridge"``: Gaussian-kernel ridge regression on the standardised
      activations (kernel width the median distance, Nyström features, ridge
      strength by leave-one-out);
    - ``"ridge"``: a linear ridge map on the standardised activations.

    The intrinsic route wins on smooth low-dimensional representations (the
    paper's experiments); on classifier logits and wide hidden layers, whose
    samples cluster, the kernel ridge map usually generalises better. The
    choice and every candidate's score are kept (``selected_transform_``,
    ``candidate_scores_``), and since the linear ridge map is a candidate, T
    does no worse than it on held-out data beyond the noise of the inner
    cross-validation. :meth:`score` is the held-out R² of T, larger is
    better, so ``cross_val_score`` and ``GridSearchCV`` work unchanged.

    Two ways in:

    - **Array path** (``source_a`` and ``source_b`` left as ``None``):
      ``fit(X, y)`` with ``X`` A's activations, shape (n_samples, n_a), and
      ``y`` B's activations, shape (n_samples, n_b) or (n_samples,). Per-sample
      Jacobians (or covariances) of ``X`` with respect to the intrinsic
      variables may come along as ``jacobians=`` (``covariances=``); they are
      sliced to the selected neurons and handed to the embedding. Under
      metadata routing request them with ``set_fit_request(jacobians=True)``
      (and ``set_predict_request``/``set_score_request`` for held-out data), and
      scikit-learn slices them per split.
    - **Network path** (``source_a`` and ``source_b`` set to network sources,
      e.g. :class:`~skequiv.NetworkActivations`): ``fit(X)`` with ``X`` the
      network inputs; the transform computes A's and B's activations, and the
      metric data of A's selected neurons, itself (from a clone of
      ``source_a`` restricted to them with its ``neurons`` parameter), so every
      cross-validation split gets its own. ``predict(X)`` returns B's predicted
      activations and ``score(X)`` their R² against B's actual ones. With
      ``source_b=None`` the target is ``y`` instead (e.g. the input itself).

    Parameters
    ----------
    source_a : estimator, default=None
        Network source for A: a transformer over network inputs with
        ``transform(X) -> (n_samples, n_a)`` and, for the Mahalanobis metric,
        ``metric_data(X)`` and a ``neurons`` parameter. ``None`` selects the
        array path.
    source_b : estimator, default=None
        Network source for B (``transform`` only). ``None`` on the network path
        means the target is ``y``.
    selector : estimator, "passthrough" or None, default=None
        Selects A's neurons from which B's activations (the target) are
        reconstructed, e.g. :class:`~skequiv.WhitneyFeatureSelector`; fitted
        on ``(A's activations, target)``; must have ``get_support``.
        ``None`` or ``"passthrough"`` keeps every neuron.
    embedding : estimator, "passthrough" or None, default=None
        Intrinsic coordinates of the selected neurons. ``None`` means
        ``MahalanobisDiffusionMap(n_components=4, random_state=random_state)``
        and, when metric data is present, ``rank=1e-8`` (directions the map
        does not reach are dropped) with ``regularization`` = 1e-3 times the
        median over samples of the largest eigenvalue of ``C_i`` (network
        Jacobians are near-singular where units saturate or the map folds, and
        an unregularised ``C_i^+`` there throws samples off the embedded
        curve); ``"passthrough"``
        regresses on the selected neurons directly (no embedding). Any
        transformer works; metric data is passed to it only when its ``fit``
        accepts ``jacobians``/``covariances``.
    regressor : estimator or None, default=None
        Maps embedding coordinates to the target. ``None`` means
        :class:`~skequiv.GeometricHarmonicsRegressor` with its defaults (above
        3,000 training samples, its kernel truncated to 100 neighbours with
        200 eigenpairs); any scikit-learn regressor (multi-output if the
        target is) works.
        Used by the ``"intrinsic"`` candidate only.
    candidates : "auto", str or list of str, default="auto"
        The candidate maps to choose between: ``"auto"`` means all of
        ``["intrinsic", "kernel_ridge", "ridge"]``; a single name (e.g.
        ``"intrinsic"`` for the paper's construction alone) skips the inner
        cross-validation. A candidate that fails in the inner
        cross-validation is reported with a :class:`CandidateFailedWarning`
        and left out; if all fail, ``fit`` raises.
    cv : int, default=3
        Folds of the inner cross-validation (shuffled ``KFold`` of the
        training samples, seeded by ``random_state``).
    random_state : int, RandomState instance or None, default=None
        Seeds the default embedding (``embedding=None``), the inner folds
        and the kernel ridge map's landmarks; user-given sub-estimators keep
        their own ``random_state``.

    Attributes
    ----------
    selected_transform_ : {"intrinsic", "kernel_ridge", "ridge"}
        The candidate T uses.
    candidate_scores_ : dict
        Mean inner-cross-validation R² of each candidate (NaN for one that
        failed, or when only one candidate was given and none was scored).
    selector_ : estimator or None
        The fitted selector, or ``None``.
    support_ : ndarray of shape (n_selected,)
        Indices of A's neurons (columns of ``X`` on the array path, of
        ``source_a.transform(X)`` on the network path) that T uses.
    embedding_ : estimator or None
        The fitted embedding of A's selected neurons, or ``None``
        (``"passthrough"``, or a ridge candidate selected).
    regressor_ : estimator
        The fitted regressor from the embedding coordinates (or the selected
        neurons) to the target.
    source_a_, source_b_ : estimator or None
        Fitted clones of the sources (network path), else ``None``.
    metric_source_ : estimator or None
        The fitted clone of ``source_a`` restricted to the selected neurons
        that supplies the embedding's metric data (network path, intrinsic
        candidate selected), or ``None``.
    alignment_ : dict or None
        After :meth:`fit_unpaired`: the fitted B embedding (``"embedding_b"``),
        the orthogonal alignment matrix (``"rotation"``), its eigenvalue
        ``"blocks"`` and the standardisation constants; ``None`` after
        :meth:`fit`.
    n_features_in_ : int
        Number of features of ``X`` seen in fit (A's activations, or the
        network input's features).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features of ``X``, when it had string column names.
    n_outputs_ : int
        Number of target features (B's activations).

    See Also
    --------
    equivalence_report : Held-out scores both ways, permutation null,
        bootstrap interval, cycle error and a verdict.
    skequiv.MahalanobisDiffusionMap : The default embedding.
    skequiv.WhitneyFeatureSelector : Picks 2d + 1 neurons of A.

    Notes
    -----
    The score is the R² uniformly averaged over the target features that vary
    on the evaluation data; constant features (dead or saturated units), for
    which R² is undefined, are left out.

    On the network path with ``source_b`` set the target is always B's
    activations at ``X``; passing ``y`` there is an error rather than being
    silently ignored. The array path cannot compute Jacobians: given A's
    activations alone (for example after ``NetworkActivations`` in a
    ``Pipeline``), the intrinsic candidate runs the diffusion map with the
    Euclidean metric and says so with an :class:`EuclideanMetricWarning`; the
    network path (``source_a``) computes the Mahalanobis metric itself. The
    sources are cloned in ``fit``; a pre-trained skorch net survives that
    when wrapped in
    ``sklearn.frozen.FrozenEstimator``.

    For GridSearchCV over sub-estimator parameters (``embedding__epsilon``,
    ``selector__n_features_to_select``), pass the sub-estimators explicitly:
    a ``None`` default has no parameters to search.

    References
    ----------
    .. [1] T. Bertalan, F. Dietrich and I. G. Kevrekidis, "Transformations
       establishing equivalence across neural networks: When have two networks
       learned the same task?", Chaos 34, 073138 (2024).
    .. [2] A. Singer and R. R. Coifman, "Non-linear independent component
       analysis with diffusion maps", Appl. Comput. Harmon. Anal. 25 (2008).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import KNeighborsRegressor
    >>> from skequiv import NetworkTransform
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(300, 1))
    >>> acts_a = np.hstack([np.tanh(2 * x), x**3 + x])     # network A's activations
    >>> acts_b = np.hstack([np.sin(x), np.exp(x)])         # network B's activations
    >>> T = NetworkTransform(embedding="passthrough",
    ...                      regressor=KNeighborsRegressor(5),
    ...                      candidates="intrinsic")
    >>> T.fit(acts_a[:200], acts_b[:200]).score(acts_a[200:], acts_b[200:]) > 0.99
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "source_a": [HasMethods(["fit", "transform"]), None],
        "source_b": [HasMethods(["fit", "transform"]), None],
        "selector": [
            HasMethods(["fit", "get_support"]),
            StrOptions({"passthrough"}),
            None,
        ],
        "embedding": [
            HasMethods(["fit", "transform"]),
            StrOptions({"passthrough"}),
            None,
        ],
        "regressor": [HasMethods(["fit", "predict"]), None],
        "candidates": [StrOptions({"auto", *CANDIDATES}), list, tuple],
        "cv": [Interval(numbers.Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        source_a=None,
        source_b=None,
        selector=None,
        embedding=None,
        regressor=None,
        candidates="auto",
        cv=3,
        random_state=None,
    ):
        self.source_a = source_a
        self.source_b = source_b
        self.selector = selector
        self.embedding = embedding
        self.regressor = regressor
        self.candidates = candidates
        self.cv = cv
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, jacobians=None, covariances=None):
        """Fit T on paired samples, choosing the candidate map by inner CV.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_a) or network inputs
            Array path: A's activations. Network path: the inputs of both
            networks (any shape ``source_a`` accepts).
        y : array-like of shape (n_samples, n_b) or (n_samples,), default=None
            Array path: B's activations (required). Network path: must be
            None when ``source_b`` is set, else the target (required).
        jacobians : array-like of shape (n_samples, n_a, d), default=None
            Array path only: per-sample Jacobians of ``X`` with respect to the
            intrinsic variables, for the embedding's metric.
        covariances : array-like of shape (n_samples, n_a, n_a), default=None
            Array path only: per-sample local covariances instead.

        Returns
        -------
        self : NetworkTransform
            The fitted transform.
        """
        self.alignment_ = None
        # one BLAS thread: the inner cross-validation and the kernels are
        # hundreds of few-hundred-square products and eigendecompositions, on
        # which several threads per call mostly wait for each other
        with one_thread():
            self._fit_choosing(X, y, jacobians, covariances)
        return self

    def _fit_choosing(self, X, y, jacobians, covariances, source=None):
        acts, target, metadata, inputs = self._training_data(
            X, y, jacobians, covariances
        )
        target = check_varying_target(target, what="B's activations")
        support = self._fit_selector(acts, target)
        names = self._candidate_names()
        selected, metadata = self._selected_training_features(
            acts, support, metadata, inputs, with_metric="intrinsic" in names
        )
        self._check_metric_route(metadata)
        self.candidate_scores_ = self._inner_cv_scores(
            names, selected, metadata, target, source
        )
        self.selected_transform_ = _best(self.candidate_scores_)
        if self.selected_transform_ != "intrinsic":
            self.metric_source_ = None
        self._fit_candidate(
            self.selected_transform_, selected, metadata, target, source
        )

    # ------------------------------------------------- A's side, precomputed
    def embed_source(self, X, *, jacobians=None, covariances=None):
        """Do the work of :meth:`fit` that depends on A alone, once for many targets.

        Much of every candidate's fit depends on A's activations (and their
        metric data) alone, on the training data and on each fold of the inner
        cross-validation: the intrinsic candidate's embedding and its
        geometric harmonics' kernel eigendecomposition, the kernel ridge
        candidate's Nyström features, the standardisation. When the same A is mapped to
        many targets (every B of a population,
        :func:`~skequiv.population.pairwise_similarity`), compute it once here
        and fit each target with :meth:`fit_embedded`; the result is the same
        as ``fit(X, y, jacobians=..., covariances=...)``.

        Array path only (``source_a=None``), and without a selector (which
        picks A's neurons for a given target).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_a)
            A's activations on the training samples.
        jacobians, covariances : array-like, default=None
            Their metric data, as in :meth:`fit`.

        Returns
        -------
        source : SourceEmbedding
            A's fitted embeddings (training data and inner folds) and
            coordinates, to pass to :meth:`fit_embedded` of this transform or
            of a clone with the same parameters. It is not modified there, so
            one may serve many fits, in threads or processes.
        """
        self._validate_params()
        if self.source_a is not None or self.source_b is not None:
            raise ValueError(
                "embed_source works on arrays (A's activations and their metric "
                "data); set source_a=None and source_b=None."
            )
        if self.selector not in (None, "passthrough"):
            raise ValueError(
                "embed_source cannot precompute A's side with a selector: the "
                f"selected neurons depend on the target. Got selector={self.selector!r}"
                "; use selector=None, or fit for each target."
            )
        if isinstance(self.random_state, np.random.RandomState):
            raise ValueError(
                "embed_source needs random_state=None or an int, so that the inner "
                "folds drawn here and in fit_embedded are the same; got a "
                "RandomState instance."
            )
        X = check_array(X, dtype=np.float64, input_name="X")
        metadata = _check_metadata(
            jacobians, covariances, X.shape[0], X.shape[1], where="embed_source"
        )
        with one_thread():
            return SourceEmbedding(self, X, metadata)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_embedded(self, source, y):
        """Fit T on A's side precomputed by :meth:`embed_source`, and target ``y``.

        Equals ``fit(X, y, jacobians=..., covariances=...)`` with the
        activations and metric data ``source`` was made from, and everything
        that depends on A alone (embeddings, the kernel eigendecompositions of
        geometric harmonics, Nyström features) taken from ``source`` instead
        of being computed again: only the candidates' fits to ``y`` and the
        choice between them are done here.

        Parameters
        ----------
        source : SourceEmbedding
            What :meth:`embed_source` returned, made by a transform with the
            same parameters.
        y : array-like of shape (n_samples, n_b) or (n_samples,)
            B's activations on the same training samples, in the same order.

        Returns
        -------
        self : NetworkTransform
            The fitted transform.
        """
        if not isinstance(source, SourceEmbedding):
            raise TypeError(
                "source must be what embed_source returned; got "
                f"{type(source).__name__}."
            )
        source.check_made_for(self)
        self.alignment_ = None
        with one_thread():
            self._fit_choosing(
                source.X,
                y,
                source.metadata.get("jacobians"),
                source.metadata.get("covariances"),
                source,
            )
        return self

    def _source_key(self):
        """The parameters A's precomputed side depends on."""
        return (
            repr(self.embedding),
            repr(self.regressor),
            repr(self.random_state),
            self.cv,
            tuple(self._candidate_names()),
        )

    def _training_data(self, X, y, jacobians, covariances):
        """A's activations, the target, A's metric data and the network inputs."""
        if self.source_a is None:
            if self.source_b is not None:
                raise ValueError(
                    "source_b is set but source_a is None; the network path needs "
                    "source_a (source_b alone has nothing to map from)."
                )
            return (*self._array_training_data(X, y, jacobians, covariances), None)
        if jacobians is not None or covariances is not None:
            raise ValueError(
                "jacobians/covariances are computed from source_a on the network "
                "path; do not pass them to fit when source_a is set."
            )
        return self._network_training_data(X, y)

    def _array_training_data(self, X, y, jacobians, covariances):
        if y is None:
            raise ValueError(
                "This NetworkTransform estimator requires y to be passed, but the "
                "target y is None (on the array path, source_a=None, y holds B's "
                "activations)."
            )
        X, y = validate_data(
            self,
            X,
            check_numeric_target(y),
            multi_output=True,
            y_numeric=True,
            dtype=np.float64,
        )
        metadata = _check_metadata(
            jacobians, covariances, X.shape[0], X.shape[1], where="fit"
        )
        self.source_a_ = self.source_b_ = self.metric_source_ = None
        return X, y, metadata

    def _network_training_data(self, X, y):
        _check_y_on_network_path(self.source_b, y, "fit")
        X = self._check_network_input(X, reset=True)
        self.source_a_ = clone(self.source_a).fit(X)
        acts_a = np.asarray(self.source_a_.transform(X), dtype=np.float64)
        self.metric_source_ = None
        if self.source_b is not None:
            self.source_b_ = clone(self.source_b).fit(X)
            return acts_a, self._network_target(X), {}, X
        if y is None:
            raise ValueError(
                "With source_b=None the network path needs the target as y; got y=None."
            )
        self.source_b_ = None
        target = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if target.shape[0] != acts_a.shape[0]:
            raise ValueError(
                f"y has {target.shape[0]} samples but X has {acts_a.shape[0]}."
            )
        return acts_a, target, {}, X

    def _network_target(self, X):
        return np.asarray(self.source_b_.transform(X), dtype=np.float64)

    def _check_network_input(self, X, *, reset):
        # network inputs may be images (n, channels, height, width); the
        # source decides what it accepts, here only the sample axis matters
        return validate_data(
            self, X, reset=reset, dtype="numeric", allow_nd=True, ensure_min_features=1
        )

    def _fit_selector(self, acts_a, target):
        if self.selector is None or (
            isinstance(self.selector, str) and self.selector == "passthrough"
        ):
            self.selector_ = None
            support = np.arange(acts_a.shape[1])
        else:
            self.selector_ = clone(self.selector).fit(acts_a, target)
            support = np.asarray(self.selector_.get_support(indices=True))
            if support.size == 0:
                raise ValueError(f"selector={self.selector!r} selected no neuron of A.")
        self.support_ = support
        return support

    def _candidate_names(self):
        if isinstance(self.candidates, str):
            return list(CANDIDATES) if self.candidates == "auto" else [self.candidates]
        names = list(dict.fromkeys(self.candidates))
        unknown = sorted(set(names) - set(CANDIDATES))
        if unknown or not names:
            raise ValueError(
                f"candidates={self.candidates!r}: each must be one of "
                f"{list(CANDIDATES)}, and at least one is needed."
            )
        return names

    def _selected_training_features(
        self, acts, support, metadata, inputs, *, with_metric
    ):
        """A's selected neurons and their metric data (computed on the network path)."""
        if inputs is None:
            return acts[:, support], _slice_metadata(metadata, support)
        embedding = self._make_embedding()
        takes_metric = embedding is not None and _embedding_takes_metadata(embedding)
        if with_metric and takes_metric and is_metric_source(self.source_a):
            self.metric_source_ = _restrict_source(
                self.source_a, support, acts.shape[1]
            ).fit(inputs)
            md = self.metric_source_.metric_data(inputs)
            return np.asarray(md.observations, dtype=np.float64), _metadata_from(md)
        return acts[:, support], {}

    def _check_metric_route(self, metadata):
        """Metric data needs an embedding that takes it; its absence is said."""
        embedding = self._make_embedding()
        takes = embedding is not None and _embedding_takes_metadata(embedding)
        if metadata and not takes:
            raise ValueError(
                f"{next(iter(metadata))} were given but embedding="
                f"{self.embedding!r} does not accept them; use an embedding whose "
                "fit takes jacobians/covariances (e.g. MahalanobisDiffusionMap)."
            )
        if takes and not metadata and "intrinsic" in self._candidate_names():
            warnings.warn(
                "NetworkTransform: no jacobians or covariances came with A's "
                "activations, so the intrinsic candidate's diffusion map runs with "
                "the Euclidean metric, not the Mahalanobis metric of the paper. "
                "Pipeline([NetworkActivations(net_a), NetworkTransform()]) does not "
                "pass the network's Jacobians on; use the network path instead, "
                "NetworkTransform(source_a=NetworkActivations(net_a), "
                "source_b=NetworkActivations(net_b)).fit(X), or pass jacobians= "
                "(with set_fit_request(jacobians=True) under metadata routing).",
                EuclideanMetricWarning,
                stacklevel=user_stacklevel(),
            )

    def _make_embedding(self):
        if isinstance(self.embedding, str) and self.embedding == "passthrough":
            return None
        if self.embedding is None:
            return default_embedding(self.random_state)
        return clone(self.embedding)

    def _make_candidate(self, name, n_samples):
        """Unfitted ``(embedding or None, regressor)`` of a candidate."""
        if name == "ridge":
            return None, ridge_regressor()
        if name == "kernel_ridge":
            return None, kernel_ridge_regressor(self._seed())
        regressor = self.regressor
        if regressor is None:
            regressor = default_regressor(n_samples)
        return self._make_embedding(), clone(regressor)

    def _seed(self):
        rng = check_random_state(self.random_state)
        return rng.randint(2**31 - 1) if self.random_state is not None else 0

    def _fit_features(self, embedding, selected, metadata):
        """Fit the embedding (if any); the regressor's training input."""
        if embedding is None:
            return selected
        return embedding.fit_transform(selected, **metadata)

    def _inner_folds(self, names, n_samples):
        """The inner cross-validation's ``(train, test)`` folds, or ``None``."""
        if n_samples < 2:
            raise ValueError(
                f"NetworkTransform needs at least 2 samples; got {n_samples} sample."
            )
        if len(names) == 1 or n_samples < _MIN_FOLD_SIZE * self.cv:
            return None  # too few samples (or candidates) to cross-validate
        folds = KFold(n_splits=self.cv, shuffle=True, random_state=self._seed())
        return list(folds.split(np.empty((n_samples, 1))))

    def _inner_cv_scores(self, names, selected, metadata, target, source=None):
        """Mean held-out R² of each candidate over ``cv`` folds of the training data.

        Only the training data passed to ``fit`` is split. A candidate that
        fails on a fold is reported with a warning and scores NaN; it is
        chosen only if every candidate failed, which raises. ``source`` (from
        :meth:`embed_source`) holds every candidate's work on A's side of
        each fold.
        """
        folds = self._inner_folds(names, selected.shape[0])
        if folds is None:
            # the simplest candidate given
            simplest = next(n for n in CANDIDATES[::-1] if n in names)
            return {name: float("nan") for name in [simplest, *names]}
        scores = {name: [] for name in names}
        errors = {}
        for fold, (train, test) in enumerate(folds):
            for name in names:
                if name in errors:
                    continue
                try:
                    if source is not None:
                        prepared = source.fold_candidate(fold, name)
                    else:
                        prepared = self._prepare_fold(
                            name, selected, metadata, train, test
                        )
                    scores[name].append(
                        self._fold_score(name, prepared, target, train, test)
                    )
                except Exception as exc:
                    errors[name] = exc
        return self._summarise_candidates(names, scores, errors)

    def _fold_features(self, name, selected, metadata, train, test):
        """A candidate's regressor inputs on a fold's training and held-out rows.

        Only the intrinsic candidate's embedding turns A's activations into
        other features; it depends on A alone (see :meth:`embed_source`).
        """
        embedding = self._make_embedding() if name == "intrinsic" else None
        coords = self._fit_features(embedding, selected[train], _take(metadata, train))
        held_out = selected[test]
        if embedding is not None:
            held_out = embedding.transform(
                held_out, **_transform_metadata(embedding, _take(metadata, test))
            )
        return coords, held_out

    def _prepare_fold(self, name, selected, metadata, train, test):
        """A candidate on a fold, with the work that depends on A alone done."""
        coords, held_out = self._fold_features(name, selected, metadata, train, test)
        regressor = self._make_candidate(name, len(train))[1]
        return PreparedCandidate(name, regressor, coords, held_out)

    @staticmethod
    def _fold_score(name, prepared, target, train, test):
        """Held-out R² of candidate ``name`` fitted on a fold's target."""
        return prepared.fold_score(target[train], target[test], equivalence_r2)

    def _prepare_full(self, name, selected, metadata):
        """``(fitted embedding or None, prepared candidate)`` on all training rows."""
        embedding, regressor = self._make_candidate(name, selected.shape[0])
        coords = self._fit_features(embedding, selected, metadata)
        return embedding, PreparedCandidate(name, regressor, coords)

    @staticmethod
    def _summarise_candidates(names, scores, errors):
        for name, exc in errors.items():
            warnings.warn(
                f"NetworkTransform: candidate {name!r} failed in the inner "
                f"cross-validation and is not used: {type(exc).__name__}: {exc}",
                CandidateFailedWarning,
                stacklevel=user_stacklevel(),
            )
        if len(errors) == len(names):
            raise ValueError(
                "NetworkTransform: every candidate failed in the inner "
                f"cross-validation: {', '.join(names)}; the first error was "
                f"{type(errors[names[0]]).__name__}: {errors[names[0]]}"
            ) from errors[names[0]]
        return {
            name: float("nan") if name in errors else float(np.mean(scores[name]))
            for name in names
        }

    def _fit_candidate(self, name, selected, metadata, target, source=None):
        if source is not None:
            embedding, prepared = source.full_candidate(name)
        else:
            embedding, prepared = self._prepare_full(name, selected, metadata)
        self.embedding_ = embedding
        self.regressor_ = prepared.fit(target)
        # kept for permutation_scores: the null refits only the regressor
        self._train_coords = prepared.inputs
        target = np.asarray(target)
        self._train_target = target.reshape(target.shape[0], -1)
        self._y_1d = target.ndim == 1
        self.n_outputs_ = 1 if target.ndim == 1 else target.shape[1]
        self._n_features_out = self.n_outputs_

    # -------------------------------------------------------------- unpaired
    def fit_unpaired(
        self,
        X,
        Y,
        *,
        anchors=None,
        jacobians=None,
        covariances=None,
        jacobians_y=None,
        covariances_y=None,
        degeneracy_tol=0.1,
    ):
        """Fit T from unpaired observations of the same phenomenon (array path).

        A's observations ``X`` and B's ``Y`` come from *different* samples of
        the same intrinsic variable. Each is embedded on its own; since both
        embeddings approximate the same Laplace–Beltrami eigenfunctions of the
        intrinsic space (exactly so with the Mahalanobis metric, which undoes
        each network's distortion), they agree up to the sign of each
        eigenvector and an orthogonal transformation within each
        near-degenerate eigenvalue block. :func:`align_embeddings` finds that
        alignment (from ``anchors`` by orthogonal Procrustes within blocks, or
        without anchors from third-order moments, signs only); then a
        regressor from B's coordinates to ``Y`` is composed with A's aligned
        embedding. With ``regressor=None`` that regressor is a
        distance-weighted 10-nearest-neighbour average rather than geometric
        harmonics: A's aligned coordinates lie near, not on, the set of B's
        coordinates, and a narrow-kernel extension decays to the mean off it.

        Keep ``n_components`` of the embedding small (about ``d`` to ``2d``):
        higher eigenvectors are estimated less accurately from each sample, so
        they agree less well between the two embeddings.

        Parameters
        ----------
        X : array-like of shape (n_a_samples, n_a)
            A's observations.
        Y : array-like of shape (n_b_samples, n_b)
            B's observations, of other inputs.
        anchors : array-like of shape (n_anchors, 2), default=None
            Index pairs ``(i, j)``: ``X[i]`` and ``Y[j]`` observe the same
            input. A handful (a few per eigenvalue block) suffices.
        jacobians, covariances : array-like, default=None
            Metric data of ``X`` (as in :meth:`fit`).
        jacobians_y, covariances_y : array-like, default=None
            Metric data of ``Y``.
        degeneracy_tol : float, default=0.1
            Relative eigenvalue gap below which neighbouring eigenvectors are
            treated as one degenerate block.

        Returns
        -------
        self : NetworkTransform
            The fitted transform; ``alignment_`` holds the alignment.
        """
        self._validate_params()
        if self.source_a is not None or self.source_b is not None:
            raise ValueError("fit_unpaired works on arrays; set source_a=None.")
        if self.selector not in (None, "passthrough"):
            raise ValueError(
                "fit_unpaired cannot select neurons: selection needs paired "
                f"samples. Use selector=None, got {self.selector!r}."
            )
        if isinstance(self.embedding, str):
            raise ValueError(
                "fit_unpaired needs an embedding (embedding='passthrough' has no "
                "intrinsic coordinates to align)."
            )
        X = validate_data(self, X, dtype=np.float64)
        Y = check_array(Y, dtype=np.float64, ensure_2d=False, input_name="Y")
        y_1d = Y.ndim == 1
        Y2 = Y.reshape(Y.shape[0], -1)
        meta_x = _check_metadata(
            jacobians, covariances, X.shape[0], X.shape[1], where="fit_unpaired(X)"
        )
        meta_y = _check_metadata(
            jacobians_y,
            covariances_y,
            Y2.shape[0],
            Y2.shape[1],
            where="fit_unpaired(Y)",
        )
        emb_a = self._make_embedding()
        emb_b = self._make_embedding()
        coords_a = emb_a.fit_transform(X, **meta_x)
        coords_b = emb_b.fit_transform(Y2, **meta_y)
        rotation, blocks, stats = align_embeddings(
            coords_a,
            coords_b,
            eigenvalues_a=getattr(emb_a, "eigenvalues_", None),
            eigenvalues_b=getattr(emb_b, "eigenvalues_", None),
            anchors=anchors,
            degeneracy_tol=degeneracy_tol,
            return_stats=True,
        )
        self.selector_ = None
        self.support_ = np.arange(X.shape[1])
        self.source_a_ = self.source_b_ = self.metric_source_ = None
        self.embedding_ = emb_a
        if self.regressor is None:
            # The aligned coordinates of A's samples lie near, not on, the curve
            # (surface) of B's coordinates; geometric harmonics with its narrow
            # data-driven kernel decays to the mean off that set, while
            # neighbour averaging degrades gracefully.
            regressor = KNeighborsRegressor(n_neighbors=10, weights="distance")
        else:
            regressor = self.regressor
        k = rotation.shape[0]
        std_b = (coords_b[:, :k] - stats["mean_b"]) / stats["scale_b"]
        self.regressor_ = clone(regressor).fit(std_b, Y)
        self.alignment_ = {
            "embedding_b": emb_b,
            "rotation": rotation,
            "blocks": blocks,
            **stats,
        }
        self.selected_transform_ = "intrinsic"
        self.candidate_scores_ = {"intrinsic": float("nan")}
        self._train_coords, self._train_target = std_b, Y2
        self._y_1d = y_1d
        self.n_outputs_ = Y2.shape[1]
        self._n_features_out = self.n_outputs_
        return self

    # ------------------------------------------------------------- predict
    def _features_at(self, X, metadata):
        """The regressor's input at new samples ``X``."""
        if self.source_a_ is not None:
            if metadata:
                raise ValueError(
                    "jacobians/covariances are computed from source_a on the "
                    "network path; do not pass them."
                )
            X = self._check_network_input(X, reset=False)
            if self.metric_source_ is not None:
                md = self.metric_source_.metric_data(X)
                selected = np.asarray(md.observations, dtype=np.float64)
                metadata = _metadata_from(md)
            else:
                acts = np.asarray(self.source_a_.transform(X), dtype=np.float64)
                selected = acts[:, self.support_]
        else:
            X = validate_data(self, X, reset=False, dtype=np.float64)
            metadata = _check_metadata(
                metadata.get("jacobians"),
                metadata.get("covariances"),
                X.shape[0],
                X.shape[1],
                where="predict",
            )
            selected = X[:, self.support_]
            metadata = _slice_metadata(metadata, self.support_)
        return self._embed(selected, metadata)

    def _embed(self, selected, metadata):
        if self.embedding_ is None:
            return selected
        if self.alignment_ is not None:
            a = self.alignment_
            k = a["rotation"].shape[0]
            coords = self.embedding_.transform(
                selected, **_transform_metadata(self.embedding_, metadata)
            )
            return ((coords[:, :k] - a["mean_a"]) / a["scale_a"]) @ a["rotation"]
        return self.embedding_.transform(
            selected, **_transform_metadata(self.embedding_, metadata)
        )

    def _predict_2d(self, X, metadata):
        check_is_fitted(self, "regressor_")
        with one_thread():
            pred = self.regressor_.predict(self._features_at(X, metadata))
        pred = np.asarray(pred, dtype=np.float64)
        return pred.reshape(pred.shape[0], -1)

    def predict(self, X, *, jacobians=None, covariances=None):
        """Predict B's activations from A's (array path) or from inputs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_a) or network inputs
            As in :meth:`fit`.
        jacobians, covariances : array-like, default=None
            Array path only: metric data of ``X``, used by embeddings whose
            ``transform`` takes it.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_b) or (n_samples,)
            Predicted target, 1-D when ``y`` was 1-D in fit.
        """
        pred = self._predict_2d(X, _drop_none(jacobians, covariances))
        return pred.ravel() if self._y_1d else pred

    def predict_from_activations(
        self, activations, *, jacobians=None, covariances=None
    ):
        """Predict the target from A's activations, with or without metric data.

        On the array path this is :meth:`predict`; on the network path it takes
        the activations ``source_a.transform`` returns instead of network
        inputs. Used for cycles such as ``T_BA(T_AB(x))``, whose intermediate
        activations come from no network: pass the metric data of the samples
        they stand for (B's at ``x``), else the embedding's Nyström extension
        uses the one-sided distance, which cannot tell apart inputs whose
        activations coincide (the two sides of a fold).

        Parameters
        ----------
        activations : array-like of shape (n_samples, n_a)
            A's activations (all of them, as in fit; the selected ones are
            taken here).
        jacobians, covariances : array-like, default=None
            Metric data of the samples: of all A's neurons on the array path
            (as in :meth:`predict`); on the network path of the selected ones,
            as ``metric_source_.metric_data`` returns them.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_b)
        """
        check_is_fitted(self, "regressor_")
        acts = check_array(activations, dtype=np.float64, input_name="activations")
        selected = acts[:, self.support_]
        metadata = _drop_none(jacobians, covariances)
        if metadata:
            shape = selected.shape if self.source_a_ is not None else acts.shape
            metadata = _check_metadata(
                jacobians, covariances, *shape, where="predict_from_activations"
            )
            if self.source_a_ is None:
                metadata = _slice_metadata(metadata, self.support_)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*per-sample metric data.*")
            coords = self._embed(selected, metadata)
        pred = np.asarray(self.regressor_.predict(coords), dtype=np.float64)
        return pred.reshape(pred.shape[0], -1)

    def transform(self, X, *, jacobians=None, covariances=None):
        """B's activations predicted from ``X``, always 2-D.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_a) or network inputs
            As in :meth:`fit`.
        jacobians, covariances : array-like, default=None
            As in :meth:`predict`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_b)
            Predicted target.
        """
        return self._predict_2d(X, _drop_none(jacobians, covariances))

    def _true_target(self, X, y, where):
        if self.source_b_ is not None:
            _check_y_on_network_path(self.source_b, y, where)
            return self._network_target(self._check_network_input(X, reset=False))
        if y is None:
            raise ValueError(f"{where} needs y (the true target); got y=None.")
        return y

    def score(self, X, y=None, sample_weight=None, *, jacobians=None, covariances=None):
        """Held-out R² of T, uniformly averaged over the varying target features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_a) or network inputs
            As in :meth:`fit`.
        y : array-like of shape (n_samples, n_b) or (n_samples,), default=None
            True target. On the network path with ``source_b`` set it must be
            None: B's activations at ``X`` are the target.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        jacobians, covariances : array-like, default=None
            As in :meth:`predict`.

        Returns
        -------
        score : float
            R² (1 is a perfect transform; larger is better).
        """
        check_is_fitted(self, "regressor_")
        y = self._true_target(X, y, "score")
        pred = self._predict_2d(X, _drop_none(jacobians, covariances))
        return equivalence_r2(y, pred, sample_weight=sample_weight)

    def permutation_scores(
        self, X, y=None, *, permutations, jacobians=None, covariances=None
    ):
        """Held-out R² of the transform refitted on re-paired training samples.

        The null of a permutation test: for each permutation ``p`` of the
        training samples, the regressor is refitted on A's training features
        paired with the targets ``y_train[p]`` and scored at ``X`` against the
        true (unshuffled) target. The selected candidate, the selected neurons
        and every hyperparameter the data chose are kept as fitted, and
        everything computed from A's side alone (the embedding and its
        eigendecomposition, standardisation, kernel features) is reused; the
        permuted targets are fitted together as the columns of one
        multi-output problem. The null therefore conditions on the selected
        transform: it asks whether *this* transform's fit to the pairing beats
        its fit to a random pairing.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_a) or network inputs
            Held-out samples, as in :meth:`score`.
        y : array-like of shape (n_samples, n_b) or (n_samples,), default=None
            As in :meth:`score`.
        permutations : sequence of ndarray of shape (n_train,)
            Permutations of the training samples (``range(n_train)``).
        jacobians, covariances : array-like, default=None
            As in :meth:`predict`.

        Returns
        -------
        scores : ndarray of shape (n_permutations,)
            R² at ``X`` of each refit.
        """
        check_is_fitted(self, "regressor_")
        n_train = self._train_target.shape[0]
        permutations = [np.asarray(p) for p in permutations]
        for p in permutations:
            if p.shape != (n_train,) or not np.array_equal(
                np.sort(p), np.arange(n_train)
            ):
                raise ValueError(
                    "permutations must be permutations of range(n_train) = "
                    f"range({n_train}); got an array of shape {p.shape}."
                )
        y_true = self._true_target(X, y, "permutation_scores")
        test = self._features_at(X, _drop_none(jacobians, covariances))
        features, head = fixed_regressor(self.regressor_)
        scores = np.empty(len(permutations))
        with one_thread():
            blocks = stacked_null_predictions(
                features,
                head,
                self._train_coords,
                self._train_target,
                test,
                permutations,
            )
            for start, predicted in blocks:
                for i, pred in enumerate(predicted):
                    scores[start + i] = equivalence_r2(y_true, pred)
        return scores

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self.source_a is None or self.source_b is None
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        # With only the intrinsic candidate, T compresses X to a few diffusion
        # coordinates: it assumes data on a low-dimensional manifold, which the
        # isotropic make_regression data of the common checks is not. With the
        # ridge candidates in the choice it fits such data well.
        tags.regressor_tags.poor_score = self.candidates == "intrinsic"
        tags.input_tags.allow_nan = False
        if self.regressor is not None:
            tags.input_tags.sparse = False
        for sub in (self.selector, self.embedding, self.regressor):
            if sub is not None and not isinstance(sub, str):
                try:
                    if get_tags(sub).non_deterministic:
                        tags.non_deterministic = True
                except (AttributeError, TypeError):  # pragma: no cover
                    pass
        return tags


class SourceEmbedding:
    """A's side of :class:`NetworkTransform`, fitted once for many targets.

    Made by :meth:`NetworkTransform.embed_source`; holds A's training
    activations and metric data and, for every candidate on each inner fold
    and on all training samples, the work that depends on A alone: the
    intrinsic candidate's embedding coordinates and its geometric harmonics'
    kernel eigendecomposition, the kernel ridge candidate's Nyström
    features, the ridge candidate's standardisation. A candidate that failed
    there keeps its error, raised again where :meth:`NetworkTransform.fit`
    would have raised it. Treat it as opaque.
    """

    def __init__(self, transform, X, metadata):
        self.key = transform._source_key()
        self.X = X
        self.metadata = metadata
        names = transform._candidate_names()
        # A's neurons as fit selects them (all, as a copy in fit's memory
        # layout, which the floating-point results depend on)
        X, metadata = transform._selected_training_features(
            X, np.arange(X.shape[1]), metadata, None, with_metric=True
        )
        self._folds = []
        failed = set()  # fit skips a failed candidate's later folds
        for train, test in transform._inner_folds(names, X.shape[0]) or ():
            fold = {}
            for name in names:
                if name not in failed:
                    fold[name] = _attempt(
                        transform._prepare_fold, name, X, metadata, train, test
                    )
                    if isinstance(fold[name], Exception):
                        failed.add(name)
            self._folds.append(fold)
        self._full = {
            name: _attempt(transform._prepare_full, name, X, metadata) for name in names
        }

    def check_made_for(self, transform):
        if self.key != transform._source_key():
            raise ValueError(
                "this SourceEmbedding was made by a NetworkTransform with other "
                f"parameters ({self.key}); call embed_source on a transform with "
                "the parameters of the one being fitted."
            )

    def fold_candidate(self, fold, name):
        """Candidate ``name`` prepared on inner fold ``fold``."""
        return _raised(self._folds[fold][name])

    def full_candidate(self, name):
        """``(fitted embedding or None, prepared candidate)`` on all rows."""
        return _raised(self._full[name])


def _attempt(func, *args):
    """``func(*args)``, or the exception it raised (to be raised later)."""
    try:
        return func(*args)
    except Exception as exc:
        return exc


def _raised(value):
    if isinstance(value, Exception):
        raise value
    return value


def _best(candidate_scores):
    """The candidate with the largest inner-CV score (NaN: failed)."""
    finite = {k: v for k, v in candidate_scores.items() if not np.isnan(v)}
    if not finite:  # a single candidate, not cross-validated
        return next(iter(candidate_scores))
    return max(finite, key=finite.get)


def _take(metadata, index):
    return {key: value[index] for key, value in metadata.items()}


def _embedding_takes_metadata(embedding):
    return all(_accepts(embedding.fit, name) for name in _METADATA)


def _transform_metadata(embedding, metadata):
    # Nyström extension can do without the new points' metric data (a
    # one-sided distance); pass it only when the embedding takes it.
    if metadata and _accepts(embedding.transform, next(iter(metadata))):
        return metadata
    return {}


def _check_y_on_network_path(source_b, y, where):
    if source_b is not None and y is not None:
        raise ValueError(
            f"NetworkTransform.{where}: y was given, but with source_b set the "
            "target is B's activations at X and y would be ignored. Pass y=None, "
            "or set source_b=None to use y as the target."
        )


def _drop_none(jacobians, covariances):
    metadata = {}
    if jacobians is not None:
        metadata["jacobians"] = jacobians
    if covariances is not None:
        metadata["covariances"] = covariances
    return metadata
