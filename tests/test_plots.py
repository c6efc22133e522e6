"""dcgan.io.plots: what the figures hold, checked on their artists, and what render returns."""

import gc
import weakref

import matplotlib
import matplotlib.pyplot as pyplot
import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from matplotlib.colors import to_rgb

from dcgan.io import plots

REAL_RGB = np.array(to_rgb(plots.REAL_COLOR)) * 255  # (0, 114, 178)
FAKE_RGB = np.array(to_rgb(plots.FAKE_COLOR)) * 255  # (230, 159, 0)


def histogram(**overrides):
    arguments = dict(
        real=np.array([0.05, 0.15, 0.15, 0.35, 7.0]),  # 7.0 lies outside the range
        fake=np.array([[0.55, 0.95], [0.95, 0.95]]),  # any shape: flattened
        d_values=np.array([1.0, 0.25, 0.5, 0.0]),
        value_range=(0.0, 1.0),
        step=1200,
        bins=10,
    )
    return plots.histogram_figure(**(arguments | overrides))


def scatter(**overrides):
    # D is 1 on the grid's two top rows (y = 1 and y = 0) and 0 on its bottom row (y = -1).
    arguments = dict(
        real=np.array([[0.0, 0.0], [0.5, -0.25]]),
        fake=np.array([[0.75, -0.75], [-0.5, 0.5], [0.25, 0.25]]),
        d_grid=np.array([[1.0, 1.0, 0.75], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]),
        extent=(-1.0, 1.0),
        step=1200,
    )
    return plots.scatter_figure(**(arguments | overrides))


def legend_labels(figure):
    (legend,) = figure.legends
    return [text.get_text() for text in legend.get_texts()]


def near(image, rgb, tolerance=3.0):
    """Whether some pixel of ``image`` is within ``tolerance`` of ``rgb`` in every channel."""
    return bool((np.abs(image.astype(np.float64) - rgb) <= tolerance).all(axis=-1).any())


def test_histogram_title_legend_and_axes():
    figure = histogram(label="gaussian1d")
    axes, d_axes = figure.axes
    assert "step 1200" in axes.get_title() and "gaussian1d" in axes.get_title()
    assert legend_labels(figure) == ["real", "generated", "D(x)"]
    assert axes.get_xlabel() == "x" and axes.get_ylabel() == "density"
    assert axes.get_xlim() == (0.0, 1.0)
    assert axes.get_xticks().size > 1 and axes.get_yticks().size > 1
    # D has its own y axis, a twin sharing x, on the right.
    assert d_axes.get_shared_x_axes().joined(axes, d_axes)
    assert d_axes.yaxis.get_label_position() == "right" and d_axes.get_ylabel() == "D(x)"
    assert d_axes.get_ylim()[0] <= 0.0 and d_axes.get_ylim()[1] >= 1.0
    assert histogram().axes[0].get_title() == "step 1200"


def test_histogram_bars_are_densities_of_the_samples_in_range():
    figure = histogram()
    axes = figure.axes[0]
    real, fake = axes.patches  # one StepPatch per histogram
    assert (real.get_label(), fake.get_label()) == ("real", "generated")
    for patch, samples in ((real, [0.05, 0.15, 0.15, 0.35, 7.0]), (fake, [0.55, 0.95, 0.95, 0.95])):
        values, edges, _ = patch.get_data()
        expected, expected_edges = np.histogram(samples, bins=10, range=(0.0, 1.0), density=True)
        np.testing.assert_allclose(values, expected)
        np.testing.assert_allclose(edges, expected_edges)
        assert patch.get_alpha() == plots.BAR_ALPHA
    # By hand: the 4 real samples in range, bin width 0.1: 1 / 0.4 = 2.5 per sample.
    np.testing.assert_allclose(real.get_data().values[:4], [2.5, 5.0, 0.0, 2.5])
    np.testing.assert_allclose(real.get_facecolor()[:3], REAL_RGB / 255)
    np.testing.assert_allclose(fake.get_facecolor()[:3], FAKE_RGB / 255)


def test_histogram_with_no_sample_in_range_is_empty_not_nan():
    figure = histogram(fake=np.array([5.0, 6.0]))
    values = figure.axes[0].patches[1].get_data().values
    np.testing.assert_array_equal(values, np.zeros(10))


