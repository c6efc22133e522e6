"""Every shipped flagfile trains: a few steps each, with its own networks and flags.

The runs train in this process, from the flags ``python -m dcgan.train`` parses
(``configs.from_flags``); test_train.py runs the command itself.
"""

import glob
import gzip
import os
import re
import subprocess
import sys

import imageio.v3 as iio
import keras
import numpy as np
import pytest
from configs import from_flags
from keras.src.backend import config as keras_config
from PIL import Image
from runner import CHILD_TIMEOUT, run_module

from dcgan.benchmarks import toys as bench_toys
from dcgan.benchmarks.cases import flagfile_config
from dcgan.run import loop
from dcgan.run.builder import build_networks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FLAGFILES = sorted(glob.glob(os.path.join(ROOT, "experiments", "*.flags")))
# Flagfiles that differ from a trained one only in options whose training other tests
# cover (the objectives in test_trainer, the glyph subset in test_benchmarks_glyphs):
# they are parsed and checked, not trained, to keep the suite short.
PARSED_ONLY = {
    "cifar10_resnet.flags",  # CIFAR-10 is not in the test's Keras cache; ResNets: test_resnet
    "ring2d_hinge.flags",
    "ring2d_lsgan.flags",
    "grid2d_hinge.flags",
    "grid2d_lsgan.flags",
    "grid2d_pack2.flags",
    "glyphs500_hinge_sn.flags",
    "glyphs500_hinge_sn_augment.flags",
    "glyphs_best.flags",  # the quickstart's nets and step, longer
}
# Only the length, the batch and the sample grid shrink; networks, losses and optimizers
# stay as shipped.
SHRINK = ["--train_steps=2", "--log_every=1", "--checkpoint_every=2", "--image_every=2"]


def test_the_expected_experiments_ship():
    names = {os.path.basename(path) for path in FLAGFILES}
    assert {
        "quickstart.flags",
        "celeba.flags",
        "gaussian1d.flags",
        "ring2d.flags",
        "grid2d.flags",
        "glyphs32.flags",
        "cats128.flags",
        "celeba_wgan_clip.flags",
        "fashion_mnist.flags",
        # The objectives side by side (README's tables).
        *(f"{name}.flags" for name in bench_toys.VARIANTS),
        "glyphs32_r1.flags",
        "glyphs32_hinge_sn.flags",
        "glyphs500_hinge_sn.flags",
        "glyphs500_hinge_sn_augment.flags",
        "glyphs_conditional.flags",
        "cifar10_resnet.flags",
        "glyphs_best.flags",
    } <= names


def test_every_flag_line_has_a_why_comment():
    for path in FLAGFILES:
        with open(path) as f:
            lines = [line.rstrip("\n") for line in f]
        for index, line in enumerate(lines):
            if line.startswith("--"):
                previous = [p for p in lines[:index] if p.strip()]
                assert previous, f"{path}: {line} has no comment before it"


def jpeg_folder(directory, count=6, size=(218, 178)):  # CelebA's size
    rng = np.random.default_rng(0)
    os.makedirs(directory / "nested")
    for i in range(count):
        pixels = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(directory / ("nested" if i % 2 else "") / f"{i}.jpg")
    return directory


def fashion_mnist_cache(keras_home, count=40):
    """Fashion-MNIST's four files in the Keras cache layout, with random 28x28 images."""
    cache = keras_home / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (count, 28, 28), np.uint8),
        "train-labels-idx1-ubyte.gz": np.zeros(count, np.uint8),
        "t10k-images-idx3-ubyte.gz": np.zeros((2, 28, 28), np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.zeros(2, np.uint8),
    }
    for name, array in arrays.items():  # IDX: magic, dims, big-endian sizes, bytes
        header = bytes([0, 0, 8, array.ndim])
        header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
        with gzip.open(cache / name, "wb") as f:
            f.write(header + array.tobytes())
    return keras_home


