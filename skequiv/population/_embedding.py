"""ModelEmbedding: DYNAMO (Cotler et al. 2023) for feedforward networks."""

import copy
import math
from contextlib import contextmanager
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skequiv._compat import Interval, StrOptions, _fit_context
from skequiv.population._meta import (
    build_cnn_meta_model,
    build_emulated_model,
    build_meta_model,
)
from skequiv.population._targets import (
    check_output_shapes,
    layers_per_model,
    model_targets,
    n_components_per_slot,
    pca_scores,
)
from skequiv.utils._torch import import_torch, resolve_device

# trunk widths when hidden_layers / channels are None
_DEFAULT_HIDDEN = {"mlp": (64, 64), "cnn": (64,)}
_DEFAULT_CHANNELS = (16, 32)


class ModelEmbedding(BaseEstimator):
    """A low-dimensional embedding of a population of networks by emulating them all.

    DYNAMO for feedforward networks (Cotler, Tai, Hernández, Elias & Sussillo
    2023): one meta-network, an MLP trunk (or a small CNN trunk for images)
    whose hidden units are scaled and shifted by a model embedding vector θ
    (FiLM conditioning), is trained to emulate every model of the population
    at once. Model k is emulated at its own learned θ_k: the meta-model's
    output must match model k's output (KL divergence of the softmax for
    classifiers, mean squared error for regression), and its hidden states,
    through one linear readout per model and emulated layer, a PCA of model
    k's activations at that layer (so the basis of a model's hidden units
    does not matter). The embeddings θ_k
    place models that compute the same thing close together, however their
    weights are arranged, and points of the embedding space between models
    are operable networks themselves (:meth:`average`, :meth:`interpolate`).

    Parameters
    ----------
    embedding_dim : int, default=2
        Dimension d of the model embedding.
    trunk : {"auto", "mlp", "cnn"}, default="auto"
        The meta-model's trunk. ``"mlp"``: FiLM dense layers on flattened
        inputs. ``"cnn"``: FiLM 3 × 3 convolutions (one γ, β per channel) on
        images of shape (n_samples, channels, height, width), then FiLM dense
        layers. ``"auto"``: ``"cnn"`` for 4-D ``X``, ``"mlp"`` otherwise.
    hidden_layers : tuple of int, default=None
        Widths of the trunk's dense layers; ``None`` means ``(64, 64)`` for
        the MLP trunk and ``(64,)`` after the CNN trunk's convolutions.
    channels : tuple of int, default=None
        Channels of the CNN trunk's convolutional blocks (a 2 × 2 average
        pool before each block after the first, while the image sides are
        at least 4); ``None`` means ``(16, 32)``. Unused by the MLP trunk.
    layers : str, sequence of str, or list of sequences, default=None
        Hidden layers to emulate, by their names in each model's
        ``named_modules()``: one list for every model, or one list per model
        (equal lengths; item l of each list is emulated by the same depth of
        the trunk). ``None`` emulates the outputs only.
    n_components : int, default=16
        Principal components of each emulated layer (at most its width).
    alpha : float, default=1.0
        Weight of the hidden-state loss against the output loss.
    embedding_penalty : float, default=1e-3
        Weight of the mean squared norm of the embeddings; keeps them bounded
        (the meta-model could otherwise scale them arbitrarily).
    task : {"auto", "classification", "regression"}, default="auto"
        How outputs are compared. ``"auto"``: classification when every model
        is a scikit-learn classifier (e.g. a skorch ``NeuralNetClassifier``),
        whose outputs are then logits; regression otherwise.
    max_epochs : int, default=200
        Passes over all (model, input) pairs.
    batch_size : int, default=256
        (model, input) pairs per step, drawn uniformly.
    learning_rate : float, default=3e-3
        Adam step size.
    device : str or torch.device, default="cpu"
        Where the meta-model trains and the models run: ``"cpu"``,
        ``"cuda"`` or ``"cuda:<index>"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the meta-model's initialisation, the embeddings and the
        minibatches (through a ``torch.Generator``; the global seed is left
        alone).

    Attributes
    ----------
    embeddings_ : ndarray of shape (n_models, embedding_dim)
        The model embeddings θ_k.
    output_r2_ : ndarray of shape (n_models,)
        R² of each model's emulated outputs on the training inputs (of the
        log-probabilities for classifiers, which are defined up to nothing
        the softmax ignores).
    hidden_r2_ : ndarray of shape (n_models, n_layers)
        R² of each emulated layer's principal components (variance weighted).
    meta_model_ : torch.nn.Module
        The trained meta-model: ``meta_model_(x, theta) -> (outputs, hidden)``
        on standardised, flattened inputs (use :meth:`emulate` for a network
        that takes raw inputs).
    n_models_ : int
        Number of models K.
    task_ : {"classification", "regression"}
        The task ``"auto"`` resolved to.
    trunk_ : {"mlp", "cnn"}
        The trunk ``"auto"`` resolved to.
    n_features_in_ : int
        Input features (per-sample size of ``X``, flattened).
    loss_curve_ : list of float
        Training loss per epoch.

    See Also
    --------
    pairwise_similarity : A K × K matrix of a similarity between networks.
    cluster_population : Clusters models from a matrix or from embeddings.

    Notes
    -----
    **What is identifiable.** Only the arrangement of the embeddings is: any
    invertible map of θ-space composed with the inverse map inside the
    meta-model's FiLM layers gives the same emulation. Compare clusterings,
    neighbourhoods and orderings (adjusted Rand index, rank correlations),
    not coordinates, and not embeddings from two fits.

    Inputs are flattened for the MLP trunk and standardised per feature;
    the CNN trunk keeps the image layout and standardises per channel (so a
    rarely lit pixel is not blown up). The trunk's hidden state is not
    compared with a model's: each model's emulated layers are read out of
    the trunk linearly (the readout of a convolutional block reads its whole
    flattened map). Every model must see the same inputs and produce outputs
    of the same shape. The population's activations are read once, before
    training.

    References
    ----------
    .. [1] J. Cotler, K. S. Tai, F. Hernández, B. Elias and D. Sussillo,
       "Analyzing Populations of Neural Networks via Dynamical Model
       Embedding", arXiv:2302.14078 (2023).
    .. [2] E. Perez, F. Strub, H. de Vries, V. Dumoulin and A. Courville,
       "FiLM: Visual Reasoning with a General Conditioning Layer", AAAI 2018.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skequiv.population import ModelEmbedding
    >>> def net(w):
    ...     layer = torch.nn.Linear(1, 1)
    ...     with torch.no_grad():
    ...         layer.weight.fill_(w)
    ...         layer.bias.zero_()
    ...     return torch.nn.Sequential(layer, torch.nn.Tanh())
    >>> models = [net(w) for w in (1.0, 1.1, -1.0, -1.1)]
    >>> X = np.linspace(-2, 2, 64).reshape(-1, 1)
    >>> emb = ModelEmbedding(embedding_dim=1, max_epochs=100, random_state=0)
    >>> emb.fit(models, X).embeddings_.shape
    (4, 1)
    """

    _parameter_constraints: ClassVar[dict] = {
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "trunk": [StrOptions({"auto", "mlp", "cnn"})],
        "hidden_layers": [None, tuple, list],
        "channels": [None, tuple, list],
        "layers": [None, str, list, tuple],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "embedding_penalty": [Interval(Real, 0, None, closed="left")],
        "task": [StrOptions({"auto", "classification", "regression"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "device": "no_validation",
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        embedding_dim=2,
        *,
        trunk="auto",
        hidden_layers=None,
        channels=None,
        layers=None,
        n_components=16,
        alpha=1.0,
        embedding_penalty=1e-3,
        task="auto",
        max_epochs=200,
        batch_size=256,
        learning_rate=3e-3,
        device="cpu",
        random_state=None,
    ):
        self.embedding_dim = embedding_dim
        self.trunk = trunk
        self.hidden_layers = hidden_layers
        self.channels = channels
        self.layers = layers
        self.n_components = n_components
        self.alpha = alpha
        self.embedding_penalty = embedding_penalty
        self.task = task
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, models, X):
        """Train the meta-model and one embedding per model.

        Parameters
        ----------
        models : sequence of networks
            At least two ``torch.nn.Module`` or fitted skorch nets (plain or
            in ``FrozenEstimator``), all taking ``X`` and producing outputs
            of one shape.
        X : array-like of shape (n_samples, ...)
            Inputs every model sees.

        Returns
        -------
        self : ModelEmbedding
        """
        torch = import_torch()
        models = list(models)
        if len(models) < 2:
            raise ValueError(
                f"models holds {len(models)} network(s); a population needs at least 2."
            )
        self._device = resolve_device(self.device)
        X = self._check_X(X)
        self.trunk_ = self._resolve_trunk(X)
        widths = self._trunk_widths()
        self._layer_names = layers_per_model(self.layers, len(models))
        targets = [
            self._targets(model, X, names, where=f"models[{k}]")
            for k, (model, names) in enumerate(
                zip(models, self._layer_names, strict=True)
            )
        ]
        check_output_shapes(targets, names=[f"models[{k}]" for k in range(len(models))])
        self.task_ = self._resolve_task(models)
        self.n_models_ = len(models)
        self._ranks = n_components_per_slot(targets, self.n_components)

        generator = self._generator()
        data = self._data(X, targets, fit_scaling=True)
        self.meta_model_ = self._build_meta_model(
            X.shape[1:], data["outputs"].shape[2], widths, generator
        ).to(self._device)
        self._slot_blocks = _slot_blocks(len(self._ranks), len(self.meta_model_.widths))
        theta = torch.nn.Parameter(
            0.1
            * torch.randn(self.n_models_, self.embedding_dim, generator=generator).to(
                self._device
            )
        )
        readouts = self._new_readouts(self.n_models_, generator)
        self.loss_curve_ = self._train(
            data,
            theta,
            readouts,
            [*self.meta_model_.parameters(), theta, *readouts],
            generator,
        )
        self.meta_model_.eval()
        self.embeddings_ = theta.detach().cpu().numpy().astype(np.float64)
        self.output_r2_, self.hidden_r2_ = self._emulation_r2(data, theta, readouts)
        return self

    def _resolve_trunk(self, X):
        if self.trunk == "auto":
            return "cnn" if X.ndim == 4 else "mlp"
        if self.trunk == "cnn" and X.ndim != 4:
            raise ValueError(
                f"trunk='cnn' needs images, X of shape (n_samples, channels, "
                f"height, width); X has shape {X.shape}. Reshape X to images "
                "(e.g. X.reshape(-1, 1, 8, 8)), or use trunk='mlp'."
            )
        return self.trunk

    def _trunk_widths(self):
        """(dense widths, convolutional channels or None), checked."""
        hidden = _check_widths(
            self.hidden_layers, _DEFAULT_HIDDEN[self.trunk_], "hidden_layers"
        )
        if self.trunk_ == "mlp":
            return hidden, None
        return hidden, _check_widths(self.channels, _DEFAULT_CHANNELS, "channels")

    def _build_meta_model(self, sample_shape, n_outputs, widths, generator):
        hidden, channels = widths
        if self.trunk_ == "mlp":
            return build_meta_model(
                int(np.prod(sample_shape)),
                hidden,
                n_outputs,
                self.embedding_dim,
                generator,
            )
        return build_cnn_meta_model(
            tuple(sample_shape),
            channels,
            hidden,
            n_outputs,
            self.embedding_dim,
            generator,
        )

    def _generator(self):
        """A torch generator seeded from ``random_state`` (global seed untouched)."""
        torch = import_torch()
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        return torch.Generator().manual_seed(seed)

    def _check_X(self, X):
        X = np.asarray(X)
        if X.ndim < 2 or X.shape[0] < 2 or not np.issubdtype(X.dtype, np.number):
            raise ValueError(
                f"X must be numeric network inputs of shape (n_samples, ...) with "
                f"at least 2 samples; got an array of shape {X.shape} and dtype "
                f"{X.dtype}."
            )
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinity; pass finite inputs.")
        return X

    def _targets(self, model, X, names, *, where):
        return model_targets(
            model, X, names, where=where, batch_size=1024, device=self._device
        )

    def _resolve_task(self, models):
        if self.task != "auto":
            return self.task
        return (
            "classification"
            if all(isinstance(m, BaseEstimator) and is_classifier(m) for m in models)
            else "regression"
        )

    def _data(self, X, targets, *, fit_scaling):
        """Tensors of inputs and targets, standardised with the population's scales."""
        torch = import_torch()
        flat = X.reshape(X.shape[0], -1).astype(np.float64)
        outputs = np.stack([t.outputs for t in targets])  # (K, n, n_outputs)
        if fit_scaling:
            self.n_features_in_ = flat.shape[1]
            self._input_scaling = self._fit_input_scaling(X)
            self._output_scaling = self._fit_output_scaling(outputs)
        o = self._output_scaling
        outputs = (outputs - o["output_mean"]) / o["output_scale"]
        hidden = [
            np.stack([pca_scores(t.hidden[s], r) for t in targets])
            for s, r in enumerate(self._ranks)
        ]

        def tensor(a):
            return torch.as_tensor(a, dtype=torch.float32, device=self._device)

        return {
            "X": self._standardise_inputs(flat),
            "outputs": tensor(outputs),
            "hidden": [tensor(h) for h in hidden],
        }

    def _fit_input_scaling(self, X):
        """Per-feature mean and scale; for the CNN trunk, one per channel, repeated."""
        if self.trunk_ == "cnn":
            per_channel = X.reshape(X.shape[0], X.shape[1], -1).astype(np.float64)
            mean = per_channel.mean(axis=(0, 2))
            scale = per_channel.std(axis=(0, 2))
            pixels = per_channel.shape[2]
            mean, scale = np.repeat(mean, pixels), np.repeat(scale, pixels)
        else:
            flat = X.reshape(X.shape[0], -1).astype(np.float64)
            mean, scale = flat.mean(axis=0), flat.std(axis=0)
        return {"input_mean": mean, "input_scale": np.where(scale > 0, scale, 1.0)}

    def _fit_output_scaling(self, outputs):
        n_outputs = outputs.shape[2]
        if self.task_ == "classification":
            # logits: softmax ignores a shift, and their scale is meaningful
            return {
                "output_mean": np.zeros(n_outputs),
                "output_scale": np.ones(n_outputs),
            }
        # one population-wide scale per output, so differences between
        # models keep their relative size
        flat = outputs.reshape(-1, n_outputs)
        scale = flat.std(axis=0)
        return {
            "output_mean": flat.mean(axis=0),
            "output_scale": np.where(scale > 0, scale, 1.0),
        }

    def _new_readouts(self, n_models, generator):
        """Per model and slot: a (width, r) matrix and an r-bias, as parameters."""
        torch = import_torch()
        readouts = []
        for block, r in zip(self._slot_blocks, self._ranks, strict=True):
            m = self.meta_model_.widths[block]
            bound = 1 / math.sqrt(m)
            for shape in ((n_models, m, r), (n_models, r)):
                init = (torch.rand(shape, generator=generator) * 2 - 1) * bound
                readouts.append(torch.nn.Parameter(init.to(self._device)))
        return readouts

    # ------------------------------------------------------------ training
    def _losses(self, data, theta, readouts, models, samples):
        """Output loss and hidden-state loss on (model, sample) pairs."""
        torch = import_torch()
        out, hidden = self.meta_model_(data["X"][samples], theta[models])
        target = data["outputs"][models, samples]
        if self.task_ == "classification":
            log_p = torch.log_softmax(target, dim=1)
            log_q = torch.log_softmax(out, dim=1)
            out_loss = torch.sum(log_p.exp() * (log_p - log_q), dim=1).mean()
        else:
            out_loss = torch.mean((out - target) ** 2)
        hidden_loss = out.new_zeros(())
        for s, block in enumerate(self._slot_blocks):
            weight, bias = readouts[2 * s], readouts[2 * s + 1]
            pred = torch.bmm(hidden[block][:, None, :], weight[models])[:, 0]
            pred = pred + bias[models]
            z = data["hidden"][s][models, samples]
            hidden_loss = hidden_loss + torch.mean(torch.sum((pred - z) ** 2, dim=1))
        return out_loss, hidden_loss

    def _train(self, data, theta, readouts, parameters, generator):
        with _small_work_threads(self._step_size()):
            return self._train_loop(data, theta, readouts, parameters, generator)

    def _step_size(self):
        return self.batch_size * max(self.meta_model_.widths)

    def _train_loop(self, data, theta, readouts, parameters, generator):
        torch = import_torch()
        n_models, n_samples = data["outputs"].shape[:2]
        optimizer = torch.optim.Adam(parameters, lr=self.learning_rate)
        n_pairs = n_models * n_samples
        curve = []
        self.meta_model_.train()
        for _ in range(self.max_epochs):
            order = torch.randperm(n_pairs, generator=generator).to(self._device)
            total = 0.0
            for batch in order.split(self.batch_size):
                models, samples = batch // n_samples, batch % n_samples
                out_loss, hidden_loss = self._losses(
                    data, theta, readouts, models, samples
                )
                penalty = torch.mean(torch.sum(theta**2, dim=1))
                loss = (
                    out_loss
                    + self.alpha * hidden_loss
                    + self.embedding_penalty * penalty
                )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * batch.numel()
            curve.append(total / n_pairs)
        return curve

    def _emulation_r2(self, data, theta, readouts):
        """R² of outputs and of each emulated layer, per model."""
        torch = import_torch()
        n_models, n_samples = data["outputs"].shape[:2]
        output_r2 = np.empty(n_models)
        hidden_r2 = np.empty((n_models, len(self._ranks)))
        samples = torch.arange(n_samples, device=self._device)
        with torch.no_grad():
            for k in range(n_models):
                models = torch.full_like(samples, k)
                out, hidden = self.meta_model_(data["X"], theta[models])
                target = data["outputs"][k]
                if self.task_ == "classification":
                    out, target = out.log_softmax(1), target.log_softmax(1)
                output_r2[k] = r2_score(target.cpu(), out.cpu())
                for s, block in enumerate(self._slot_blocks):
                    pred = hidden[block] @ readouts[2 * s][k] + readouts[2 * s + 1][k]
                    hidden_r2[k, s] = r2_score(
                        data["hidden"][s][k].cpu(),
                        pred.cpu(),
                        multioutput="variance_weighted",
                    )
        return output_r2, hidden_r2

    # ------------------------------------------------------------ using it
    def emulate(self, embedding):
        """The meta-model at ``embedding``: an operable ``torch.nn.Module``.

        Parameters
        ----------
        embedding : array-like of shape (embedding_dim,)
            A point of the embedding space.

        Returns
        -------
        model : torch.nn.Module
            Maps inputs of the population's per-sample shape to outputs
            (logits for classifiers), in evaluation mode; an independent
            copy of the meta-model.
        """
        check_is_fitted(self)
        theta = np.asarray(embedding, dtype=np.float64).reshape(-1)
        if theta.shape != (self.embedding_dim,):
            raise ValueError(
                f"embedding has shape {np.shape(embedding)}; expected "
                f"({self.embedding_dim},), one coordinate per embedding dimension."
            )
        return build_emulated_model(
            copy.deepcopy(self.meta_model_).cpu(),
            theta,
            self._input_scaling,
            self._output_scaling,
        )

    def average(self, indices=None):
        """The meta-model at the mean embedding of some models: an averaged network.

        Parameters
        ----------
        indices : array-like of int, default=None
            Models to average; ``None`` means all.

        Returns
        -------
        model : torch.nn.Module
            See :meth:`emulate`.
        """
        check_is_fitted(self)
        idx = np.arange(self.n_models_) if indices is None else np.asarray(indices)
        if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(
                f"indices={indices!r} must be a non-empty 1-D sequence of model "
                "indices."
            )
        self._check_index(idx, "indices")
        return self.emulate(self.embeddings_[idx].mean(axis=0))

    def interpolate(self, i, j, t):
        """The meta-model at ``(1 - t) θ_i + t θ_j``.

        Parameters
        ----------
        i, j : int
            Two models.
        t : float
            0 gives model i's emulation, 1 model j's.

        Returns
        -------
        model : torch.nn.Module
            See :meth:`emulate`.
        """
        check_is_fitted(self)
        self._check_index(np.array([i, j]), "i, j")
        return self.emulate((1 - t) * self.embeddings_[i] + t * self.embeddings_[j])

    def _check_index(self, idx, name):
        bad = idx[(idx < 0) | (idx >= self.n_models_)]
        if bad.size:
            raise IndexError(
                f"{name}: model index {int(bad[0])} is out of range for "
                f"{self.n_models_} models."
            )

    def pairwise_distances(self):
        """Euclidean distances between the model embeddings, shape (K, K)."""
        check_is_fitted(self)
        diff = self.embeddings_[:, None, :] - self.embeddings_[None, :, :]
        return np.sqrt(np.sum(diff**2, axis=-1))

    def embed(self, model, X, *, layers=None):
        """The embedding of a model outside the population; the meta-model stays fixed.

        Only a new embedding vector and new readouts are fitted, by the same
        loss as in :meth:`fit`, so a model is placed by what it computes.

        Parameters
        ----------
        model : network
            As in :meth:`fit`; outputs of the population's shape.
        X : array-like of shape (n_samples, ...)
            Inputs (the population's, or others from the same distribution).
        layers : sequence of str, default=None
            The model's layers for the emulated slots; ``None`` uses the names
            of the first model of the population.

        Returns
        -------
        embedding : ndarray of shape (embedding_dim,)
        """
        torch = import_torch()
        check_is_fitted(self)
        X = self._check_X(X)
        names = list(self._layer_names[0] if layers is None else layers)
        target = self._targets(model, X, names, where="model")
        if len(target.hidden) != len(self._ranks):
            raise ValueError(
                f"layers={layers!r} names {len(target.hidden)} layers; the "
                f"population was embedded with {len(self._ranks)}."
            )
        width = target.outputs.shape[1]
        if width != self._output_width():
            raise ValueError(
                f"model has {width} outputs per sample; the population's models "
                f"have {self._output_width()}, and the meta-model emulates only "
                "those."
            )
        data = self._data(X, [target], fit_scaling=False)
        generator = self._generator()
        theta = torch.nn.Parameter(self._mean_theta()[None, :])
        readouts = self._new_readouts(1, generator)
        self._train_frozen(data, theta, readouts, [theta, *readouts], generator)
        return theta.detach().cpu().numpy()[0].astype(np.float64)

    def fit_embedding(self, X, y):
        """Semi-supervised learning: fit only an embedding vector on a few labels.

        The meta-model stays fixed; the d coordinates of one embedding are
        optimised on the task loss of its output (cross-entropy on class
        labels for classifiers, squared error for regression), starting from
        the mean embedding. With d small, a handful of labels suffices to
        choose among the computations the population spans. Adam runs for
        ``max_epochs`` passes over the labelled inputs at ten times
        ``learning_rate`` (d parameters take larger steps than a network's
        weights).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Labelled inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class indices ``0 .. n_outputs - 1`` (classification) or target
            outputs (regression).

        Returns
        -------
        model : torch.nn.Module
            :meth:`emulate` at the fitted embedding; its ``theta`` buffer holds
            the embedding.
        """
        torch = import_torch()
        check_is_fitted(self)
        X = self._check_X(X)
        flat = X.reshape(X.shape[0], -1)
        data = {"X": self._standardise_inputs(flat), "y": self._check_labels(y, X)}
        generator = self._generator()
        theta = torch.nn.Parameter(self._mean_theta()[None, :])
        optimizer = torch.optim.Adam([theta], lr=self.learning_rate * 10)
        with _small_work_threads(self._step_size()):
            self._fit_theta(data, theta, optimizer, generator)
        return self.emulate(theta.detach().cpu().numpy()[0])

    def _fit_theta(self, data, theta, optimizer, generator):
        torch = import_torch()
        n_samples = data["X"].shape[0]
        for _ in range(self.max_epochs):
            order = torch.randperm(n_samples, generator=generator)
            for batch in order.split(self.batch_size):
                loss = self._label_loss(data, theta, batch)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

    def _label_loss(self, data, theta, batch):
        torch = import_torch()
        x = data["X"][batch]
        out, _ = self.meta_model_(x, theta.expand(x.shape[0], -1))
        if self.task_ == "classification":
            return torch.nn.functional.cross_entropy(out, data["y"][batch])
        return torch.mean((out - data["y"][batch]) ** 2)

    def _check_labels(self, y, X):
        torch = import_torch()
        y = np.asarray(y)
        width = self._output_width()
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y has {y.shape[0]} samples but X has {X.shape[0]}.")
        if self.task_ == "classification":
            if y.ndim != 1 or not np.all((y >= 0) & (y < width) & (y == y // 1)):
                raise ValueError(
                    f"y must hold class indices 0..{width - 1} (the models' "
                    "output units), one per sample."
                )
            return torch.as_tensor(y.astype(np.int64), device=self._device)
        y = y.reshape(y.shape[0], -1)
        if y.shape[1] != width:
            raise ValueError(
                f"y has {y.shape[1]} outputs per sample; the models have {width}."
            )
        o = self._output_scaling
        y = (y - o["output_mean"]) / o["output_scale"]
        return torch.as_tensor(y, dtype=torch.float32, device=self._device)

    def _standardise_inputs(self, flat):
        torch = import_torch()
        if flat.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {flat.shape[1]} features per sample (flattened), but the "
                f"population was embedded on {self.n_features_in_}."
            )
        s = self._input_scaling
        flat = (flat - s["input_mean"]) / s["input_scale"]
        return torch.as_tensor(flat, dtype=torch.float32, device=self._device)

    def _train_frozen(self, data, theta, readouts, parameters, generator):
        for p in self.meta_model_.parameters():
            p.requires_grad_(False)
        try:
            self._train(data, theta, readouts, parameters, generator)
        finally:
            for p in self.meta_model_.parameters():
                p.requires_grad_(True)
            self.meta_model_.eval()

    def _mean_theta(self):
        torch = import_torch()
        return torch.as_tensor(
            self.embeddings_.mean(axis=0), dtype=torch.float32, device=self._device
        )

    def _output_width(self):
        return self.meta_model_.head.out_features


# below this many multiply-adds per layer and step, torch's thread pool costs
# more than it saves (on a loaded 2-core machine, several times more)
_SMALL_WORK = 1 << 16


@contextmanager
def _small_work_threads(work):
    """One torch thread while training steps are small; the setting is restored."""
    torch = import_torch()
    before = torch.get_num_threads()
    if work <= _SMALL_WORK:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_widths(value, default, name):
    """``value`` (or ``default`` when None) as a non-empty tuple of positive ints."""
    widths = default if value is None else tuple(value)
    if not widths or not all(
        isinstance(w, Integral) and not isinstance(w, bool) and w > 0 for w in widths
    ):
        raise ValueError(
            f"{name}={value!r} must be a non-empty sequence of positive integers "
            "(layer widths), or None for the default."
        )
    return tuple(int(w) for w in widths)


def _slot_blocks(n_slots, n_blocks):
    """Which trunk block emulates each slot: depths spread proportionally."""
    return [math.ceil((s + 1) * n_blocks / n_slots) - 1 for s in range(n_slots)]
