"""A run's history on disk and its log (dcgan.run.history): the elapsed time on each
line, ``log.txt`` and ``metrics.jsonl`` (resumed without duplicates, on any file
system), the first and last lines, and steps/s that count training alone."""

import contextlib
import io
import json
import os
import re
import time
import uuid

import pytest
import tensorflow as tf
from configs import tiny_vector
from conftest import _read_summaries
from runner import log_lines

from dcgan.run import loop, snapshots, summaries
from dcgan.run.history import History, format_clock


class Clock:
    """A clock that moves only when told."""

    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0:00:00"), (59.9, "0:00:59"), (65, "0:01:05"), (3725, "1:02:05"), (-3, "0:00:00")],
)
def test_format_clock(seconds, text):
    assert format_clock(seconds) == text


def test_lines_said_before_open_reach_the_log_file(tmp_path, capsys):
    clock = Clock()
    history = History(clock=clock)
    history.say("preparing")
    clock.now += 65
    history.open(str(tmp_path), step=0)
    history.say("step 1/2")
    out = capsys.readouterr().out
    assert out == "[0:00:00] preparing\n[0:01:05] step 1/2\n"
    assert (tmp_path / "log.txt").read_text() == out


def test_a_record_keeps_counts_exact_and_writes_a_nan_as_null(tmp_path):
    clock = Clock()
    history = History(clock=clock, wall=lambda: 1234.5)
    history.open(str(tmp_path), step=0)
    clock.now += 2.5
    values = {
        "d_loss": tf.constant(0.5),
        "nonfinite_updates": tf.constant(3, tf.int64),
        "g_loss": float("nan"),
        "modes": 8,
    }
    history.record("train", 10, values)
    [line] = (tmp_path / "metrics.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record == {
        "kind": "train",
        "step": 10,
        "time": 1234.5,
        "elapsed": 2.5,
        "d_loss": 0.5,
        "nonfinite_updates": 3,
        "g_loss": None,
        "modes": 8,
    }
    assert isinstance(record["nonfinite_updates"], int)


def test_a_resumed_session_drops_the_records_past_its_step_and_a_cut_line(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    records = [{"kind": kind, "step": step} for step in (10, 20, 30) for kind in ("train", "eval")]
    # The last line of a session killed while writing it.
    metrics.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"kind": "tra')
    (tmp_path / "log.txt").write_text("[0:00:09] step 30/40\n")
    history = History()
    history.open(str(tmp_path), step=20)
    history.say("resuming from step 20")
    kept = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert kept == records[:4]
    log = (tmp_path / "log.txt").read_text().splitlines()
    assert log[0] == "[0:00:09] step 30/40"  # the log keeps what was printed
    assert log[1].endswith(" resuming from step 20")


def test_train_seconds_add_up_over_sessions_from_the_last_kept_record(tmp_path):
    trained = [0.0]
    history = History()
    history.open(str(tmp_path), step=0)
    history.record("train", 10, {"d_loss": 1.0})  # before training is timed: no field
    history.time_training(lambda: trained[0])
    trained[0] = 12.5
    history.record("train", 20, {"d_loss": 1.0})
    trained[0] = 30.0
    history.record("train", 30, {"d_loss": 1.0})
    resumed = History()
    resumed.open(str(tmp_path), step=20)  # step 30's record and its 17.5 s are dropped
    resumed.time_training(lambda: 2.25)
    resumed.record("eval", 20, {"fid": 3.0})
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r.get("train_seconds") for r in records] == [None, 12.5, 14.75]


