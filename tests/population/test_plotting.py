"""Population figures: the colour bar says what the colours are."""

import numpy as np
import pytest

from skequiv import plot_model_embedding, plot_population_matrix

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _colour_bars(ax):
    return [a for a in ax.figure.get_axes() if a.get_label() == "<colorbar>"]


def test_matrix_colour_bar_names_the_entries_and_clusters_reorder():
    M = np.array([[1.0, 0.1, 0.9], [0.1, 1.0, 0.2], [0.9, 0.2, 1.0]])
    ax = plot_population_matrix(
        M, clusters=[0, 1, 0], names=["a", "b", "c"], title="CKA", label="linear CKA"
    )
    (bar,) = _colour_bars(ax)
    assert bar.get_ylabel() == "linear CKA"
    # models of one cluster side by side, in their given order within it
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "c", "b"]
    np.testing.assert_allclose(
        ax.get_images()[0].get_array(), M[[0, 2, 1]][:, [0, 2, 1]]
    )
    # without a label the title names the colour bar
    (bar,) = _colour_bars(plot_population_matrix(M, title="linear CKA"))
    assert bar.get_ylabel() == "linear CKA"


def test_embedding_colour_is_labelled():
    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    ax = plot_model_embedding(points, color=[1.0, 2.0, 3.0], color_label="seed")
    (bar,) = _colour_bars(ax)
    assert bar.get_ylabel() == "seed"
    ax = plot_model_embedding(points, color=["x", "y", "x"], color_label="task")
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "task"
    assert [t.get_text() for t in legend.get_texts()] == ["x", "y"]


def test_one_dimensional_embedding_is_drawn_against_the_model_index():
    ax = plot_model_embedding(np.array([[0.0], [0.5], [2.0]]))
    assert ax.get_ylabel() == "model"
    np.testing.assert_array_equal(ax.collections[0].get_offsets()[:, 1], [0, 1, 2])
    ticks = ax.get_yticks()
    assert np.allclose(ticks, np.round(ticks))
    assert plot_model_embedding(np.eye(3)).get_ylabel() == "dimension 2"
