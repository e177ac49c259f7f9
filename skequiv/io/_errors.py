"""What skequiv.io raises, and the one-line messages it raises with."""

HOW_TO_EXPORT = (
    "Export the model instead: `torch.export.save(torch.export.export(model.eval(), "
    "(example,), dynamic_shapes=({0: torch.export.Dim('batch')},)), 'model.pt2')`, "
    "or save `torch.save(model.state_dict(), 'model.pt')` and pass "
    "--model-class package.module:Factory."
)


class UnsafeFileError(ValueError):
    """A file that could only be read by running code stored in it.

    Raised by :func:`load_model` for model files that need full unpickling
    (a pickled ``torch.nn.Module``, an arbitrary object) and by
    :func:`load_inputs` for arrays of Python objects. No option turns the
    check off: export the model or save plain arrays instead.
    """


def check_file(path):
    """``path`` as a Path, or FileNotFoundError saying why it is not a file."""
    if path.is_dir():
        raise FileNotFoundError(f"{path}: is a directory, not a file.")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    return path
