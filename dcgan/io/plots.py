"""Plots of vector data as matplotlib figures, rendered to uint8 RGB images.

S2 judged its 1-D GAN by real and generated histograms with D(x) drawn over them; the
2-D mode-coverage sets are judged by a scatter over D's landscape. The builders
(``histogram_figure``, ``scatter_figure``) return ``matplotlib.figure.Figure`` objects
with axes, ticks, a legend and the step in the title; ``render`` rasterizes one with the
Agg canvas, so TensorBoard and the PNGs under ``samples/`` can show it.

Figures are built directly, never through ``pyplot``: pyplot keeps every figure in a
global registry until closed and its backend is process-wide state, while a bare
``Figure`` drawn by ``FigureCanvasAgg`` is an ordinary object that the garbage collector
frees and that changes no global setting, so a plot can be drawn in any thread (each
figure used by one thread at a time).

A leaf: no TensorFlow, no other project module.

Colors (Okabe-Ito, safe for colour-blind readers): real data blue, generated data
orange, D(x) black, the level D = 0.5 gray (1-D) or black (2-D, over a gray landscape).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

REAL_COLOR = "#0072B2"  # Okabe-Ito blue, (0, 114, 178)
FAKE_COLOR = "#E69F00"  # Okabe-Ito orange, (230, 159, 0)
CURVE_COLOR = "black"
LEVEL_COLOR = "gray"
#: Opacity of a histogram; where real and fake overlap both stay visible.
BAR_ALPHA = 0.5
#: Opacity of the generated points: the real ones under a converged G still show.
FAKE_POINT_ALPHA = 0.5
#: The 2-D landscape: white where D says "fake" (0) to mid-gray where it says "real"
#: (1). It stops at mid-gray so the blue and orange points stay visible on it.
LANDSCAPE_CMAP = LinearSegmentedColormap.from_list("d_of_x", ["#ffffff", "#8c8c8c"])
#: Sizes in inches at ``DPI``: 512 x 320 and 512 x 416 pixels, small enough that a
#: render every ``--image_every`` steps costs little.
HISTOGRAM_FIGSIZE = (6.4, 4.0)
SCATTER_FIGSIZE = (6.4, 5.2)
DPI = 80


def histogram_figure(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    d_values: np.ndarray,
    value_range: tuple[float, float],
    step: int,
    label: str | None = None,
    d_label: str = "D(x)",
    bins: int = 50,
    figsize: tuple[float, float] = HISTOGRAM_FIGSIZE,
    dpi: float = DPI,
) -> Figure:
    """Real and generated histograms with D(x) over them, as a figure.

    Both histograms are densities over ``bins`` equal bins across ``value_range``
    (``np.histogram(..., density=True)`` of the samples inside the range), so they
    compare even for different sample counts. D(x) is a black curve on its own
    right-hand axis from 0 to 1, through ``d_values`` at the ``len(d_values)`` evenly
    spaced points from ``lo`` to ``hi``, with a dashed gray line at D = 0.5.

    Args:
        real: real samples, any shape (flattened); values outside the range are dropped.
        fake: generated samples, likewise.
        d_values: ``[K]``, K >= 2: D's output in [0, 1] at evenly spaced points across
            ``value_range`` (for a critic, its scores already mapped to [0, 1]). NaN
            values leave gaps in the curve.
        value_range: ``(lo, hi)`` with ``lo < hi``, the x axis.
        step: the training step, shown in the title.
        label: optional text put before the step in the title.
        d_label: the right-hand axis's label (a critic's scores are rescaled).
        bins: number of histogram bins.
        figsize: ``(width, height)`` in inches.
        dpi: pixels per inch when rendered.

    Returns:
        The figure: one axes with the histograms (y label "density") and its twin
        with D(x) (y label "D(x)"), a figure legend "real", "generated", "D(x)".

    Raises:
        ValueError: for an empty or non-finite range, ``d_values`` that are not a 1-D
            array of at least two values in [0, 1], a negative or non-integer step, or
            fewer than one bin.
    """
    lo, hi = _checked_range("value_range", value_range)
    d_values = _checked_d("d_values", d_values)
    if d_values.ndim != 1 or len(d_values) < 2:
        raise ValueError(f"d_values must be 1-D with at least 2 values; got shape {d_values.shape}")
    _check_step(step)
    if not isinstance(bins, Integral) or bins < 1:
        raise ValueError(f"bins={bins!r} must be a positive integer")

    figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    axes = figure.add_subplot()
    edges = np.linspace(lo, hi, bins + 1)
    handles = []
    for samples, color, name in ((real, REAL_COLOR, "real"), (fake, FAKE_COLOR, "generated")):
        density = _density(np.ravel(np.asarray(samples, np.float64)), bins, (lo, hi))
        handles.append(
            axes.stairs(density, edges, fill=True, color=color, alpha=BAR_ALPHA, label=name)
        )
    axes.set_xlim(lo, hi)
    axes.set_ylim(bottom=0.0)
    axes.set_xlabel("x")
    axes.set_ylabel("density")

    # D lives in [0, 1] whatever the densities are, so it gets its own scale.
    d_axes = axes.twinx()
    xs = np.linspace(lo, hi, len(d_values))
    (curve,) = d_axes.plot(xs, d_values, color=CURVE_COLOR, linewidth=1.5, label="D(x)")
    d_axes.axhline(0.5, color=LEVEL_COLOR, linestyle="--", linewidth=1.0)
    # A little headroom: a critic's normalized scores reach 0 and 1 exactly, and a
    # curve on the frame would hide behind it.
    d_axes.set_ylim(-0.03, 1.03)
    d_axes.set_ylabel(d_label)
    handles.append(curve)

    axes.set_title(_title(step, label))
    # Below the axes, where it can hide no bar and no part of the curve.
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return figure


def scatter_figure(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    d_grid: np.ndarray,
    extent: tuple[float, float],
    step: int,
    label: str | None = None,
    d_label: str = "D(x)",
    figsize: tuple[float, float] = SCATTER_FIGSIZE,
    dpi: float = DPI,
) -> Figure:
    """Real and generated points over D's landscape, with D's 0.5 level line.

    The landscape is ``d_grid`` as an image from white (D = 0) to gray (D = 1), each
    value a cell centred on its grid point, with a colorbar labelled ``d_label``; the
    level D = 0.5 is a black contour line. Generated points are drawn half transparent
    and real points over them, so that a generator covering the data hides none of it.
    Both axes span ``extent`` with equal aspect.

    Args:
        real: ``[N, 2]`` real points.
        fake: ``[M, 2]`` generated points.
        d_grid: ``[G, G]``, G >= 2, D values in [0, 1]; ``d_grid[i, j]`` is D at
            ``x = lo + (hi - lo) * j / (G - 1)``, ``y = hi - (hi - lo) * i / (G - 1)``
            (row 0 at the top, like an image). NaN values are left blank.
        extent: ``(lo, hi)`` with ``lo < hi``, the range of both axes.
        step: the training step, shown in the title.
        label: optional text put before the step in the title.
        d_label: the colorbar's label: what the values are (a critic's scores are
            rescaled, not probabilities).
        figsize: ``(width, height)`` in inches.
        dpi: pixels per inch when rendered.

    Returns:
        The figure: one axes (x1 / x2) with the image, the level line and the two
        scatters, a colorbar, and a figure legend "real", "generated", "D(x) = 0.5".

    Raises:
        ValueError: for an empty or non-finite extent, points that are not ``[N, 2]``,
            a ``d_grid`` that is not ``[G, G]`` with G >= 2 and values in [0, 1], or a
            negative or non-integer step.
    """
    lo, hi = _checked_range("extent", extent)
    real = _checked_points("real", real)
    fake = _checked_points("fake", fake)
    d_grid = _checked_d("d_grid", d_grid)
    if d_grid.ndim != 2 or d_grid.shape[0] != d_grid.shape[1] or d_grid.shape[0] < 2:
        raise ValueError(f"d_grid must be [G, G] with G >= 2; got shape {d_grid.shape}")
    _check_step(step)

    figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    axes = figure.add_subplot()
    size = d_grid.shape[0]
    # The values sit on grid points that include the edges, so each image cell reaches
    # half a cell beyond its point; the axis limits then cut the outer half cells.
    half = 0.5 * (hi - lo) / (size - 1)
    image = axes.imshow(
        d_grid,
        cmap=LANDSCAPE_CMAP,
        vmin=0.0,
        vmax=1.0,
        origin="upper",
        extent=(lo - half, hi + half, lo - half, hi + half),
        interpolation="nearest",
    )
    figure.colorbar(image, ax=axes, label=d_label)
    grid = np.linspace(lo, hi, size)
    # contour wants y increasing with the row index; d_grid's row 0 is the top (y = hi).
    axes.contour(grid, grid, d_grid[::-1], levels=[0.5], colors=CURVE_COLOR, linewidths=1.2)
    handles = [
        axes.scatter(
            real[:, 0], real[:, 1], s=6, color=REAL_COLOR, linewidths=0, label="real", zorder=3
        ),
        axes.scatter(
            fake[:, 0],
            fake[:, 1],
            s=6,
            color=FAKE_COLOR,
            alpha=FAKE_POINT_ALPHA,
            linewidths=0,
            label="generated",
            zorder=2,
        ),
        # A ContourSet has no legend entry of its own; a line drawn alike stands for it.
        Line2D([], [], color=CURVE_COLOR, linewidth=1.2, label="D(x) = 0.5"),
    ]
    axes.set_xlim(lo, hi)
    axes.set_ylim(lo, hi)
    axes.set_aspect("equal")
    axes.set_xlabel("x1")
    axes.set_ylabel("x2")
    axes.set_title(_title(step, label))
    # Points of size 6 make legend markers too small to tell the colours apart.
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), markerscale=2.5)
    return figure


def curves_figure(
    panels: list[tuple[str, dict[str, tuple[list[int], list[float]]], dict[str, float]]],
    *,
    title: str,
    xlabel: str = "step",
    figsize: tuple[float, float] = (9.6, 4.0),
    dpi: float = DPI,
) -> Figure:
    """Metrics over training steps (or time), one panel per metric, one line per run.

    Args:
        panels: ``(metric name, {run: (steps, values)}, {reference label: level})``
            per panel; each reference is a dashed horizontal line (a floor, a target).
        title: the figure's title.
        xlabel: what the x values count.
        figsize: size in inches.
        dpi: pixels per inch.

    Returns:
        The figure: x ``xlabel``, y the metric, a legend in each panel.
    """
    if not panels:
        raise ValueError("panels is empty: give at least one (metric, curves, references)")
    figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    for axes, (metric, curves, references) in zip(
        figure.subplots(1, len(panels), squeeze=False)[0], panels, strict=True
    ):
        for run, (steps, values) in curves.items():
            axes.plot(steps, values, marker="o", label=run)
        for (label, level), style in zip(references.items(), ("--", ":", "-."), strict=False):
            axes.axhline(level, color=LEVEL_COLOR, linestyle=style, label=label)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(metric)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    figure.suptitle(title)
    return figure


def render(figure: Figure) -> np.ndarray:
    """Draws ``figure`` with the Agg canvas.

    Attaches a fresh ``FigureCanvasAgg`` (no pyplot, no global backend): the figure
    keeps it, nothing else does, so the figure is freed with its last reference.

    Args:
        figure: the figure to draw.

    Returns:
        uint8 ``[H, W, 3]``, H and W the figure's size in inches times its dpi. A copy:
        a view would keep the canvas's pixel buffer, and through it the figure, alive.
    """
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def padded_range(*arrays: np.ndarray, pad: float = 0.1) -> tuple[float, float]:
    """The 0.5-99.5 percentile range of all values, widened by ``pad`` on each side.

    Percentiles, not min and max, so a few far-off samples do not squash the plot.
    """
    values = np.concatenate([np.ravel(a) for a in arrays]).astype(np.float64)
    lo, hi = np.percentile(values, [0.5, 99.5])
    margin = pad * (hi - lo) or 1.0
    return float(lo - margin), float(hi + margin)


def _density(samples: np.ndarray, bins: int, value_range: tuple[float, float]) -> np.ndarray:
    """``np.histogram(..., density=True)``, or zeros where no sample is in the range.

    Zeros rather than the NaNs (and warning) of 0 / 0: an empty generated batch is a
    plot with no orange, not a failure.
    """
    counts, _ = np.histogram(samples, bins=bins, range=value_range)
    if counts.sum() == 0:
        return np.zeros(bins)
    return np.histogram(samples, bins=bins, range=value_range, density=True)[0]


def _title(step: int, label: str | None) -> str:
    return f"{label}, step {step}" if label else f"step {step}"


def _checked_range(name: str, value_range: tuple[float, float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value_range!r} must be a pair (lo, hi)") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"{name}={value_range!r} must be finite with lo < hi")
    return lo, hi


def _checked_d(name: str, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.float64)
    known = values[~np.isnan(values)]
    # A value outside [0, 1] is a caller that passed raw logits or scores, not d_of_x.
    if known.size and (known.min() < 0.0 or known.max() > 1.0):
        low, high = float(known.min()), float(known.max())
        raise ValueError(f"{name} must lie in [0, 1]; got values from {low!r} to {high!r}")
    return values


def _checked_points(name: str, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} must be [N, 2] points; got shape {points.shape}")
    return points


def _check_step(step: int) -> None:
    # bool is an Integral, but a flag passed where the step belongs is a mistake.
    if not isinstance(step, Integral) or isinstance(step, bool) or step < 0:
        raise ValueError(f"step={step!r} must be a non-negative integer")
