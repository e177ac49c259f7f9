"""Benchmark data: the Singer–Coifman rectangle map lifted to m observations.

Intrinsic points x are uniform on [0, 1] x [0, 0.4]. The Singer–Coifman map
(Singer & Coifman 2008) u = (x1 + x2**3, x2 - x1**3) is lifted to R^m by a fixed
random smooth map

    y = A u + a * sin(Omega u + phi),

with A (m x 2) orthonormal columns, so that every sample carries an analytic
Jacobian dy/dx = (A + a * diag(cos(Omega u + phi)) Omega) du/dx of shape (m, 2)
and rank 2. The lift is seeded independently of n (the same map for every n);
the sample is seeded by ``seed``.
"""

import numpy as np

LIFT_SEED = 20080101  # the map itself; never changes between runs
LIFT_AMPLITUDE = 0.1
LIFT_FREQUENCY = 2.0
WIDTH, HEIGHT = 1.0, 0.4


def _lift(m):
    rng = np.random.default_rng(LIFT_SEED + m)
    A, _ = np.linalg.qr(rng.standard_normal((m, 2)))
    omega = LIFT_FREQUENCY * rng.standard_normal((m, 2))
    phi = rng.uniform(0.0, 2.0 * np.pi, size=m)
    return A, omega, phi


def singer_coifman(n, m=10, *, seed=0, chunk=200_000):
    """Sample ``n`` points; return ``(x, y, jacobians)`` in float64.

    x : (n, 2) intrinsic coordinates; y : (n, m) observations;
    jacobians : (n, m, 2) = dy/dx at each sample.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 2)) * np.array([WIDTH, HEIGHT])
    A, omega, phi = _lift(m)
    y = np.empty((n, m))
    J = np.empty((n, m, 2))
    for start in range(0, n, chunk):
        xs = x[start : start + chunk]
        x1, x2 = xs[:, 0], xs[:, 1]
        u = np.column_stack([x1 + x2**3, x2 - x1**3])
        du = np.empty((len(xs), 2, 2))
        du[:, 0, 0] = 1.0
        du[:, 0, 1] = 3.0 * x2**2
        du[:, 1, 0] = -3.0 * x1**2
        du[:, 1, 1] = 1.0
        arg = u @ omega.T + phi
        y[start : start + chunk] = u @ A.T + LIFT_AMPLITUDE * np.sin(arg)
        dy_du = A[None] + LIFT_AMPLITUDE * np.cos(arg)[:, :, None] * omega[None]
        J[start : start + chunk] = dy_du @ du
    return x, y, J
