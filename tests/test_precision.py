"""Mixed precision in the step: finite training in float16 and bfloat16, float16's loss
scale (an overflow halves it and changes no weight), and float16 under mirrored."""

import numpy as np
import pytest
from configs import tiny_image, tiny_vector

from dcgan.distribute import devices
from dcgan.run import builder


def first_batches(config, count):
    iterator = iter(builder.build_dataset(config, batch_size=config.batch_size))
    return [next(iterator) for _ in range(count)]


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("loss", ["dcgan", "wgan-gp"])
def test_mixed_precision_image_runs_train_with_finite_losses(tmp_path, precision, loss):
    options = dict(loss=loss, d_norm="none") if loss == "wgan-gp" else dict(loss=loss)
    config = tiny_image(tmp_path, precision=precision, **options)
    trainer = builder.build_trainer(config)
    iterator = iter(builder.build_dataset(config, batch_size=config.batch_size))
    for _ in range(2):
        metrics = trainer.train_step(iterator)
    for name, value in metrics.items():
        assert np.isfinite(float(value)), name
    assert int(metrics["nonfinite_updates"]) == 0
    scaled = precision == "mixed_float16"
    assert ("d_loss_scale" in metrics) == scaled and ("g_loss_scale" in metrics) == scaled
    assert trainer.generator.weights[0].dtype == "float32"  # variables stay float32


def vector_trainer(tmp_path, **overrides):
    config = tiny_vector(tmp_path, precision="mixed_float16", **overrides)
    return config, builder.build_trainer(config)


def test_an_overflow_halves_the_scale_and_changes_no_weight(tmp_path):
    config, trainer = vector_trainer(tmp_path, loss="wgan-gp")
    # A finite loss times this scale is still a finite float32, but its gradient
    # overflows float16 in the first layer down.
    trainer.d_optimizer.dynamic_scale.assign(1e38)
    before = [w.numpy() for w in trainer.discriminator.weights]
    metrics = trainer.discriminator_update(first_batches(config, 1)[0])
    for old, new in zip(before, trainer.discriminator.weights, strict=True):
        np.testing.assert_array_equal(new.numpy(), old)
    assert float(trainer.d_optimizer.dynamic_scale.numpy()) == pytest.approx(5e37, rel=1e-6)
    assert int(trainer.d_optimizer.iterations.numpy()) == 0
    assert int(metrics_nonfinite(trainer)) == 0  # an overflow is not a NaN failure
    assert not np.isfinite(float(metrics["d_grad_norm"]))


def metrics_nonfinite(trainer):
    return trainer.nonfinite_updates.numpy()


def test_a_good_update_is_applied_unscaled_and_grows_the_scale_on_schedule(tmp_path):
    config, trainer = vector_trainer(tmp_path)
    reference_config = tiny_vector(tmp_path / "float32")
    reference = builder.build_trainer(reference_config)
    for ours, theirs in zip(
        trainer.discriminator.weights, reference.discriminator.weights, strict=True
    ):
        theirs.assign(ours)
    for ours, theirs in zip(trainer.generator.weights, reference.generator.weights, strict=True):
        theirs.assign(ours)
    trainer.d_optimizer.step_counter.assign(trainer.d_optimizer.dynamic_growth_steps - 1)
    real = first_batches(config, 1)[0]
    scale = float(trainer.d_optimizer.dynamic_scale.numpy())
    trainer.discriminator_update(real)
    reference.discriminator_update(real)
    # The update is the float32 one, to float16's precision (not 2**15 times too large).
    for ours, theirs in zip(
        trainer.discriminator.weights, reference.discriminator.weights, strict=True
    ):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0.05, atol=2e-4)
    assert float(trainer.d_optimizer.dynamic_scale.numpy()) == 2 * scale
    assert int(trainer.d_optimizer.step_counter.numpy()) == 0


def test_float16_under_mirrored_keeps_one_scale_on_every_replica(tmp_path):
    strategy = devices.make_strategy("mirrored", devices=("/cpu:0", "/cpu:1")).strategy
    config = tiny_vector(tmp_path, precision="mixed_float16", loss="wgan-gp")
    trainer = builder.build_trainer(config, strategy=strategy)
    iterator = iter(builder.build_dataset(config, batch_size=config.batch_size))
    metrics = trainer.train_step(iterator)
    assert np.isfinite(float(metrics["d_loss"])) and np.isfinite(float(metrics["g_loss"]))
    scales = strategy.experimental_local_results(trainer.d_optimizer.dynamic_scale.value)
    assert len(scales) == 2 and float(scales[0]) == float(scales[1])
