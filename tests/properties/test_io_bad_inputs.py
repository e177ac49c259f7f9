"""skequiv.io on bad files and bad arguments: one clean error naming the file
(or the parameter), never a traceback from numpy or torch, never a result."""

from pathlib import Path

import numpy as np
import pytest

from skequiv.io import UnsafeFileError, load_inputs, load_model

from ._outcomes import origin


def _files(folder):
    """file name -> writer, each a broken or unusable input or model file."""
    return {
        "empty.npy": lambda p: p.write_bytes(b""),
        "empty.csv": lambda p: p.write_text(""),
        "words.csv": lambda p: p.write_text("a,b\nc,d\n"),
        "overflow.csv": lambda p: p.write_text("1e400,2\n3,4\n"),
        "none.npz": lambda p: np.savez(p),
        "complex.npy": lambda p: np.save(p, np.ones(3) + 1j),
        "scalar.npy": lambda p: np.save(p, np.float64(3)),
        "strings.npy": lambda p: np.save(p, np.array(["a", "b"])),
        "nan.npy": lambda p: np.save(p, np.array([[1.0, np.nan]])),
        "objects.npy": lambda p: np.save(p, np.array([{}], dtype=object)),
        "folder.npy": lambda p: p.mkdir(),
        "inputs.txt": lambda p: p.write_text("1,2\n"),
        "garbage.pt2": lambda p: p.write_bytes(b"garbage"),
        "garbage.pt": lambda p: p.write_bytes(b"garbage"),
        "empty.pt": lambda p: p.write_bytes(b""),
        "folder.pt": lambda p: p.mkdir(),
    }


INPUTS = [
    "empty.npy",
    "empty.csv",
    "words.csv",
    "overflow.csv",
    "none.npz",
    "complex.npy",
    "scalar.npy",
    "strings.npy",
    "nan.npy",
    "objects.npy",
    "folder.npy",
    "inputs.txt",
    "missing.npy",
]
MODELS = ["garbage.pt2", "garbage.pt", "empty.pt", "folder.pt", "missing.pt"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_files")
    for name, write in _files(folder).items():
        write(folder / name)
    return folder


def _assert_names_the_file(exc, path):
    assert "skequiv" in origin(exc), f"raised from {origin(exc)}: {exc}"
    assert str(path) in str(exc)
    assert "\n" not in str(exc).strip()  # one line, for the command line


# numpy's loadtxt warns about the empty file before skequiv refuses it
@pytest.mark.filterwarnings("ignore:.*input contained no data:UserWarning")
@pytest.mark.parametrize("name", INPUTS)
def test_load_inputs_refuses_bad_files(folder, name):
    path = folder / name
    with pytest.raises((ValueError, FileNotFoundError)) as info:
        load_inputs(path)
    _assert_names_the_file(info.value, path)


@pytest.mark.parametrize("name", MODELS)
def test_load_model_refuses_bad_files(folder, name):
    path = folder / name
    with pytest.raises((ValueError, FileNotFoundError)) as info:
        load_model(path)
    _assert_names_the_file(info.value, path)


def test_a_folder_is_not_called_missing(folder):
    with pytest.raises(FileNotFoundError, match="is a directory"):
        load_inputs(folder / "folder.npy")
    with pytest.raises(FileNotFoundError, match="is a directory"):
        load_model(folder / "folder.pt")


def test_an_object_array_is_refused_as_unsafe(folder):
    with pytest.raises(UnsafeFileError):
        load_inputs(folder / "objects.npy")


@pytest.mark.parametrize(
    ("func", "kwargs", "param"),
    [
        (load_inputs, {"path": None}, "path"),
        (load_inputs, {"path": 3}, "path"),
        (load_inputs, {"path": "x.npz", "key": 3}, "key"),
        (load_model, {"path": None}, "path"),
        (load_model, {"path": "x.pt", "model_class": 3}, "model_class"),
    ],
)
def test_bad_arguments_name_the_parameter(func, kwargs, param):
    with pytest.raises((TypeError, ValueError), match=f"'{param}' parameter"):
        func(**kwargs)


def test_good_files_still_load(folder):
    np.save(folder / "good.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    (folder / "good.csv").write_text("x,y\n1,2\n3,4\n")
    assert load_inputs(folder / "good.npy").dtype == np.float32
    np.testing.assert_array_equal(
        load_inputs(Path(folder, "good.csv")), [[1, 2], [3, 4]]
    )
