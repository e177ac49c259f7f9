"""skequiv.io.load_inputs: numeric arrays in, Python objects refused."""

import pickle

import numpy as np
import pytest

from skequiv.io import UnsafeFileError, load_inputs

X = np.arange(12, dtype=np.float32).reshape(6, 2)


def test_npy_keeps_float_dtypes_and_shapes(tmp_path):
    np.save(tmp_path / "x.npy", X)
    out = load_inputs(tmp_path / "x.npy")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, X)
    images = np.zeros((4, 1, 3, 3))
    np.save(tmp_path / "images.npy", images)
    assert load_inputs(tmp_path / "images.npy").shape == (4, 1, 3, 3)


def test_integers_become_float64_and_1d_is_one_feature(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(5))
    out = load_inputs(tmp_path / "x.npy")
    assert out.dtype == np.float64 and out.shape == (5, 1)


def test_object_npy_is_refused_and_never_unpickled(tmp_path, hostile_object):
    marker = tmp_path / "ran"
    np.save(tmp_path / "x.npy", np.array([hostile_object(marker), 1], dtype=object))
    with pytest.raises(UnsafeFileError, match="refused, it holds Python objects"):
        load_inputs(tmp_path / "x.npy")
    assert not marker.exists()


def test_a_pickle_named_npy_is_refused(tmp_path, hostile_object):
    marker = tmp_path / "ran"
    (tmp_path / "x.npy").write_bytes(pickle.dumps(hostile_object(marker)))
    with pytest.raises(UnsafeFileError, match="refused"):
        load_inputs(tmp_path / "x.npy")
    assert not marker.exists()


def test_npz_takes_X_the_only_array_or_the_key(tmp_path):
    np.savez(tmp_path / "one.npz", images=X)
    np.testing.assert_array_equal(load_inputs(tmp_path / "one.npz"), X)
    np.savez(tmp_path / "two.npz", X=X, y=X[:, 0])
    np.testing.assert_array_equal(load_inputs(tmp_path / "two.npz"), X)
    np.savez(tmp_path / "three.npz", a=X, b=2 * X)
    with pytest.raises(ValueError, match=r"holds the arrays \['a', 'b'\]"):
        load_inputs(tmp_path / "three.npz")
    np.testing.assert_array_equal(load_inputs(tmp_path / "three.npz", key="b"), 2 * X)
    with pytest.raises(ValueError, match="has no array 'c'"):
        load_inputs(tmp_path / "three.npz", key="c")


def test_object_array_in_npz_is_refused(tmp_path, hostile_object):
    marker = tmp_path / "ran"
    np.savez(tmp_path / "x.npz", X=np.array([hostile_object(marker)], dtype=object))
    with pytest.raises(UnsafeFileError, match="its array 'X' holds Python objects"):
        load_inputs(tmp_path / "x.npz")
    assert not marker.exists()


def test_csv_with_and_without_a_header(tmp_path):
    (tmp_path / "plain.csv").write_text("1,2\n3,4\n5,6\n")
    (tmp_path / "header.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    expected = np.array([[1.0, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(load_inputs(tmp_path / "plain.csv"), expected)
    np.testing.assert_array_equal(load_inputs(tmp_path / "header.csv"), expected)
    (tmp_path / "words.csv").write_text("a,b\nc,d\n")
    with pytest.raises(ValueError, match="not a CSV file of numbers"):
        load_inputs(tmp_path / "words.csv")


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([[1.0, np.nan], [0, 1]]), r"1 sample\(s\) contain NaN.*row 0"),
        (np.array(["a", "b"]), "holds <U1 values; network inputs must be numbers"),
        (np.zeros((0, 3)), "holds no samples"),
    ],
)
def test_unusable_values(tmp_path, array, message):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(ValueError, match=message):
        load_inputs(tmp_path / "x.npy")


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_inputs(tmp_path / "absent.npy")
    (tmp_path / "x.txt").write_text("1\n")
    with pytest.raises(ValueError, match="unknown input file type"):
        load_inputs(tmp_path / "x.txt")
    np.save(tmp_path / "x.npy", X)
    with pytest.raises(ValueError, match=r"applies to \.npz files only"):
        load_inputs(tmp_path / "x.npy", key="X")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match=r"not a \.npy file numpy can read"):
        load_inputs(tmp_path / "bad.npy")