def test_a_file_system_that_cannot_append_gets_whole_files_at_flush():
    directory = f"ram://history-{uuid.uuid4().hex}"
    tf.io.gfile.makedirs(directory)
    history = History(out=io.StringIO())
    history.open(directory, step=0)
    history.say("starting at step 0")
    history.record("eval", 5, {"fid": 1.5})
    history.flush()
    metrics = f"{directory}/metrics.jsonl"
    with tf.io.gfile.GFile(metrics) as f:
        assert [json.loads(line)["fid"] for line in f.read().splitlines()] == [1.5]
    with tf.io.gfile.GFile(f"{directory}/log.txt") as f:
        assert f.read().endswith("] starting at step 0\n")
    resumed = History(out=io.StringIO())
    resumed.open(directory, step=4)  # before the evaluation at step 5
    with tf.io.gfile.GFile(metrics) as f:
        assert f.read() == ""


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory):
    """A tiny ring run evaluated at steps 0, 3 and 6: its stdout, files and summaries."""
    workdir = str(tmp_path_factory.mktemp("history") / "run")
    config = tiny_vector(
        workdir,
        train_steps=6,
        log_every=2,
        summary_every=2,
        image_every=100,
        checkpoint_every=6,
        eval_every=3,
        eval_samples=300,
        best_metric="high_quality",
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        loop.train(config)
    return workdir, out.getvalue(), _read_summaries(workdir)


def test_every_line_carries_the_elapsed_time_and_reaches_log_txt(evaluated_run):
    workdir, out, _ = evaluated_run
    assert all(re.match(r"\[\d+:\d\d:\d\d\] \S", line) for line in out.splitlines())
    with open(os.path.join(workdir, "log.txt")) as f:
        assert f.read() == out


def test_the_first_lines_say_what_runs(evaluated_run):
    workdir, out, _ = evaluated_run
    lines = log_lines(out)
    assert lines[0] == f"preparing the run in {workdir}"
    # By hand: G 4*16+16 + 16*2+2 = 114, D 2*16+16 + 16*1+1 = 65.
    assert lines[1] == (
        "ring2d 2-d vectors (sampled per batch), batch 32 | MLPs: G 114 and D 65 parameters | "
        "loss dcgan, lr G 0.0002 D 0.0002 | default strategy, 1 replica on CPU:0 | float32"
    )
    assert lines[2] == f"starting at step 0; training to step 6 in {workdir}"


def test_an_evaluation_is_announced_and_timed(evaluated_run):
    _, out, _ = evaluated_run
    lines = log_lines(out)
    for step in (0, 3, 6):
        at = lines.index(f"evaluating at step {step}...")
        assert lines[at + 1].startswith(f"eval at step {step}: modes=")
        assert " (took " in lines[at + 1] and lines[at + 1].endswith("s)")


def test_the_last_lines_give_the_time_the_best_and_the_outputs(evaluated_run):
    workdir, out, _ = evaluated_run
    lines = log_lines(out)
    done, best, outputs, traces = lines[-4:]
    assert done.startswith("done at step 6; checkpoint ") and "; took " in done
    assert done.endswith(" of it evaluating)")
    with open(os.path.join(workdir, "best", "best.json")) as f:
        record = json.load(f)
    assert best == (
        f"best high_quality={record['value']:.4g} at step {record['step']}: {record['checkpoint']}"
    )
    assert outputs == (
        f"outputs in {workdir}: samples/, log.txt, metrics.jsonl, checkpoints/; "
        f"tensorboard --logdir={workdir}"
    )
    assert traces.startswith("traces: train_step=1")


def test_metrics_jsonl_holds_every_summary_and_evaluation_as_tensorboard_does(evaluated_run):
    workdir, _, scalars = evaluated_run
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    train = [r for r in records if r["kind"] == "train"]
    evals = [r for r in records if r["kind"] == "eval"]
    assert [r["step"] for r in train] == [2, 4, 6]
    assert [r["step"] for r in evals] == [0, 3, 6]
    for record in train:
        names = set(record) - {"kind", "step", "time", "elapsed", "train_seconds"}
        assert {"d_loss", "g_loss", "steps_per_sec"} <= names
        for name in names:
            tb = dict(scalars[summaries.summary_tag(name)])
            assert record[name] == pytest.approx(tb[record["step"]], rel=1e-6), name
    for record in evals:
        for name in ("modes", "high_quality", "reverse_kl"):
            assert record[name] == pytest.approx(dict(scalars[f"eval/{name}"])[record["step"]])
    times = [r["time"] for r in records]
    assert times == sorted(times) and abs(times[-1] - time.time()) < 3600
    trained = [r["train_seconds"] for r in records]
    assert trained == sorted(trained) and trained[0] < 0.5  # step 0's evaluation: untrained
    assert all(r["train_seconds"] < r["elapsed"] for r in records)


def test_steps_per_sec_and_the_eta_count_training_alone(tmp_path, monkeypatch, capsys):
    """Writing samples here takes an hour on the loop's clock; the rate ignores it."""
    offset = [0.0]

    class LoopTime:
        @staticmethod
        def perf_counter():
            return time.perf_counter() + offset[0]

    write = snapshots.write

    def slow_write(*args, **kwargs):
        offset[0] += 3600.0
        return write(*args, **kwargs)

    monkeypatch.setattr(loop, "time", LoopTime)
    monkeypatch.setattr(snapshots, "write", slow_write)
    every = dict(log_every=2, summary_every=2, image_every=2, checkpoint_every=100)
    loop.train(tiny_vector(tmp_path, train_steps=4, **every))
    steps = [line for line in log_lines(capsys.readouterr().out) if line.startswith("step ")]
    rates = [float(line.split("steps_per_sec=")[1].split()[0]) for line in steps]
    # Counting the hour would make it 2 steps / 3600 s = 0.00056.
    assert len(rates) == 2 and min(rates) > 0.01
    with open(os.path.join(tmp_path, "metrics.jsonl")) as f:
        assert max(json.loads(line)["train_seconds"] for line in f) < 60
    assert steps[0].endswith("s") and "h" not in steps[0].split("eta=")[1]
