"""The toy sets' metrics as pure functions of arrays: mode coverage, distance to N(0, 1).

- ``mode_statistics`` is the mixture-benchmark protocol of VEEGAN (Srivastava et al.,
  2017), used by PacGAN (Lin et al., 2018) for the ring and grid of Gaussians.
- ``wasserstein1_to_normal`` and ``ks_to_normal`` measure 1-D samples against N(0, 1).

Everything computes in float64 (NumPy, and TensorFlow for the normal quantiles); nothing
here trains or holds state.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf


def mode_statistics(samples, centers, stddev: float, *, num_stddevs: float = 3.0) -> dict:
    """Mode coverage of 2-D mixture samples, as VEEGAN and PacGAN report it.

    A sample is *high quality* if it lies within ``num_stddevs`` standard deviations of
    its nearest center; a mode is *captured* if it is the nearest center of at least one
    high-quality sample. The reverse KL compares the histogram of high-quality samples
    over modes, p, with the uniform mixture weights: KL(p || 1/K) = sum p log(K p).

    Args:
        samples: [N, 2] generated points.
        centers: [K, 2] mixture means.
        stddev: the mixture components' standard deviation.
        num_stddevs: the quality radius in standard deviations.

    Returns:
        ``{"modes": captured count, "num_modes": K, "high_quality": fraction in [0, 1],
        "reverse_kl": nats (inf if no sample is high quality), "counts": [K] ints}``.
    """
    samples = np.asarray(samples, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != centers.shape[1] or len(samples) == 0:
        raise ValueError(f"samples must be [N, {centers.shape[1]}], got shape {samples.shape}")
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)  # [N, K]
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] <= num_stddevs * stddev
    counts = np.bincount(nearest[good], minlength=len(centers))
    if counts.sum() == 0:
        reverse_kl = math.inf
    else:
        p = counts / counts.sum()
        p = p[p > 0]
        reverse_kl = float(np.sum(p * np.log(len(centers) * p)))
    return {
        "modes": int(np.count_nonzero(counts)),
        "num_modes": len(centers),
        "high_quality": float(good.mean()),
        "reverse_kl": reverse_kl,
        "counts": counts.tolist(),
    }


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def _normal_pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)


def wasserstein1_to_normal(samples) -> float:
    """Exact 1-Wasserstein distance between 1-D samples and N(0, 1).

    W1 = int_0^1 |F_n^-1(u) - Phi^-1(u)| du. On the i-th quantile slice F_n^-1 is the
    i-th smallest sample x, and int Phi^-1(u) du over [a, b] is phi(Phi^-1(a)) -
    phi(Phi^-1(b)), so each slice has a closed form once it is split where Phi^-1(u) = x.

    Args:
        samples: [N] or [N, 1] values.

    Returns:
        The distance, >= 0.
    """
    x = np.sort(np.asarray(samples, dtype=np.float64).reshape(-1))
    n = len(x)
    if n == 0:
        raise ValueError("samples is empty")
    edges = np.arange(n + 1) / n  # u-slices [i/n, (i+1)/n]
    q = tf.math.ndtri(tf.constant(edges, tf.float64)).numpy()  # -inf .. inf
    q_lo, q_hi = q[:-1], q[1:]
    # Phi^-1(u) = x at u = Phi(x); clipping x to the slice's quantiles finds that split
    # (or the slice end it falls beyond), since Phi is increasing.
    split = np.clip(x, q_lo, q_hi)
    below = x * (_normal_cdf(split) - edges[:-1]) - (_normal_pdf(q_lo) - _normal_pdf(split))
    above = (_normal_pdf(split) - _normal_pdf(q_hi)) - x * (edges[1:] - _normal_cdf(split))
    return float(max(np.sum(below + above), 0.0))


def ks_to_normal(samples) -> float:
    """Kolmogorov-Smirnov statistic sup_x |F_n(x) - Phi(x)| of 1-D samples vs N(0, 1)."""
    x = np.sort(np.asarray(samples, dtype=np.float64).reshape(-1))
    n = len(x)
    if n == 0:
        raise ValueError("samples is empty")
    cdf = _normal_cdf(x)
    ranks = np.arange(1, n + 1)
    return float(max(np.max(ranks / n - cdf), np.max(cdf - (ranks - 1) / n)))
