"""``python -m dcgan.export``: a SavedModel of G that loads without dcgan."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from runner import CHILD_TIMEOUT, Commands, run_batch

from dcgan.config import Config
from dcgan.run import loop, pretrained

# Runs in a fresh interpreter that imports TensorFlow and NumPy only, never dcgan. Its
# argument: a JSON list of [export, output key, noise .npy, served .npy, sampled .npy].
CONSUMER = textwrap.dedent(
    """
    import json
    import sys

    import numpy as np
    import tensorflow as tf

    for export, key, noise_file, served_file, sampled_file in json.loads(sys.argv[1]):
        model = tf.saved_model.load(export)
        noise = tf.constant(np.load(noise_file))
        served = model.signatures["serving_default"](noise=noise)[key].numpy()
        count, seed = tf.constant(5), tf.constant([3, 4], tf.int64)
        sampled = model.signatures["sample"](count=count, seed=seed)[key].numpy()
        np.save(served_file, served)
        np.save(sampled_file, sampled)
    assert not any(name == "dcgan" or name.startswith("dcgan.") for name in sys.modules)
    print("consumer ok")
    """
)


RUNS = {
    # S1's generator: uniform noise shaped 4x4x2, nearest-neighbour upsampling.
    "image": dict(
        image_size=32,
        latent_dim=32,
        noise_shape=(4, 4, 2),
        noise_distribution="uniform",
        g_upsample="nearest",
        g_base_width=4,
        d_base_width=4,
        batch_size=8,
        grid_size=2,
    ),
    # S2's kind of run: an MLP G on 1-D data with uniform(-3, 3) noise of dimension 4.
    "vector": dict(
        dataset="gaussian1d",
        latent_dim=4,
        noise_distribution="uniform",
        noise_scale=3.0,
        g_hidden_units=(8,),
        d_hidden_units=(8,),
        batch_size=16,
    ),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Every kind of ``RUNS`` trained 2 steps and exported by the command, then served by
    one process without dcgan: {kind: (its folder, what the consumer printed)}."""
    root = tmp_path_factory.mktemp("export")
    for kind in sorted(RUNS):
        loop.train(Config(workdir=str(root / kind / "run"), train_steps=2, **RUNS[kind]))
    exports = [
        (f"--workdir={root / kind / 'run'}", f"--output={root / kind / 'exported'}")
        for kind in sorted(RUNS)
    ]
    for result in run_batch("dcgan.export", exports, timeout=CHILD_TIMEOUT):
        assert result.returncode == 0, result.stderr
    jobs = []
    for kind in sorted(RUNS):
        folder = root / kind
        shape = pretrained.load_generator(str(folder / "run")).config.latent_shape
        noise = np.random.default_rng(0).uniform(-1, 1, size=(3, *shape)).astype(np.float32)
        np.save(folder / "noise.npy", noise)
        key = "images" if kind == "image" else "samples"
        names = ("exported", "noise.npy", "served.npy", "sampled.npy")
        jobs.append([str(folder / names[0]), key, *(str(folder / name) for name in names[1:])])
    consumer = subprocess.run(
        [sys.executable, "-c", CONSUMER, json.dumps(jobs)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=CHILD_TIMEOUT,
    )
    assert consumer.returncode == 0, consumer.stderr[-2000:]
    return {kind: (root / kind, consumer.stdout) for kind in sorted(RUNS)}


@pytest.mark.parametrize("kind", sorted(RUNS))
def test_saved_model_serves_g_in_a_process_without_dcgan(kind, served):
    folder, consumer_stdout = served[kind]
    assert "consumer ok" in consumer_stdout
    output = folder / "exported"
    described = json.loads((output / "dcgan_noise.json").read_text())
    key = "images" if kind == "image" else "samples"
    assert described["output"] == key and described["noise_distribution"] == "uniform"

    run = pretrained.load_generator(str(folder / "run"))
    shape = run.config.latent_shape
    noise = np.load(folder / "noise.npy")
    assert noise.shape == (3, *shape)
    served = np.load(folder / "served.npy")
    np.testing.assert_allclose(served, run.generator(noise, training=False), atol=1e-5)
    scale = run.config.noise_scale
    drawn = tf.random.stateless_uniform([5, *shape], seed=[3, 4], minval=-scale, maxval=scale)
    np.testing.assert_allclose(
        np.load(folder / "sampled.npy"), run.generator(drawn, training=False), atol=1e-5
    )
    if kind == "image":
        assert served.shape == (3, 32, 32, 1)
        assert served.min() >= -1.0 and served.max() <= 1.0
    else:
        assert served.shape == (3, 1)


ERRORS = [
    (["--output={tmp}/e"], 2, "--workdir is required"),
    (["--workdir={tmp}"], 2, "--output is required"),
    (["--workdir={tmp}", "--output={tmp}"], 2, "exists; give a new directory"),
    (["--workdir={tmp}", "--output={tmp}/e"], 2, "holds no dcgan run"),
]


@pytest.fixture(scope="module", autouse=True)
def commands(tmp_path_factory):
    """The ``ERRORS`` commands, in one process (``runner.run_batch``) started before the
    first test, while the exported runs train."""
    commands = Commands(tmp_path_factory)
    for index, (args, _, _) in enumerate(ERRORS):
        tmp = commands.mkdir(f"error{index}")
        commands.command(f"error{index}", "dcgan.export", *[a.format(tmp=tmp) for a in args])
    commands.start()
    yield commands
    commands.close()


@pytest.mark.parametrize("index", range(len(ERRORS)), ids=[message for *_, message in ERRORS])
def test_errors(commands, index):
    _, status, message = ERRORS[index]
    result = commands.result(f"error{index}")
    assert result.returncode == status, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("dcgan.export: error: ") and message in last
    assert not os.path.exists(commands.folder(f"error{index}") / "e")