def test_parsed_only_flagfiles_are_valid_runs():
    code = (
        "import sys\n"
        "from absl import flags\n"
        "import dcgan.train\n"
        "for path in sys.argv[1:]:\n"
        "    flags.FLAGS.unparse_flags()\n"
        "    flags.FLAGS(['train', f'--flagfile={path}', '--workdir=w'])\n"
        "    print(dcgan.config.flags.config_from_flags().loss)\n"
    )
    paths = [os.path.join(ROOT, "experiments", name) for name in sorted(PARSED_ONLY)]
    result = subprocess.run(
        [sys.executable, "-c", code, *paths],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=CHILD_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # In sorted order: cifar10, glyphs500 x 2, glyphs_best, grid2d hinge, lsgan, pack2,
    # ring2d hinge, lsgan.
    assert result.stdout.split() == [
        "hinge", "hinge", "hinge", "dcgan", "hinge", "lsgan", "dcgan", "hinge", "lsgan"
    ]  # fmt: skip


def train_flagfile(flagfile, workdir, *flags):
    """Trains ``flagfile`` shrunk by ``SHRINK`` in this process, as ``python -m dcgan.train
    --flagfile=… --workdir=…`` with those flags would.

    More than 2 D updates a step shrink to 2: the step unrolls them, so each costs its
    share of tracing (gaussian1d's 20 took seconds), and 2 already take the path of many.
    """
    with open(flagfile) as f:
        n_critic = re.search(r"^--n_critic=(\d+)$", f.read(), re.MULTILINE)
    if n_critic and int(n_critic.group(1)) > 2:
        flags = ("--n_critic=2", *flags)
    loop.train(from_flags(f"--flagfile={flagfile}", f"--workdir={workdir}", *SHRINK, *flags))


@pytest.mark.parametrize(
    "flagfile",
    [path for path in FLAGFILES if os.path.basename(path) not in PARSED_ONLY],
    ids=os.path.basename,
)
def test_flagfile_trains_two_steps(flagfile, tmp_path, monkeypatch, capsys):
    """In this process, parsed by dcgan.train's own flags (``configs.from_flags``); the
    command line itself is tested in test_train.py."""
    name = os.path.basename(flagfile)
    if name == "fashion_mnist.flags":  # Keras read KERAS_HOME when it was imported
        monkeypatch.setattr(
            keras_config, "_KERAS_DIR", str(fashion_mnist_cache(tmp_path / "keras"))
        )
    with open(flagfile) as f:
        text = f.read()
    if "--dataset=folder\n" in text:
        # Odd-sized JPEGs (S3's cat crops are not square either); 4 per batch.
        size = (150, 131) if name == "cats128.flags" else (218, 178)
        extra = [f"--data_dir={jpeg_folder(tmp_path / 'images', size=size)}", "--batch_size=4"]
    elif "2d" in flagfile or "1d" in flagfile:
        extra = ["--batch_size=16"]
    else:
        extra = ["--batch_size=8"]
    if "2d" not in flagfile and "1d" not in flagfile and "--grid_size=" not in text:
        extra.append("--grid_size=2")  # 4 images a sample grid, not 64 (seconds at 128 px)
    if "--eval_every=" in text:  # measured at steps 0 and 2, on few samples
        extra.append("--eval_samples=40")
    train_flagfile(flagfile, tmp_path / "run", *extra)
    out = capsys.readouterr().out
    assert "step 2/2 d_loss=" in out
    assert os.path.exists(tmp_path / "run" / "checkpoints" / "ckpt-2.index")
    if name == "quickstart.flags":  # measured offline by the shipped glyph classifier
        assert "eval at step 0: fid=" in out
        assert "eval at step 2: fid=" in out and " classes_covered=" in out
    if name == "fashion_mnist.flags":  # S5 rendered a 5x5 grid of 28 px images
        grid = iio.imread(tmp_path / "run" / "samples" / "step_00000002.png")
        assert grid.shape == (5 * 30 + 2, 5 * 30 + 2)
    if name == "cats128.flags":
        # S3's other half: restore the checkpoint and only generate, with the command.
        grid = tmp_path / "cats.png"
        sampled = run_module(
            "dcgan.sample",
            f"--workdir={tmp_path / 'run'}",
            "--num_samples=4",
            f"--output={grid}",
            timeout=CHILD_TIMEOUT,
        )
        assert sampled.returncode == 0, sampled.stderr[-2000:]
        assert iio.imread(grid).shape == (2 * 130 + 2, 2 * 130 + 2, 3)


def conv_layers(model):
    return [
        layer
        for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))
    ]


