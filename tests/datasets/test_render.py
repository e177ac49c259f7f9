"""make_rotating_object: the renderer against analytic cases, and the image curve."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from skequiv.datasets import _render, make_rotating_object
from skequiv.datasets._render import render_body


def test_shapes_dtype_range_and_angles():
    images, angles = make_rotating_object(20, size=24, random_state=0)
    assert images.shape == (20, 1, 24, 24) and images.dtype == np.float32
    assert angles.shape == (20,)
    assert np.all((angles >= 0) & (angles < 2 * np.pi))
    assert images.min() == 0 and images.max() <= 1
    assert images.max() > 0.8  # some surface faces the light
    # the body stays inside the frame: an empty border at every angle
    border = np.concatenate(
        [images[..., 0, :], images[..., -1, :], images[..., 0], images[..., -1]],
        axis=-1,
    )
    assert border.max() == 0


def test_seeded():
    a = make_rotating_object(5, random_state=1)
    b = make_rotating_object(5, random_state=1)
    c = make_rotating_object(5, random_state=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


@pytest.fixture
def sphere(monkeypatch):
    """Replace the body by one sphere of radius 0.5 at the origin."""
    monkeypatch.setattr(
        _render, "_BODY", (((0, 0, 0), (0.5, 0.5, 0.5), ((0, 0, 1), 0)),)
    )
    monkeypatch.setattr(_render, "_SCALE", 1.0)


def test_sphere_against_lambert(sphere):
    size = 64
    image = render_body([0.0], size=size)[0].astype(np.float64)
    # pixel centres covered: the disc of radius 0.5 in [-1, 1]², i.e. 16 pixels
    sharp = render_body([0.0], size=size, supersample=1)[0]
    assert np.count_nonzero(sharp) == pytest.approx(np.pi * 16**2, rel=0.02)
    light = np.array([-0.45, 0.55, 0.70]) / np.linalg.norm([-0.45, 0.55, 0.70])
    # at the centre the normal faces the viewer: ambient + (1 − ambient) L_z
    centre = image[size // 2 - 1 : size // 2 + 1, size // 2 - 1 : size // 2 + 1]
    assert centre.mean() == pytest.approx(0.15 + 0.85 * light[2], abs=0.01)
    # the brightest point is where the normal is the light: (L_x, L_y) · 0.5
    row, col = np.unravel_index(image.argmax(), image.shape)
    u = (col + 0.5) / size * 2 - 1
    v = 1 - (row + 0.5) / size * 2
    np.testing.assert_allclose([u, v], 0.5 * light[:2], atol=2.5 / size)
    assert image.max() == pytest.approx(1.0, abs=0.01)
    # unlit side: only ambient light
    assert sharp[sharp > 0].min() == pytest.approx(0.15, abs=1e-6)


def test_sphere_is_invariant_under_rotation(sphere):
    images = render_body([0.0, 1.0, 2.5], size=32, axis="oblique")
    for image in images[1:]:
        np.testing.assert_allclose(image, images[0], atol=1e-5)


def test_spin_in_the_image_plane_keeps_the_projected_area():
    angles = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    covered = (render_body(angles, size=64, axis="view") > 0).sum(axis=(1, 2))
    assert covered.max() / covered.min() < 1.05
    covered = (render_body(angles, size=64, axis="vertical") > 0).sum(axis=(1, 2))
    assert covered.max() / covered.min() > 1.5  # side view against head-on view


def test_images_form_a_closed_smooth_curve_without_self_intersection():
    # d = 1: the images at angle θ trace a circle embedded in pixel space
    angles = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    for axis in ("vertical", "horizontal", "oblique"):
        images = render_body(angles, axis=axis).reshape(180, -1).astype(np.float64)
        distance = cdist(images, images)
        step = np.diag(np.roll(distance, 1, axis=1))  # neighbours 2° apart
        assert step.max() / np.median(step) < 2, axis  # no jumps
        gap = np.abs(angles[:, None] - angles[None])
        gap = np.minimum(gap, 2 * np.pi - gap)
        # views more than 60° apart are further apart than 6 steps
        assert distance[gap > np.radians(60)].min() > 3 * np.median(step), axis
    periodic = render_body([0.3, 0.3 + 2 * np.pi])
    np.testing.assert_allclose(periodic[0], periodic[1], atol=1e-5)


def test_custom_axis_is_normalised():
    a = render_body([0.7], axis=(0, 2, 0))
    b = render_body([0.7], axis="vertical")
    np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"n_samples": 0},
            r"'n_samples' .* of make_rotating_object .* \[1, inf\)\. Got 0",
        ),
        ({"size": 4}, r"'size' .* an int in the range \[8, inf\)\. Got 4"),
        ({"size": 16.0}, r"'size' .* an int .* Got 16\.0"),
        ({"axis": "diagonal"}, r"'axis' .* among .*'vertical'.* Got 'diagonal'"),
        ({"axis": (0, 0, 0)}, "nonzero finite 3-vector"),
        ({"axis": (1, 2)}, "3-vector"),
        ({"axis": (np.nan, 1, 0)}, "3-vector"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_rotating_object(**kwargs)
