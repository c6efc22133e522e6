"""The objective registry: what each loss family binds, against hand-computed values."""

import dataclasses
import inspect
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from runner import CHILD_TIMEOUT

from dcgan.config import Config
from dcgan.gan import losses, objective


def np_log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def test_importing_the_registry_loads_no_tensorflow():
    # dcgan.config reads FAMILIES to check flags before TensorFlow has loaded.
    code = "import sys, dcgan.objective; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=CHILD_TIMEOUT)


def test_dcgan_family():
    dcgan = objective.build("dcgan", generator_loss="minimax", label_smoothing=0.1)
    assert dcgan.generator_loss is losses.minimax_generator_loss
    real_loss, _ = dcgan.discriminator_loss(tf.constant([3.0]), tf.constant([0.0]))
    # Target 0.9: -(0.9 log s(3) + 0.1 log(1 - s(3))) = -log s(3) + 0.1 * 3.
    np.testing.assert_allclose(real_loss, [-np_log_sigmoid(3.0) + 0.3], rtol=1e-5)
    assert dcgan.penalties == () and dcgan.clip_value == 0 and not dcgan.critic
    default = objective.build("dcgan")
    assert default.generator_loss is losses.non_saturating_generator_loss


def test_wgan_families():
    wgan = objective.build("wgan", clip_value=0.02)
    assert wgan.clip_value == 0.02 and wgan.penalties == () and wgan.critic
    assert wgan.generator_loss is losses.wasserstein_generator_loss
    assert wgan.discriminator_loss is losses.wasserstein_discriminator_loss
    wgan_gp = objective.build("wgan-gp", gp_weight=5.0)
    assert wgan_gp.clip_value == 0 and wgan_gp.critic
    (penalty,) = wgan_gp.penalties
    assert (penalty.name, penalty.weight) == ("gradient_penalty", 5.0)


def test_penalty_functions_compute_the_losses_penalties():
    # Critic f(x) = 3 x0 - 4 x1: gradient norm 5 everywhere, so GP = (5 - 1)^2 = 16 and
    # R1 = 25 per example.
    def critic(x):
        return tf.reduce_sum(x * tf.constant([3.0, -4.0]), axis=1, keepdims=True)

    real = tf.constant([[1.0, 2.0], [0.0, -1.0]])
    fake = tf.constant([[0.5, 0.5], [2.0, 2.0]])
    rng = tf.random.Generator.from_seed(0)
    (gp,) = objective.build("wgan-gp").penalties
    np.testing.assert_allclose(gp.function(critic, real, fake, rng), [16.0, 16.0], rtol=1e-5)
    (r1,) = objective.build("dcgan", penalty="r1", penalty_weight=4.0).penalties
    assert (r1.name, r1.weight, r1.every) == ("r1_penalty", 2.0, 1)  # gamma / 2
    np.testing.assert_allclose(r1.function(critic, real, fake, rng), [25.0, 25.0], rtol=1e-6)
    (r2,) = objective.build("hinge", penalty="r2", penalty_weight=4.0).penalties
    assert (r2.name, r2.weight) == ("r2_penalty", 2.0)
    np.testing.assert_allclose(r2.function(critic, real, fake, rng), [25.0, 25.0], rtol=1e-6)
    # WGAN-LP's one-sided penalty equals GP's above norm 1: (5 - 1)^2.
    (lp,) = objective.build("wgan", clip_value=0.0, penalty="lp", penalty_weight=3.0).penalties
    assert (lp.name, lp.weight) == ("lipschitz_penalty", 3.0)
    np.testing.assert_allclose(lp.function(critic, real, fake, rng), [16.0, 16.0], rtol=1e-5)


# Each penalty's value for a critic with gradient norm 5: GP and LP (5 - 1)^2, R1 and R2 5^2.
NORM_5_VALUES = {"gp": 16.0, "lp": 16.0, "r1": 25.0, "r2": 25.0}


@pytest.mark.parametrize("name", objective.PENALTIES)
def test_penalty_functions_pass_inner_scale_to_the_loss(name):
    # A float16 critic f(x) = 3 x0 - 4 x1, as a float16 D computes: its inner gradient,
    # the seed times (3, -4), holds in float16 (largest 65504) for a seed of 2**10 and
    # overflows for 2**15 (4 * 2**15 = 131072).
    def critic(x):
        x = tf.cast(x, tf.float16)
        return tf.cast(tf.reduce_sum(x * tf.constant([3.0, -4.0], tf.float16), axis=1), tf.float32)

    real = tf.constant([[1.0, 2.0], [0.0, -1.0]])
    fake = tf.constant([[0.5, 0.5], [2.0, 2.0]])
    function = objective.PENALTIES[name].function
    for scale in (1.0, 2.0**10, tf.constant(2.0**10)):
        value = function(critic, real, fake, tf.random.Generator.from_seed(0), inner_scale=scale)
        assert value.dtype == tf.float32
        np.testing.assert_allclose(value, [NORM_5_VALUES[name]] * 2, rtol=1e-6)
    # The default is 1.0.
    value = function(critic, real, fake, tf.random.Generator.from_seed(0))
    np.testing.assert_allclose(value, [NORM_5_VALUES[name]] * 2, rtol=1e-6)
    # 2**15 reaches the loss: the float16 gradient overflows.
    overflowed = function(critic, real, fake, tf.random.Generator.from_seed(0), inner_scale=2.0**15)
    assert not np.any(np.isfinite(overflowed.numpy()))


