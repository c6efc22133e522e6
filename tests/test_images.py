"""Tests for dcgan.io.images: uint8 mapping, grid geometry and PNG files."""

import os

import imageio.v3 as iio
import numpy as np
import pytest

from dcgan.io import images


def images_with_levels(levels, height, width, channels):
    """[N, H, W, C] float images in [-1, 1] whose uint8 form is ``levels`` (each 1..255).

    x = u / 127.5 - 1 maps back to exactly u, so the expected pixels are known without
    calling ``to_uint8``. Levels vary over pixels and channels so misplaced or transposed
    tiles show up.
    """
    levels = np.asarray(levels, dtype=np.uint8)
    assert levels.shape == (len(levels), height, width, channels) and levels.min() >= 1
    return levels.astype(np.float64) / 127.5 - 1.0


def distinct_levels(count, height, width, channels):
    # 1 + (i * H * W * C + pixel index) mod 255: non-zero, so padding (0) is distinguishable.
    flat = np.arange(count * height * width * channels).reshape(count, height, width, channels)
    return (1 + flat % 255).astype(np.uint8)


# --- to_uint8 ----------------------------------------------------------------------------


def test_to_uint8_hand_computed_values():
    x = np.array([-1.0, 0.0, 1.0, -0.5, 0.5, 0.2, -0.992, 2.0, -3.0, 1.5, -1.0001])
    # (x + 1) * 127.5, rounded, clipped to [0, 255]:
    #   -1 -> 0; 0 -> 127.5 -> 128; 1 -> 255; -0.5 -> 63.75 -> 64; 0.5 -> 191.25 -> 191;
    #   0.2 -> 153; -0.992 -> 1.02 -> 1; 2 -> 382.5 -> 255; -3 -> -255 -> 0;
    #   1.5 -> 318.75 -> 255; -1.0001 -> -0.01 -> 0.
    expected = np.array([0, 128, 255, 64, 191, 153, 1, 255, 0, 255, 0], dtype=np.uint8)
    result = images.to_uint8(x)
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, expected)


def test_to_uint8_keeps_the_shape():
    x = np.full((2, 3, 4, 1), -1.0, dtype=np.float32)
    x[1, 2, 3, 0] = 1.0
    result = images.to_uint8(x)
    assert result.shape == (2, 3, 4, 1)
    assert result.dtype == np.uint8
    assert result.sum() == 255
    assert result[1, 2, 3, 0] == 255


def test_to_uint8_inverts_the_level_mapping():
    levels = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(images.to_uint8(levels / 127.5 - 1.0), levels)


# --- make_grid ---------------------------------------------------------------------------


def assert_tiles(grid, levels, offsets, height, width):
    """Each image sits at its offset and every other pixel is 0."""
    covered = np.zeros(grid.shape[:2], dtype=bool)
    for level, (top, left) in zip(levels, offsets, strict=True):
        np.testing.assert_array_equal(grid[top : top + height, left : left + width], level)
        covered[top : top + height, left : left + width] = True
    assert not grid[~covered].any(), "padding and empty cells must be 0"


def test_make_grid_four_images_form_a_2x2_square():
    n, h, w, c = 4, 3, 5, 1
    levels = distinct_levels(n, h, w, c)
    grid = images.make_grid(images_with_levels(levels, h, w, c), padding=2)
    # 2 rows of (3 + 2) plus 2; 2 columns of (5 + 2) plus 2.
    assert grid.shape == (12, 16, 1)
    assert grid.dtype == np.uint8
    assert_tiles(grid, levels, [(2, 2), (2, 9), (7, 2), (7, 9)], h, w)


