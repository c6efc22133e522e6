"""Tests for dcgan.benchmarks.perf and its parts: FLOP counts by hand, the baselines'
updates, the windows' median, the targets on made-up figures, and one tiny run."""

import json
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from runner import CHILD_TIMEOUT, Background, run_module

from dcgan.benchmarks import baselines, cases, hardware, perf, timing
from dcgan.benchmarks import report as perf_report


def tiny_model():
    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="conv")(x)  # [B, 4, 4, 4]
    y = keras.layers.BatchNormalization()(y)  # not counted
    y = keras.layers.Conv2DTranspose(2, 4, strides=2, padding="same", name="up")(y)  # [B, 8, 8, 2]
    y = keras.layers.Flatten()(y)
    return keras.Model(x, keras.layers.Dense(5, name="dense")(y))


def test_layer_flops_match_a_hand_count():
    assert hardware.layer_flops(tiny_model()) == [
        ("conv", 2 * (4 * 4) * (3 * 3) * 3 * 4),  # output positions x kernel
        ("up", 2 * (4 * 4) * (4 * 4) * 4 * 2),  # input positions x kernel
        ("dense", 2 * 128 * 5),
    ]
    assert hardware.net_flops(tiny_model()) == hardware.NetFlops(3456 + 4096 + 1280, 3456)


def test_step_flops_count_the_passes_of_each_mode():
    g, d = hardware.NetFlops(100, 10), hardware.NetFlops(50, 5)
    # (G forward, G first layer, D forward, D first layer) per example, times the batch.
    expected = {
        "alternating": 2 * (4 * 100 - 10 + 8 * 50 - 2 * 5),
        "reuse_fakes": 2 * (3 * 100 - 10 + 8 * 50 - 2 * 5),
        "simultaneous": 2 * (3 * 100 - 10 + 6 * 50 - 5),
        "keras_train_on_batch": 2 * (4 * 100 - 10 + 8 * 50 - 2 * 5),
        "plain_tf_function": 2 * (3 * 100 - 10 + 6 * 50 - 5),
    }
    for passes, flops in expected.items():
        assert hardware.step_flops(g, d, batch=2, passes=passes) == flops, passes
    with pytest.raises(ValueError, match="'sequential'"):
        hardware.step_flops(g, d, batch=2, passes="sequential")


# The quickstart nets (32 px, 1 channel, latent 30, widths 32) counted by hand. G's
# 4x4 convolutions follow a nearest upsample: they run at the doubled size (8, 16, 32).
QUICKSTART_G = [2 * 30 * 2048, 2 * 64 * 16 * 128 * 64, 2 * 256 * 16 * 64 * 32, 2 * 1024 * 16 * 32]
QUICKSTART_D = [2 * 256 * 16 * 32, 2 * 64 * 16 * 32 * 64, 2 * 16 * 16 * 64 * 128, 2 * 2048]
QUICKSTART_STEP = 64 * (
    4 * sum(QUICKSTART_G) - QUICKSTART_G[0] + 8 * sum(QUICKSTART_D) - 2 * QUICKSTART_D[0]
)


def test_quickstart_nets_count_as_by_hand():
    from dcgan.run import builder

    config = cases.case_config(cases.CASES["quickstart32"])
    generator, discriminator = builder.build_networks(config)
    assert [f for _, f in hardware.layer_flops(generator)] == QUICKSTART_G
    assert [f for _, f in hardware.layer_flops(discriminator)] == QUICKSTART_D


