"""How a step runs: the update schedules (``--updates``), XLA (``--jit_compile``), the
stop policy's halt, and the loop that waits for the device only at events
(``--profile_steps`` included).

Each schedule is checked against a computation written here with its own tapes and
plain SGD, on copies of the initial networks.
"""

import dataclasses
import glob

import keras
import numpy as np
import pytest
import tensorflow as tf
from configs import tiny_image
from test_trainer import (
    BATCH,
    LATENT,
    batches,
    changed,
    make_trainer,
    poisoned,
    replay_random,
    weights,
)

from dcgan.config import Config, ConfigError
from dcgan.gan import mlp, objective
from dcgan.gan.noise import NoiseDistribution
from dcgan.run import loop
from dcgan.step.trainer import Trainer

LR = 0.1


def sgd_trainer(updates, **options):
    keras.utils.set_random_seed(0)
    return Trainer(
        generator=mlp.mlp_generator(latent_dim=LATENT, output_dim=2, hidden_units=(16,)),
        discriminator=mlp.mlp_discriminator(input_dim=2, hidden_units=(16,)),
        g_optimizer=keras.optimizers.SGD(LR),
        d_optimizer=keras.optimizers.SGD(LR),
        objective=objective.build("dcgan"),
        noise=NoiseDistribution(name="normal", scale=1.0, shape=(LATENT,)),
        updates=updates,
        **options,
    )


def copy_of(model):
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def sgd(model, gradients):
    for variable, gradient in zip(model.trainable_variables, gradients, strict=True):
        variable.assign_sub(LR * gradient)


def d_loss(d, real, fake):
    return tf.reduce_mean(tf.nn.softplus(-d(real, training=True))) + tf.reduce_mean(
        tf.nn.softplus(d(fake, training=True))
    )


def g_loss(d, fake):
    return tf.reduce_mean(tf.nn.softplus(-d(fake, training=True)))


def expected_step(trainer, real, updates):
    """G's and D's weights after one step of ``updates``, and G's loss, computed here."""
    g, d = copy_of(trainer.generator), copy_of(trainer.discriminator)
    z = replay_random(trainer).normal([BATCH, LATENT])  # the step's one draw
    with tf.GradientTape(persistent=True) as tape:
        fake = g(z, training=True)
        d_value = d_loss(d, real, fake)
        g_value = g_loss(d, fake)  # D before its update
    d_gradients = tape.gradient(d_value, d.trainable_variables)
    g_gradients = tape.gradient(g_value, g.trainable_variables)
    sgd(d, d_gradients)
    if updates == "reuse_fakes":  # G's gradient through the updated D
        with tf.GradientTape() as tape:
            g_value = g_loss(d, g(z, training=True))
        g_gradients = tape.gradient(g_value, g.trainable_variables)
    sgd(g, g_gradients)
    return weights(g), weights(d), float(g_value)


