"""dcgan.plots: the pixels of the 1-D histogram plot and the 2-D scatter, worked by hand."""

import numpy as np
import pytest

from dcgan import plots

WHITE = np.array([255, 255, 255])


def rgb(values):
    return np.round(np.asarray(values, np.float64)).astype(np.uint8)


def test_histogram_bars_level_line_and_curve():
    # 10 bins of 4 px over [0, 1), 20 px high. All real samples fall in bin 0 (full
    # height); half the fake samples in bin 5 and half in bin 9: fraction 0.5 of the
    # peak fraction 1, so 10 px high.
    real = np.full(10, 0.05)
    fake = np.array([0.55] * 5 + [0.95] * 5)
    image = plots.histogram_1d(
        real, fake, d_values=np.array([1.0, 0.0]), value_range=(0.0, 1.0), bins=10,
        bin_width_px=4, height=20,
    )  # fmt: skip
    assert image.shape == (20, 40, 3) and image.dtype == np.uint8
    real_bar = rgb(0.5 * WHITE + 0.5 * np.array([0, 114, 178]))  # (128, 184, 216)
    fake_bar = rgb(0.5 * WHITE + 0.5 * np.array([230, 120, 0]))  # (242, 188, 128)
    # Away from the level line (row 9.5) and the diagonal D curve:
    np.testing.assert_array_equal(image[16, 1], real_bar)
    np.testing.assert_array_equal(image[3, 1], real_bar)  # full height, but the curve
    np.testing.assert_array_equal(image[14, 21], fake_bar)  # bin 5: rows 10..19
    np.testing.assert_array_equal(image[12, 38], fake_bar)  # bin 9
    np.testing.assert_array_equal(image[7, 38], WHITE)  # above bin 9's bar
    np.testing.assert_array_equal(image[16, 30], WHITE)  # bin 7: empty
    # The level D = 0.5 is a gray line across the middle, where no bar is.
    assert any((image[row, 30] == 128).all() for row in (9, 10))
    # D falls linearly from 1 (top row) to 0 (bottom row): black near row 19 * (1 - c/39).
    for column in (12, 26):
        black_rows = np.flatnonzero((image[:, column] == 0).all(axis=1))
        assert black_rows.size and abs(black_rows.mean() - 19 * column / 39) <= 1.5


def test_overlapping_bars_show_both_colors():
    samples = np.full(4, 0.5)
    image = plots.histogram_1d(
        samples, samples, d_values=np.array([0.0]), value_range=(0.0, 1.0), bins=2,
        bin_width_px=3, height=10,
    )  # fmt: skip
    under = 0.5 * WHITE + 0.5 * np.array([0, 114, 178])
    np.testing.assert_array_equal(image[2, 4], rgb(0.5 * under + 0.5 * np.array([230, 120, 0])))
    np.testing.assert_array_equal(image[2, 1], WHITE)  # bin 0 is empty


def test_histogram_refuses_an_empty_range():
    with pytest.raises(ValueError, match=r"value_range=\(1.0, 1.0\)"):
        plots.histogram_1d([0.0], [0.0], d_values=[0.5], value_range=(1.0, 1.0))


def test_scatter_background_level_line_and_points():
    # 11 x 11 px over [-1, 1]^2; D is 1 on the grid's top row and 0 on its bottom row.
    # Pixel row r takes grid row round(r / 10): rows 0-5 (round(0.5) = 0) see D = 1.
    image = plots.scatter_2d(
        real=np.array([[0.0, 0.0]]),
        fake=np.array([[1.0, -1.0], [-1.0, 1.0]]),
        d_grid=np.array([[1.0, 1.0], [0.0, 0.0]]),
        extent=(-1.0, 1.0),
        size=11,
        dot=0,
    )
    assert image.shape == (11, 11, 3)
    np.testing.assert_array_equal(image[2, 8], [159] * 3)  # 255 - 96 * 1
    np.testing.assert_array_equal(image[9, 2], WHITE)  # 255 - 96 * 0
    np.testing.assert_array_equal(image[6, 3], [128] * 3)  # D crosses 0.5 above row 6
    np.testing.assert_array_equal(image[5, 3], [159] * 3)
    # (0, 0) is the centre pixel; (1, -1) the bottom-right corner; (-1, 1) the top-left.
    np.testing.assert_array_equal(image[5, 5], [0, 114, 178])
    np.testing.assert_array_equal(image[10, 10], [230, 120, 0])
    np.testing.assert_array_equal(image[0, 0], [230, 120, 0])


def test_scatter_points_outside_the_extent_are_dropped():
    image = plots.scatter_2d(
        real=np.array([[5.0, 5.0]]),
        fake=np.zeros((0, 2)),
        d_grid=np.zeros((3, 3)),
        extent=(-1.0, 1.0),
        size=9,
    )
    np.testing.assert_array_equal(image, np.full((9, 9, 3), 255))


def test_padded_range_uses_percentiles():
    # 0..200: the 0.5 and 99.5 percentiles are 1 and 199; 10% of 198 is 19.8.
    lo, hi = plots.padded_range(np.arange(101), np.arange(101, 201))
    assert lo == pytest.approx(-18.8) and hi == pytest.approx(218.8)
