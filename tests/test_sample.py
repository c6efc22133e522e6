"""``python -m dcgan.sample``: generate from a checkpoint without training."""

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from configs import tiny_image
from runner import CHILD_TIMEOUT, Commands, run_batch, run_module

from dcgan.config import Config
from dcgan.run import loop, pretrained


def sample(*args):
    return run_module("dcgan.sample", *args, timeout=CHILD_TIMEOUT)


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("image_run")
    loop.train(tiny_image(workdir, train_steps=4, checkpoint_every=2, keep_checkpoints=0))
    return workdir


@pytest.fixture(scope="module", autouse=True)
def commands(tmp_path_factory, image_run):
    """The commands on ``image_run``, one process for all (``runner.run_batch``) started
    before the first test; each test reads its own."""
    commands = Commands(tmp_path_factory)
    # The latest checkpoint with the default --seed: a 10-image grid and 300 samples.
    latest = commands.mkdir("latest")
    run = f"--workdir={image_run}"
    commands.command("png", "dcgan.sample", run, "--num_samples=10", f"--output={latest}/g.png")
    commands.command("npy", "dcgan.sample", run, "--num_samples=300", f"--output={latest}/s.npy")
    chosen = commands.mkdir("chosen")
    for step in (2, 4):
        checkpoint = f"--checkpoint={image_run}/checkpoints/ckpt-{step}"
        output = f"--output={chosen}/s{step}.npy"
        commands.command(
            f"ckpt-{step}", "dcgan.sample", run, checkpoint, "--num_samples=300", output
        )
    for index, (args, _, _) in enumerate(ERRORS):
        tmp = commands.mkdir(f"error{index}")
        commands.command(
            f"error{index}", "dcgan.sample", *[a.format(run=image_run, tmp=tmp) for a in args]
        )
    commands.start()
    yield commands
    commands.close()


@pytest.fixture(scope="module")
def latest_samples(commands):
    """The 300 samples of the latest checkpoint."""
    npy = commands.result("npy")
    assert npy.returncode == 0, npy.stderr
    assert "ckpt-4" in npy.stdout
    return np.load(commands.folder("latest") / "s.npy")


def test_png_grid(commands):
    png = commands.result("png")
    assert png.returncode == 0, png.stderr
    assert "ckpt-4" in png.stdout
    # 10 images of 28 px: 4 columns x 3 rows, 2 px padding around each.
    assert iio.imread(commands.folder("latest") / "g.png").shape == (3 * 30 + 2, 4 * 30 + 2)


def test_npy_samples(latest_samples):
    samples = latest_samples
    assert samples.shape == (300, 28, 28, 1) and samples.dtype == np.float32
    assert samples.min() >= -1.0 and samples.max() <= 1.0
    # Chunked generation must not repeat noise: the 256th sample differs from the 0th.
    assert not np.array_equal(samples[0], samples[256])


def test_a_checkpoint_can_be_chosen(commands, latest_samples):
    paths = {}
    for step in (2, 4):
        result = commands.result(f"ckpt-{step}")
        assert result.returncode == 0, result.stderr
        assert f"ckpt-{step}" in result.stdout
        paths[step] = np.load(commands.folder("chosen") / f"s{step}.npy")
    # ckpt-4 is the latest: the same --seed gives the same samples again.
    np.testing.assert_array_equal(paths[4], latest_samples)
    assert not np.array_equal(paths[2], paths[4])


def test_vector_run_writes_npy_and_refuses_png(tmp_path):
    workdir = tmp_path / "ring"
    loop.train(
        Config(
            workdir=str(workdir),
            dataset="ring2d",
            latent_dim=4,
            g_hidden_units=(8,),
            d_hidden_units=(8,),
            batch_size=16,
            train_steps=2,
        )
    )
    result, refused = run_batch(
        "dcgan.sample",
        [
            (f"--workdir={workdir}", "--num_samples=50", f"--output={tmp_path}/r.npy"),
            (f"--workdir={workdir}", f"--output={tmp_path}/r.png"),
        ],
        timeout=CHILD_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "r.npy").shape == (50, 2)
    assert refused.returncode == 2
    assert "holds vectors, not images; write .npy" in refused.stderr.strip().splitlines()[-1]


ERRORS = [
    (["--output=x.png"], 2, "--workdir is required"),
    (
        ["--workdir={run}", "--output=x.gif"],
        2,
        "--output=x.gif is invalid; allowed: a path ending in .png or .npy",
    ),
    (["--workdir={run}", "--output=/no/such/dir/x.png"], 2, "directory /no/such/dir"),
    (["--workdir={tmp}", "--output={tmp}/x.png"], 2, "holds no dcgan run (no config.json)"),
    (
        ["--workdir={run}", "--checkpoint={run}/checkpoints/ckpt-9", "--output={tmp}/x.png"],
        1,
        "no checkpoint at",
    ),
    (["--workdir={run}", "--num_samples=0", "--output={tmp}/x.png"], 2, "--num_samples"),
]


@pytest.mark.parametrize("index", range(len(ERRORS)), ids=[message for *_, message in ERRORS])
def test_errors(commands, index):
    _, status, message = ERRORS[index]
    result = commands.result(f"error{index}")
    assert result.returncode == status, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("dcgan.sample: error: ") and message in last


def test_samples_use_the_runs_noise_distribution_and_shape(tmp_path):
    # S1's kind of run: z is uniform in [-2, 2), shaped 4x4x2.
    workdir = tmp_path / "uniform"
    loop.train(
        Config(
            workdir=str(workdir),
            image_size=32,
            latent_dim=32,
            noise_shape=(4, 4, 2),
            noise_distribution="uniform",
            noise_scale=2.0,
            g_base_width=4,
            d_base_width=4,
            batch_size=8,
            train_steps=1,
            grid_size=2,
        )
    )
    result = sample(f"--workdir={workdir}", "--num_samples=3", f"--output={tmp_path}/u.npy")
    assert result.returncode == 0, result.stderr
    run = pretrained.load_generator(str(workdir))
    noise = tf.random.Generator.from_seed(0).uniform([3, 4, 4, 2], minval=-2.0, maxval=2.0)
    np.testing.assert_allclose(
        np.load(tmp_path / "u.npy"), run.generator(noise, training=False), atol=1e-6
    )