def test_penalty_every_applies_to_every_penalty():
    (gp,) = objective.build("wgan-gp", gp_weight=2.0, penalty_every=4).penalties
    assert (gp.weight, gp.every) == (2.0, 4)
    (r1,) = objective.build("dcgan", penalty="r1", penalty_every=16).penalties
    assert (r1.weight, r1.every) == (5.0, 16)


def test_new_families_bind_their_losses():
    hinge = objective.build("hinge")
    assert hinge.critic and hinge.generator_loss is losses.hinge_generator_loss
    real_loss, fake_loss = hinge.discriminator_loss(tf.constant([0.5]), tf.constant([-2.0]))
    np.testing.assert_allclose([real_loss[0], fake_loss[0]], [0.5, 0.0])
    lsgan = objective.build("lsgan", lsgan_targets=(1.0, -1.0, 0.0))
    real_loss, fake_loss = lsgan.discriminator_loss(tf.constant([0.0]), tf.constant([0.0]))
    np.testing.assert_allclose([real_loss[0], fake_loss[0]], [0.5, 0.5])  # (0 -+ 1)^2 / 2
    np.testing.assert_allclose(lsgan.generator_loss(tf.constant([2.0])), [2.0])  # 2^2 / 2
    ragan = objective.build("ragan")
    assert ragan.generator_needs_real and not ragan.critic
    g_loss = ragan.generator_loss(tf.constant([0.0, 0.0]), tf.constant([0.0, 0.0]))
    np.testing.assert_allclose(g_loss, [2 * np.log(2.0)] * 2, rtol=1e-6)


@pytest.mark.parametrize(
    "loss, options, real, fake, expected",
    [
        # dcgan and hinge: the sign is the verdict: r = [1, -1] right, wrong; f = [-2, 3].
        ("dcgan", {}, [1.0, -1.0], [-2.0, 3.0], {"d_accuracy": 0.5}),
        ("hinge", {}, [1.0, 2.0], [-2.0, -3.0], {"d_accuracy": 1.0}),
        # lsgan with targets 1, 0: nearer 1 is "real"; 0.4 and 0.6 are each wrong once.
        ("lsgan", {}, [0.9, 0.4], [0.6, 0.1], {"d_accuracy": 0.5}),
        # ragan: real [3, 0] against mean(f) = 1; fake [2, 0] against mean(r) = 1.5.
        ("ragan", {}, [3.0, 0.0], [2.0, 0.0], {"d_accuracy": 0.5}),
        ("wgan", {}, [3.0, 1.0], [0.0, -2.0], {"wasserstein_estimate": 3.0}),
    ],
)
def test_d_metrics_give_each_familys_verdict(loss, options, real, fake, expected):
    metrics = objective.build(loss, **options).d_metrics(tf.constant(real), tf.constant(fake))
    assert set(metrics) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(float(metrics[name]), value)


def test_d_of_x():
    classifier = objective.build("dcgan")
    np.testing.assert_allclose(
        classifier.d_of_x(np.array([0.0, 2.0, -800.0])), [0.5, 1 / (1 + np.exp(-2.0)), 0.0]
    )
    critic = objective.build("wgan")
    np.testing.assert_allclose(critic.d_of_x(np.array([-3.0, 1.0, 5.0])), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(critic.d_of_x(np.array([2.0, 2.0])), [0.0, 0.0])  # flat


def test_every_family_declares_exactly_the_options_its_builder_takes():
    # Config refuses a flag the family does not list: a listed option the builder does
    # not take would crash the builder, an unlisted one could never be set.
    for name, family in objective.FAMILIES.items():
        assert tuple(inspect.signature(family.make).parameters) == family.options, name
        assert objective.build(name).name == name  # every option has a default


def test_every_family_option_is_a_config_field():
    # The builder hands a family its options from the run's Config, by name.
    fields = {field.name for field in dataclasses.fields(Config)}
    for name, family in objective.FAMILIES.items():
        assert set(family.options) <= fields, name


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: objective.build("lsgan2"), r"loss='lsgan2' is not one of \['dcgan', 'wgan', "),
        (lambda: objective.build("dcgan", generator_loss="hinge"), "generator_loss='hinge'"),
        (lambda: objective.build("dcgan", penalty="l2"), r"penalty='l2' is invalid; allowed: none"),
        (lambda: objective.build("dcgan", penalty="r1", penalty_weight=0.0), "penalty_weight=0.0"),
        (lambda: objective.build("dcgan", penalty_every=0), "penalty_every=0"),
        (
            lambda: objective.build("wgan-gp", penalty="r1"),
            r"penalty='r1' cannot be used with loss='wgan-gp', which has its gradient penalty",
        ),
        (lambda: objective.build("lsgan", lsgan_targets=(1.0, 1.0, 0.0)), r"lsgan_targets="),
        (
            lambda: objective.build("wgan", label_smoothing=0.1),
            r"label_smoothing does not apply to loss 'wgan'; it takes \['clip_value'\]",
        ),
        (lambda: objective.build("dcgan", label_smoothing=1.0), r"label_smoothing=1.0"),
        (lambda: objective.build("wgan", clip_value=-1.0), r"clip_value=-1.0"),
        (lambda: objective.build("wgan-gp", gp_weight=-1.0), r"gp_weight=-1.0"),
    ],
)
def test_bad_arguments_name_the_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()
