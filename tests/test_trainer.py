"""The compiled train step: update schedule, metrics, clipping, tracing, checkpointing."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from configs import STEP_METRICS

from dcgan.config import Config
from dcgan.distribute.replicas import ReplicaRandom
from dcgan.gan import mlp, models, objective
from dcgan.gan.noise import NoiseDistribution
from dcgan.run.builder import build_optimizer, build_trainer
from dcgan.step.gradients import pack_samples
from dcgan.step.trainer import Trainer

LATENT = 4
BATCH = 8


def make_trainer(
    *,
    image=False,
    seed=0,
    lr=1e-2,
    loss="dcgan",
    noise="normal",
    noise_scale=1.0,
    spectral_norm=False,
    g_spectral_norm=False,
    pack=1,
    **options,
):
    """A tiny trainer; ``options`` are the objective's options and the step options."""
    # Options of any family go to the objective, which refuses another family's.
    known = {name for family in objective.FAMILIES.values() for name in family.options}
    known |= {"penalty", "penalty_weight", "penalty_every"}
    objective_options = {name: options.pop(name) for name in known & set(options)}
    keras.utils.set_random_seed(seed)
    if image:
        penalized = loss == "wgan-gp" or "penalty" in objective_options
        generator = models.dcgan_generator(
            image_size=28, channels=1, latent_dim=LATENT, base_width=4
        )
        discriminator = models.dcgan_discriminator(
            image_size=28,
            channels=pack,
            base_width=4,
            norm="none" if penalized else "batch",
            spectral_norm=spectral_norm,
        )
    else:
        generator = mlp.mlp_generator(
            latent_dim=LATENT, output_dim=2, hidden_units=(16,), spectral_norm=g_spectral_norm
        )
        discriminator = mlp.mlp_discriminator(
            input_dim=2 * pack, hidden_units=(16,), spectral_norm=spectral_norm
        )
    return Trainer(
        generator=generator,
        discriminator=discriminator,
        g_optimizer=keras.optimizers.Adam(lr),
        d_optimizer=keras.optimizers.Adam(lr),
        objective=objective.build(loss, **objective_options),
        noise=NoiseDistribution(name=noise, scale=noise_scale, shape=(LATENT,)),
        seed=seed,
        num_fixed_samples=16,
        pack=pack,
        **options,
    )


def batches(image=False):
    """Batch i is a distinct, fixed function of i: the order of consumption is visible."""
    shape = [BATCH, 28, 28, 1] if image else [BATCH, 2]

    def batch(i):
        return tf.tanh(
            tf.random.stateless_normal(shape, seed=tf.stack([i, tf.constant(0, tf.int64)]))
        )

    return tf.data.Dataset.range(10_000).map(batch)


def weights(model):
    return [v.numpy().copy() for v in model.trainable_variables]


def changed(before, model):
    return any(
        not np.array_equal(b, v.numpy())
        for b, v in zip(before, model.trainable_variables, strict=True)
    )


@pytest.mark.parametrize("loss", ["dcgan", "wgan", "wgan-gp"])
def test_one_trace_per_run(loss):
    trainer = make_trainer(loss=loss, n_critic=2)
    iterator = iter(batches())
    for _ in range(3):
        trainer.train_step(iterator)
    assert trainer.train_step.experimental_get_tracing_count() == 1
    assert int(trainer.step.numpy()) == 3


def test_one_trace_with_batch_norm_image_nets():
    trainer = make_trainer(image=True, n_critic=2)
    iterator = iter(batches(image=True))
    for _ in range(2):
        trainer.train_step(iterator)
    trainer.generate(trainer.fixed_noise)
    trainer.generate(trainer.fixed_noise[:3])
    assert trainer.train_step.experimental_get_tracing_count() == 1
    assert trainer.tracing_counts()["generate"] == 1


def test_n_critic_updates_and_batches_consumed():
    trainer = make_trainer(n_critic=3)
    iterator = iter(batches())
    trainer.train_step(iterator)
    assert int(trainer.d_optimizer.iterations.numpy()) == 3
    assert int(trainer.g_optimizer.iterations.numpy()) == 1
    assert int(trainer.step.numpy()) == 1
    # One real batch per D update: the next batch the iterator yields is batch 3.
    np.testing.assert_array_equal(next(iterator), next(iter(batches().skip(3))))


