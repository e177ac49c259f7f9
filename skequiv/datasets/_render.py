"""Procedural images of a rotating 3D body: experiment (c) of the seed paper.

The seed paper rendered a rotating horse; here an asymmetric body of ellipsoids
(a toy animal) is ray-cast in numpy: orthographic projection along the viewing
axis, the nearest ellipsoid per ray, Lambertian shading, and supersampling
for smooth (anti-aliased) edges, so that the images vary smoothly with the angle.
"""

import numbers
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from skequiv._compat import Interval, StrOptions, validate_params
from skequiv.datasets._tasks import _check_n_samples


def _rotation_matrix(axis, angle):
    """Rodrigues' formula; ``angle`` of shape (n,) gives (n, 3, 3)."""
    k = np.asarray(axis, dtype=np.float64)
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    angle = np.asarray(angle, dtype=np.float64)[..., None, None]
    return np.eye(3) + np.sin(angle) * K + (1.0 - np.cos(angle)) * (K @ K)


# The body, in its own frame: x forward, y up, z to its left. (centre, radii,
# (axis, angle) of the ellipsoid's own orientation). The head turns to one
# side, the legs stand unevenly and a pack sits on one flank, so no rotation
# or reflection maps the body onto itself and every angle gives its own image.
_BODY = (
    ((0.00, 0.00, 0.00), (0.42, 0.18, 0.16), ((0, 0, 1), 0.00)),  # torso
    ((0.40, 0.22, 0.03), (0.09, 0.22, 0.08), ((0, 0, 1), -0.60)),  # neck
    ((0.52, 0.40, 0.16), (0.19, 0.08, 0.08), ((0, 1, 0), -0.90)),  # head
    ((-0.48, 0.00, -0.12), (0.20, 0.05, 0.05), ((1, 1, -1), 0.80)),  # tail
    ((0.28, -0.35, 0.09), (0.05, 0.24, 0.05), ((0, 0, 1), 0.15)),  # front leg
    ((0.22, -0.33, -0.10), (0.05, 0.22, 0.05), ((0, 0, 1), -0.25)),  # front leg
    ((-0.30, -0.35, 0.10), (0.06, 0.22, 0.06), ((0, 0, 1), 0.00)),  # hind leg
    ((-0.05, 0.12, -0.18), (0.20, 0.12, 0.09), ((1, 0, 0), 0.30)),  # pack
)

# enlarges the body to fill the frame at every angle (its radius is below 0.95)
_SCALE = 1.25

_AXES = {
    "vertical": (0.0, 1.0, 0.0),
    "horizontal": (1.0, 0.0, 0.0),
    "view": (0.0, 0.0, 1.0),
    "oblique": (0.3, 1.0, 0.2),
}

# light from the upper left, in front; a little ambient light
_LIGHT = np.array([-0.45, 0.55, 0.70]) / np.linalg.norm([-0.45, 0.55, 0.70])
_AMBIENT = 0.15


def _body_quadrics():
    """Centres (K, 3) and quadric matrices (K, 3, 3): (p − c)ᵀ A (p − c) = 1."""
    centres, quadrics = [], []
    for centre, radii, (axis, angle) in _BODY:
        axis = np.asarray(axis, dtype=np.float64)
        R = _rotation_matrix(axis / np.linalg.norm(axis), angle)
        radii = _SCALE * np.asarray(radii)
        quadrics.append(R @ np.diag(1.0 / np.square(radii)) @ R.T)
        centres.append(_SCALE * np.asarray(centre))
    return np.array(centres), np.array(quadrics)


def _check_axis(axis):
    if isinstance(axis, str):
        if axis not in _AXES:
            raise ValueError(
                f"axis must be one of {sorted(_AXES)} or a 3-vector, got {axis!r}."
            )
        axis = _AXES[axis]
    vector = np.asarray(axis, dtype=np.float64)
    if vector.shape != (3,) or not np.all(np.isfinite(vector)) or not vector.any():
        raise ValueError(
            f"axis must be one of {sorted(_AXES)} or a nonzero finite 3-vector, "
            f"got {axis!r}."
        )
    return vector / np.linalg.norm(vector)


