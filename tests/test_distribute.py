"""tf.distribute on two logical CPU devices (set up in conftest.py): a mirrored run is the
one-device run, replicas stay equal, non-finite updates are agreed, bad input is refused.

The multi-worker tests (two processes) are in test_multi_worker.py.
"""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from configs import rewound_copy, tiny_image, tiny_vector
from test_trainer import BATCH, LATENT, batches, make_trainer

from dcgan.distribute import devices, replicas
from dcgan.run import builder, loop
from dcgan.run.workdir import Workdir

TWO_CPUS = ("/cpu:0", "/cpu:1")


def mirrored():
    return devices.make_strategy("mirrored", devices=TWO_CPUS).strategy


def trainer_under(strategy, **options):
    with strategy.scope():
        return make_trainer(strategy=strategy, **options)


def copies(strategy, variable):
    """Every replica's copy of ``variable`` as NumPy arrays."""
    if isinstance(variable, keras.Variable):
        variable = variable.value  # the tf.Variable it wraps, mirrored
    return [c.numpy() for c in strategy.experimental_local_results(variable)]


def all_variables(trainer):
    found = trainer.generator.weights + trainer.discriminator.weights
    found += trainer.g_optimizer.variables + trainer.d_optimizer.variables
    found += [trainer.step, trainer.nonfinite_updates, trainer.noise_rng.state]
    if trainer.generator_ema is not None:
        found += trainer.generator_ema.weights
    return found


CASES = {
    "dcgan": dict(),
    "wgan-n_critic2": dict(loss="wgan", n_critic=2),
    "wgan-gp-ema": dict(loss="wgan-gp", g_ema_decay=0.9),
    "wgan-gp-n_critic2-ema": dict(loss="wgan-gp", n_critic=2, g_ema_decay=0.99),
    "lazy-r1-skip": dict(penalty="r1", penalty_every=2, skip_nonfinite=True),
    "simultaneous-wgan-gp-ema-skip": dict(
        updates="simultaneous", loss="wgan-gp", g_ema_decay=0.9, skip_nonfinite=True
    ),
    "simultaneous-hinge-lazy-r1": dict(
        updates="simultaneous", loss="hinge", penalty="r1", penalty_every=2
    ),
}


@pytest.mark.parametrize("options", CASES.values(), ids=CASES.keys())
def test_mirrored_run_equals_the_one_device_run(options):
    """Global batch 8 on two replicas of 4 = batch 8 on one device: same losses and weights
    (a double all-reduce or a loss divided by the local batch would show here)."""
    single = make_trainer(**options)
    strategy = mirrored()
    mirror = trainer_under(strategy, **options)
    one, two = iter(batches()), iter(batches())
    for _ in range(3):
        expected, got = single.train_step(one), mirror.train_step(two)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
    for a, b in zip(all_variables(single), all_variables(mirror), strict=True):
        b_copies = copies(strategy, b)
        np.testing.assert_allclose(b_copies[0], a.numpy(), rtol=1e-5, atol=1e-6)
        for copy in b_copies[1:]:  # every replica holds the same value
            np.testing.assert_array_equal(copy, b_copies[0])
    assert mirror.train_step.experimental_get_tracing_count() == 1


