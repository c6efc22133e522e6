"""MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1 (each with a hard
timeout): both train, only the chief's workdir remains, a one-device program (the test's
own, as ``dcgan.sample`` does) reads it, and SIGTERM to one worker stops both at one step,
with a checkpoint."""

import json
import os
import signal
import socket
import sys

import numpy as np
import pytest
from configs import tiny_vector
from runner import Background, log_line, log_lines, program_stderr, start_module

from dcgan.evaluation import evaluator
from dcgan.run import builder, loop, pretrained

TIMEOUT = 60  # seconds for any one worker process
TINY = [
    "--dataset=ring2d",
    "--latent_dim=4",
    "--g_hidden_units=16",
    "--d_hidden_units=16",
    "--batch_size=32",
    "--log_every=1",
    "--strategy=multi_worker",
]


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(workdir, scratch, *flags):
    """Starts two ``dcgan.train`` workers; their temporary folders go under ``scratch``.
    Each is killed ``TIMEOUT`` seconds after its start."""
    addresses = [f"127.0.0.1:{port}" for port in free_ports(2)]
    workers = []
    for index in range(2):
        tf_config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "TMPDIR": str(scratch)}
        workers.append(
            start_module(
                "dcgan.train", f"--workdir={workdir}", *TINY, *flags, timeout=TIMEOUT, env=env
            )
        )
    return workers


def finish(workers):
    """Waits for both workers (killing both at the timeout); returns their outputs."""
    outputs = []
    try:
        for worker in workers:
            out, err = worker.communicate(timeout=TIMEOUT)
            outputs.append((worker.returncode, out, err))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    return outputs


def test_two_workers_train_and_only_the_chiefs_workdir_remains(tmp_path):
    workdir, scratch = tmp_path / "run", tmp_path / "scratch"
    scratch.mkdir()
    outputs = finish(start_workers(workdir, scratch, "--train_steps=4", "--checkpoint_every=2"))
    for returncode, out, err in outputs:
        assert returncode == 0, err[-2000:]
        assert "done at step 4" in out
    assert (workdir / "checkpoints" / "ckpt-4.index").exists()
    assert (workdir / "config.json").exists()
    assert list(scratch.iterdir()) == []  # the other worker's folder is gone
    # The chief's checkpoint restores in a one-device program (this one), as dcgan.sample
    # restores it.
    restored = pretrained.load_generator(str(workdir))
    assert restored.checkpoint.endswith("ckpt-4")
    samples = evaluator.generate(
        restored.generator, builder.build_noise(restored.config), num_samples=10, seed=0
    )
    assert samples.shape == (10, 2) and np.isfinite(samples).all()
    # Its checkpoint holds no data position (each worker read its own shard): a
    # one-device run resumes the networks and restarts the data in a seeded order.
    resumed = loop.train(tiny_vector(workdir, train_steps=6, log_every=1))
    assert int(resumed.step.numpy()) == 6
    assert (workdir / "checkpoints" / "ckpt-6.index").exists()


def test_sigterm_to_one_worker_stops_both_at_one_step_and_a_restart_resumes(tmp_path):
    workdir, scratch = tmp_path / "run", tmp_path / "scratch"
    scratch.mkdir()
    workers = start_workers(workdir, scratch, "--train_steps=100000", "--checkpoint_every=100000")
    try:
        # Wait until the other worker is training, then signal it alone.
        for line in workers[1].stdout:
            if log_line(line).startswith("step "):
                break
        workers[1].send_signal(signal.SIGTERM)
    except BaseException:
        for worker in workers:
            worker.kill()
        raise
    outputs = finish(workers)
    steps = []
    for returncode, out, err in outputs:
        assert returncode == 0, err[-2000:]
        stopped = [line for line in log_lines(out) if line.startswith("stopped by")]
        assert len(stopped) == 1, out[-2000:]
        steps.append(int(stopped[0].split(" at step ")[1].split(";")[0]))
    assert steps[0] == steps[1]  # one agreed step, saved by the chief
    step = steps[0]
    assert (workdir / "checkpoints" / f"ckpt-{step}.index").exists()
    resumed = finish(start_workers(workdir, scratch, f"--train_steps={step + 2}"))
    for returncode, out, err in resumed:
        assert returncode == 0, err[-2000:]
        assert f"resuming from step {step}" in out and f"done at step {step + 2}" in out
    assert list(scratch.iterdir()) == []


@pytest.fixture(scope="module", autouse=True)
def malformed(tmp_path_factory):
    """One ``dcgan.train`` under a TF_CONFIG that is not JSON, started in the background
    before the first test of this module (its test is last): (the command, its folder)."""
    tmp_path = tmp_path_factory.mktemp("malformed")
    env = {
        **os.environ,
        "TF_CONFIG": '{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker"',
    }
    argv = [sys.executable, "-m", "dcgan.train", f"--workdir={tmp_path / 'run'}", *TINY]
    command = Background([*argv, "--train_steps=2"], timeout=TIMEOUT, env=env)
    yield command, tmp_path
    command.kill()


def test_malformed_tf_config_exits_with_one_line_and_writes_nothing(malformed):
    command, tmp_path = malformed
    result = command.result()
    assert result.returncode == 2
    # TensorFlow's own "WARNING: All log messages before absl::InitializeLog()" aside.
    (line,) = [line for line in program_stderr(result) if not line.startswith("WARNING: All")]
    assert line.startswith("dcgan.train: error: TF_CONFIG is not JSON (")
    assert "allowed: JSON like" in line
    assert not (tmp_path / "run").exists()
