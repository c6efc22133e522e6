"""The built-in glyph set: letters and digits rendered with Pillow's bundled font.

A small image set that needs no download, so the quickstart and the tests train on
images anywhere. The set is fixed for a given size (render seed 0), like a downloaded
dataset, and is rendered once per process.
"""

from __future__ import annotations

import functools
import string

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dcgan.data.common import DataError, check_int

GLYPH_SIZES = (28, 32, 64, 128)
GLYPH_CHARACTERS = string.ascii_uppercase + string.ascii_lowercase + string.digits
# The class names of the glyphs' labels: label k is the character GLYPH_CHARACTERS[k].
GLYPH_CLASS_NAMES = tuple(GLYPH_CHARACTERS)
_GLYPH_SCALE = (0.6, 1.0)
_GLYPH_GAIN = (1.5, 3.0)


# The size of the built-in set: 192 renderings of each of the 62 characters.
NUM_GLYPHS = 11_904


def render_glyphs(*, image_size: int, seed: int = 0, num_images: int = NUM_GLYPHS) -> np.ndarray:
    """Renders augmented letters and digits, white on black, with Pillow's bundled font.

    Image ``i`` shows character ``GLYPH_CHARACTERS[i % 62]`` at a random scale (capital
    letters are 0.6-1.0 of the frame tall; a glyph that would not fit is shrunk),
    a random shift that keeps the ink inside the frame, and a random brightness gain
    that saturates the strokes toward white. Results are cached in-process and
    returned read-only.

    Args:
        image_size: Side of the square images, one of :data:`GLYPH_SIZES`.
        seed: Seed for the augmentation draws.
        num_images: How many images to make.

    Returns:
        A read-only uint8 array of shape ``[num_images, image_size, image_size, 1]``.

    Raises:
        DataError: If ``image_size`` is unsupported or ``num_images`` is not positive.
    """
    check_int("image_size", image_size, minimum=1)
    if image_size not in GLYPH_SIZES:
        raise DataError(
            f"glyphs: image_size {image_size!r} is not supported; use one of "
            f"{', '.join(map(str, GLYPH_SIZES))}"
        )
    check_int("seed", seed, minimum=0)
    check_int("num_images", num_images, minimum=1)
    return _render_glyphs_cached(image_size, seed, num_images)


def glyph_labels(num_images: int = NUM_GLYPHS) -> np.ndarray:
    """The class of each image ``render_glyphs`` renders: int64 ``[num_images]``, image
    ``i`` shows character ``i % 62``, the index of its name in :data:`GLYPH_CLASS_NAMES`."""
    return np.arange(num_images, dtype=np.int64) % len(GLYPH_CHARACTERS)


@functools.lru_cache(maxsize=4)
def _render_glyphs_cached(image_size: int, seed: int, num_images: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Draw everything up front so each image's randomness does not depend on glyph sizes.
    scales = rng.uniform(*_GLYPH_SCALE, size=num_images)
    gains = rng.uniform(*_GLYPH_GAIN, size=num_images)
    shifts = rng.uniform(size=(num_images, 2))

    reference = ImageFont.load_default(size=100).getbbox("H")
    cap_height_per_point = (reference[3] - reference[1]) / 100

    # Local caches: a few thousand (character, size) masks are reused across images
    # but are not worth keeping after the set is rendered.
    fonts: dict[int, ImageFont.FreeTypeFont] = {}
    masks: dict[tuple[str, int], np.ndarray] = {}

    def glyph_mask(char: str, point_size: int) -> np.ndarray:
        while True:
            if point_size not in fonts:
                fonts[point_size] = ImageFont.load_default(size=point_size)
            font = fonts[point_size]
            left, top, right, bottom = font.getbbox(char)
            if (right - left <= image_size and bottom - top <= image_size) or point_size == 1:
                break
            point_size -= 1
        canvas = Image.new("L", (right - left, bottom - top))
        ImageDraw.Draw(canvas).text((-left, -top), char, fill=255, font=font)
        return np.asarray(canvas, np.float32)

    images = np.zeros((num_images, image_size, image_size, 1), np.uint8)
    for i in range(num_images):
        char = GLYPH_CHARACTERS[i % len(GLYPH_CHARACTERS)]
        point_size = round(scales[i] * image_size / cap_height_per_point)
        if (char, point_size) not in masks:
            masks[char, point_size] = glyph_mask(char, point_size)
        glyph = masks[char, point_size]
        height, width = glyph.shape
        top = int(shifts[i, 0] * (image_size - height + 1))
        left = int(shifts[i, 1] * (image_size - width + 1))
        bright = np.minimum(glyph * gains[i], 255.0).astype(np.uint8)
        images[i, top : top + height, left : left + width, 0] = bright
    images.flags.writeable = False
    return images
