"""NetworkTransform: the map T with f_B ≈ T ∘ f_A between two trained networks."""

import inspect
from typing import ClassVar

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
    clone,
)
from sklearn.neighbors import KNeighborsRegressor
from sklearn.utils import get_tags
from sklearn.utils.validation import check_array, check_is_fitted

from skequiv._compat import HasMethods, StrOptions, _fit_context, validate_data
from skequiv.equivalence._alignment import align_embeddings
from skequiv.equivalence._scores import equivalence_r2

_METADATA = ("jacobians", "covariances")


def default_embedding(random_state=None):
    """The embedding used when ``embedding=None``: a Mahalanobis diffusion map."""
    from skequiv.embedding._diffusion_map import MahalanobisDiffusionMap

    return MahalanobisDiffusionMap(n_components=4, random_state=random_state)


# default embedding: Tikhonov regularisation of each local precision, relative
# to the typical local scale (see _default_regularization)
_RELATIVE_REGULARIZATION = 1e-3
_DEFAULT_RANK = 1e-8


def _default_regularization(metadata):
    """``1e-3`` times the median over samples of the largest eigenvalue of ``C_i``.

    Network Jacobians are near-singular where a unit saturates or the map
    folds (``f'(x) = 0`` for a non-monotonic f): there ``C_i^+`` explodes and
    the sample drifts away from its neighbours in the embedding. A small
    regularisation ``(C_i + λI)^-1`` bounds it; scaling λ by the data's own
    local scale keeps the default free of units.
    """
    if "jacobians" in metadata:
        J = metadata["jacobians"]
        top = np.linalg.norm(J, ord=2, axis=(1, 2)) ** 2
    elif "covariances" in metadata:
        top = np.linalg.eigvalsh(metadata["covariances"])[:, -1]
    else:
        return 0.0
    scale = float(np.median(top))
    return _RELATIVE_REGULARIZATION * scale if scale > 0 else 0.0