def test_histogram_d_curve_and_level_line():
    figure = histogram()
    d_axes = figure.axes[1]
    (curve,) = [line for line in d_axes.get_lines() if line.get_label() == "D(x)"]
    np.testing.assert_allclose(curve.get_xdata(), [0.0, 1 / 3, 2 / 3, 1.0])
    np.testing.assert_allclose(curve.get_ydata(), [1.0, 0.25, 0.5, 0.0])
    assert curve.get_color() == "black"
    (level,) = [line for line in d_axes.get_lines() if line is not curve]
    np.testing.assert_allclose(level.get_ydata(), [0.5, 0.5])
    assert level.get_linestyle() == "--"


def test_scatter_title_legend_axes_and_colorbar():
    figure = scatter(label="ring2d")
    axes = figure.axes[0]
    assert "step 1200" in axes.get_title() and "ring2d" in axes.get_title()
    assert legend_labels(figure) == ["real", "generated", "D(x) = 0.5"]
    assert axes.get_xlabel() == "x1" and axes.get_ylabel() == "x2"
    assert axes.get_xlim() == (-1.0, 1.0) and axes.get_ylim() == (-1.0, 1.0)
    assert axes.get_aspect() == 1.0
    (image,) = axes.get_images()
    assert image.colorbar is not None and image.colorbar.ax.get_ylabel() == "D(x)"
    assert image.get_clim() == (0.0, 1.0)


def test_scatter_points_are_the_given_points():
    figure = scatter()
    points = {c.get_label(): c.get_offsets() for c in figure.axes[0].collections}
    np.testing.assert_allclose(points["real"], [[0.0, 0.0], [0.5, -0.25]])
    np.testing.assert_allclose(points["generated"], [[0.75, -0.75], [-0.5, 0.5], [0.25, 0.25]])


def test_scatter_draws_the_real_points_over_see_through_generated_ones():
    figure = scatter(d_label="critic score")
    layers = {c.get_label(): c for c in figure.axes[0].collections}
    assert layers["real"].get_zorder() > layers["generated"].get_zorder()
    assert layers["generated"].get_alpha() == 0.5 and layers["real"].get_alpha() is None
    (image,) = figure.axes[0].get_images()
    assert image.colorbar.ax.get_ylabel() == "critic score"
    assert histogram(d_label="critic score").axes[1].get_ylabel() == "critic score"


def test_scatter_image_is_d_grid_with_row_zero_at_the_top():
    figure = scatter()
    plots.render(figure)  # the transforms below need the final layout
    axes = figure.axes[0]
    (image,) = axes.get_images()
    assert image.origin == "upper"

    def value_at(x, y):
        px, py = axes.transData.transform((x, y))
        return image.get_cursor_data(MouseEvent("motion_notify_event", figure.canvas, px, py))

    # d_grid[0, 2] = 0.75 is D at the top-right grid point (x, y) = (1, 1); every other
    # value on the top row is 1, and the bottom row (y = -1) is 0.
    assert value_at(0.95, 0.95) == 0.75
    assert value_at(-0.95, 0.95) == 1.0
    assert value_at(0.95, -0.95) == 0.0
    # Each value is a cell centred on its grid point: the centre cell d_grid[1, 1] spans
    # [-0.5, 0.5] on both axes (cells stretched to the extent would end at 1/3).
    assert value_at(0.4, 0.4) == 1.0


def test_scatter_level_line_lies_where_d_crosses_one_half():
    figure = scatter()
    (contour,) = [
        c for c in figure.axes[0].collections if c.get_label() not in ("real", "generated")
    ]
    assert list(contour.levels) == [0.5]
    vertices = np.concatenate([path.vertices for path in contour.get_paths()])
    # D goes from 1 at y = 0 to 0 at y = -1: 0.5 halfway, at y = -0.5, all across.
    np.testing.assert_allclose(vertices[:, 1], -0.5)
    assert vertices[:, 0].min() == -1.0 and vertices[:, 0].max() == 1.0


