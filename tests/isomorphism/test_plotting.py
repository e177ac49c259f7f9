"""plot_variance_by_order draws what the profiles hold."""

import matplotlib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.utils import Bunch

from skequiv import KnowledgeIsomorphism, plot_variance_by_order

matplotlib.use("Agg")


def _profile(by_order, unexplained):
    return Bunch(variance_by_order=np.array(by_order), unexplained_variance=unexplained)


def test_bars_stack_the_orders_and_the_unexplained_part():
    import matplotlib.pyplot as plt

    profiles = [_profile([0.7, 0.2, 0.05], 0.1), _profile([0.3, 0.1, 0.0], 0.6)]
    ax = plot_variance_by_order(profiles, labels=["same", "shuffled"])
    bars = ax.patches
    assert len(bars) == 2 * 4  # three orders and the residual, per profile
    heights = np.array([bar.get_height() for bar in bars]).reshape(4, 2)
    tops = np.array([bar.get_y() + bar.get_height() for bar in bars]).reshape(4, 2)
    assert_allclose(heights, [[0.7, 0.3], [0.2, 0.1], [0.05, 0.0], [0.1, 0.6]])
    assert_allclose(tops[-1], [1.05, 1.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["same", "shuffled"]
    plt.close("all")


def test_a_fitted_model_plots_its_training_variances():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    A = rng.normal(size=(60, 3))
    model = KnowledgeIsomorphism(max_epochs=2, random_state=0).fit(A, A @ [1.0, 2, 3])
    ax = plot_variance_by_order(model)
    heights = [bar.get_height() for bar in ax.patches]
    assert_allclose(heights, [*model.variance_by_order_, model.unexplained_variance_])
    plt.close("all")


def test_bad_profiles_and_labels_are_refused():
    with pytest.raises(TypeError, match="fitted KnowledgeIsomorphism"):
        plot_variance_by_order([np.zeros(3)])
    with pytest.raises(ValueError, match="one entry per profile"):
        plot_variance_by_order([_profile([1.0], 0.0)], labels=["a", "b"])
