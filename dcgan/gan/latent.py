"""Paths through latent space, in NumPy: linear and spherical interpolation.

A leaf: no TensorFlow, no other project module.

Spherical interpolation (slerp, White 2016, "Sampling Generative Networks") is the
default: in many dimensions the noise of training lies near a shell (norm about
sqrt(n) for N(0, I), sqrt(n / 3) * scale for uniform noise), and the midpoint of a
straight line between two draws has about 1/sqrt(2) of that norm, a region G never saw.
This holds for uniform noise as well, although the cube is convex: on the glyphs32 run
(64-d uniform noise) linear midpoints had norm 3.2 against 4.6 for the ends and G drew
faint, broken glyphs there, while slerp kept the norm (about 6% of its coordinates leave
[-1, 1], by at most 0.46) and the glyphs stayed whole.
"""

from __future__ import annotations

import numpy as np

METHODS = ("slerp", "linear")


def interpolate(start: np.ndarray, end: np.ndarray, steps: int, *, method: str) -> np.ndarray:
    """Points from ``start`` to ``end``, both included.

    Args:
        start: one latent example, any shape.
        end: another, the same shape.
        steps: number of points, >= 2; point ``i`` is at ``t = i / (steps - 1)``.
        method: "linear": ``(1 - t) a + t b``; "slerp": ``sin((1 - t) w) / sin(w) a +
            sin(t w) / sin(w) b`` with ``w`` the angle between the flattened vectors
            (linear where ``sin(w)`` is ~0: equal or opposite directions).

    Returns:
        float32 ``[steps, *start.shape]``.

    Raises:
        ValueError: for an unknown method, mismatched shapes or steps < 2.
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not supported; allowed: {', '.join(METHODS)}")
    if start.shape != end.shape:
        raise ValueError(f"start {start.shape} and end {end.shape} must have the same shape")
    if steps < 2:
        raise ValueError(f"steps={steps} is not supported; allowed: an integer >= 2")
    t = np.linspace(0.0, 1.0, steps)[:, None]  # [steps, 1]
    a, b = start.ravel()[None], end.ravel()[None]  # [1, n]
    weights = (1.0 - t, t)
    if method == "slerp":
        cosine = a @ b.T / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
        omega = float(np.arccos(np.clip(cosine, -1.0, 1.0)).item())
        if np.sin(omega) > 1e-6:
            weights = (np.sin((1.0 - t) * omega) / np.sin(omega), np.sin(t * omega) / np.sin(omega))
    points = weights[0] * a + weights[1] * b  # [steps, n]
    return points.reshape(steps, *start.shape).astype(np.float32)