def test_glyphs32_has_s1s_networks():
    generator, discriminator = build_networks(flagfile_config("glyphs32.flags"))
    assert generator.input.shape == (None, 4, 4, 4)  # S1's 4x4x4 noise
    assert len([x for x in generator.layers if isinstance(x, keras.layers.UpSampling2D)]) == 3
    assert not [x for x in generator.layers if isinstance(x, keras.layers.Conv2DTranspose)]
    assert any(
        isinstance(x, keras.layers.Activation) and x.name.endswith("elu") for x in generator.layers
    )
    convs = conv_layers(discriminator)
    assert [c.kernel_size for c in convs] == [(3, 3)] * 3 and [c.strides for c in convs] == [
        (2, 2)
    ] * 3
    assert discriminator.get_layer("hidden").units == 2048
    assert not [x for x in discriminator.layers if "norm" in x.name]


def test_cats128_has_s3s_networks():
    generator, discriminator = build_networks(flagfile_config("cats128.flags"))
    assert generator.get_layer("reshape").output.shape[1:] == (8, 8, 1024)
    ups = conv_layers(generator)
    assert [u.filters for u in ups] == [512, 256, 128, 3]
    assert all(u.kernel_size == (5, 5) and u.strides == (2, 2) for u in ups)
    convs = conv_layers(discriminator)
    assert [c.filters for c in convs] == [64, 128, 256, 512, 1024]
    assert [c.strides[0] for c in convs] == [2, 2, 2, 1, 2]
    assert discriminator.get_layer("logits").input.shape[1] == 8 * 8 * 1024


def test_fashion_mnist_has_s5s_networks():
    config = flagfile_config("fashion_mnist.flags", dataset="glyphs")
    generator, discriminator = build_networks(config)
    assert generator.get_layer("project").units == 7 * 7 * 128
    ups = conv_layers(generator)
    assert [(u.filters, u.kernel_size, u.strides) for u in ups] == [
        (64, (5, 5), (2, 2)),
        (1, (5, 5), (2, 2)),
    ]
    assert [c.filters for c in conv_layers(discriminator)] == [64, 128]
    assert [d.rate for d in discriminator.layers if isinstance(d, keras.layers.Dropout)] == [
        0.3,
        0.3,
    ]


@pytest.mark.parametrize("name", ["quickstart.flags", "ring2d.flags"])
def test_flagfile_trains_mirrored_on_two_cpu_devices_in_bfloat16(name, tmp_path, capsys):
    """The DCGAN and WGAN-GP flagfiles with --strategy and --precision added: the CPU is
    split into two logical devices for the mirrored step (conftest.py splits this
    process's)."""
    train_flagfile(
        os.path.join(ROOT, "experiments", name),
        tmp_path / "run",
        "--batch_size=8",
        "--strategy=mirrored",
        "--devices=/cpu:0,/cpu:1",
        "--precision=mixed_bfloat16",
        "--steps_per_loop=2",
        *(["--eval_samples=40"] if name == "quickstart.flags" else []),
    )
    out = capsys.readouterr().out
    assert "step 2/2 d_loss=" in out and "traces: train_step=1" in out
    assert os.path.exists(tmp_path / "run" / "checkpoints" / "ckpt-2.index")