def test_discriminator_update_changes_only_d_and_generator_update_only_g():
    trainer = make_trainer()
    real = next(iter(batches()))
    for _ in range(3):
        g_before, d_before = weights(trainer.generator), weights(trainer.discriminator)
        trainer.discriminator_update(real)
        assert changed(d_before, trainer.discriminator)
        assert not changed(g_before, trainer.generator)
    g_before, d_before = weights(trainer.generator), weights(trainer.discriminator)
    trainer.generator_update(real)
    assert changed(g_before, trainer.generator)
    assert not changed(d_before, trainer.discriminator)


@pytest.mark.parametrize("train_order", ["d_first", "g_first"])
def test_compiled_step_equals_updates_in_order(train_order):
    # The compiled step must be exactly: n_critic D updates, each on its own batch, and
    # one G update, before or after them. Replay that schedule eagerly on a twin.
    compiled = make_trainer(n_critic=3, train_order=train_order)
    manual = make_trainer(n_critic=3, train_order=train_order)
    compiled.train_step(iter(batches()))
    reals = list(batches().take(3))
    if train_order == "g_first":
        manual.generator_update(reals[0])
    for real in reals:
        manual.discriminator_update(real)
    if train_order == "d_first":
        manual.generator_update(reals[0])
    for a, b in zip(
        compiled.generator.weights + compiled.discriminator.weights,
        manual.generator.weights + manual.discriminator.weights,
        strict=True,
    ):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def replay_random(trainer):
    """A copy of the trainer's source of random numbers: it draws what the next update will."""
    state = trainer.noise_rng.state.numpy()
    return ReplicaRandom(tf.random.Generator.from_state(state, trainer.noise_rng.algorithm))


def softplus(x):
    return np.logaddexp(0.0, x)


