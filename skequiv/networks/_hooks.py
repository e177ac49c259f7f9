"""Forward hooks that live exactly as long as the call that needs them.

Every hook registered here is removed in a ``finally`` block, so no module is
left holding a hook after a call returns or raises, and nothing unpicklable is
ever stored on an estimator. torch is imported lazily.
"""

from contextlib import contextmanager

from skequiv.utils._torch import import_torch

#: The name under which the network's own output is addressed.
OUTPUT = "output"

# Error messages list at most this many valid layer names, so that a net with
# thousands of submodules still gets a readable message.
_MAX_LISTED = 60


def module_names(module):
    """Dotted names of the submodules of ``module``, in ``named_modules()`` order.

    The root module itself (named ``""``) is left out: its output is the
    network output, addressed as ``"output"``.
    """
    return [name for name, _ in module.named_modules() if name]


def valid_layer_names_message(module):
    """A sentence listing the names ``layers`` accepts."""
    names = [OUTPUT, *module_names(module)]
    shown = ", ".join(repr(name) for name in names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    if more > 0:
        shown += f", ... ({more} more; see net.named_modules())"
    return f"Valid names are: {shown}."


def resolve_layers(module, layers):
    """Map layer names to submodules, or raise a ValueError listing valid names.

    Returns a dict ``{name: submodule}`` for every name except ``"output"``.
    """
    submodules = dict(module.named_modules())
    found = {}
    for name in layers:
        if name == OUTPUT:
            continue
        if not name or name not in submodules:
            raise ValueError(
                f"Unknown layer {name!r} in `layers`. "
                + valid_layer_names_message(module)
            )
        found[name] = submodules[name]
    return found


@contextmanager
def eval_mode(module):
    """Put every submodule in evaluation mode, and restore each flag on exit.

    Activations and Jacobians are those of the deployed network (dropout off,
    batch-norm running statistics), and the caller's module is left exactly as
    it was, training flags included.
    """
    flags = [(sub, sub.training) for sub in module.modules()]
    try:
        module.eval()
        yield module
    finally:
        for sub, training in flags:
            sub.training = training


def not_a_tensor_error(name, type_name):
    return TypeError(
        f"Layer {name!r} returned {type_name}, not a tensor; only layers whose "
        "forward returns a single tensor can be read. Choose a submodule that "
        "returns a tensor."
    )


def batch_dimension_error(name, shape, batch_size):
    return ValueError(
        f"Layer {name!r} returned a tensor of shape {tuple(shape)} for a batch "
        f"of {batch_size} samples; its first dimension must be the batch "
        "dimension."
    )


def shared_module_error(name, n_calls=None):
    times = "more than once" if n_calls is None else f"{n_calls} times"
    return ValueError(
        f"Layer {name!r} is called {times} in one forward pass (a shared "
        "module), so its activations are ambiguous. Choose a layer that is "
        "called once."
    )


def not_called_error(name):
    return ValueError(
        f"Layer {name!r} is not called in the network's forward pass, so it has "
        "no activations."
    )


def per_sample_2d(name, output, batch_size):
    """Flatten a layer output to (batch, features) in C order, checking its type."""
    torch = import_torch()
    if not isinstance(output, torch.Tensor):
        raise not_a_tensor_error(name, type(output).__name__)
    if output.dim() == 0 or output.shape[0] != batch_size:
        raise batch_dimension_error(name, output.shape, batch_size)
    return output.reshape(batch_size, -1)


@contextmanager
def capture(layer_modules, callback):
    """Call ``callback(name, output)`` whenever a named submodule returns.

    The hooks exist only inside the ``with`` block: they are removed on exit,
    also when the block (or a hook) raises.

    Parameters
    ----------
    layer_modules : dict of str to torch.nn.Module
        Submodules to watch, by name.
    callback : callable
        Called with the name and the output of each call of a watched module.
    """
    handles = []
    try:
        for name, sub in layer_modules.items():
            handles.append(sub.register_forward_hook(_forward_hook(callback, name)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def _forward_hook(callback, name):
    def hook(_module, _inputs, output):
        callback(name, output)

    return hook


def probe(module, forward, x):
    """Run ``forward(x)`` once and describe what every submodule of ``module`` returned.

    Returns ``(output, calls)`` where ``calls`` maps each submodule name to a
    list with one entry per call: the full output shape (a tuple), or the type
    name when the output is not a tensor with a batch dimension.
    """
    torch = import_torch()
    calls = {name: [] for name in module_names(module)}

    def record(name, output):
        if isinstance(output, torch.Tensor) and output.dim() > 0:
            calls[name].append(tuple(output.shape))
        else:
            calls[name].append(type(output).__name__)

    submodules = {name: sub for name, sub in module.named_modules() if name}
    with capture(submodules, record):
        output = forward(x)
    return output, calls