def test_render_is_an_rgb_image_of_the_figure_size_with_both_colours():
    image = plots.render(histogram(figsize=(4.0, 2.5), dpi=50))
    assert image.shape == (125, 200, 3) and image.dtype == np.uint8
    # Half-transparent bars over the white axes background.
    assert near(image, 0.5 * 255 + 0.5 * REAL_RGB) and near(image, 0.5 * 255 + 0.5 * FAKE_RGB)
    image = plots.render(scatter(dpi=40))
    assert image.shape == (208, 256, 3)  # the default 6.4 x 5.2 in
    # A see-through generated point over a white cell (D = 0, at (0.75, -0.75)).
    see_through = 0.5 * 255 + 0.5 * FAKE_RGB
    assert near(image, REAL_RGB, tolerance=8) and near(image, see_through, tolerance=8)


def test_the_figures_render_at_their_default_sizes():
    d_values = np.linspace(0.0, 1.0, 20)
    image = plots.render(
        plots.histogram_figure([0.5], [0.25], d_values=d_values, value_range=(0, 1), step=3)
    )
    assert image.shape == (320, 512, 3) and image.dtype == np.uint8
    image = plots.render(
        plots.scatter_figure(
            np.zeros((1, 2)), np.ones((1, 2)), d_grid=np.zeros((4, 4)), extent=(-2, 2), step=3
        )
    )
    assert image.shape == (416, 512, 3) and image.dtype == np.uint8
    see_through = 0.5 * 255 + 0.5 * FAKE_RGB  # over D = 0: white
    assert near(image, REAL_RGB, tolerance=8) and near(image, see_through, tolerance=8)


def test_rendering_touches_no_global_state_and_keeps_no_figure():
    backend = matplotlib.get_backend()
    assert pyplot.get_fignums() == []
    figure = scatter()
    reference = weakref.ref(figure)
    plots.render(figure)
    plots.render(
        plots.histogram_figure([0.5], [0.5], d_values=[0.0, 1.0], value_range=(0, 1), step=0)
    )
    assert matplotlib.get_backend() == backend
    assert pyplot.get_fignums() == []
    del figure
    gc.collect()  # figure, canvas and axes refer to each other: a cycle
    assert reference() is None


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(value_range=(1.0, 1.0)), r"value_range=\(1.0, 1.0\)"),
        (dict(value_range=(0.0, float("inf"))), r"value_range=\(0.0, inf\)"),
        (dict(value_range=(0.0,)), r"value_range=\(0.0,\)"),
        (dict(d_values=np.array([0.5])), r"got shape \(1,\)"),
        (dict(d_values=np.ones((2, 2))), r"got shape \(2, 2\)"),
        (dict(d_values=np.array([0.0, 3.5])), r"from 0.0 to 3.5"),
        (dict(step=-1), r"step=-1"),
        (dict(step=1.5), r"step=1.5"),
        (dict(step=True), r"step=True"),
        (dict(bins=0), r"bins=0"),
    ],
)
def test_histogram_refuses_bad_arguments(overrides, message):
    with pytest.raises(ValueError, match=message):
        histogram(**overrides)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(extent=(1.0, -1.0)), r"extent=\(1.0, -1.0\)"),
        (dict(real=np.zeros((3, 3))), r"real must be \[N, 2\] points; got shape \(3, 3\)"),
        (dict(fake=np.zeros(4)), r"fake must be \[N, 2\] points; got shape \(4,\)"),
        (dict(d_grid=np.zeros((2, 3))), r"got shape \(2, 3\)"),
        (dict(d_grid=np.zeros((1, 1))), r"got shape \(1, 1\)"),
        (dict(d_grid=np.full((2, 2), -0.5)), r"from -0.5 to -0.5"),
        (dict(step=None), r"step=None"),
    ],
)
def test_scatter_refuses_bad_arguments(overrides, message):
    with pytest.raises(ValueError, match=message):
        scatter(**overrides)


def test_nan_d_values_leave_gaps_rather_than_fail():
    histogram(d_values=np.array([0.5, np.nan, 0.5]))
    scatter(d_grid=np.array([[np.nan, 1.0], [0.0, 0.0]]))


def test_padded_range_uses_percentiles():
    # 0..200: the 0.5 and 99.5 percentiles are 1 and 199; 10% of 198 is 19.8.
    lo, hi = plots.padded_range(np.arange(101), np.arange(101, 201))
    assert lo == pytest.approx(-18.8) and hi == pytest.approx(218.8)