def test_dcgan_metrics_match_an_independent_computation():
    trainer = make_trainer(label_smoothing=0.2)
    real = next(iter(batches())).numpy()
    # Replay the noise the update will draw from a copy of the generator's state.
    rng = replay_random(trainer)
    fake = trainer.generator(rng.normal([BATCH, LATENT]), training=True)
    r = trainer.discriminator(real, training=True).numpy()[:, 0]
    f = trainer.discriminator(fake, training=True).numpy()[:, 0]

    metrics = trainer.discriminator_update(tf.constant(real))
    expected_real = np.mean(0.8 * softplus(-r) + 0.2 * softplus(r))
    expected_fake = np.mean(softplus(f))
    np.testing.assert_allclose(metrics["d_loss_real"], expected_real, rtol=1e-5)
    np.testing.assert_allclose(metrics["d_loss_fake"], expected_fake, rtol=1e-5)
    np.testing.assert_allclose(metrics["d_loss"], expected_real + expected_fake, rtol=1e-5)
    np.testing.assert_allclose(metrics["d_output_real"], r.mean(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(metrics["d_output_fake"], f.mean(), rtol=1e-5, atol=1e-7)
    accuracy = (np.sum(r > 0) + np.sum(f < 0)) / (2 * BATCH)
    np.testing.assert_allclose(metrics["d_accuracy"], accuracy)


def test_wgan_gp_loss_adds_weighted_penalty():
    trainer = make_trainer(loss="wgan-gp", gp_weight=7.0)
    metrics = trainer.discriminator_update(next(iter(batches())))
    assert float(metrics["gradient_penalty"]) > 0
    np.testing.assert_allclose(
        metrics["d_loss"],
        metrics["d_loss_real"] + metrics["d_loss_fake"] + 7.0 * metrics["gradient_penalty"],
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        metrics["wasserstein_estimate"],
        metrics["d_output_real"] - metrics["d_output_fake"],
        rtol=1e-5,
        atol=1e-7,
    )
    np.testing.assert_allclose(metrics["d_loss_real"], -metrics["d_output_real"], rtol=1e-5)


def test_r1_penalty_matches_an_independent_computation():
    trainer = make_trainer(penalty="r1", penalty_weight=3.0)
    real = tf.constant(next(iter(batches())).numpy())
    with tf.GradientTape() as tape:
        tape.watch(real)
        logits = trainer.discriminator(real, training=True)[:, 0]
    expected = np.mean(np.sum(tape.gradient(logits, real).numpy() ** 2, axis=1))

    metrics = trainer.discriminator_update(real)
    np.testing.assert_allclose(metrics["r1_penalty"], expected, rtol=1e-5)
    np.testing.assert_allclose(  # gamma / 2 * R1
        metrics["d_loss"],
        metrics["d_loss_real"] + metrics["d_loss_fake"] + 1.5 * metrics["r1_penalty"],
        rtol=1e-5,
    )
    assert "r1_penalty" not in make_trainer().discriminator_update(real)


@pytest.mark.parametrize(
    "loss, specific",
    [
        ("dcgan", {"d_accuracy"}),
        ("wgan", {"wasserstein_estimate"}),
        ("wgan-gp", {"wasserstein_estimate", "gradient_penalty"}),
    ],
)
def test_metric_names(loss, specific):
    trainer = make_trainer(loss=loss)
    metrics = trainer.train_step(iter(batches()))
    assert set(metrics) == STEP_METRICS | specific | {"nonfinite_updates"}
    counter = metrics.pop("nonfinite_updates")
    assert counter.dtype == tf.int64 and int(counter) == 0
    assert all(v.shape == () and v.dtype == tf.float32 for v in metrics.values())


# --- the objectives and stabilizers of the losses issue ---------------------------------


@pytest.mark.parametrize(
    "options, specific",
    [
        ({"loss": "hinge"}, {"d_accuracy"}),
        ({"loss": "lsgan", "lsgan_targets": (1.0, -1.0, 0.0)}, {"d_accuracy"}),
        ({"loss": "ragan"}, {"d_accuracy"}),
        (
            {"loss": "wgan", "clip_value": 0.0, "penalty": "lp"},
            {"wasserstein_estimate", "lipschitz_penalty"},
        ),
        ({"penalty": "r2", "penalty_every": 2}, {"d_accuracy", "r2_penalty"}),
        ({"loss": "hinge", "spectral_norm": True, "image": True}, {"d_accuracy"}),
        (
            {"pack": 2, "image": True, "diff_augment": ("color", "translation", "cutout")},
            {"d_accuracy"},
        ),
        ({"loss": "ragan", "pack": 4, "penalty": "r1"}, {"d_accuracy", "r1_penalty"}),
    ],
    ids=[
        "hinge",
        "lsgan",
        "ragan",
        "wgan-lp",
        "lazy-r2",
        "hinge-sn",
        "pack-augment",
        "ragan-pack-r1",
    ],
)
def test_every_option_trains_in_one_trace(options, specific):
    trainer = make_trainer(n_critic=2, **options)
    iterator = iter(batches(image=options.get("image", False)))
    for _ in range(2):
        metrics = trainer.train_step(iterator)
    assert trainer.train_step.experimental_get_tracing_count() == 1
    assert set(metrics) - STEP_METRICS == specific | {"nonfinite_updates"}
    assert all(np.isfinite(float(v)) for v in metrics.values())


def test_pack_samples_concatenates_consecutive_samples():
    images = np.arange(4 * 2 * 2 * 3, dtype=np.float32).reshape(4, 2, 2, 3)
    packed = pack_samples(tf.constant(images), 2).numpy()
    assert packed.shape == (2, 2, 2, 6)
    np.testing.assert_array_equal(packed[1, :, :, :3], images[2])
    np.testing.assert_array_equal(packed[1, :, :, 3:], images[3])
    vectors = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.testing.assert_array_equal(
        pack_samples(tf.constant(vectors), 3), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    )
    np.testing.assert_array_equal(pack_samples(tf.constant(vectors), 1), vectors)


def replay_fake(trainer, batch_size):
    """The fake batch D's next update will draw, from a copy of the noise generator."""
    rng = replay_random(trainer)
    return trainer.generator(rng.normal([batch_size, LATENT]), training=True), rng


def test_packed_hinge_update_matches_an_independent_computation():
    trainer = make_trainer(loss="hinge", pack=2)
    real = next(iter(batches())).numpy()
    fake, _ = replay_fake(trainer, BATCH)
    # D judges 4 pairs: consecutive samples side by side.
    r = trainer.discriminator(real.reshape(4, 4), training=True).numpy()[:, 0]
    f = trainer.discriminator(tf.reshape(fake, [4, 4]), training=True).numpy()[:, 0]
    metrics = trainer.discriminator_update(tf.constant(real))
    np.testing.assert_allclose(metrics["d_loss_real"], np.maximum(0, 1 - r).mean(), rtol=1e-5)
    np.testing.assert_allclose(metrics["d_loss_fake"], np.maximum(0, 1 + f).mean(), rtol=1e-5)
    np.testing.assert_allclose(metrics["d_accuracy"], (np.sum(r > 0) + np.sum(f < 0)) / 8)


def test_relativistic_generator_update_reads_d_on_the_real_batch():
    trainer = make_trainer(loss="ragan")
    real = next(iter(batches()))
    fake, _ = replay_fake(trainer, BATCH)
    f = trainer.discriminator(fake, training=True).numpy()[:, 0]
    r = trainer.discriminator(real, training=True).numpy()[:, 0]
    expected = np.mean(softplus(-(f - r.mean())) + softplus(r - f.mean()))
    metrics = trainer.generator_update(real)
    np.testing.assert_allclose(metrics["g_loss"], expected, rtol=1e-5)


def test_lazy_penalty_runs_every_kth_update_with_k_times_the_weight():
    trainer = make_trainer(
        loss="wgan", clip_value=0.0, penalty="gp", penalty_weight=2.0, penalty_every=3
    )
    reals = list(batches().take(4))
    due = trainer.discriminator_update(reals[0], tf.constant(3, tf.int64))
    assert float(due["gradient_penalty"]) > 0
    np.testing.assert_allclose(
        due["d_loss"],
        due["d_loss_real"] + due["d_loss_fake"] + 6.0 * due["gradient_penalty"],
        rtol=1e-5,
    )
    for d_update in (4, 5):  # resting: D's loss has no penalty; the metric keeps the last value
        rest = trainer.discriminator_update(reals[d_update - 3], tf.constant(d_update, tf.int64))
        np.testing.assert_allclose(
            rest["d_loss"], rest["d_loss_real"] + rest["d_loss_fake"], rtol=1e-6
        )
        assert float(rest["gradient_penalty"]) == float(due["gradient_penalty"])


def test_compiled_lazy_penalty_runs_on_the_same_updates_as_the_schedule():
    # Three steps of 2 D updates: updates 0 and 3 compute the penalty, the rest do not.
    options = dict(loss="wgan", clip_value=0.0, penalty="gp", penalty_every=3, n_critic=2)
    compiled, manual = make_trainer(**options), make_trainer(**options)
    iterator = iter(batches())
    for _ in range(3):
        compiled.train_step(iterator)
    reals = list(batches().take(6))
    for step in range(3):
        for i in range(2):
            manual.discriminator_update(reals[2 * step + i], tf.constant(2 * step + i, tf.int64))
        manual.generator_update(reals[2 * step])
    np.testing.assert_array_equal(compiled.noise_rng.state, manual.noise_rng.state)
    for a, b in zip(compiled.discriminator.weights, manual.discriminator.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_spectral_norm_does_one_power_iteration_per_d_update():
    from dcgan.gan import spectral

    trainer = make_trainer(loss="wgan", clip_value=0.0, penalty="gp", spectral_norm=True)
    twin = make_trainer(loss="wgan", clip_value=0.0, penalty="gp", spectral_norm=True)
    layers = spectral.spectral_layers(trainer.discriminator)
    assert len(layers) == 2  # hidden and logits
    spectral.power_iterate(twin.discriminator)  # one iteration on the same initial weights
    trainer.discriminator_update(next(iter(batches())))  # penalty passes included
    for layer, expected in zip(layers, spectral.spectral_layers(twin.discriminator), strict=True):
        np.testing.assert_allclose(layer.u.numpy(), expected.u.numpy(), rtol=1e-6)


@pytest.mark.parametrize("updates", ["alternating", "simultaneous", "reuse_fakes"])
def test_a_spectral_generator_does_one_power_iteration_per_g_update(updates):
    from dcgan.gan import spectral

    options = dict(loss="hinge", spectral_norm=True, g_spectral_norm=True, updates=updates)
    trainer, twin = make_trainer(**options), make_trainer(**options)
    g_layers = spectral.spectral_layers(trainer.generator)
    assert [layer.name for layer in g_layers] == ["hidden1", "output"]
    before = [layer.u.numpy() for layer in g_layers]
    if updates == "alternating":  # a D update leaves G's estimates alone
        trainer.discriminator_update(next(iter(batches())))
        for layer, u in zip(g_layers, before, strict=True):
            np.testing.assert_array_equal(layer.u.numpy(), u)
    spectral.power_iterate(twin.generator)  # one iteration on the same initial weights
    trainer.train_step(iter(batches()))
    for layer, expected in zip(g_layers, spectral.spectral_layers(twin.generator), strict=True):
        assert not np.array_equal(layer.u.numpy(), before[g_layers.index(layer)])
        np.testing.assert_allclose(layer.u.numpy(), expected.u.numpy(), rtol=1e-6)


def test_diff_augment_transforms_real_and_fake_batches_in_that_order():
    from dcgan.gan import augment

    policy = ("translation", "cutout")
    trainer = make_trainer(image=True, diff_augment=policy, loss="hinge")
    real = next(iter(batches(image=True)))
    fake, rng = replay_fake(trainer, BATCH)
    real_seen = augment.diff_augment(real, policy, rng)
    fake_seen = augment.diff_augment(fake, policy, rng)
    r = trainer.discriminator(real_seen, training=True).numpy()[:, 0]
    f = trainer.discriminator(fake_seen, training=True).numpy()[:, 0]
    metrics = trainer.discriminator_update(real)
    np.testing.assert_allclose(metrics["d_loss_real"], np.maximum(0, 1 - r).mean(), rtol=1e-5)
    np.testing.assert_allclose(metrics["d_loss_fake"], np.maximum(0, 1 + f).mean(), rtol=1e-5)
    np.testing.assert_array_equal(trainer.noise_rng.state, rng.generator.state)


def poisoned(at, image=False):
    """``batches()`` with NaN in batch ``at``: D's loss and gradients go non-finite."""

    def poison(i, batch):
        return tf.where(i == at, batch * np.nan, batch)

    return tf.data.Dataset.zip(tf.data.Dataset.range(10_000), batches(image)).map(poison)


def test_skip_nonfinite_skips_exactly_the_poisoned_update():
    # Batch-norm nets: the poisoned forward pass also corrupts the moving statistics,
    # which the skip must roll back.
    trainer = make_trainer(image=True, skip_nonfinite=True, n_critic=2)
    iterator = iter(poisoned(at=2, image=True))  # step 0: batches 0, 1; step 1: 2 (bad), 3
    trainer.train_step(iterator)
    d_before = weights(trainer.discriminator)
    d_iterations = int(trainer.d_optimizer.iterations.numpy())
    metrics = trainer.train_step(iterator)
    assert int(metrics["nonfinite_updates"]) == 1
    # One of the two D updates ran: the optimizer counted one more iteration, not two.
    assert int(trainer.d_optimizer.iterations.numpy()) == d_iterations + 1
    assert changed(d_before, trainer.discriminator)
    for model in (trainer.generator, trainer.discriminator):
        assert all(np.all(np.isfinite(v.numpy())) for v in model.weights)
    assert trainer.train_step.experimental_get_tracing_count() == 1


def test_without_skip_the_poisoned_update_is_applied_and_counted():
    trainer = make_trainer(n_critic=1)
    iterator = iter(poisoned(at=0))
    metrics = trainer.train_step(iterator)
    assert int(metrics["nonfinite_updates"]) >= 1
    assert not np.isfinite(float(metrics["d_loss"]))
    assert not all(np.all(np.isfinite(v)) for v in weights(trainer.discriminator))


def test_wgan_clips_every_discriminator_update():
    trainer = make_trainer(loss="wgan", clip_value=0.01, n_critic=2)
    # Glorot-initialized MLP weights are far larger than 0.01 before the first update.
    assert max(np.abs(v).max() for v in weights(trainer.discriminator)) > 0.1
    trainer.train_step(iter(batches()))
    for v in weights(trainer.discriminator):
        assert np.abs(v).max() <= 0.01 + 1e-9
    assert max(np.abs(v).max() for v in weights(trainer.generator)) > 0.1  # G is not clipped


def test_dcgan_does_not_clip():
    trainer = make_trainer(loss="dcgan")
    trainer.train_step(iter(batches()))
    assert max(np.abs(v).max() for v in weights(trainer.discriminator)) > 0.1


def test_fixed_noise_depends_only_on_seed():
    a, b, c = make_trainer(seed=3), make_trainer(seed=3), make_trainer(seed=4)
    np.testing.assert_array_equal(a.fixed_noise, b.fixed_noise)
    assert not np.array_equal(a.fixed_noise, c.fixed_noise)
    before = a.fixed_noise.numpy()
    a.train_step(iter(batches()))
    np.testing.assert_array_equal(a.fixed_noise, before)
    assert a.fixed_noise.shape == (16, LATENT)


@pytest.mark.parametrize("loss", ["dcgan", "wgan-gp"])
def test_checkpoint_holds_everything_the_next_step_depends_on(tmp_path, loss):
    # Two steps, save, one more step; a fresh trainer restored from the save and fed the
    # same third batch must end bit-identical (same noise, same optimizer moments).
    original = make_trainer(loss=loss, image=True, n_critic=2)
    iterator = iter(batches(image=True))
    original.train_step(iterator)
    original.train_step(iterator)
    path = tf.train.Checkpoint(**original.checkpoint_items()).save(str(tmp_path / "ckpt"))
    original.train_step(iterator)

    restored = make_trainer(loss=loss, image=True, n_critic=2, seed=99)  # other init, rng
    tf.train.Checkpoint(**restored.checkpoint_items()).restore(path).assert_consumed()
    assert int(restored.step.numpy()) == 2
    restored.train_step(iter(batches(image=True).skip(4)))
    for a, b in zip(
        original.generator.weights + original.discriminator.weights,
        restored.generator.weights + restored.discriminator.weights,
        strict=True,
    ):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(original.noise_rng.state, restored.noise_rng.state)


def test_learning_rates_are_constant_without_decay():
    trainer = make_trainer(lr=2e-4)
    for step in (0, 10**9):
        rates = {name: float(rate) for name, rate in trainer.learning_rates(step).items()}
        assert rates == pytest.approx({"g_lr": 2e-4, "d_lr": 2e-4}, rel=1e-6)


def test_learning_rates_decay_linearly_to_zero():
    trainer = make_trainer(lr=4e-4, lr_decay_steps=200)
    # lr * (1 - step / 200): 1, 3/4, 1/2, then 0 from step 200 on.
    for step, factor in [(0, 1.0), (50, 0.75), (100, 0.5), (200, 0.0), (250, 0.0)]:
        rates = trainer.learning_rates(step)
        assert float(rates["g_lr"]) == pytest.approx(4e-4 * factor, rel=1e-6, abs=1e-12)
        assert float(rates["d_lr"]) == pytest.approx(4e-4 * factor, rel=1e-6, abs=1e-12)


def test_set_learning_rates():
    trainer = make_trainer()
    trainer.set_learning_rates(g_lr=0.25, d_lr=0.5)
    np.testing.assert_allclose(trainer.g_optimizer.learning_rate.numpy(), 0.25)
    np.testing.assert_allclose(trainer.d_optimizer.learning_rate.numpy(), 0.5)


def test_build_optimizer():
    adam = build_optimizer("adam", learning_rate=1e-3, beta1=0.1, beta2=0.9)
    assert isinstance(adam, keras.optimizers.Adam)
    assert (adam.beta_1, adam.beta_2) == (0.1, 0.9)
    assert isinstance(
        build_optimizer("rmsprop", learning_rate=5e-5, beta1=0.5, beta2=0.9),
        keras.optimizers.RMSprop,
    )
    with pytest.raises(ValueError, match="'sgd'"):
        build_optimizer("sgd", learning_rate=1e-3, beta1=0.5, beta2=0.9)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"train_order": "both"}, "train_order='both'"),
        ({"n_critic": 0}, "n_critic=0"),
        ({"loss": "wgan-gp", "lsgan_targets": (1.0, 0.0, 1.0)}, "lsgan_targets does not apply"),
        ({"penalty": "r1", "penalty_weight": -1.0}, "penalty_weight=-1.0"),
        ({"g_ema_decay": 1.0}, r"g_ema_decay=1.0 is invalid; allowed: a number in \[0.0, 1.0\)"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        make_trainer(**options)


@pytest.mark.parametrize(
    "overrides, g_out, d_in",
    [
        ({"dataset": "glyphs", "image_size": 28, "channels": 3}, (28, 28, 3), (28, 28, 3)),
        ({"dataset": "ring2d"}, (2,), (2,)),
        ({"dataset": "ring2d", "pack": 4, "batch_size": 8}, (2,), (8,)),
        (
            {"dataset": "glyphs", "image_size": 28, "pack": 2, "d_norm": "none"},
            (28, 28, 1),
            (28, 28, 2),
        ),
        ({"dataset": "gaussian1d"}, (1,), (1,)),
    ],
)
def test_build_trainer_from_config(tmp_path, overrides, g_out, d_in):
    config = Config(
        workdir=str(tmp_path),
        g_base_width=4,
        d_base_width=4,
        latent_dim=5,
        grid_size=3,
        g_optimizer="rmsprop",
        **overrides,
    )
    trainer = build_trainer(config)
    assert tuple(trainer.generator.output_shape[1:]) == g_out
    assert tuple(trainer.discriminator.input_shape[1:]) == d_in
    assert isinstance(trainer.g_optimizer, keras.optimizers.RMSprop)
    assert isinstance(trainer.d_optimizer, keras.optimizers.Adam)
    expected_fixed = 9 if config.is_image else 1000
    assert trainer.fixed_noise.shape == (expected_fixed, 5)


def test_uniform_noise_for_steps_and_fixed_samples():
    trainer = make_trainer(seed=2, noise="uniform", noise_scale=3.0)
    # The fixed noise is the stateless draw for [seed, 1]; the step noise is the rng's.
    expected = tf.random.stateless_uniform([16, LATENT], seed=[2, 1], minval=-3.0, maxval=3.0)
    np.testing.assert_array_equal(trainer.fixed_noise, expected)
    drawn = trainer.gradients.noise_batch(tf.constant(5000)).numpy()
    np.testing.assert_array_equal(
        drawn[:5],
        ReplicaRandom(tf.random.Generator.from_seed(2)).uniform([5000, LATENT], -3, 3)[:5],
    )
    assert drawn.min() >= -3.0 and drawn.max() < 3.0
    # Uniform on [-3, 3): stddev 3 / sqrt(3) = 1.732, not the normal's 1.
    assert abs(drawn.std() - 3.0 / np.sqrt(3.0)) < 0.05


def test_normal_noise_scale_is_the_stddev():
    trainer = make_trainer(seed=1, noise_scale=0.5)
    np.testing.assert_allclose(
        trainer.fixed_noise, 0.5 * tf.random.stateless_normal([16, LATENT], seed=[1, 1]), rtol=1e-6
    )


def test_spatial_noise_trains_with_one_trace(tmp_path):
    config = Config(
        workdir=str(tmp_path),
        image_size=32,
        latent_dim=64,
        noise_shape=(4, 4, 4),
        noise_distribution="uniform",
        g_upsample="nearest",
        g_activation="elu",
        d_norm="none",
        d_dense_units=8,
        d_dropout=0.3,
        g_base_width=4,
        d_base_width=4,
        kernel_size=3,
        grid_size=2,
    )
    trainer = build_trainer(config)
    assert trainer.fixed_noise.shape == (4, 4, 4, 4)
    images = tf.data.Dataset.from_tensors(tf.zeros([BATCH, 32, 32, 1])).repeat()
    iterator = iter(images)
    for _ in range(2):
        trainer.train_step(iterator)
    assert trainer.train_step.experimental_get_tracing_count() == 1
    assert trainer.generate(trainer.fixed_noise).shape == (4, 32, 32, 1)


def test_checkpoint_holds_the_dropout_masks_state(tmp_path):
    # S5's D drops 30% of its activations; the masks come from Keras seed generators.
    def build(seed):
        keras.utils.set_random_seed(seed)
        return Trainer(
            generator=models.dcgan_generator(
                image_size=28, channels=1, latent_dim=LATENT, base_width=4
            ),
            discriminator=models.dcgan_discriminator(
                image_size=28, channels=1, base_width=4, norm="none", dropout=0.3
            ),
            g_optimizer=keras.optimizers.Adam(1e-2),
            d_optimizer=keras.optimizers.Adam(1e-2),
            objective=objective.build("dcgan"),
            noise=NoiseDistribution(shape=(LATENT,)),
            seed=seed,
            num_fixed_samples=4,
        )

    original = build(0)
    assert len(original.dropout_seeds) == 2
    iterator = iter(batches(image=True))
    original.train_step(iterator)
    path = tf.train.Checkpoint(**original.checkpoint_items()).save(str(tmp_path / "ckpt"))
    original.train_step(iterator)

    restored = build(5)
    tf.train.Checkpoint(**restored.checkpoint_items()).restore(path).assert_consumed()
    restored.train_step(iter(batches(image=True).skip(1)))
    for a, b in zip(
        original.generator.weights + original.discriminator.weights,
        restored.generator.weights + restored.discriminator.weights,
        strict=True,
    ):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_no_dropout_no_extra_checkpoint_item():
    assert "dropout_seeds" not in make_trainer(image=True).checkpoint_items()


def all_weights(model):
    return [v.numpy().astype(np.float64) for v in model.weights]


@pytest.mark.parametrize("image", [False, True])  # the image G has batch-norm statistics
def test_generator_average_follows_the_warmed_up_formula(image):
    decay = 0.2  # below the warm-up's 2/11 at step 1 and 3/12 at step 2: both apply
    trainer = make_trainer(image=image, g_ema_decay=decay)
    iterator = iter(batches(image=image))
    average = all_weights(trainer.generator)  # the average starts equal to G
    np.testing.assert_array_equal(average[0], all_weights(trainer.generator_ema)[0])
    trainable = {id(v) for v in trainer.generator.trainable_weights}
    for step in (1, 2):
        trainer.train_step(iterator)
        d = min(decay, (1 + step) / (10 + step))
        current = all_weights(trainer.generator)
        average = [
            d * a + (1 - d) * w if id(v) in trainable else w
            for a, w, v in zip(average, current, trainer.generator.weights, strict=True)
        ]
        for expected, actual in zip(average, all_weights(trainer.generator_ema), strict=True):
            np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-7)
    assert changed(weights(trainer.generator_ema), trainer.generator)  # an average, not G
    assert trainer.sampling_generator is trainer.generator_ema
    assert trainer.train_step.experimental_get_tracing_count() == 1


def test_generate_uses_the_average_and_the_checkpoint_holds_it(tmp_path):
    trainer = make_trainer(g_ema_decay=0.9)
    iterator = iter(batches())
    for _ in range(3):
        trainer.train_step(iterator)
    np.testing.assert_array_equal(
        trainer.generate(trainer.fixed_noise), trainer.generator_ema(trainer.fixed_noise)
    )
    assert trainer.checkpoint_items()["generator_ema"] is trainer.generator_ema
    path = tf.train.Checkpoint(**trainer.checkpoint_items()).save(str(tmp_path / "ckpt"))
    restored = make_trainer(g_ema_decay=0.9, seed=7)
    tf.train.Checkpoint(**restored.checkpoint_items()).restore(path).assert_consumed()
    for a, b in zip(trainer.generator_ema.weights, restored.generator_ema.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_without_an_average_the_sampler_is_g():
    trainer = make_trainer()
    assert trainer.generator_ema is None and trainer.sampling_generator is trainer.generator
    assert "generator_ema" not in trainer.checkpoint_items()
