"""What the meta-model emulates: each model's outputs and PCA-reduced hidden layers."""

from dataclasses import dataclass

import numpy as np
from sklearn.utils.extmath import svd_flip

from skequiv.networks import NetworkActivations

# NetworkActivations' layer name for the network's output
OUTPUT_LAYER = "output"


@dataclass
class ModelTargets:
    """One model's emulation targets on the shared inputs."""

    outputs: np.ndarray  # (n_samples, n_outputs)
    hidden: list  # per slot: (n_samples, n_units) activations


def layers_per_model(layers, n_models):
    """One list of emulated layer names per model (the same slots for all)."""
    if layers is None:
        return [[] for _ in range(n_models)]
    if isinstance(layers, str):
        layers = [layers]
    if all(isinstance(name, str) for name in layers):
        return [list(layers) for _ in range(n_models)]
    per_model = [[n] if isinstance(n, str) else list(n) for n in layers]
    slots = {len(names) for names in per_model}
    if len(per_model) != n_models or len(slots) != 1:
        raise ValueError(
            f"layers={layers!r}: give one list of layer names for every model, "
            f"or a list of {n_models} lists (one per model) of equal length, "
            "one name per emulated depth."
        )
    return per_model


def model_targets(model, X, names, *, where, batch_size, device):
    """Outputs and hidden activations of ``model`` on ``X`` in one forward pass."""
    try:
        source = NetworkActivations(
            model, layers=(*names, OUTPUT_LAYER), batch_size=batch_size, device=device
        ).fit(X)
        acts = np.asarray(source.transform(X), dtype=np.float64)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise type(exc)(f"{where}: {exc}") from exc
    sizes = [
        int(np.prod(source.layer_shapes_[name])) for name in (*names, OUTPUT_LAYER)
    ]
    parts = np.split(acts, np.cumsum(sizes)[:-1], axis=1)
    return ModelTargets(outputs=parts[-1], hidden=parts[:-1])


def check_output_shapes(targets, *, names):
    """Every model must produce outputs of the same width."""
    widths = [t.outputs.shape[1] for t in targets]
    if len(set(widths)) > 1:
        raise ValueError(
            "the models' outputs differ in shape (widths "
            f"{dict(zip(names, widths, strict=True))}); "
            "one meta-model emulates outputs of one shape, so embed models of "
            "one task format together."
        )


def n_components_per_slot(targets, n_components):
    """Components kept per slot: at most ``n_components`` and each model's width."""
    n_slots = len(targets[0].hidden)
    n_samples = targets[0].outputs.shape[0]
    return [
        min(n_components, n_samples - 1, *(t.hidden[s].shape[1] for t in targets))
        for s in range(n_slots)
    ]


def pca_scores(H, r):
    """The first ``r`` principal-component scores of ``H``, total variance 1.

    The model's hidden basis (permutations, rotations of its units) does not
    matter to a PCA, and the unit total variance keeps wide or high-gain
    models from dominating the loss. Constant layers give zeros.
    """
    H = H - H.mean(axis=0)
    U, S, Vt = np.linalg.svd(H, full_matrices=False)
    U, Vt = svd_flip(U, Vt)
    Z = U[:, :r] * S[:r]
    total = np.sum(S[:r] ** 2) / H.shape[0]
    return Z / np.sqrt(total) if total > 0 else Z
