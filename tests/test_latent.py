"""dcgan.gan.latent: interpolation paths checked against points worked out by hand."""

import numpy as np
import pytest

from dcgan.gan import latent


def test_linear_interpolation():
    points = latent.interpolate(np.array([0.0, 2.0]), np.array([4.0, -2.0]), 5, method="linear")
    np.testing.assert_allclose(points, [[0, 2], [1, 1], [2, 0], [3, -1], [4, -2]])
    assert points.dtype == np.float32


def test_slerp_walks_the_circle_at_constant_speed():
    # From (2, 0) to (0, 2): 90 degrees in equal steps of 15, at radius 2 throughout.
    points = latent.interpolate(np.array([2.0, 0.0]), np.array([0.0, 2.0]), 7, method="slerp")
    angles = np.degrees(np.arctan2(points[:, 1], points[:, 0]))
    np.testing.assert_allclose(angles, np.arange(0, 91, 15), atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 2.0, rtol=1e-6)
    # Unequal norms: the midpoint is sin(45 deg) / sin(90 deg) * ((1, 0) + (0, 3)).
    middle = latent.interpolate(np.array([1.0, 0.0]), np.array([0.0, 3.0]), 3, method="slerp")[1]
    np.testing.assert_allclose(middle, [np.sqrt(0.5), 3 * np.sqrt(0.5)], rtol=1e-6)


def test_slerp_of_unit_vectors_stays_on_the_sphere_and_linear_does_not():
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])
    slerp = latent.interpolate(a, b, 9, method="slerp")
    np.testing.assert_allclose(np.linalg.norm(slerp, axis=1), 1.0, rtol=1e-6)
    linear = latent.interpolate(a, b, 9, method="linear")
    assert np.linalg.norm(linear[4]) == pytest.approx(np.sqrt(0.5))


def test_slerp_of_parallel_vectors_is_linear_and_shapes_are_kept():
    a = np.ones((2, 2, 1))
    points = latent.interpolate(a, 3 * a, 3, method="slerp")
    assert points.shape == (3, 2, 2, 1)
    np.testing.assert_allclose(points[1], 2 * a)


@pytest.mark.parametrize(
    "args, message",
    [
        (([0.0], [1.0], 3, "cubic"), "method='cubic' is not supported; allowed: slerp, linear"),
        (([0.0], [1.0, 2.0], 3, "linear"), "must have the same shape"),
        (([0.0], [1.0], 1, "linear"), "steps=1 is not supported"),
    ],
)
def test_errors(args, message):
    start, end, steps, method = args
    with pytest.raises(ValueError, match=message):
        latent.interpolate(np.array(start), np.array(end), steps, method=method)