def test_make_grid_five_images_use_three_columns_and_two_rows():
    n, h, w, c = 5, 4, 4, 3
    levels = distinct_levels(n, h, w, c)
    grid = images.make_grid(images_with_levels(levels, h, w, c), padding=1)
    # ceil(sqrt(5)) = 3 columns, ceil(5 / 3) = 2 rows: 2 * (4 + 1) + 1 by 3 * (4 + 1) + 1.
    assert grid.shape == (11, 16, 3)
    assert_tiles(grid, levels, [(1, 1), (1, 6), (1, 11), (6, 1), (6, 6)], h, w)
    assert not grid[6:10, 11:15].any()  # the sixth cell is empty


def test_make_grid_explicit_columns():
    n, h, w, c = 5, 2, 3, 1
    levels = distinct_levels(n, h, w, c)
    grid = images.make_grid(images_with_levels(levels, h, w, c), columns=5, padding=2)
    # One row: (2 + 2) + 2 high; 5 * (3 + 2) + 2 wide.
    assert grid.shape == (6, 27, 1)
    assert_tiles(grid, levels, [(2, 2), (2, 7), (2, 12), (2, 17), (2, 22)], h, w)


def test_make_grid_one_column():
    n, h, w, c = 3, 2, 2, 3
    levels = distinct_levels(n, h, w, c)
    grid = images.make_grid(images_with_levels(levels, h, w, c), columns=1, padding=3)
    # 3 rows of (2 + 3) plus 3 = 18; 1 column of (2 + 3) plus 3 = 8.
    assert grid.shape == (18, 8, 3)
    assert_tiles(grid, levels, [(3, 3), (8, 3), (13, 3)], h, w)


def test_make_grid_default_padding_is_two():
    n, h, w, c = 1, 4, 6, 1
    levels = distinct_levels(n, h, w, c)
    grid = images.make_grid(images_with_levels(levels, h, w, c))
    assert grid.shape == (8, 10, 1)
    assert_tiles(grid, levels, [(2, 2)], h, w)


def test_make_grid_without_padding_is_the_block_matrix():
    n, h, w, c = 4, 2, 3, 3
    levels = distinct_levels(n, h, w, c)
    grid = images.make_grid(images_with_levels(levels, h, w, c), padding=0)
    expected = np.concatenate(
        [np.concatenate([levels[0], levels[1]], axis=1), np.concatenate(levels[2:], axis=1)],
        axis=0,
    )
    assert grid.shape == (4, 6, 3)
    np.testing.assert_array_equal(grid, expected)


def test_make_grid_clips_out_of_range_values():
    batch = np.array([2.0, -2.0, 0.0, 1.0]).reshape(4, 1, 1, 1)
    grid = images.make_grid(batch, padding=1)
    assert grid.shape == (5, 5, 1)
    # Offsets (1, 1), (1, 3), (3, 1), (3, 3).
    assert [grid[1, 1, 0], grid[1, 3, 0], grid[3, 1, 0], grid[3, 3, 0]] == [255, 0, 128, 255]
    assert int(grid.sum()) == 255 + 0 + 128 + 255


@pytest.mark.parametrize(
    "shape",
    [(0, 4, 4, 1), (4, 4, 1), (4, 4), (2, 1, 4, 4, 1), (8,)],
    ids=["empty", "3d", "2d", "5d", "1d"],
)
def test_make_grid_rejects_bad_shapes(shape):
    with pytest.raises(ValueError) as excinfo:
        images.make_grid(np.zeros(shape, dtype=np.float32))
    message = str(excinfo.value)
    assert "[N, H, W, C]" in message
    assert str(shape) in message


# --- write_png ---------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_write_png_round_trips_pixel_exact(tmp_path, channels):
    rng = np.random.default_rng(channels)
    image = rng.integers(0, 256, size=(7, 11, channels), dtype=np.uint8)
    path = str(tmp_path / "out.png")
    images.write_png(path, image)
    assert sorted(os.listdir(tmp_path)) == ["out.png"]
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    read = iio.imread(path)
    if channels == 1:
        assert read.shape == (7, 11)  # stored as grayscale, not RGB
        np.testing.assert_array_equal(read, image[..., 0])
    else:
        assert read.shape == (7, 11, 3)
        np.testing.assert_array_equal(read, image)
    assert read.dtype == np.uint8