@pytest.mark.parametrize("updates", ["reuse_fakes", "simultaneous"])
def test_one_step_matches_an_independent_computation(updates):
    trainer = sgd_trainer(updates)
    real = next(iter(batches()))
    g_weights, d_weights, g_value = expected_step(trainer, real, updates)
    one_draw = replay_random(trainer)
    one_draw.normal([BATCH, LATENT])
    metrics = trainer.train_step(iter(batches()))
    for got, want in zip(weights(trainer.generator), g_weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for got, want in zip(weights(trainer.discriminator), d_weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(metrics["g_loss"], g_value, rtol=1e-5)
    assert int(trainer.step.numpy()) == 1
    # One draw of z for the whole step.
    np.testing.assert_array_equal(trainer.noise_rng.state, one_draw.generator.state)


@pytest.mark.parametrize("updates", ["reuse_fakes", "simultaneous"])
def test_d_update_is_the_alternating_one(updates):
    """The schedules change what G's update sees, never D's: same draws, same update."""
    alternating, shared = sgd_trainer("alternating"), sgd_trainer(updates)
    alternating.train_step(iter(batches()))
    shared.train_step(iter(batches()))
    for a, b in zip(weights(alternating.discriminator), weights(shared.discriminator), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


OPTIONS = {
    "wgan-gp-ema": dict(loss="wgan-gp", g_ema_decay=0.9),
    "r1-every-2-skip": dict(penalty="r1", penalty_every=2, skip_nonfinite=True),
    "ragan": dict(loss="ragan"),
    "image-batch-norm-augment-pack": dict(image=True, diff_augment=("translation",), pack=2),
}


@pytest.mark.parametrize("updates", ["reuse_fakes", "simultaneous"])
@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_every_option_steps_in_one_trace(updates, options):
    trainer = make_trainer(updates=updates, **options)
    iterator = iter(batches(options.get("image", False)))
    trainer.train_step(iterator, tf.constant(2, tf.int64))
    metrics = trainer.train_step(iterator, tf.constant(1, tf.int64))
    assert int(trainer.step.numpy()) == 3
    assert all(np.isfinite(float(value)) for value in metrics.values())
    assert trainer.train_step.experimental_get_tracing_count() == 1


def test_reuse_fakes_skips_a_non_finite_d_update_and_still_updates_g():
    trainer = make_trainer(updates="reuse_fakes", skip_nonfinite=True)
    g_before, d_before = weights(trainer.generator), weights(trainer.discriminator)
    metrics = trainer.train_step(iter(poisoned(at=0)))
    assert int(metrics["nonfinite_updates"]) == 1
    assert int(trainer.d_optimizer.iterations.numpy()) == 0
    for before, after in zip(d_before, weights(trainer.discriminator), strict=True):
        np.testing.assert_array_equal(after, before)
    assert int(trainer.g_optimizer.iterations.numpy()) == 1
    assert changed(g_before, trainer.generator)


@pytest.mark.parametrize("updates", ["reuse_fakes", "simultaneous"])
def test_a_skipped_d_update_restores_ds_statistics_and_keeps_gs(updates):
    """Batch-norm nets: the NaN real batch spoils D's moving statistics, which the skip
    restores; G's, from the forward its applied update came from, stay."""
    trainer = make_trainer(image=True, updates=updates, skip_nonfinite=True)

    def state(model):
        return [v.numpy().copy() for v in model.non_trainable_variables]

    g_before, d_before = state(trainer.generator), state(trainer.discriminator)
    metrics = trainer.train_step(iter(poisoned(at=0, image=True)))
    assert int(metrics["nonfinite_updates"]) == 1
    assert int(trainer.d_optimizer.iterations.numpy()) == 0
    assert int(trainer.g_optimizer.iterations.numpy()) == 1
    g_after, d_after = state(trainer.generator), state(trainer.discriminator)
    assert all(np.all(np.isfinite(v)) for v in g_after + d_after)
    assert any(not np.array_equal(b, a) for b, a in zip(g_before, g_after, strict=True))
    if updates == "simultaneous":  # no D forward after the skip
        for before, after in zip(d_before, d_after, strict=True):
            np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("num_steps", [None, 3])
def test_stop_policy_halts_at_the_bad_step(num_steps):
    """Later calls do nothing, so a loop that reads the count only now and then still
    stops at the bad step, with that step's weights."""
    trainer = make_trainer()
    iterator = iter(poisoned(at=1))  # step 2 is bad
    count = None if num_steps is None else tf.constant(num_steps, tf.int64)
    calls = [trainer.train_step(iterator, count) for _ in range(4)]
    assert int(trainer.step.numpy()) == 2
    assert bool(trainer.halted.numpy())
    counted = int(trainer.nonfinite_updates.numpy())  # D's and G's updates of step 2
    assert counted == 2
    frozen = weights(trainer.discriminator)
    trainer.train_step(iterator, count)
    for before, after in zip(frozen, weights(trainer.discriminator), strict=True):
        np.testing.assert_array_equal(after, before)
    # The halted calls took no batch: the next one is batch 2.
    np.testing.assert_array_equal(next(iterator), next(iter(batches().skip(2))))
    assert float(calls[-1]["d_loss"]) == 0.0
    assert int(calls[-1]["nonfinite_updates"]) == counted
    assert trainer.train_step.experimental_get_tracing_count() == 1


@pytest.mark.parametrize(
    "options",
    [
        dict(loss="wgan", clip_value=0.05, g_ema_decay=0.9),
        dict(updates="reuse_fakes", penalty="r1"),
    ],
    ids=["wgan-ema", "reuse_fakes-r1"],
)
def test_jit_compiled_step_equals_the_plain_step(options):
    """XLA has random kernels of its own (other numbers from the same seed), so z is
    fixed at 0 here: everything else must be the same update."""
    plain, compiled = make_trainer(**options), make_trainer(jit_compile=True, **options)
    for trainer in (plain, compiled):
        trainer.gradients.noise_batch = lambda batch: tf.zeros(tf.stack([batch, LATENT]))
    one, two = iter(batches()), iter(batches())
    compiled.train_step(two, tf.constant(2, tf.int64))
    compiled.train_step(two, tf.constant(1, tf.int64))
    for _ in range(3):
        plain.train_step(one)
    for net in ("generator", "discriminator"):
        expected, got = getattr(plain, net), getattr(compiled, net)
        for a, b in zip(weights(expected), weights(got), strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, err_msg=net)
    assert compiled.tracing_counts() == {"train_step": 1, "generate": 0, "xla_step": 1}
    assert "xla_step" not in plain.tracing_counts()


def test_trainer_refuses_shared_fakes_with_several_critic_updates_and_jit_on_replicas():
    with pytest.raises(
        ValueError,
        match="cannot be used with n_critic=5; allowed: n_critic=1 train_order='d_first'",
    ):
        make_trainer(updates="reuse_fakes", n_critic=5)
    with pytest.raises(ValueError, match="'g_first'"):
        make_trainer(updates="simultaneous", train_order="g_first")
    with pytest.raises(ValueError, match="updates='sometimes' is invalid; allowed: alternating"):
        make_trainer(updates="sometimes")


@pytest.mark.parametrize(
    "fields, flag",
    [
        (dict(updates="reuse_fakes", n_critic=5), "--n_critic=5"),
        (dict(updates="simultaneous", train_order="g_first"), "--train_order=g_first"),
        (dict(updates="sometimes"), "--updates=sometimes"),
        (dict(jit_compile=True, strategy="mirrored"), "--jit_compile"),
        (dict(updates="reuse_fakes", strategy="mirrored"), "--updates=reuse_fakes"),
        (dict(profile_steps=(5,)), "--profile_steps=5"),
        (dict(profile_steps=(5, 3)), "--profile_steps=5,3"),
        (dict(profile_steps=(0, 11)), "--profile_steps=0,11"),
    ],
)
def test_config_refuses_bad_step_options_in_one_line(tmp_path, fields, flag):
    with pytest.raises(ConfigError) as raised:
        Config(workdir=str(tmp_path), dataset="ring2d", train_steps=10, **fields)
    message = str(raised.value)
    assert flag in message and "\n" not in message


def test_loop_waits_for_the_device_only_at_events():
    config = Config(
        workdir="unused",
        dataset="ring2d",
        train_steps=20,
        log_every=10,
        summary_every=5,
        image_every=20,
        checkpoint_every=20,
        profile_steps=(2, 3),
    )
    events = [s for s in range(1, 21) if loop._is_event(config, s)]
    assert events == [2, 3, 5, 10, 15, 20]
    config = dataclasses.replace(config, steps_per_loop=100)
    assert loop._steps_to_next_event(config, 0) == 2
    assert loop._steps_to_next_event(config, 3) == 2


def test_a_bad_step_between_events_stops_the_run_at_that_step(tmp_path, monkeypatch, capsys):
    from test_loop_reliability import poison_batch

    poison_batch(monkeypatch, at=4)  # step 5; the loop next reads the device at step 8
    config = tiny_image(
        str(tmp_path), train_steps=12, log_every=4, summary_every=4, checkpoint_every=4
    )
    with pytest.raises(loop.NonFiniteError) as raised:
        loop.train(config)
    message = str(raised.value)
    assert "non-finite d_loss=nan" in message and "at step 5;" in message
    assert "latest checkpoint is" in message and message.endswith("skips such updates instead")
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-4")
    assert "step 8/" not in capsys.readouterr().out


def test_profile_steps_write_a_trace_into_the_workdir(tmp_path, capsys):
    config = tiny_image(str(tmp_path), train_steps=4, profile_steps=(1, 3), steps_per_loop=4)
    loop.train(config)
    traces = glob.glob(str(tmp_path / "plugins" / "profile" / "*" / "*.xplane.pb"))
    assert len(traces) == 1
    assert f"profile of steps 1-3: written under {tmp_path / 'plugins' / 'profile'}" in (
        capsys.readouterr().out
    )