def test_mirrored_image_run_with_sync_batch_norm_equals_the_one_device_run():
    """Batch norm in G and D: with synchronized statistics the replicas normalize over the
    global batch, as one device does; the moving statistics stay equal too."""
    from dcgan.gan import blocks

    options = dict(image=True, n_critic=2)
    single = make_trainer(**options)
    strategy = mirrored()
    mirror = trainer_under(strategy, **options)
    for model in (mirror.generator, mirror.discriminator):
        blocks.synchronize_batch_norm(model)
    one, two = iter(batches(image=True)), iter(batches(image=True))
    for _ in range(2):
        expected, got = single.train_step(one), mirror.train_step(two)
    np.testing.assert_allclose(got["d_loss"], expected["d_loss"], rtol=1e-4)
    np.testing.assert_allclose(got["g_loss"], expected["g_loss"], rtol=1e-4)
    for a, b in zip(all_variables(single), all_variables(mirror), strict=True):
        b_copies = copies(strategy, b)
        np.testing.assert_allclose(b_copies[0], a.numpy(), rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(b_copies[1], b_copies[0], rtol=1e-6, atol=1e-7)


def test_replicas_draw_distinct_rows_of_the_one_device_draw():
    strategy = mirrored()
    with strategy.scope():
        generator = tf.random.Generator.from_seed(3)
    random = replicas.ReplicaRandom(generator)

    @tf.function
    def draw():
        return strategy.run(lambda: random.normal([4, LATENT]))

    first, second = (strategy.experimental_local_results(draw()) for _ in range(2))
    one_device = replicas.ReplicaRandom(tf.random.Generator.from_seed(3))
    np.testing.assert_array_equal(np.concatenate(first), one_device.normal([8, LATENT]))
    np.testing.assert_array_equal(np.concatenate(second), one_device.normal([8, LATENT]))
    assert not np.allclose(first[0], first[1])  # the replicas' z differ
    # Both copies of the counter moved alike: a checkpoint of either continues the stream.
    states = copies(strategy, generator.state)
    np.testing.assert_array_equal(states[0], states[1])


def poisoned_on_second_replica():
    """``batches()`` whose second half (replica 1's rows) is NaN from batch 1 on."""

    def poison(i, batch):
        rows = tf.range(BATCH)[:, None] >= BATCH // 2
        return tf.where(rows & (i >= 1), np.float32(np.nan), batch)

    return tf.data.Dataset.zip(tf.data.Dataset.range(10_000), batches()).map(poison)


@pytest.mark.parametrize("skip", [True, False], ids=["skip", "stop"])
def test_a_non_finite_gradient_on_one_replica_is_agreed_by_all(skip):
    strategy = mirrored()
    trainer = trainer_under(strategy, skip_nonfinite=skip)
    iterator = iter(poisoned_on_second_replica())
    trainer.train_step(iterator)  # batch 0: clean
    before = [copies(strategy, v) for v in trainer.discriminator.weights]
    metrics = trainer.train_step(iterator)  # batch 1: NaN on replica 1 only
    assert int(metrics["nonfinite_updates"]) >= 1
    after = [copies(strategy, v) for v in trainer.discriminator.weights]
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(new[0], new[1])  # never applied on one replica only
        if skip:
            np.testing.assert_array_equal(new[0], old[0])  # skipped on every replica
    iterations = copies(strategy, trainer.d_optimizer.iterations)
    assert iterations[0] == iterations[1] == (1 if skip else 2)


def test_steps_per_call_equal_one_step_per_call():
    """``train_step(iterator, K)`` takes K steps as K calls do (to rounding: the loop is
    compiled as one graph), in one trace."""
    a, b = make_trainer(loss="wgan-gp", n_critic=2), make_trainer(loss="wgan-gp", n_critic=2)
    one, many = iter(batches()), iter(batches())
    for _ in range(5):
        expected = a.train_step(one)
    got = b.train_step(many, tf.constant(3, tf.int64))
    got = b.train_step(many, tf.constant(2, tf.int64))
    assert int(b.step.numpy()) == 5
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-5, atol=1e-7, err_msg=name)
    for x, y in zip(all_variables(a), all_variables(b), strict=True):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-5, atol=1e-7)
    assert b.train_step.experimental_get_tracing_count() == 1


