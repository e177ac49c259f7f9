"""Which layers a call reads, which neurons each contributes, and where they go.

A :class:`Plan` is built at the start of every call (never stored on an
estimator). Its :meth:`Plan.record` is the forward-hook callback: it copies the
selected neurons of a layer either straight into the rows of the result
(activations, no gradient) or into a tensor kept for the differentiable path
(Jacobians). Once every hooked layer is recorded and the network output is not
needed, the hook raises :class:`StopForward` and the rest of the forward pass is
skipped; ``fit`` has checked that each layer is called exactly once per pass, so
nothing later can change what was recorded.
"""

import numpy as np

from skequiv.networks._hooks import (
    OUTPUT,
    not_called_error,
    per_sample_2d,
    shared_module_error,
)


class StopForward(Exception):
    """Ends a forward pass early: everything needed has been recorded."""


class Plan:
    """Neuron bookkeeping for one call.

    Parameters
    ----------
    torch : module
    layers : tuple of str
        Layer names, in the order their activations are concatenated.
    offsets : ndarray of shape (len(layers) + 1,)
        Start of each layer in the concatenated activations.
    indices : ndarray of shape (m,)
        Selected indices into the concatenated activations, in output order.
    layer_modules : dict of str to torch.nn.Module
        Submodule of each layer name other than ``"output"``.
    device : torch.device
        Where index tensors live.
    """

    def __init__(self, torch, layers, offsets, indices, layer_modules, device):
        self.torch = torch
        owner = np.searchsorted(offsets, indices, side="right") - 1
        # per layer: (name, local indices or None for all, output columns)
        self.blocks = []
        gathered = []
        for position, name in enumerate(layers):
            columns = np.flatnonzero(owner == position)
            if columns.size == 0:
                continue
            local = indices[columns] - offsets[position]
            ascending = np.argsort(local, kind="stable")
            local, columns = local[ascending], columns[ascending]
            size = offsets[position + 1] - offsets[position]
            local_t = (
                None
                if local.size == size  # all neurons, in order
                else torch.as_tensor(local, dtype=torch.long, device=device)
            )
            if np.array_equal(
                columns, np.arange(columns[0], columns[0] + columns.size)
            ):
                columns_t = slice(int(columns[0]), int(columns[0]) + columns.size)
            else:
                columns_t = torch.as_tensor(columns, dtype=torch.long, device=device)
            self.blocks.append((name, local_t, columns_t))
            gathered.append(local + offsets[position])
        # the differentiable path concatenates blocks in layer order, then
        # reorders once to the order of ``indices``
        order = np.searchsorted(np.concatenate(gathered), indices)
        self.order = (
            None
            if np.array_equal(order, np.arange(order.size))
            else torch.as_tensor(order, dtype=torch.long, device=device)
        )
        self.hooked = {
            name: layer_modules[name] for name, _, _ in self.blocks if name != OUTPUT
        }
        self.needs_output = len(self.hooked) < len(self.blocks)
        self._by_name = {name: (local, columns) for name, local, columns in self.blocks}
        self._start(0, None)

    def _start(self, batch_size, dest):
        self.batch_size = batch_size
        self.dest = dest
        self.parts = {}

    def record(self, name, output):
        """Forward-hook callback for the layer ``name``."""
        if name in self.parts:
            raise shared_module_error(name)
        flat = per_sample_2d(name, output, self.batch_size)
        local, _ = self._by_name[name]
        if self.dest is None:
            # index_select copies; clone() protects the whole layer from an
            # in-place operation later in the forward pass (ReLU(inplace=True))
            self.parts[name] = (
                flat.clone() if local is None else flat.index_select(1, local)
            )
        else:
            self._write(name, flat)
            self.parts[name] = True
        if not self.needs_output and len(self.parts) == len(self.hooked):
            raise StopForward

    def _write(self, name, flat):
        local, columns = self._by_name[name]
        values = flat if local is None else flat.index_select(1, local)
        if isinstance(columns, slice):
            self.dest[:, columns].copy_(values)
        else:
            self.dest.index_copy_(1, columns, values.to(self.dest.dtype))

    def _run(self, forward, x, dest):
        self._start(x.shape[0], dest)
        try:
            output = forward(x)
        except StopForward:
            output = None
        for name in self.hooked:
            if name not in self.parts:
                raise not_called_error(name)
        return output

    def write(self, forward, x, dest):
        """Write the selected activations of the batch ``x`` into ``dest``.

        ``forward`` runs the network; ``dest`` has shape ``(len(x), m)``, any
        dtype, on the network's device.
        Used without gradients: each layer is copied once, straight into place.
        """
        output = self._run(forward, x, dest)
        if self.needs_output:
            self._write(OUTPUT, per_sample_2d(OUTPUT, output, self.batch_size))

    def values(self, forward, x):
        """Selected activations of the batch ``x``, shape ``(len(x), m)``.

        Differentiable with respect to ``x`` (by torch.func transforms).
        """
        output = self._run(forward, x, None)
        parts = []
        for name, local, _ in self.blocks:
            if name == OUTPUT:
                flat = per_sample_2d(OUTPUT, output, self.batch_size)
                parts.append(flat if local is None else flat.index_select(1, local))
            else:
                parts.append(self.parts[name])
        values = parts[0] if len(parts) == 1 else self.torch.cat(parts, dim=1)
        return values if self.order is None else values.index_select(1, self.order)
