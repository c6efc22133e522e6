"""Mixed precision in the step: finite training in float16 and bfloat16, float16's loss
scale (an overflow halves it and changes no weight), float16 under mirrored, and the
policy --precision=auto chooses for the hardware."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from configs import tiny_image, tiny_vector

from dcgan.config import Config, ConfigError
from dcgan.distribute import devices, precision
from dcgan.io import storage
from dcgan.run import builder, loop, prepare


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


# --precision=auto (dcgan.distribute.precision).


def test_cpu_flags_are_read_from_the_flags_line_and_are_empty_without_the_file(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: A CPU\nflags\t\t: fpu avx512f amx_bf16 amx_tile\n"
        "bugs\t\t: spectre_v1\n\nprocessor\t: 1\nflags\t\t: fpu\n"
    )
    assert precision.cpu_flags(str(cpuinfo)) == {"fpu", "avx512f", "amx_bf16", "amx_tile"}
    assert precision.cpu_flags(str(tmp_path / "missing")) == frozenset()


@pytest.mark.parametrize(
    "flags, native, why",
    [
        ({"avx512f", "amx_bf16", "avx512_bf16"}, True, "this CPU has amx_bf16"),
        ({"avx512f", "avx512_bf16"}, True, "this CPU has avx512_bf16"),
        ({"avx2", "avx512f"}, False, "this CPU has neither avx512_bf16 nor amx_bf16"),
    ],
)
def test_a_cpu_computes_bfloat16_natively_only_with_its_flags(flags, native, why):
    strategy = tf.distribute.get_strategy()
    found = precision.native_bfloat16(strategy, read_cpu_flags=lambda: frozenset(flags))
    assert found == (native, why)


@pytest.mark.parametrize(
    "capabilities, native, why",
    [
        ([(8, 0), (9, 0)], True, "GPUs of compute capability 8.0"),
        ([(8, 6)], True, "GPUs of compute capability 8.6"),
        ([(9, 0), (7, 5)], False, "a GPU older than compute capability 8.0"),
        ([None], False, "a GPU older than compute capability 8.0"),
    ],
)
def test_gpus_compute_bfloat16_natively_from_compute_capability_8(
    monkeypatch, capabilities, native, why
):
    gpu = "/job:localhost/replica:0/task:0/device:GPU:0"
    monkeypatch.setattr(devices, "compute_devices", lambda strategy: [gpu])
    found = precision.native_bfloat16(
        tf.distribute.get_strategy(),
        read_cpu_flags=lambda: frozenset({"amx_bf16"}),  # the host CPU does not count
        read_gpu_capabilities=lambda: capabilities,
    )
    assert found == (native, why)


def cluster(workers=1):
    strategy = tf.distribute.get_strategy()
    return devices.Cluster(strategy, 1, workers, 0, True, workers > 1)


@pytest.mark.parametrize(
    "flags, chosen, why",
    [
        ({"amx_bf16"}, "mixed_bfloat16", "this CPU has amx_bf16"),
        ({"avx2"}, "float32", "this CPU has neither avx512_bf16 nor amx_bf16"),
    ],
)
def test_auto_chooses_for_a_new_run_and_says_so(tmp_path, monkeypatch, flags, chosen, why):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(flags))
    config, lines = tiny_vector(tmp_path, precision="auto"), []
    resolved = prepare._choose_precision(config, cluster(), None, lines.append)
    assert resolved == dataclasses.replace(config, precision=chosen)
    assert lines == [f"precision auto: {chosen} ({why})"]


def test_auto_keeps_a_resumed_runs_precision(tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    saved, lines = tiny_vector(tmp_path, precision="float32"), []
    config = tiny_vector(tmp_path, precision="auto")
    assert prepare._choose_precision(config, cluster(), saved, lines.append) == saved
    assert lines == ["precision auto: float32 (the precision the run was saved with)"]


def test_auto_is_refused_on_several_workers_and_by_the_builder(tmp_path):
    config = tiny_vector(tmp_path, precision="auto", strategy="multi_worker")
    with pytest.raises(ConfigError, match=r"^--precision=auto with --strategy=multi_worker on 2 "):
        prepare._choose_precision(config, cluster(workers=2), None, print)
    with pytest.raises(ConfigError, match=r"precision='auto' is chosen when a run starts.*allowed"):
        builder.build_networks(tiny_vector(tmp_path, precision="auto"))


def test_an_auto_run_saves_the_chosen_precision_and_resumes_with_it(tmp_path, monkeypatch, capsys):
    # This machine's CPU decides the first run; the resumed run is told the CPU changed.
    native, why = precision.native_bfloat16(tf.distribute.get_strategy())
    chosen = "mixed_bfloat16" if native else "float32"
    loop.train(tiny_vector(tmp_path, precision="auto", train_steps=2))
    assert f"precision auto: {chosen} ({why})" in capsys.readouterr().out
    assert Config.from_json(storage.read_text(str(tmp_path / "config.json"))).precision == chosen
    other = frozenset({"avx2"} if native else {"amx_bf16"})
    monkeypatch.setattr(precision, "cpu_flags", lambda: other)
    trainer = loop.train(tiny_vector(tmp_path, precision="auto", train_steps=3))
    assert int(trainer.step.numpy()) == 3
    assert trainer.generator.layers[1].dtype_policy.name == chosen  # the first hidden layer
    assert Config.from_json(storage.read_text(str(tmp_path / "config.json"))).precision == chosen
