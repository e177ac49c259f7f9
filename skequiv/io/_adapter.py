"""A loaded program as a module: any batch size, layers readable by hooks.

Imports torch: loaded only by :func:`skequiv.io.load_model` for ``.pt2`` files.
"""

import torch


class _StandIn(torch.nn.Module):
    """Stands for a submodule of the program; called with its whole-batch output."""

    def forward(self, value):
        return value


class ExportedProgramModule(torch.nn.Module):
    """A loaded program, run in batches it accepts, with readable layers.

    A program exported with a static batch size (or a bounded batch range)
    rejects other batch sizes, and the modules of a loaded program cannot be
    put in evaluation mode. This module splits its input into batches the
    program accepts, pads a short batch by repeating its last sample and drops
    the padding from every result. Each submodule of the program has a
    stand-in here, at the same dotted name, that is called once per forward
    with that submodule's output for the whole batch: forward hooks on the
    stand-ins (what :class:`~skequiv.NetworkActivations` registers) see the
    layers as if the program had run on the batch at once.

    Parameters
    ----------
    program : torch.nn.Module
        The program's module (``torch.export.unflatten(program)``).
    low, high : int or None
        The smallest and largest batch the program accepts (``high`` None:
        unbounded).
    """

    def __init__(self, program, low, high):
        super().__init__()
        # not a child: the module tree seen from outside is the stand-ins'
        object.__setattr__(self, "program", program)
        self.low, self.high = low, high
        owners = {"": self}
        for name, _ in program.named_modules():
            if name:
                parent, _, leaf = name.rpartition(".")
                owners[name] = _StandIn()
                owners[parent].add_module(leaf, owners[name])

    def __deepcopy__(self, memo):
        # the program is only ever run, never changed: copies share it (a deep
        # copy of its graph would copy every traced tensor's metadata)
        copy = type(self)(self.program, self.low, self.high)
        return copy.train(self.training)

    def train(self, mode=True):
        # the program's graph, dropout and batch norm included, was fixed when
        # it was exported; only the flags change
        for module in self.modules():
            module.training = mode
        return self

    def forward(self, x):
        watched = [
            name for name, sub in self.named_modules() if name and sub._forward_hooks
        ]
        n = x.shape[0]
        step = n if self.high is None else self.high
        outputs, calls = [], {name: [] for name in watched}
        for start in range(0, n, step):
            chunk = x[start : start + step]
            size = chunk.shape[0]
            if size < self.low:
                fill = chunk[-1:].expand(self.low - size, *chunk.shape[1:])
                chunk = torch.cat([chunk, fill])
            outputs.append(self._run(chunk, size, watched, calls))
        for name in watched:
            stand_in = self.get_submodule(name)
            # one call per call of the submodule in the program's forward
            for pieces in zip(*calls[name], strict=True):
                stand_in(_join(pieces))
        return _join(outputs)

    def _run(self, chunk, size, watched, calls):
        batch = chunk.shape[0]
        seen = {name: [] for name in watched}

        def recorder(name):
            def hook(_module, _inputs, output):
                seen[name].append(_trim(output, size, batch))

            return hook

        handles = []
        try:
            for name in watched:
                sub = self.program.get_submodule(name)
                handles.append(sub.register_forward_hook(recorder(name)))
            output = _trim(self.program(chunk), size, batch)
        finally:
            for handle in handles:
                handle.remove()
        for name in watched:
            calls[name].append(seen[name])
        return output


class _Opaque:
    """A result without the batch as first dimension: passed on, never joined."""

    def __init__(self, value):
        self.value = value


def _trim(value, size, batch):
    """Drop the padding rows of a result whose first dimension is the batch."""
    if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == batch:
        return value[:size]
    if isinstance(value, tuple | list):
        return type(value)(_trim(v, size, batch) for v in value)
    return _Opaque(value)


def _join(pieces):
    """Concatenate the batches of one result; the first piece if they cannot be."""
    first = pieces[0]
    if isinstance(first, tuple | list):
        return type(first)(_join(group) for group in zip(*pieces, strict=True))
    if any(isinstance(piece, _Opaque) for piece in pieces):
        # the caller sees the value as the program returned it for one batch
        return first.value if isinstance(first, _Opaque) else first
    return first if len(pieces) == 1 else torch.cat(pieces)