def test_loop_with_steps_per_loop_lands_events_on_the_same_steps(tmp_path, read_summaries):
    common = dict(train_steps=7, log_every=3, summary_every=2, image_every=5, checkpoint_every=4)
    one = loop.train(tiny_vector(tmp_path / "one", **common))
    many = loop.train(tiny_vector(tmp_path / "many", steps_per_loop=100, **common))
    for x, y in zip(all_variables(one), all_variables(many), strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    tags_one, tags_many = (
        read_summaries(str(tmp_path / "one")),
        read_summaries(str(tmp_path / "many")),
    )
    assert {t: [s for s, _ in v] for t, v in tags_one.items() if t != "speed/steps_per_sec"} == {
        t: [s for s, _ in v] for t, v in tags_many.items() if t != "speed/steps_per_sec"
    }
    assert [s for s, _ in tags_many["loss/d_loss"]] == [2, 4, 6, 7]
    for name in ("checkpoints", "samples"):
        assert sorted(p.name for p in (tmp_path / "one" / name).iterdir()) == sorted(
            p.name for p in (tmp_path / "many" / name).iterdir()
        )


def test_mirrored_run_resumes_bit_exactly_and_restores_on_one_device(tmp_path, capsys):
    """The plain pipeline is checkpointed under mirrored too; the checkpoint loads into a
    one-device trainer (sample, export, evaluate build one)."""
    config = tiny_image(
        tmp_path / "whole",
        strategy="mirrored",
        devices=TWO_CPUS,
        train_steps=4,
        checkpoint_every=2,
        d_norm="none",
    )
    whole = loop.train(config)
    rewound_copy(tmp_path / "whole", tmp_path / "half", 2)
    capsys.readouterr()
    resumed = loop.train(dataclasses.replace(config, workdir=str(tmp_path / "half")))
    assert "resuming from step 2; training to step 4" in capsys.readouterr().out
    for x, y in zip(all_variables(whole), all_variables(resumed), strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    one_device = builder.build_trainer(config)
    Workdir(str(tmp_path / "whole")).restore(
        tf.train.Checkpoint(generator=one_device.generator), partial=True
    )
    for x, y in zip(one_device.generator.weights, whole.generator.weights, strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_a_one_device_run_resumes_mirrored(tmp_path, capsys):
    """And back: a run started on one device continues on two, as if it had not moved."""
    whole = loop.train(tiny_vector(tmp_path / "whole", train_steps=4, checkpoint_every=2))
    rewound_copy(tmp_path / "whole", tmp_path / "moved", 2)
    capsys.readouterr()
    moved = loop.train(
        tiny_vector(
            tmp_path / "moved",
            train_steps=4,
            checkpoint_every=2,
            strategy="mirrored",
            devices=TWO_CPUS,
        )
    )
    assert "resuming from step 2; training to step 4" in capsys.readouterr().out
    for x, y in zip(all_variables(whole), all_variables(moved), strict=True):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-5, atol=1e-6)


# --- bad input: one line, nothing written -----------------------------------------------


def test_reuse_fakes_and_jit_compile_are_refused_on_several_replicas():
    strategy = mirrored()
    with pytest.raises(ValueError, match="updates='reuse_fakes' needs one replica, not 2"):
        trainer_under(strategy, updates="reuse_fakes")
    with pytest.raises(ValueError, match="jit_compile=True needs one replica, not 2"):
        trainer_under(strategy, jit_compile=True)


def test_unknown_strategy_and_device_are_refused():
    with pytest.raises(devices.DistributeError, match=r"--strategy=bogus is unknown; allowed"):
        devices.make_strategy("bogus")
    with pytest.raises(devices.DistributeError, match=r"/gpu:7 is not a device .* allowed:"):
        devices.make_strategy("mirrored", devices=("/gpu:7",))


def test_a_batch_the_replicas_cannot_share_is_refused_before_anything_is_written(tmp_path):
    config = tiny_vector(tmp_path / "run", strategy="mirrored", devices=TWO_CPUS, batch_size=7)
    with pytest.raises(devices.DistributeError) as error:
        loop.train(config)
    assert str(error.value) == (
        "--batch_size=7 cannot be split over 2 replicas; allowed: a multiple of 2"
    )
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "tf_config, problem",
    [
        ("", "needs the TF_CONFIG variable"),
        ("{not json", "TF_CONFIG is not JSON"),
        ('{"task": {"type": "worker", "index": 0}}', "has no 'cluster' object"),
        (
            '{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}',
            "is not a list of 'host:port' strings",
        ),
        (
            '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 3}}',
            "task index 3 is outside cluster.worker",
        ),
        (
            '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "chief", "index": 0}}',
            "does not name a task type of the cluster",
        ),
    ],
)
def test_malformed_tf_config_is_refused_in_one_line(monkeypatch, tf_config, problem):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(devices.DistributeError) as error:
        devices.make_strategy("multi_worker")
    message = str(error.value)
    assert problem in message and "allowed: JSON like" in message and "\n" not in message


def test_an_unreachable_tpu_is_refused_in_one_line():
    with pytest.raises(devices.DistributeError) as error:
        devices.make_strategy("tpu", tpu="grpc://127.0.0.1:1")
    message = str(error.value)
    assert message.startswith("--tpu=grpc://127.0.0.1:1 cannot be reached (")
    assert "allowed:" in message and "\n" not in message
    with pytest.raises(devices.DistributeError, match="--strategy=tpu needs --tpu"):
        devices.make_strategy("tpu")