def render_body(angles, *, size=32, axis="vertical", supersample=2):
    """Render the body rotated by each angle; returns (n, size, size) float32."""
    angles = np.asarray(angles, dtype=np.float64).reshape(-1)
    axis = _check_axis(axis)
    centres, quadrics = _body_quadrics()
    fine = size * supersample
    # pixel centres on [-1, 1]², rows from the top (v = +1) down
    grid = (np.arange(fine) + 0.5) / fine * 2.0 - 1.0
    # float32 for the per-pixel arrays: twice as fast, and ample for 8-bit images
    u = np.tile(grid, fine).astype(np.float32)  # (P,)
    v = np.repeat(grid[::-1], fine).astype(np.float32)

    images = np.empty((angles.size, size, size), dtype=np.float32)
    chunk = 32  # bounds memory at about chunk · K · P floats per array
    for start in range(0, angles.size, chunk):
        R = _rotation_matrix(axis, angles[start : start + chunk])  # (s, 3, 3)
        c = np.einsum("sij,kj->ski", R, centres).astype(np.float32)  # (s, K, 3)
        A = np.einsum("sij,kjl,sml->skim", R, quadrics, R)  # (s, K, 3, 3)
        A = A.astype(np.float32)
        A = A[..., None]  # broadcast over pixels
        dx = u - c[..., 0, None]  # (s, K, P)
        dy = v - c[..., 1, None]
        dz = -c[..., 2, None]
        # ray (u, v, t): a t² + 2 b t + c0 = 0 with d = (dx, dy, dz)
        a = A[:, :, 2, 2]
        b = A[:, :, 2, 0] * dx + A[:, :, 2, 1] * dy + a * dz
        c0 = (
            A[:, :, 0, 0] * dx * dx
            + A[:, :, 1, 1] * dy * dy
            + a * dz * dz
            + 2.0 * A[:, :, 0, 1] * dx * dy
            + 2.0 * (A[:, :, 0, 2] * dx + A[:, :, 1, 2] * dy) * dz
            - 1.0
        )
        disc = b * b - a * c0
        hit = disc > 0
        # the viewer looks down the −z axis from +z: the larger root is in front
        t = np.where(hit, (np.sqrt(np.where(hit, disc, 0.0)) - b) / a, -np.inf)
        nearest = np.argmax(t, axis=1)[:, None]  # (s, 1, P)
        depth = np.take_along_axis(t, nearest, axis=1)[:, 0]
        covered = np.isfinite(depth)

        def pick(array, nearest=nearest):
            return np.take_along_axis(array, nearest, axis=1)[:, 0]

        # outward normal A (p − c) at the hit point, p − c = (dx, dy, dz + t)
        ex, ey = pick(dx), pick(dy)
        ez = pick(np.broadcast_to(dz, dx.shape)) + np.where(covered, depth, 0.0)
        rows = np.arange(nearest.shape[0])[:, None]
        An = A[..., 0][rows, nearest[:, 0]]  # (s, P, 3, 3)
        normal = np.einsum("spij,spj->spi", An, np.stack([ex, ey, ez], axis=-1))
        normal /= np.linalg.norm(normal, axis=-1, keepdims=True) + 1e-12
        light = _LIGHT.astype(np.float32)
        shade = _AMBIENT + (1.0 - _AMBIENT) * np.clip(normal @ light, 0.0, None)
        shade = np.where(covered, shade, 0.0)
        fine_images = shade.reshape(-1, size, supersample, size, supersample)
        images[start : start + chunk] = fine_images.mean(axis=(2, 4))
    return images


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "size": [Interval(Integral, 8, None, closed="left")],
        # a name or a 3-vector; the vector is checked by _check_axis
        "axis": [StrOptions(set(_AXES)), "array-like"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_rotating_object(n_samples=500, *, size=32, axis="vertical", random_state=None):
    """Render grey-level images of an asymmetric 3D body rotating about one axis.

    Experiment (c) of the seed paper, whose networks saw images of a rotating
    horse. Here the body is a toy animal made of eight ellipsoids (torso,
    neck, head, tail, legs and a pack on one flank), asymmetric so that every
    angle gives a different image. It is rotated by a random angle about a
    fixed axis through its centre, projected orthographically along the
    viewing axis, shaded with Lambertian light from the upper left plus a
    little ambient light, and anti-aliased by 2×2 supersampling. The images
    lie on a closed curve (a circle, intrinsic dimension d = 1) in pixel space.

    Parameters
    ----------
    n_samples : int, default=500
        Number of images, at least 1.
    size : int, default=32
        Side of the square images in pixels, at least 8.
    axis : {"vertical", "horizontal", "view", "oblique"} or array-like of \
            shape (3,), default="vertical"
        Rotation axis in the viewer's frame (x to the right, y up, z towards
        the viewer): ``"vertical"`` turns the body on a turntable,
        ``"horizontal"`` tumbles it head over heels, ``"view"`` spins it in
        the image plane, ``"oblique"`` is tilted away from all three.
    random_state : int, RandomState instance or None, default=None
        Seed for the angles, drawn uniformly from [0, 2π).

    Returns
    -------
    images : ndarray of shape (n_samples, 1, size, size)
        Grey levels in [0, 1], float32; the background is 0.
    angles : ndarray of shape (n_samples,)
        Rotation angles in radians, in [0, 2π).

    See Also
    --------
    train_autoencoder : Convolutional autoencoder for these images.
    load_experiment : Images plus a pair of trained autoencoders.

    Examples
    --------
    >>> from skequiv.datasets import make_rotating_object
    >>> images, angles = make_rotating_object(10, size=32, random_state=0)
    >>> images.shape, images.dtype, angles.shape
    ((10, 1, 32, 32), dtype('float32'), (10,))
    >>> bool(images.min() >= 0 and images.max() <= 1)
    True
    """
    n_samples = _check_n_samples(n_samples)
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}.")
    axis = _check_axis(axis)
    rng = check_random_state(random_state)
    angles = rng.uniform(0.0, 2.0 * np.pi, size=n_samples)
    images = render_body(angles, size=int(size), axis=axis)
    return images[:, None], angles
