"""DiffAugment against NumPy re-implementations fed the generator's own next draws.

Each test copies the generator, draws from the copy what ``diff_augment`` documents it
draws (per transform, in AUGMENTATIONS order), and rebuilds the expected images in NumPy.
"""

import numpy as np
import pytest
import tensorflow as tf

from dcgan.gan.augment import diff_augment
from dcgan.gan.choices import AUGMENTATIONS

SEED = 7


def make_images(shape, seed=0):
    """Distinct non-zero values in [-1, 1], so a moved or zeroed pixel is recognizable."""
    count = int(np.prod(shape))
    values = (np.arange(count) + 1) / count
    generator = np.random.default_rng(seed)
    values = values * generator.choice([-1.0, 1.0], count)
    return generator.permutation(values).reshape(shape).astype(np.float32)


def copy_of(rng):
    """A generator that will draw what ``rng`` draws next."""
    return tf.random.Generator.from_state(rng.state.numpy(), rng.algorithm)


def draw_color(rng, batch):
    """u1, u2, u3: [B] each, float64."""
    return [rng.uniform([batch]).numpy().astype(np.float64) for _ in range(3)]


def draw_integers(rng, batch, low, high):
    return rng.uniform([batch], minval=low, maxval=high, dtype=tf.int32).numpy()


def draw_translation(rng, batch, height, width):
    """dy, dx: [B] each, in [-s, s] with s = int(size * 1/8 + 0.5)."""
    reaches = [int(size * 1 / 8 + 0.5) for size in (height, width)]
    return [draw_integers(rng, batch, -reach, reach + 1) for reach in reaches]


