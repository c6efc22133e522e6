"""Image grids and image files: NumPy in, PNG and GIF out.

Encoding is NumPy and imageio only; the encoded bytes are written through
``dcgan.io.storage``, so a file may go to any path TensorFlow's file system layer reads
(local, ``gs://…``).
"""

from __future__ import annotations

import math

import imageio.v3 as iio
import numpy as np

from dcgan.io import storage


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Maps images in [-1, 1] to uint8 [0, 255], clipping values outside the range."""
    scaled = (np.asarray(images, dtype=np.float32) + 1.0) * 127.5
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


def make_grid(images: np.ndarray, *, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """Tiles a batch of images into one image, row by row.

    Args:
        images: [N, H, W, C] in [-1, 1].
        columns: images per row; default ceil(sqrt(N)), a square for square N.
        padding: black pixels between images and around the border.

    Returns:
        uint8 [rows * (H + padding) + padding, columns * (W + padding) + padding, C].

    Raises:
        ValueError: if ``images`` is not a non-empty [N, H, W, C] batch.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"images must be a non-empty [N, H, W, C] batch, got {images.shape}")
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        dtype=np.uint8,
    )
    for index, image in enumerate(to_uint8(images)):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def write_png(path: str, image: np.ndarray) -> None:
    """Writes a uint8 [H, W, C] image (C = 1 or 3) as a PNG, atomically.

    The file appears complete or not at all: it is written beside ``path`` and renamed.

    Raises:
        tf.errors.OpError: if ``path`` cannot be written.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]  # imageio writes [H, W] as grayscale
    storage.write_bytes(path, iio.imwrite("<bytes>", image, extension=".png"))


def caption(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` under a black strip that holds ``text`` in white.

    The strip is a tenth of the image's width tall, at least 12 px, so the text reads on
    a small grid and keeps its proportion on a large one; text wider than the image is
    cut at its right edge.

    Args:
        image: uint8 ``[H, W]`` or ``[H, W, C]``.
        text: one line.

    Returns:
        uint8 ``[strip + H, W, C]``, ``image`` unchanged below the strip.
    """
    from PIL import Image, ImageDraw, ImageFont  # only the commands that caption need it

    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    height = max(12, image.shape[1] // 10)
    strip = Image.new("L", (image.shape[1], height), 0)
    font = ImageFont.load_default(size=max(8, int(height * 0.8)))
    ImageDraw.Draw(strip).text((2, height // 2), text, fill=255, font=font, anchor="lm")
    band = np.repeat(np.asarray(strip)[..., None], image.shape[2], axis=2)
    return np.concatenate([band, image.astype(np.uint8)], axis=0)


def write_gif(path: str, frames, *, duration_ms: int = 200) -> None:
    """Writes uint8 frames, each [H, W, C] (C = 1 or 3), as an endlessly looping GIF.

    The file appears complete or not at all, as with ``write_png``.

    Raises:
        ValueError: if there are no frames or they differ in shape.
    """
    frames = [np.asarray(frame) for frame in frames]
    if not frames or any(frame.shape != frames[0].shape for frame in frames):
        shapes = sorted({frame.shape for frame in frames})
        raise ValueError(f"a GIF needs one or more frames of one shape, got shapes {shapes}")
    if frames[0].ndim == 2:
        frames = [frame[..., None] for frame in frames]
    # Always [N, H, W, 3]: a stack of grayscale [H, W] frames is 3-D, which imageio
    # would read as one RGB(A) image when N happens to be 3 or 4.
    frames = [np.broadcast_to(frame, (*frame.shape[:2], 3)) for frame in frames]
    encoded = iio.imwrite(
        "<bytes>", np.stack(frames), extension=".gif", duration=duration_ms, loop=0
    )
    storage.write_bytes(path, encoded)
