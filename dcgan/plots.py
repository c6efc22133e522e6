"""Plots of vector data as uint8 RGB images, drawn with NumPy and Pillow.

S2 judged its 1-D GAN by real and generated histograms with D(x) drawn over them; the
2-D mode-coverage sets are judged by a scatter over D's landscape. These functions draw
both without matplotlib, so TensorBoard and the PNGs under ``samples/`` can show them. A
leaf: no TensorFlow, no other project module.

Colors: real data blue, generated data orange, D(x) black, the level 0.5 gray.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

REAL_COLOR = (0, 114, 178)
FAKE_COLOR = (230, 120, 0)
CURVE_COLOR = (0, 0, 0)
LEVEL_COLOR = (128, 128, 128)
WHITE = (255, 255, 255)
#: Opacity of a histogram bar; where real and fake bars overlap both stay visible.
BAR_ALPHA = 0.5


def blend(under, color, alpha: float = BAR_ALPHA) -> np.ndarray:
    """``color`` painted with opacity ``alpha`` over ``under`` (float RGB)."""
    return (1 - alpha) * np.asarray(under, np.float64) + alpha * np.asarray(color, np.float64)


def histogram_1d(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    d_values: np.ndarray,
    value_range: tuple[float, float],
    bins: int = 50,
    bin_width_px: int = 8,
    height: int = 240,
) -> np.ndarray:
    """Real and fake histograms with D over them.

    Column ``c`` shows values in ``lo + (hi - lo) * [c, c + 1) / width``; bar ``k`` spans
    columns ``[k * bin_width_px, (k + 1) * bin_width_px)``. Both histograms are fractions
    of their samples per bar, scaled by the same factor, so they compare even for
    different sample counts, and the tallest bar of either fills the height. D is drawn
    as a polyline with D = 1 at the top row and 0 at the bottom row, evaluated at the
    ``len(d_values)`` evenly spaced points from ``lo`` to ``hi``.

    Args:
        real: real samples, any shape (flattened); values outside the range are dropped.
        fake: generated samples, likewise.
        d_values: D's output in [0, 1] at evenly spaced points across ``value_range``.
        value_range: ``(lo, hi)`` with ``lo < hi``.
        bins: number of bars.
        bin_width_px: width of a bar in pixels.
        height: image height in pixels.

    Returns:
        uint8 ``[height, bins * bin_width_px, 3]``.

    Raises:
        ValueError: for an empty range or empty ``d_values``.
    """
    lo, hi = value_range
    if not lo < hi or len(d_values) == 0:
        raise ValueError(f"value_range={value_range!r} must have lo < hi and d_values be non-empty")
    width = bins * bin_width_px
    canvas = np.empty((height, width, 3), np.float64)
    canvas[:] = WHITE
    densities = [
        np.histogram(np.ravel(x), bins=bins, range=(lo, hi), density=False)[0] / max(np.size(x), 1)
        for x in (real, fake)
    ]
    peak = max(d.max() for d in densities) or 1.0
    rows = np.arange(height)[:, None]  # [H, 1]
    for density, color in zip(densities, (REAL_COLOR, FAKE_COLOR), strict=True):
        bar_heights = np.round(density / peak * height).astype(int)  # [bins]
        column_heights = np.repeat(bar_heights, bin_width_px)  # [W]
        inside = rows >= height - column_heights[None, :]  # [H, W]
        canvas[inside] = blend(canvas[inside], color)
    image = Image.fromarray(np.round(canvas).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.line([(0, (height - 1) / 2), (width - 1, (height - 1) / 2)], fill=LEVEL_COLOR)
    d_values = np.clip(np.asarray(d_values, np.float64).ravel(), 0.0, 1.0)
    xs = np.linspace(0, width - 1, len(d_values))
    ys = (1.0 - d_values) * (height - 1)
    draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=CURVE_COLOR, width=2)
    return np.asarray(image)


def scatter_2d(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    d_grid: np.ndarray,
    extent: tuple[float, float],
    size: int = 320,
    dot: int = 1,
) -> np.ndarray:
    """Real and fake points over D's landscape, with D's 0.5 level line.

    The square ``extent x extent`` maps onto ``size x size`` pixels, x to the right and
    y up: point ``(x, y)`` lands in column ``round((x - lo) / (hi - lo) * (size - 1))``
    and row ``round((hi - y) / (hi - lo) * (size - 1))``. The background is gray level
    ``255 - 96 * D``, darker where D says "real"; pixels where D crosses 0.5 between
    horizontal or vertical neighbours are gray ``LEVEL_COLOR``. Real points are drawn
    first, fake points over them, each a square of side ``2 * dot + 1``.

    Args:
        real: ``[N, 2]`` real points.
        fake: ``[M, 2]`` generated points.
        d_grid: ``[G, G]`` D values in [0, 1]; ``d_grid[i, j]`` is D at
            ``x = lo + (hi - lo) * j / (G - 1)``, ``y = hi - (hi - lo) * i / (G - 1)``
            (row 0 at the top, like the image).
        extent: ``(lo, hi)`` with ``lo < hi``, the range of both axes.
        size: side of the image in pixels.
        dot: half-side of a point's square.

    Returns:
        uint8 ``[size, size, 3]``.

    Raises:
        ValueError: for an empty extent or a non-square grid.
    """
    lo, hi = extent
    d_grid = np.clip(np.asarray(d_grid, np.float64), 0.0, 1.0)
    if not lo < hi or d_grid.ndim != 2 or d_grid.shape[0] != d_grid.shape[1]:
        raise ValueError(f"extent={extent!r} must have lo < hi and d_grid be [G, G]")
    # Nearest grid value for every pixel.
    index = np.round(np.arange(size) / (size - 1) * (d_grid.shape[0] - 1)).astype(int)
    d_image = d_grid[index][:, index]  # [size, size]
    canvas = np.repeat((255.0 - 96.0 * d_image)[..., None], 3, axis=2)
    above = d_image >= 0.5
    level = np.zeros_like(above)
    level[:, 1:] |= above[:, 1:] != above[:, :-1]
    level[1:, :] |= above[1:, :] != above[:-1, :]
    canvas[level] = LEVEL_COLOR
    for points, color in ((real, REAL_COLOR), (fake, FAKE_COLOR)):
        points = np.asarray(points, np.float64).reshape(-1, 2)
        columns = np.round((points[:, 0] - lo) / (hi - lo) * (size - 1)).astype(int)
        rows = np.round((hi - points[:, 1]) / (hi - lo) * (size - 1)).astype(int)
        for dr in range(-dot, dot + 1):
            for dc in range(-dot, dot + 1):
                r, c = rows + dr, columns + dc
                keep = (r >= 0) & (r < size) & (c >= 0) & (c < size)
                canvas[r[keep], c[keep]] = color
    return np.round(canvas).astype(np.uint8)


def padded_range(*arrays: np.ndarray, pad: float = 0.1) -> tuple[float, float]:
    """The 0.5-99.5 percentile range of all values, widened by ``pad`` on each side.

    Percentiles, not min and max, so a few far-off samples do not squash the plot.
    """
    values = np.concatenate([np.ravel(a) for a in arrays]).astype(np.float64)
    lo, hi = np.percentile(values, [0.5, 99.5])
    margin = pad * (hi - lo) or 1.0
    return float(lo - margin), float(hi + margin)