def draw_cutout(rng, batch, height, width):
    """The cut's first row and column: [B] each, possibly negative."""
    starts = []
    for size in (height, width):
        length = int(size * 1 / 2 + 0.5)
        offset = draw_integers(rng, batch, 0, size + (1 - length % 2))
        starts.append(offset - length // 2)
    return starts


def np_color(x, u1, u2, u3):
    x = x.astype(np.float64) + (u1 - 0.5)[:, None, None, None]
    mean = x.mean(axis=3, keepdims=True)
    x = (x - mean) * (2 * u2)[:, None, None, None] + mean
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return (x - mean) * (u3 + 0.5)[:, None, None, None] + mean


def np_translate(x, dy, dx):
    """out[b, i, j] = x[b, i - dy, j - dx], 0 outside the image."""
    out = np.zeros_like(x)
    _, height, width, _ = x.shape
    for b in range(x.shape[0]):
        for i in range(height):
            for j in range(width):
                if 0 <= i - dy[b] < height and 0 <= j - dx[b] < width:
                    out[b, i, j] = x[b, i - dy[b], j - dx[b]]
    return out


def np_kept_by_translation(shape, dy, dx):
    """1 where x[b, i, j] reaches the output (at i + dy, j + dx), else 0: [B, H, W, 1]."""
    _, height, width, _ = shape
    rows = np.arange(height)[None, :] + dy[:, None]
    columns = np.arange(width)[None, :] + dx[:, None]
    rows_in = (rows >= 0) & (rows < height)
    columns_in = (columns >= 0) & (columns < width)
    return (rows_in[:, :, None] & columns_in[:, None, :])[..., None].astype(np.float64)


def np_cutout_keep(shape, top, left):
    """0 inside each example's cut square (clipped to the image), 1 elsewhere: [B, H, W, 1]."""
    batch, height, width, _ = shape
    cut_height, cut_width = int(height * 1 / 2 + 0.5), int(width * 1 / 2 + 0.5)
    keep = np.ones((batch, height, width, 1))
    for b in range(batch):
        keep[b, max(top[b], 0) : top[b] + cut_height, max(left[b], 0) : left[b] + cut_width] = 0
    return keep


def augment(x, policy, rng):
    return diff_augment(tf.constant(x), policy, rng).numpy()


@pytest.mark.parametrize("shape", [(4, 8, 8, 3), (4, 8, 8, 1)])
def test_color_matches_numpy(shape):
    x = make_images(shape)
    rng = tf.random.Generator.from_seed(SEED)
    u1, u2, u3 = draw_color(copy_of(rng), shape[0])
    np.testing.assert_allclose(augment(x, ["color"], rng), np_color(x, u1, u2, u3), atol=1e-5)


@pytest.mark.parametrize("shape", [(16, 8, 8, 3), (16, 8, 16, 1), (16, 16, 24, 2)])
def test_translation_matches_numpy(shape):
    x = make_images(shape)
    rng = tf.random.Generator.from_seed(SEED)
    dy, dx = draw_translation(copy_of(rng), *shape[:3])
    out = augment(x, ["translation"], rng)
    np.testing.assert_array_equal(out, np_translate(x, dy, dx))
    # Without the draws: every output value is an input value of its example or 0, and
    # the one shift that explains each example is within [-s, s].
    for b in range(shape[0]):
        assert np.isin(out[b], np.append(x[b], 0.0)).all()
        found = [
            (i, j)
            for i in range(1 - shape[1], shape[1])
            for j in range(1 - shape[2], shape[2])
            if np.array_equal(np_translate(x[b : b + 1], [i], [j])[0], out[b])
        ]
        assert len(found) == 1
        (i, j) = found[0]
        assert abs(i) <= int(shape[1] / 8 + 0.5) and abs(j) <= int(shape[2] / 8 + 0.5)


@pytest.mark.parametrize("shape", [(16, 8, 8, 3), (16, 7, 9, 1)])
def test_cutout_matches_numpy(shape):
    x = make_images(shape)
    rng = tf.random.Generator.from_seed(SEED)
    top, left = draw_cutout(copy_of(rng), *shape[:3])
    out = augment(x, ["cutout"], rng)
    np.testing.assert_array_equal(out, x * np_cutout_keep(shape, top, left))
    # Zeroed pixels per example: the square's side, in rows and columns, clipped to the
    # image; a square fully inside (centered case) zeroes exactly side * side * C.
    cut_height, cut_width = int(shape[1] * 1 / 2 + 0.5), int(shape[2] * 1 / 2 + 0.5)
    rows = np.minimum(top + cut_height, shape[1]) - np.maximum(top, 0)
    columns = np.minimum(left + cut_width, shape[2]) - np.maximum(left, 0)
    np.testing.assert_array_equal((out == 0).sum(axis=(1, 2, 3)), rows * columns * shape[3])
    centered = (rows == cut_height) & (columns == cut_width)
    assert centered.any() and not centered.all()  # this seed draws both cases
    assert ((out[centered] == 0).sum(axis=(1, 2, 3)) == cut_height * cut_width * shape[3]).all()


def test_all_transforms_draw_in_policies_order():
    # What a resumed run relies on: color's three uniforms, then translation's dy, dx,
    # then cutout's row and column offsets, each [B].
    shape = (4, 8, 8, 3)
    x = make_images(shape)
    rng = tf.random.Generator.from_seed(SEED)
    draws = copy_of(rng)
    colored = np_color(x, *draw_color(draws, 4))
    moved = np_translate(colored, *draw_translation(draws, 4, 8, 8))
    expected = moved * np_cutout_keep(shape, *draw_cutout(draws, 4, 8, 8))
    np.testing.assert_allclose(augment(x, AUGMENTATIONS, rng), expected, atol=1e-5)
    np.testing.assert_array_equal(rng.state.numpy(), draws.state.numpy())


@pytest.mark.parametrize("policy", [("translation",), AUGMENTATIONS])
@pytest.mark.parametrize("static_size", [True, False])
def test_dynamic_batch_inside_tf_function(policy, static_size):
    height, width, channels = 8, 16, 3
    size = [height, width] if static_size else [None, None]
    rng = tf.random.Generator.from_seed(SEED)

    @tf.function(input_signature=[tf.TensorSpec([None, *size, channels], tf.float32)])
    def traced(images):
        return diff_augment(images, policy, rng)

    assert traced.get_concrete_function().output_shapes.as_list() == [None, *size, channels]
    for batch in (4, 3):
        x = make_images((batch, height, width, channels), seed=batch)
        eager = augment(x, policy, copy_of(rng))
        np.testing.assert_allclose(traced(tf.constant(x)).numpy(), eager, atol=1e-6)


@pytest.mark.parametrize("policy", [("color",), ("translation",), ("cutout",), AUGMENTATIONS])
def test_gradient_is_finite(policy):
    x = tf.constant(make_images((4, 8, 8, 3)))
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(diff_augment(x, policy, tf.random.Generator.from_seed(SEED)))
    gradient = tape.gradient(total, x).numpy()
    assert gradient.shape == x.shape and np.isfinite(gradient).all()


@pytest.mark.parametrize(
    "name, draw, kept",
    [
        ("translation", draw_translation, np_kept_by_translation),
        ("cutout", draw_cutout, np_cutout_keep),
    ],
)
def test_gradient_is_one_on_the_pixels_that_reach_the_output(name, draw, kept):
    shape = (4, 8, 8, 3)
    x = tf.constant(make_images(shape))
    rng = tf.random.Generator.from_seed(SEED)
    expected = np.broadcast_to(kept(shape, *draw(copy_of(rng), *shape[:3])), shape)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(diff_augment(x, [name], rng))
    gradient = tf.convert_to_tensor(tape.gradient(total, x)).numpy()
    assert set(np.unique(gradient)) <= {0.0, 1.0}
    np.testing.assert_array_equal(gradient, expected)


def test_color_gradient_matches_analytic():
    # Color is affine in x. For a loss sum(w * out), going back through contrast c and
    # saturation s (brightness adds a constant):
    #   g = c w + (1 - c) mean_HWC(w);   dL/dx = s g + (1 - s) mean_C(g).
    shape = (4, 8, 8, 3)
    x = tf.constant(make_images(shape))
    weights = make_images(shape, seed=1).astype(np.float64)
    rng = tf.random.Generator.from_seed(SEED)
    _, u2, u3 = draw_color(copy_of(rng), shape[0])
    saturation, contrast = (2 * u2)[:, None, None, None], (u3 + 0.5)[:, None, None, None]
    g = contrast * weights + (1 - contrast) * weights.mean(axis=(1, 2, 3), keepdims=True)
    expected = saturation * g + (1 - saturation) * g.mean(axis=3, keepdims=True)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(tf.constant(weights, tf.float32) * diff_augment(x, ["color"], rng))
    np.testing.assert_allclose(tape.gradient(total, x).numpy(), expected, atol=1e-5)


def test_same_state_same_output_and_advanced_state_differs():
    x = make_images((4, 8, 8, 3))
    rng = tf.random.Generator.from_seed(SEED)
    again = copy_of(rng)
    first = augment(x, AUGMENTATIONS, rng)
    np.testing.assert_array_equal(augment(x, AUGMENTATIONS, again), first)
    assert not np.allclose(augment(x, AUGMENTATIONS, rng), first)  # rng has moved on


def test_policy_order_does_not_matter():
    x = make_images((4, 8, 8, 3))
    rng = tf.random.Generator.from_seed(SEED)
    listed = augment(x, ["cutout", "translation", "color"], copy_of(rng))
    np.testing.assert_array_equal(listed, augment(x, AUGMENTATIONS, rng))


@pytest.mark.parametrize("dtype, atol", [(tf.float16, 1e-2), (tf.bfloat16, 5e-2)])
def test_dtype_is_kept(dtype, atol):
    x = make_images((4, 8, 8, 3))
    rng = tf.random.Generator.from_seed(SEED)
    expected = augment(x, AUGMENTATIONS, copy_of(rng))
    out = diff_augment(tf.cast(x, dtype), AUGMENTATIONS, rng)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_allclose(tf.cast(out, tf.float32).numpy(), expected, atol=atol)


def test_empty_policy_is_identity_and_draws_nothing():
    x = make_images((4, 8, 8, 3))
    rng = tf.random.Generator.from_seed(SEED)
    state = rng.state.numpy()
    np.testing.assert_array_equal(augment(x, [], rng), x)
    np.testing.assert_array_equal(rng.state.numpy(), state)


@pytest.mark.parametrize(
    "shape, policy, error, quoted",
    [
        ((4, 8, 8, 3), ["color", "flip"], ValueError, "'flip'"),
        ((4, 8, 8, 3), ["cutout", "color", "cutout"], ValueError, "'cutout' appears twice"),
        ((8, 8, 3), ["color"], ValueError, "(8, 8, 3)"),
        ((2, 4, 8, 8, 3), [], ValueError, "(2, 4, 8, 8, 3)"),
        ((4, 8, 8, 3), "color", TypeError, "'color'"),
    ],
)
def test_errors_quote_the_value(shape, policy, error, quoted):
    with pytest.raises(error, match=r"\['color', 'translation', 'cutout'\]|shape") as raised:
        diff_augment(tf.zeros(shape), policy, tf.random.Generator.from_seed(SEED))
    assert quoted in str(raised.value)