def default_regressor():
    """The regressor used when ``regressor=None``: geometric harmonics."""
    from skequiv.regression._geometric_harmonics import GeometricHarmonicsRegressor

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
    if jacobians is not None and covariances is not None:
        raise ValueError(
            f"{where}: pass at most one of `jacobians` and `covariances`, got both."
        )
    if jacobians is not None:
        jacobians = check_array(
            jacobians, allow_nd=True, dtype=np.float64, input_name="jacobians"
        )
        if jacobians.ndim != 3 or jacobians.shape[:2] != (n_samples, n_features):
            raise ValueError(
                f"{where}: `jacobians` must have shape (n_samples, n_features, "
                f"n_intrinsic) = ({n_samples}, {n_features}, d); got "
                f"{jacobians.shape}."
            )
        return {"jacobians": jacobians}
    if covariances is not None:
        covariances = check_array(
            covariances, allow_nd=True, dtype=np.float64, input_name="covariances"
        )
        if covariances.shape != (n_samples, n_features, n_features):
            raise ValueError(
                f"{where}: `covariances` must have shape (n_samples, n_features, "
                f"n_features) = ({n_samples}, {n_features}, {n_features}); got "
                f"{covariances.shape}."
            )
        return {"covariances": covariances}
    return {}


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

    T is built through an intrinsic parametrisation of the data: optionally
    select a few of A's neurons (``selector``), embed them with a Mahalanobis
    diffusion map (``embedding``) and regress B's activations on the embedding
    coordinates (``regressor``, geometric harmonics by default), so that
    ``f_B ≈ T ∘ f_A`` (Bertalan, Dietrich & Kevrekidis 2024). If T generalises
    to held-out inputs, A and B are in one equivalence class; :meth:`score` is
    the held-out R² of T, larger is better, so ``cross_val_score`` and
    ``GridSearchCV`` work unchanged.

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
        :class:`~skequiv.GeometricHarmonicsRegressor` with its defaults; any
        scikit-learn regressor (multi-output if the target is) works.
    random_state : int, RandomState instance or None, default=None
        Seeds the default embedding (``embedding=None``); user-given
        sub-estimators keep their own ``random_state``.

    Attributes
    ----------
    selector_ : estimator or None
        The fitted selector, or ``None``.
    support_ : ndarray of shape (n_selected,)
        Indices of A's neurons (columns of ``X`` on the array path, of
        ``source_a.transform(X)`` on the network path) that T uses.
    embedding_ : estimator or None
        The fitted embedding of A's selected neurons, or ``None``
        (``"passthrough"``).
    regressor_ : estimator
        The fitted regressor from the embedding coordinates to the target.
    source_a_, source_b_ : estimator or None
        Fitted clones of the sources (network path), else ``None``.
    metric_source_ : estimator or None
        The fitted clone of ``source_a`` restricted to the selected neurons
        that supplies the embedding's metric data (network path), or ``None``.
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

    On the network path ``y`` is ignored when ``source_b`` is set: the target
    is always B's activations at ``X``. The sources are cloned in ``fit``; a
    pre-trained skorch net survives that when wrapped in
    ``sklearn.frozen.FrozenEstimator``.

    For GridSearchCV over sub-estimator parameters (``embedding__epsilon``,
    ``selector__n_features_to_select``), pass the sub-estimators explicitly:
    a ``None`` default has no parameters to search.

    References
    ----------
    .. [1] F. Bertalan, F. Dietrich and I. G. Kevrekidis, "Transformations
       establishing equivalence across neural networks: when have two networks
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
    ...                      regressor=KNeighborsRegressor(5))
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
        random_state=None,
    ):
        self.source_a = source_a
        self.source_b = source_b
        self.selector = selector
        self.embedding = embedding
        self.regressor = regressor
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, jacobians=None, covariances=None):
        """Fit T on paired samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_a) or network inputs
            Array path: A's activations. Network path: the inputs of both
            networks (any shape ``source_a`` accepts).
        y : array-like of shape (n_samples, n_b) or (n_samples,), default=None
            Array path: B's activations (required). Network path: ignored when
            ``source_b`` is set, else the target (required).
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
        if self.source_a is None:
            if self.source_b is not None:
                raise ValueError(
                    "source_b is set but source_a is None; the network path needs "
                    "source_a (source_b alone has nothing to map from)."
                )
            return self._fit_arrays(X, y, jacobians=jacobians, covariances=covariances)
        if jacobians is not None or covariances is not None:
            raise ValueError(
                "jacobians/covariances are computed from source_a on the network "
                "path; do not pass them to fit when source_a is set."
            )
        return self._fit_network(X, y)

    def _fit_arrays(self, X, y, *, jacobians, covariances):
        if y is None:
            raise ValueError(
                "This NetworkTransform estimator requires y to be passed, but the "
                "target y is None (on the array path, source_a=None, y holds B's "
                "activations)."
            )
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=np.float64
        )
        metadata = _check_metadata(
            jacobians, covariances, X.shape[0], X.shape[1], where="fit"
        )
        self.source_a_ = self.source_b_ = self.metric_source_ = None
        self._fit_core(X, y, metadata)
        return self

    def _fit_network(self, X, y):
        X = self._check_network_input(X, reset=True)
        self.source_a_ = clone(self.source_a).fit(X)
        acts_a = np.asarray(self.source_a_.transform(X), dtype=np.float64)
        if self.source_b is not None:
            self.source_b_ = clone(self.source_b).fit(X)
            target = np.asarray(self.source_b_.transform(X), dtype=np.float64)
        else:
            if y is None:
                raise ValueError(
                    "With source_b=None the network path needs the target as y; "
                    "got y=None."
                )
            self.source_b_ = None
            target = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
            if target.shape[0] != acts_a.shape[0]:
                raise ValueError(
                    f"y has {target.shape[0]} samples but X has {acts_a.shape[0]}."
                )
        support = self._fit_selector(acts_a, target)
        embedding = self._make_embedding()
        self.metric_source_ = None
        if embedding is not None and self._embedding_takes_metadata(embedding):
            if callable(getattr(self.source_a, "metric_data", None)):
                self.metric_source_ = _restrict_source(
                    self.source_a, support, acts_a.shape[1]
                ).fit(X)
        self._fit_after_selection(acts_a, target, support, embedding, network_inputs=X)
        return self

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

    def _make_embedding(self):
        if isinstance(self.embedding, str) and self.embedding == "passthrough":
            return None
        if self.embedding is None:
            return default_embedding(self.random_state)
        return clone(self.embedding)

    def _regularize_default(self, embedding, metadata):
        if self.embedding is None and metadata:
            # rank (relative tolerance) drops directions the map does not
            # reach (normal to the data manifold) before regularising the
            # kept ones; (C + λI)^-1 on all of them would weight the normal
            # directions by 1/λ instead of ignoring them
            embedding.set_params(
                rank=_DEFAULT_RANK,
                regularization=_default_regularization(metadata),
            )
        return metadata

    @staticmethod
    def _embedding_takes_metadata(embedding):
        return all(_accepts(embedding.fit, name) for name in _METADATA)

    def _fit_core(self, X, y, metadata):
        support = self._fit_selector(X, y)
        embedding = self._make_embedding()
        if metadata and (
            embedding is None or not self._embedding_takes_metadata(embedding)
        ):
            raise ValueError(
                f"{next(iter(metadata))} were given but embedding="
                f"{self.embedding!r} does not accept them; use an embedding whose "
                "fit takes jacobians/covariances (e.g. MahalanobisDiffusionMap)."
            )
        self._fit_after_selection(
            X, y, support, embedding, metadata=_slice_metadata(metadata, support)
        )

    def _fit_after_selection(
        self, acts_a, target, support, embedding, *, metadata=None, network_inputs=None
    ):
        selected = acts_a[:, support]
        if embedding is None:
            self.embedding_ = None
            coords = selected
        elif self.metric_source_ is not None:
            md = self.metric_source_.metric_data(network_inputs)
            metadata = self._regularize_default(embedding, _metadata_from(md))
            coords = embedding.fit_transform(
                np.asarray(md.observations, dtype=np.float64), **metadata
            )
            self.embedding_ = embedding
        else:
            metadata = self._regularize_default(embedding, metadata or {})
            coords = embedding.fit_transform(selected, **(metadata or {}))
            self.embedding_ = embedding
        regressor = default_regressor() if self.regressor is None else self.regressor
        self.regressor_ = clone(regressor).fit(coords, target)
        target = np.asarray(target)
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
        meta_x = self._regularize_default(emb_a, meta_x)
        meta_y = self._regularize_default(emb_b, meta_y)
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
        self._y_1d = y_1d
        self.n_outputs_ = Y2.shape[1]
        self._n_features_out = self.n_outputs_
        return self

    # ------------------------------------------------------------- predict
    def _coordinates(self, X, metadata):
        """Embedding coordinates of new samples (and the validated X)."""
        if self.source_a_ is not None:
            if metadata:
                raise ValueError(
                    "jacobians/covariances are computed from source_a on the "
                    "network path; do not pass them."
                )
            X = self._check_network_input(X, reset=False)
            if self.metric_source_ is not None:
                md = self.metric_source_.metric_data(X)
                return self.embedding_.transform(
                    np.asarray(md.observations, dtype=np.float64),
                    **self._transform_metadata(_metadata_from(md)),
                )
            selected = np.asarray(self.source_a_.transform(X), dtype=np.float64)[
                :, self.support_
            ]
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
        if self.embedding_ is None:
            return selected
        return self.embedding_.transform(selected, **self._transform_metadata(metadata))

    def _transform_metadata(self, metadata):
        # Nyström extension can do without the new points' metric data (a
        # one-sided distance); pass it only when the embedding takes it.
        if metadata and _accepts(self.embedding_.transform, next(iter(metadata))):
            return metadata
        return {}

    def _predict_2d(self, X, metadata):
        check_is_fitted(self, "regressor_")
        coords = self._coordinates(X, metadata)
        if self.alignment_ is not None:
            a = self.alignment_
            k = a["rotation"].shape[0]
            coords = ((coords[:, :k] - a["mean_a"]) / a["scale_a"]) @ a["rotation"]
        pred = np.asarray(self.regressor_.predict(coords), dtype=np.float64)
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

    def score(self, X, y=None, sample_weight=None, *, jacobians=None, covariances=None):
        """Held-out R² of T, uniformly averaged over the varying target features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_a) or network inputs
            As in :meth:`fit`.
        y : array-like of shape (n_samples, n_b) or (n_samples,), default=None
            True target. On the network path with ``source_b`` set it is
            ignored and B's activations at ``X`` are used.
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
        pred = self._predict_2d(X, _drop_none(jacobians, covariances))
        if self.source_b_ is not None:
            y = self.source_b_.transform(self._check_network_input(X, reset=False))
        elif y is None:
            raise ValueError("score needs y (the true target); got y=None.")
        return equivalence_r2(y, pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self.source_a is None or self.source_b is None
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        # The default transform compresses X to a few intrinsic (diffusion-map)
        # coordinates: it assumes data on a low-dimensional manifold, which the
        # isotropic make_regression data of the common checks is not.
        tags.regressor_tags.poor_score = True
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


def _drop_none(jacobians, covariances):
    metadata = {}
    if jacobians is not None:
        metadata["jacobians"] = jacobians
    if covariances is not None:
        metadata["covariances"] = covariances
    return metadata