def test_write_png_replaces_an_existing_file(tmp_path):
    path = str(tmp_path / "grid.png")
    images.write_png(path, np.zeros((4, 4, 3), dtype=np.uint8))
    second = np.full((4, 4, 3), 200, dtype=np.uint8)
    images.write_png(path, second)
    np.testing.assert_array_equal(iio.imread(path), second)
    assert sorted(os.listdir(tmp_path)) == ["grid.png"]


def test_write_png_of_a_grid(tmp_path):
    levels = distinct_levels(5, 3, 3, 3)
    grid = images.make_grid(images_with_levels(levels, 3, 3, 3))
    path = str(tmp_path / "grid.png")
    images.write_png(path, grid)
    np.testing.assert_array_equal(iio.imread(path), grid)


# --- write_gif ---------------------------------------------------------------------------


def test_write_gif_frames_order_duration_and_loop(tmp_path):
    path = str(tmp_path / "p.gif")
    frames = [np.full((5, 6, 1), 40 * i, np.uint8) for i in range(4)]
    images.write_gif(path, frames, duration_ms=120)
    read = iio.imread(path)  # [frames, H, W, 3]
    assert read.shape == (4, 5, 6, 3)
    np.testing.assert_array_equal(read[:, 2, 3, 0], [0, 40, 80, 120])
    meta = iio.immeta(path)
    assert meta["duration"] == 120 and meta["loop"] == 0
    assert not os.path.exists(path + ".tmp")


def test_write_gif_rgb(tmp_path):
    path = str(tmp_path / "c.gif")
    red, blue = np.zeros((2, 4, 4, 3), np.uint8)
    red[..., 0] = 255
    blue[..., 2] = 255
    images.write_gif(path, [red, blue])
    read = iio.imread(path)
    np.testing.assert_array_equal(read[:, 0, 0], [[255, 0, 0], [0, 0, 255]])


def test_write_gif_of_three_grayscale_frames_is_three_frames(tmp_path):
    # Stacked, three [H, W] frames look like one [H, W, 3] image; they must stay frames.
    path = str(tmp_path / "g.gif")
    images.write_gif(path, [np.full((5, 4), v, np.uint8) for v in (10, 90, 170)])
    read = iio.imread(path)
    assert read.shape == (3, 5, 4, 3)
    np.testing.assert_array_equal(read[:, 0, 0, 0], [10, 90, 170])


@pytest.mark.parametrize(
    "frames", [[], [np.zeros((4, 4, 1), np.uint8), np.zeros((4, 5, 1), np.uint8)]]
)
def test_write_gif_refuses_no_frames_or_mixed_shapes(tmp_path, frames):
    with pytest.raises(ValueError, match="one or more frames of one shape"):
        images.write_gif(str(tmp_path / "x.gif"), frames)
    assert not os.listdir(tmp_path)


def test_a_caption_is_a_strip_of_white_text_above_the_unchanged_image():
    image = np.random.default_rng(0).integers(0, 256, (40, 150, 3), dtype=np.uint8)
    captioned = images.caption(image, "step 400")
    # A tenth of the width: 15 px.
    assert captioned.shape == (55, 150, 3) and captioned.dtype == np.uint8
    np.testing.assert_array_equal(captioned[15:], image)
    strip = captioned[:15]
    assert (strip == strip[..., :1]).all()  # gray: the same in every channel
    assert strip.max() == 255 and np.mean(strip == 0) > 0.5  # white text on black
    assert not np.array_equal(strip, images.caption(image, "step 800")[:15])
    gray = images.caption(image[..., 0], "step 400")  # [H, W] in, [strip + H, W, 1] out
    assert gray.shape == (55, 150, 1)
    np.testing.assert_array_equal(gray[..., 0], captioned[..., 0])
    assert images.caption(np.zeros((4, 4, 1), np.uint8), "step 9").shape == (16, 4, 1)