def test_cpu_info_reads_model_and_flags(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("model name\t: Some CPU\nflags\t\t: fpu avx2 amx_bf16 fma\n")
    info = hardware.cpu_info(str(path))
    assert (info["model"], info["flags"], info["bf16_units"]) == (
        "Some CPU",
        ["fma", "avx2", "amx_bf16"],
        True,
    )


def test_window_times_divide_each_window_by_its_calls(monkeypatch):
    durations = iter([100.0, 1.0, 2.0, 3.0, 7.0, 9.0, 5.0])  # warm-up, then 3 windows of 2
    clock = [0.0]
    monkeypatch.setattr(timing.time, "perf_counter", lambda: clock[0])

    def call():
        clock[0] += next(durations)

    times = timing.window_times(call, windows=3, calls=2, warmup=1)
    assert times == [1.5, 5.0, 7.0]
    assert timing.median(times) == 5.0
    assert timing.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    with pytest.raises(ValueError, match="windows=0"):
        timing.window_times(call, windows=0, calls=1)


def test_interleaved_windows_take_turns(monkeypatch):
    clock, order = [0.0], []
    monkeypatch.setattr(timing.time, "perf_counter", lambda: clock[0])

    def work(name, seconds):
        def call():
            order.append(name)
            clock[0] += seconds

        return call

    times = timing.interleaved_window_times(
        {"a": (work("a", 1.0), 2), "b": (work("b", 3.0), 1)}, windows=2
    )
    assert order == ["a", "a", "b", "a", "a", "b"]
    assert times == {"a": [1.0, 1.0], "b": [3.0, 3.0]}
    order.clear()
    times = timing.interleaved_window_times(
        {"a": (work("a", 1.0), 1), "b": (work("b", 3.0), 1)}, windows=2, rewarm=1
    )
    assert order == ["a", "a", "b", "b"] * 2  # one untimed call before each window
    assert times == {"a": [1.0, 1.0], "b": [3.0, 3.0]}


def test_calls_per_window_cover_whole_loops_and_penalty_periods():
    assert cases.CASES["wgan_gp_lazy4_critic"].calls_per_window(1) == 4
    assert cases.CASES["wgan_gp_lazy4_critic"].calls_per_window(5) == 8
    assert cases.CASES["ring2d_loop100"].calls_per_window(1) == 1
    assert cases.CASES["ring2d_loop100"].calls_per_window(250) == 3
    assert cases.CASES["dcgan64"].calls_per_window() == cases.CASES["dcgan64"].window_steps


def test_flagfile_config_reads_bool_flags():
    config = cases.flagfile_config("celeba.flags", dataset="glyphs")
    assert config.random_flip is True and config.loss == "wgan-gp" and config.d_norm == "layer"
    assert cases.BASES["wgan_clip64"].config().d_optimizer == "rmsprop"


def small_config():
    return cases.flagfile_config(
        "quickstart.flags", g_base_width=4, d_base_width=4, batch_size=4, latent_dim=3
    )


def weights(model):
    return [w.numpy().copy() for w in model.weights]


def changed(before, model):
    return [not np.array_equal(b, w.numpy()) for b, w in zip(before, model.weights, strict=True)]


def test_keras_baseline_updates_d_in_its_calls_and_only_g_in_the_combined_one():
    keras.utils.set_random_seed(0)
    loop = baselines.KerasTrainOnBatch(small_config())
    g, d = loop.generator, loop.discriminator
    log = []
    for model in (d, loop.combined):
        original = model.train_on_batch

        def spy(x, y, original=original, model=model):
            before_g, before_d = weights(g), weights(d)
            result = original(x, y)
            log.append((model.name, changed(before_g, g), changed(before_d, d)))
            return result

        model.train_on_batch = spy
    real = tf.random.uniform([4, 32, 32, 1], -1.0, 1.0, seed=1)
    for _ in range(2):  # the second step runs the traced functions
        losses = loop.step(real)
        assert set(losses) == {"d_loss", "g_loss"} and all(np.isfinite(list(losses.values())))
    names = [name for name, _, _ in log]
    assert names == [d.name, d.name, "combined"] * 2
    d.trainable = True  # D's trainable weights, which its own updates must all change
    trainable_d = [any(w is v for v in d.trainable_weights) for w in d.weights]
    assert any(trainable_d)
    for name, g_changed, d_changed in log:
        if name == "combined":
            assert all(g_changed[i] for i, w in enumerate(g.weights) if w.trainable)
            assert not any(d_changed)  # weights and batch-norm statistics alike
        else:
            assert not any(g_changed)
            assert [c for c, t in zip(d_changed, trainable_d, strict=True) if t] == [True] * sum(
                trainable_d
            )


def test_keras_3_ignores_trainable_at_compile_time():
    # Why the baseline sets D.trainable before each call: compiled in the seeds' order,
    # D's own train_on_batch traces frozen and never changes D.
    keras.utils.set_random_seed(0)
    loop = baselines.KerasTrainOnBatch(small_config())
    before = weights(loop.discriminator)
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        loop.discriminator.train_on_batch(np.zeros((4, 32, 32, 1), np.float32), np.ones((4, 1)))
    assert not any(changed(before, loop.discriminator))


def test_plain_step_updates_both_networks():
    from dcgan.run import builder

    config = small_config()
    keras.utils.set_random_seed(0)
    generator, discriminator = builder.build_networks(config)
    step = baselines.plain_step(config, generator, discriminator)
    before_g, before_d = weights(generator), weights(discriminator)
    real = tf.random.uniform([4, 32, 32, 1], -1.0, 1.0, seed=1)
    losses = step(real)
    step(real)
    assert np.isfinite(float(losses["g_loss"])) and np.isfinite(float(losses["d_loss"]))
    for model, before in ((generator, before_g), (discriminator, before_d)):
        trainable = [w.trainable for w in model.weights]
        assert all(c for c, t in zip(changed(before, model), trainable, strict=True) if t)
    assert step.experimental_get_tracing_count() == 1


def made_up_results(**cases_s_per_step):
    records = {
        name: {"s_per_step": s, "gflop_per_s": gflops, "traces": traces}
        for name, (s, gflops, traces) in cases_s_per_step.items()
    }
    records["dcgan64_reuse_fakes"] = {"skipped": "not merged"}
    return {
        "cases": records,
        "matmul": {"float32": {"gflops": 200.0}, "bfloat16": {"gflops": 400.0}},
        "first_step": {"seconds": 10.6},
        "input": {"images_per_sec": 1000.0},
    }


def test_targets_pass_and_miss_on_made_up_figures():
    results = made_up_results(
        dcgan64=(1.0, 150.0, 1),
        dcgan64_simultaneous=(0.8, 140.0, 1),
        dcgan64_bf16=(0.5, 300.0, 1),
        keras_train_on_batch=(1.2, 130.0, None),
        plain_tf_function=(0.9, 130.0, 2),
        wgan_clip_critic=(1.0, None, 1),
        wgan_gp_critic=(1.8, None, 1),
        wgan_gp_lazy4_critic=(1.2, None, 1),
        ring2d=(0.07, None, 1),
        ring2d_loop100=(0.05, None, 1),
    )
    assert perf_report.fastest_dcgan64(results) == "dcgan64_bf16"
    assert perf_report.fastest_dcgan64(results, float32_only=True) == "dcgan64_simultaneous"
    rows = perf_report.evaluate_targets(results)
    got = [(r["key"], r["note"].split(" ")[0], round(r["value"], 4), r["status"]) for r in rows]
    assert got == [
        ("vs_keras", "dcgan64", 1.2, "PASS"),
        ("vs_plain", "dcgan64", 0.9, "MISS"),
        ("flop_rate", "dcgan64", 75.0, "PASS"),  # the bound itself passes
        ("vs_keras", "dcgan64_simultaneous", 1.5, "PASS"),
        ("vs_plain", "dcgan64_simultaneous", 1.125, "PASS"),
        ("flop_rate", "dcgan64_simultaneous", 70.0, "MISS"),
        ("vs_keras", "dcgan64_bf16", 2.4, "PASS"),
        ("vs_plain", "dcgan64_bf16", 1.8, "PASS"),
        ("flop_rate", "dcgan64_bf16", 75.0, "PASS"),  # against the bfloat16 rate
        ("gp_critic", "", 1.8, "MISS"),
        ("gp_lazy4", "", 1.2, "PASS"),
        ("ring2d_loop", "", 1.4, "MISS"),
        ("traces", "9", 2, "MISS"),
        ("first_step", "", 10.6, "PASS"),
        ("input", "consumption", round(1000 / (64 / 0.5), 4), "PASS"),
    ]


def test_targets_not_measured_are_na_and_all_listed():
    rows = perf_report.evaluate_targets({"cases": {"dcgan64": {"skipped": "x"}}})
    assert {r["key"] for r in rows} == set(perf_report.TARGETS)
    assert {r["status"] for r in rows} == {"n/a"}


def test_target_bounds_hold_both_ways():
    at_most = perf_report.Target("t", 1.7, at_least=False)
    assert [at_most.status(v) for v in (1.7, 1.71, None)] == ["PASS", "MISS", "n/a"]
    at_least = perf_report.Target("t", 1.5, at_least=True)
    assert [at_least.status(v) for v in (1.5, 1.49)] == ["PASS", "MISS"]


@pytest.fixture(scope="module", autouse=True)
def tiny_run(tmp_path_factory):
    """A tiny ``dcgan.benchmarks.perf`` run, started in the background before the first
    test of this module (it runs while they do; only its figures' form is checked):
    (the command, its JSON report's path)."""
    output = tmp_path_factory.mktemp("perf") / "bench.json"
    args = [
        "--cases=quickstart32,matmul,first_step,input",
        "--windows=2",
        "--window_steps=1",
        "--matmul_size=256",
        "--input_files=64",
        f"--output={output}",
    ]
    command = Background(
        [sys.executable, "-m", "dcgan.benchmarks.perf", *args], timeout=CHILD_TIMEOUT
    )
    yield command, output
    command.kill()


def test_tiny_run_prints_the_table_and_targets_and_writes_the_json(tiny_run):
    command, output = tiny_run
    result = command.result()
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(output.read_text())
    assert set(report) == {
        *("platform", "cpu", "versions", "settings", "cases", "matmul", "first_step"),
        *("input", "peak_rss_mib", "targets", "total_s"),
    }
    assert set(report["versions"]) >= {"tensorflow", "keras"} and "flags" in report["cpu"]
    record = report["cases"]["quickstart32"]
    assert len(record["window_s_per_step"]) == 2 and record["traces"] == 1
    assert record["s_per_step"] == pytest.approx(np.median(record["window_s_per_step"]))
    assert record["steps_per_s"] == pytest.approx(1 / record["s_per_step"])
    assert record["gflop_per_step"] == pytest.approx(QUICKSTART_STEP / 1e9)
    assert 0 < report["first_step"]["seconds"] < 120
    assert report["input"]["images_per_sec"] > 0 and report["matmul"]["float32"]["gflops"] > 0
    assert {t["key"] for t in report["targets"]} == set(perf_report.TARGETS)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("CPU: ") and "TensorFlow" in lines[1]
    header = next(i for i, line in enumerate(lines) if line.startswith("case "))
    assert lines[header + 1].split()[0] == "quickstart32"
    for target in perf_report.TARGETS.values():
        assert any(target.name in line for line in lines), target.name
    assert any(line.split()[:1] == ["PASS"] and "traces" in line for line in lines)


def test_unknown_case_is_a_one_line_usage_error():
    result = run_module(
        "dcgan.benchmarks.perf", "--cases=quickstart32,no_such_case", timeout=CHILD_TIMEOUT
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dcgan.benchmarks.perf: error: ")
    assert "'no_such_case'" in lines[0] and "first_step" in lines[0].split("valid:")[1]
    assert result.stdout == ""


def test_importing_defines_no_flags():
    from absl import flags

    assert perf.PARTS and "window_steps" not in flags.FLAGS
