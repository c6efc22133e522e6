"""Tests for dcgan.config: validation, applicable flags, flagfile and JSON forms, resuming."""

import dataclasses
import json
import re
import subprocess
import sys

import pytest

from dcgan import config as config_lib
from dcgan import options
from dcgan.config import STATE_FIELDS, Config, ConfigError
from dcgan.config import fields as config_fields
from dcgan.data import choices as data_choices
from dcgan.distribute import choices as distribute_choices
from dcgan.evaluation import choices as eval_choices
from dcgan.gan import choices as gan_choices
from dcgan.gan import objective
from dcgan.run import builder
from dcgan.step import choices as step_choices
from dcgan.step import schedules

WORKDIR = "runs/test"


def make(**overrides):
    return Config(workdir=WORKDIR, **overrides)


def assert_one_line_error(excinfo, *fragments):
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# --- defaults and validation -------------------------------------------------------------


def test_defaults_build_a_valid_config():
    config = make()
    assert config.workdir == WORKDIR
    assert config.dataset == "glyphs"
    assert config.is_image
    assert config.loss == "dcgan"
    assert config.g_hidden_units == (200, 100, 50)
    assert config.d_hidden_units == (200, 50)


def test_config_is_frozen():
    config = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.batch_size = 3


def test_hidden_units_lists_become_tuples():
    config = make(dataset="ring2d", g_hidden_units=[8, 4], d_hidden_units=[16])
    assert config.g_hidden_units == (8, 4)
    assert config.d_hidden_units == (16,)


POSITIVE_INT_FIELDS = (
    "train_steps",
    "batch_size",
    "log_every",
    "summary_every",
    "image_every",
    "checkpoint_every",
    "grid_size",
    "latent_dim",
    "g_base_width",
    "d_base_width",
    "kernel_size",
    "n_critic",
)

INVALID = [
    ({"workdir": ""}, "--workdir= is invalid"),
    *[
        ({name: 0}, f"--{name}=0 is invalid; allowed: an integer >= 1")
        for name in POSITIVE_INT_FIELDS
    ],
    ({"keep_checkpoints": -1}, "--keep_checkpoints=-1 is invalid; allowed: an integer >= 0"),
    ({"seed": -1}, "--seed=-1 is invalid; allowed: an integer >= 0"),
    # bool is an int subclass; it must not pass for a count.
    ({"batch_size": True}, "--batch_size=True is invalid"),
    ({"train_steps": False}, "--train_steps=False is invalid"),
    ({"n_critic": True}, "--n_critic=True is invalid"),
    ({"seed": False}, "--seed=False is invalid"),
    ({"batch_size": 64.0}, "--batch_size=64.0 is invalid"),
    (
        {"dataset": "imagenet"},
        "--dataset=imagenet is invalid; allowed: glyphs, folder, gaussian1d, ring2d, grid2d, "
        "mnist, fashion_mnist, cifar10, npy, npy_vectors, tfrecord, or tfds:NAME",
    ),
    ({"dataset": "tfds:"}, "--dataset=tfds: is invalid; allowed: glyphs"),
    ({"dataset": 3}, "--dataset=3 is invalid"),
    ({"image_size": 48}, "--image_size=48 is invalid; allowed: 28, 32, 64, 128"),
    ({"channels": 2}, "--channels=2 is invalid; allowed: 1, 3"),
    ({"g_norm": "instance"}, "--g_norm=instance is invalid; allowed: batch, layer, none"),
    ({"d_norm": "spectral"}, "--d_norm=spectral is invalid"),
    (
        {"loss": "softmax"},
        "--loss=softmax is invalid; allowed: dcgan, wgan, wgan-gp, hinge, lsgan, ragan",
    ),
    ({"generator_loss": "wasserstein"}, "--generator_loss=wasserstein is invalid"),
    ({"train_order": "together"}, "--train_order=together is invalid"),
    ({"g_optimizer": "sgd"}, "--g_optimizer=sgd is invalid; allowed: adam, rmsprop"),
    ({"d_optimizer": "adagrad"}, "--d_optimizer=adagrad is invalid"),
    ({"g_hidden_units": ()}, "--g_hidden_units= is invalid; allowed: a non-empty"),
    ({"d_hidden_units": ()}, "--d_hidden_units= is invalid"),
    ({"g_hidden_units": (200, 0)}, "--g_hidden_units=200,0 is invalid"),
    ({"d_hidden_units": (-5,)}, "--d_hidden_units=-5 is invalid"),
    ({"label_smoothing": 1.0}, "--label_smoothing=1.0 is invalid; allowed: a number in [0.0, 1.0)"),
    ({"label_smoothing": -0.1}, "--label_smoothing=-0.1 is invalid"),
    ({"g_beta1": 1.0}, "--g_beta1=1.0 is invalid; allowed: a number in [0.0, 1.0)"),
    ({"d_beta1": -0.5}, "--d_beta1=-0.5 is invalid"),
    ({"g_beta2": 1.5}, "--g_beta2=1.5 is invalid"),
    ({"d_beta2": 1.0}, "--d_beta2=1.0 is invalid"),
    ({"g_lr": 0.0}, "--g_lr=0.0 is invalid; allowed: a number > 0"),
    ({"d_lr": -0.001}, "--d_lr=-0.001 is invalid; allowed: a number > 0"),
    ({"g_lr": float("nan")}, "--g_lr=nan is invalid"),
    ({"clip_value": -0.01}, "--clip_value=-0.01 is invalid; allowed: a number >= 0"),
    ({"gp_weight": -1.0}, "--gp_weight=-1.0 is invalid; allowed: a number >= 0"),
    (
        {"penalty": "r1", "penalty_weight": -0.5},
        "--penalty_weight=-0.5 is invalid; allowed: a number > 0",
    ),
    ({"penalty": "l2"}, "--penalty=l2 is invalid; allowed: none, gp, lp, r1, r2"),
    ({"penalty": "r1"}, "--d_norm=batch cannot be used with --penalty=r1"),
    ({"loss": "wgan-gp"}, "--d_norm=batch cannot be used with --loss=wgan-gp"),
    (
        {"penalty": "r1", "loss": "wgan-gp", "dataset": "ring2d"},
        "--penalty=r1 cannot be used with --loss=wgan-gp, which has its gradient penalty "
        "already (--gp_weight); for another penalty use --loss=wgan --clip_value=0 --penalty=r1",
    ),
    (
        {"penalty": "gp", "loss": "wgan", "dataset": "ring2d"},
        "--penalty=gp cannot be used with --loss=wgan --clip_value=0.01 (weight clipping): set "
        "--clip_value=0",
    ),
    (
        {"spectral_norm": True, "loss": "wgan", "clip_value": 0.02},
        "--spectral_norm cannot be used with --loss=wgan --clip_value=0.02 (weight clipping)",
    ),
    (
        {"loss": "wgan", "clip_value": 0.0},
        "--loss=wgan --clip_value=0 leaves the critic unconstrained",
    ),
    ({"pack": 3}, "--pack=3 is invalid; allowed: a divisor of --batch_size=64"),
    ({"spectral_norm": "yes"}, "--spectral_norm=yes is invalid; allowed: true or false"),
    ({"pack": 0}, "--pack=0 is invalid; allowed: an integer >= 1"),
    ({"penalty": "gp", "d_norm": "none", "penalty_every": 0}, "--penalty_every=0 is invalid"),
    ({"lsgan_targets": (1.0, 0.0)}, "--lsgan_targets=1.0,0.0 is invalid; allowed: three numbers"),
    ({"lsgan_targets": (1.0, 1.0, 1.0)}, "--lsgan_targets=1.0,1.0,1.0 is invalid; allowed: three"),
    ({"diff_augment": ("zoom",)}, "--diff_augment=zoom is invalid; allowed: empty or distinct"),
    ({"diff_augment": ("color", "color")}, "--diff_augment=color,color is invalid"),
    (
        {"lsgan_targets": (1.0, -1.0, 0.0), "dataset": "ring2d"},
        "--lsgan_targets has no effect here: it needs --loss=lsgan",
    ),
    (
        {"label_smoothing": 0.1, "loss": "wgan", "dataset": "ring2d"},
        "--label_smoothing has no effect here: it needs --loss=dcgan",
    ),
    (
        {"gp_weight": 5.0, "dataset": "ring2d"},
        "--gp_weight has no effect here: it needs --loss=wgan-gp (this run has --dataset=ring2d "
        "--loss=dcgan",
    ),
    ({"dataset": "folder"}, "--dataset=folder needs --data_dir"),
    ({"dataset": "tfrecord"}, "--dataset=tfrecord needs --data_pattern, a glob of TFRecord"),
    ({"g_activation": "gelu"}, "--g_activation=gelu is invalid; allowed: relu, leaky_relu, elu"),
    ({"d_activation": "sigmoid"}, "--d_activation=sigmoid is invalid"),
    ({"g_upsample": "bilinear"}, "--g_upsample=bilinear is invalid; allowed: transpose, nearest"),
    (
        {"noise_distribution": "gamma"},
        "--noise_distribution=gamma is invalid; allowed: normal, uniform",
    ),
    ({"noise_scale": 0.0}, "--noise_scale=0.0 is invalid; allowed: a number > 0"),
    ({"g_start_size": -1}, "--g_start_size=-1 is invalid; allowed: an integer >= 0"),
    # 32 px: G may start at 16, 8, 4, 2 or 1 (one or more doublings), not at 32 or 3.
    ({"g_start_size": 3}, "--g_start_size=3 is invalid; allowed: 0 (auto) or one of [16, 8, 4"),
    ({"g_start_size": 32}, "--g_start_size=32 is invalid"),
    # 32 px: D halves 32 -> 16 -> 8 -> 4, three blocks.
    ({"d_stride1_block": 4}, "--d_stride1_block=4 is invalid; allowed: 0 (none) to 3 for 32"),
    ({"d_stride1_block": True}, "--d_stride1_block=True is invalid"),
    ({"d_dense_units": -1}, "--d_dense_units=-1 is invalid; allowed: an integer >= 0"),
    ({"d_dropout": 1.0}, "--d_dropout=1.0 is invalid; allowed: a number in [0, 1)"),
    ({"noise_shape": (4, 4)}, "--noise_shape=4,4 is invalid; allowed: empty or 4,4,c"),
    ({"noise_shape": (8, 8, 1), "latent_dim": 64}, "--noise_shape=8,8,1 is invalid"),
    (
        {"noise_shape": (4, 4, 4)},
        "--noise_shape=4,4,4 is invalid; allowed: a shape of latent_dim=100",
    ),
    ({"noise_shape": (4, 4, 0.5)}, "--noise_shape=4,4,0.5 is invalid"),
    (
        {"noise_shape": (4,), "latent_dim": 4, "dataset": "ring2d"},
        "--noise_shape=4 is invalid; allowed: empty for a vector dataset",
    ),
    ({"loss": "wgan-gp"}, "--d_norm=batch cannot be used with --loss=wgan-gp"),
    (
        {"loss": "wgan-gp", "dataset": "folder", "data_dir": "imgs", "d_norm": "batch"},
        "--d_norm=batch cannot be used with --loss=wgan-gp",
    ),
    ({"dataset": "npy"}, "--dataset=npy needs --data_file"),
    ({"dataset": "npy_vectors"}, "--dataset=npy_vectors needs --data_file"),
    ({"vector_dim": -2}, "--vector_dim=-2 is invalid; allowed: an integer >= 0"),
    ({"crop": "corner"}, "--crop=corner is invalid; allowed: none, center"),
    ({"crop_size": -1}, "--crop_size=-1 is invalid; allowed: an integer >= 0"),
    ({"crop_size": 1.5}, "--crop_size=1.5 is invalid"),
    (
        {"resize_method": "cubic"},
        "--resize_method=cubic is invalid; allowed: bilinear, bicubic, area, nearest, lanczos3",
    ),
    ({"on_bad_image": "ignore"}, "--on_bad_image=ignore is invalid; allowed: skip, fail"),
    ({"random_flip": 1}, "--random_flip=1 is invalid; allowed: true or false"),
    ({"eval_every": -1}, "--eval_every=-1 is invalid; allowed: an integer >= 0"),
    ({"eval_samples": 1}, "--eval_samples=1 is invalid; allowed: an integer >= 2"),
    ({"patience": -3}, "--patience=-3 is invalid; allowed: an integer >= 0"),
    (
        {"dataset": "npy_vectors", "data_file": "v.npy", "eval_every": 10},
        "--eval_every=10 is invalid; allowed: 0: --dataset=npy_vectors has no reference",
    ),
    (
        {"dataset": "ring2d", "eval_every": 10, "best_metric": "fid"},
        "--best_metric=fid is invalid; allowed: '' (none) or one of modes, high_quality, "
        "reverse_kl",
    ),
    (
        {"dataset": "gaussian1d", "eval_every": 10, "best_metric": "modes"},
        "--best_metric=modes is invalid; allowed: '' (none) or one of w1, ks",
    ),
    (
        {"eval_every": 10, "best_metric": "w1"},
        "--best_metric=w1 is invalid; allowed: '' (none) or one of fid, kid",
    ),
    (
        {"eval_every": 10, "eval_classifier": "ttur_inception", "eval_layer": "pool"},
        "--eval_layer=pool needs --eval_classifier=PATH, the Keras model whose layer",
    ),
    (
        {"dataset": "folder", "data_dir": "x", "eval_every": 9, "best_metric": "class_kl"},
        "--best_metric=class_kl needs a feature network with classes: pass --eval_classifier",
    ),
    (
        {"eval_every": 10, "eval_samples": 5},
        "--eval_samples=5 is invalid; allowed: an integer >= 6 for images (density and",
    ),
    (
        {"eval_every": 10, "alarm_recall": 1.5},
        "--alarm_recall=1.5 is invalid; allowed: a number in [0, 1] (0: off)",
    ),
    ({"lr_decay_steps": -1}, "--lr_decay_steps=-1 is invalid; allowed: an integer >= 0"),
    (
        {"lr_decay_steps": 999, "train_steps": 1000},
        "--lr_decay_steps=999 is invalid; allowed: 0 (constant) or >= --train_steps=1000",
    ),
    ({"g_ema_decay": 1.0}, "--g_ema_decay=1.0 is invalid; allowed: a number in [0.0, 1.0)"),
    ({"g_ema_decay": -0.5}, "--g_ema_decay=-0.5 is invalid; allowed: a number in [0.0, 1.0)"),
]


@pytest.mark.parametrize(
    "overrides, fragment", INVALID, ids=[",".join(o) + f"-{i}" for i, (o, _) in enumerate(INVALID)]
)
def test_invalid_values_raise_config_error_naming_the_flag(overrides, fragment):
    values = {"workdir": WORKDIR, **overrides}
    with pytest.raises(ConfigError) as excinfo:
        Config(**values)
    assert_one_line_error(excinfo, fragment)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize(
    "overrides",
    [
        {"keep_checkpoints": 0, "seed": 0},
        {"label_smoothing": 0.0},
        {"label_smoothing": 0.999},
        {"g_beta1": 0.0, "d_beta1": 0.0, "g_beta2": 0.0, "d_beta2": 0.0},
        {"g_beta2": 0.9999},
        {"g_lr": 1e-9, "d_lr": 1.0},
        {"loss": "wgan-gp", "d_norm": "layer", "gp_weight": 0.0},
        {"loss": "wgan-gp", "d_norm": "none"},
        {"loss": "wgan", "d_norm": "batch"},
        # Vector datasets use MLPs: d_norm does not apply, so its default is no conflict.
        {"loss": "wgan-gp", "dataset": "ring2d"},
        {"loss": "wgan-gp", "dataset": "gaussian1d", "d_norm": "batch"},
        {"dataset": "folder", "data_dir": "images"},
        {"image_size": 28, "channels": 3},
        {"image_size": 128},
        {"g_hidden_units": (1,), "d_hidden_units": (1, 1, 1)},
        {"g_optimizer": "rmsprop", "d_optimizer": "rmsprop"},
        {"generator_loss": "minimax", "train_order": "g_first"},
        {
            "noise_shape": (4, 4, 4),
            "latent_dim": 64,
            "noise_distribution": "uniform",
            "noise_scale": 3.0,
        },
        {"noise_shape": (7, 7, 2), "latent_dim": 98, "image_size": 28},
        {"noise_shape": (8, 8, 1), "latent_dim": 64, "g_start_size": 8, "image_size": 128},
        {"g_start_size": 16, "d_stride1_block": 3, "d_dense_units": 2048, "d_dropout": 0.3},
        {"g_activation": "selu", "d_activation": "elu", "g_upsample": "nearest"},
        {"dataset": "ring2d", "eval_every": 1, "best_metric": "reverse_kl", "patience": 3},
        {"dataset": "gaussian1d", "eval_every": 5, "eval_samples": 2, "best_metric": "ks"},
        {"eval_every": 100, "best_metric": "kid", "eval_classifier": "c.keras"},
        {"eval_every": 100, "eval_classifier": "c.keras", "eval_layer": "features"},
        {"eval_every": 100, "best_metric": "classes_covered", "alarm_coverage": 0.0},
        {"dataset": "folder", "data_dir": "x", "eval_every": 9, "best_metric": "coverage"},
        {"lr_decay_steps": 1000, "train_steps": 1000},
        {"penalty": "r1", "penalty_weight": 10.0, "d_norm": "layer"},
        {"penalty": "r2", "penalty_weight": 0.1, "dataset": "ring2d", "penalty_every": 16},
        {"loss": "wgan", "clip_value": 0.0, "penalty": "lp", "d_norm": "none"},
        {"loss": "wgan", "clip_value": 0.0, "spectral_norm": True},
        {"loss": "wgan-gp", "d_norm": "layer", "penalty_every": 4},
        {"loss": "hinge", "spectral_norm": True, "diff_augment": ("translation", "color")},
        {"loss": "lsgan", "lsgan_targets": (1.0, -1.0, 0.0), "pack": 4},
        {"loss": "ragan", "dataset": "grid2d", "pack": 2, "batch_size": 256},
        {"dataset": "tfds:celeb_a", "image_size": 64, "channels": 3},
        {"lr_decay_steps": 5000, "train_steps": 1000},
    ],
)
def test_boundary_and_allowed_combinations_are_valid(overrides):
    config = make(**overrides)
    for name, value in overrides.items():
        expected = tuple(value) if isinstance(value, tuple) else value
        assert getattr(config, name) == expected


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"channels": True}, "--channels=True is invalid"),
        ({"channels": 3.0}, "--channels=3.0 is invalid"),
        ({"image_size": 32.0}, "--image_size=32.0 is invalid"),
    ],
)
def test_int_enums_reject_bools_and_floats(overrides, fragment):
    with pytest.raises(ConfigError) as excinfo:
        make(**overrides)
    assert_one_line_error(excinfo, fragment)


@pytest.mark.parametrize("units", [(True, 50), (2.7,), "12", ("a",)], ids=repr)
def test_hidden_units_reject_non_integers(units):
    with pytest.raises(ConfigError) as excinfo:
        make(dataset="ring2d", g_hidden_units=units)
    assert_one_line_error(excinfo, "--g_hidden_units=")


# --- check_explicit_flags ----------------------------------------------------------------

IMAGE_SETS = (
    "an image dataset (glyphs, folder, mnist, fashion_mnist, cifar10, npy, tfrecord, tfds:NAME)"
)
CONDITIONAL_DCGAN = f"{IMAGE_SETS} and --architecture=dcgan, and --conditioning other than none"
REFUSED = [
    ({}, "clip_value", "--loss=wgan"),
    ({"loss": "wgan-gp", "d_norm": "layer"}, "clip_value", "--loss=wgan"),
    ({}, "gp_weight", "--loss=wgan-gp"),
    ({"loss": "wgan"}, "gp_weight", "--loss=wgan-gp"),
    ({"loss": "wgan-gp", "d_norm": "layer"}, "label_smoothing", "--loss=dcgan"),
    ({"loss": "wgan"}, "generator_loss", "--loss=dcgan"),
    ({"loss": "hinge"}, "lsgan_targets", "--loss=lsgan"),
    ({}, "penalty_weight", "--penalty other than none"),
    ({"dataset": "ring2d"}, "diff_augment", IMAGE_SETS),
    (
        {"dataset": "ring2d"},
        "penalty_every",
        "a penalty: --penalty other than none, or --loss=wgan-gp",
    ),
    ({"g_optimizer": "rmsprop"}, "g_beta1", "--g_optimizer=adam"),
    ({"g_optimizer": "rmsprop"}, "g_beta2", "--g_optimizer=adam"),
    ({"d_optimizer": "rmsprop"}, "d_beta1", "--d_optimizer=adam"),
    ({"d_optimizer": "rmsprop"}, "d_beta2", "--d_optimizer=adam"),
    ({"dataset": "ring2d"}, "image_size", IMAGE_SETS),
    ({"dataset": "ring2d"}, "channels", IMAGE_SETS),
    ({"dataset": "gaussian1d"}, "grid_size", IMAGE_SETS),
    ({"dataset": "grid2d"}, "d_norm", IMAGE_SETS),
    ({"dataset": "grid2d"}, "kernel_size", IMAGE_SETS),
    ({}, "g_hidden_units", "a vector dataset"),
    ({"dataset": "folder", "data_dir": "x"}, "d_hidden_units", "a vector dataset"),
    ({}, "data_dir", "--dataset=folder or tfds:NAME"),
    ({"dataset": "ring2d"}, "data_dir", "--dataset=folder or tfds:NAME"),
    *[
        ({"dataset": "gaussian1d"}, name, IMAGE_SETS)
        for name in (
            "g_upsample",
            "g_start_size",
            "d_stride1_block",
            "d_dense_units",
            "d_dropout",
            "noise_shape",
        )
    ],
    ({}, "g_class_norm", CONDITIONAL_DCGAN),
    ({"architecture": "resnet", "conditioning": "projection"}, "g_class_norm", CONDITIONAL_DCGAN),
    ({"dataset": "mnist"}, "data_dir", "--dataset=folder or tfds:NAME"),
    ({"dataset": "tfds:mnist"}, "crop", "--dataset=folder"),
    ({"dataset": "tfds:mnist"}, "g_hidden_units", "a vector dataset"),
    ({}, "data_file", "--dataset=npy or npy_vectors"),
    ({"dataset": "folder", "data_dir": "x"}, "data_file", "--dataset=npy or npy_vectors"),
    ({"dataset": "npy", "data_file": "x.npy"}, "vector_dim", "--dataset=npy_vectors"),
    ({"dataset": "npy_vectors", "data_file": "v.npy"}, "image_size", IMAGE_SETS),
    ({}, "crop", "--dataset=folder"),
    ({"dataset": "npy", "data_file": "x.npy"}, "crop", "--dataset=folder"),
    (
        {"dataset": "folder", "data_dir": "x"},
        "crop_size",
        "--dataset=folder or tfrecord, and --crop=center",
    ),
    (
        {"dataset": "cifar10", "crop": "center"},
        "crop_size",
        "--dataset=folder or tfrecord, and --crop=center",
    ),
    ({}, "resize_method", "an image dataset other than glyphs"),
    ({"dataset": "ring2d"}, "resize_method", "an image dataset other than glyphs"),
    ({"dataset": "ring2d"}, "random_flip", IMAGE_SETS),
    ({}, "on_bad_image", "--dataset=folder"),
    ({"dataset": "fashion_mnist"}, "on_bad_image", "--dataset=folder"),
    ({"dataset": "npy", "data_file": "x.npy"}, "cache", "--dataset=folder"),
    ({"dataset": "tfrecord", "data_pattern": "x-*"}, "cache", "--dataset=folder"),
    ({"dataset": "folder", "data_dir": "x"}, "data_pattern", "--dataset=tfrecord"),
    ({"dataset": "ring2d"}, "eval_samples", "--eval_every > 0"),
    ({"dataset": "ring2d", "best_metric": "modes"}, "best_metric", "--eval_every > 0"),
    ({"dataset": "ring2d", "eval_every": 5}, "patience", "--best_metric"),
    ({"eval_every": 0}, "eval_classifier", "an image dataset and --eval_every > 0"),
    ({"dataset": "ring2d", "eval_every": 5}, "eval_classifier", "an image dataset and"),
    ({"dataset": "ring2d", "eval_every": 5}, "eval_layer", "an image dataset and"),
    ({"eval_every": 0}, "alarm_coverage", "an image dataset and --eval_every > 0"),
    ({"dataset": "ring2d", "eval_every": 5}, "alarm_classes_covered", "an image dataset and"),
]


@pytest.mark.parametrize("overrides, flag, needs", REFUSED)
def test_check_explicit_flags_refuses_flags_without_effect(overrides, flag, needs):
    config = make(**overrides)
    with pytest.raises(ConfigError) as excinfo:
        config_lib.check_explicit_flags(config, {flag, "train_steps"})
    assert_one_line_error(
        excinfo,
        f"--{flag} has no effect here: it needs {needs} ",
        f"--dataset={config.dataset} --loss={config.loss}",
        f"--g_optimizer={config.g_optimizer} --d_optimizer={config.d_optimizer}",
    )


ACCEPTED = [
    ({"dataset": "tfds:celeb_a"}, "data_dir"),
    ({"dataset": "tfds:celeb_a"}, "resize_method"),
    ({"loss": "wgan"}, "clip_value"),
    ({"loss": "wgan-gp", "d_norm": "layer"}, "gp_weight"),
    ({}, "label_smoothing"),
    ({}, "generator_loss"),
    ({}, "g_beta1"),
    ({"d_optimizer": "rmsprop"}, "g_beta2"),
    ({"g_optimizer": "rmsprop"}, "d_beta1"),
    ({}, "image_size"),
    ({"dataset": "folder", "data_dir": "x"}, "channels"),
    ({}, "grid_size"),
    ({"dataset": "ring2d"}, "g_hidden_units"),
    ({"dataset": "gaussian1d"}, "d_hidden_units"),
    ({"dataset": "folder", "data_dir": "x"}, "data_dir"),
    ({"dataset": "npy", "data_file": "x.npy"}, "data_file"),
    ({"dataset": "npy_vectors", "data_file": "v.npy"}, "data_file"),
    ({"dataset": "npy_vectors", "data_file": "v.npy"}, "vector_dim"),
    ({"dataset": "npy_vectors", "data_file": "v.npy"}, "g_hidden_units"),
    ({"dataset": "folder", "data_dir": "x"}, "crop"),
    ({"dataset": "folder", "data_dir": "x", "crop": "center"}, "crop_size"),
    ({"dataset": "folder", "data_dir": "x"}, "resize_method"),
    ({"dataset": "mnist"}, "resize_method"),
    ({"dataset": "npy", "data_file": "x.npy"}, "resize_method"),
    ({}, "random_flip"),
    ({"dataset": "cifar10"}, "random_flip"),
    ({"dataset": "folder", "data_dir": "x"}, "on_bad_image"),
    ({"dataset": "folder", "data_dir": "x"}, "cache"),
    ({"dataset": "tfrecord", "data_pattern": "x-*"}, "data_pattern"),
    ({"dataset": "tfrecord", "data_pattern": "x-*"}, "crop"),
    ({"dataset": "tfrecord", "data_pattern": "x-*", "crop": "center"}, "crop_size"),
    ({"dataset": "tfrecord", "data_pattern": "x-*"}, "on_bad_image"),
    # Fields without a condition apply to every run.
    ({"dataset": "ring2d", "loss": "wgan"}, "n_critic"),
    ({"g_optimizer": "rmsprop", "d_optimizer": "rmsprop"}, "g_lr"),
    ({"dataset": "grid2d"}, "latent_dim"),
    # Activations and the noise distribution apply to MLPs and conv nets alike.
    ({"dataset": "gaussian1d"}, "g_activation"),
    ({"dataset": "gaussian1d"}, "d_activation"),
    ({"dataset": "gaussian1d"}, "noise_distribution"),
    ({"dataset": "gaussian1d"}, "noise_scale"),
    ({}, "noise_shape"),
    ({}, "d_dropout"),
]


@pytest.mark.parametrize("overrides, flag", ACCEPTED)
def test_check_explicit_flags_accepts_applicable_flags(overrides, flag):
    config_lib.check_explicit_flags(make(**overrides), {flag, "workdir", "loss"})
    config_lib.check_explicit_flags(make(**overrides), frozenset({flag}))


def test_check_explicit_flags_accepts_the_empty_set():
    config_lib.check_explicit_flags(make(dataset="ring2d"), set())


def test_check_explicit_flags_names_the_first_refused_flag_in_sorted_order():
    config = make(dataset="ring2d")
    with pytest.raises(ConfigError) as excinfo:
        config_lib.check_explicit_flags(config, {"image_size", "clip_value", "data_dir"})
    assert str(excinfo.value).startswith("--clip_value has no effect here")


# --- applicable_fields and to_flagfile ---------------------------------------------------

# Written out by hand from the field list and the conditions in the module docstrings.
DCGAN_GLYPHS_FIELDS = (
    "workdir",
    "train_steps",
    "batch_size",
    "seed",
    "log_every",
    "summary_every",
    "image_every",
    "checkpoint_every",
    "keep_checkpoints",
    "grid_size",
    "deterministic",
    "precision",
    "on_nonfinite",
    "allow_flag_changes",
    "eval_every",
    "dataset",
    "image_size",
    "channels",
    "random_flip",
    "latent_dim",
    "g_base_width",
    "d_base_width",
    "architecture",
    "attention_size",
    "conditioning",
    "weight_init",
    "kernel_size",
    "g_norm",
    "d_norm",
    "g_activation",
    "d_activation",
    "g_upsample",
    "g_start_size",
    "d_stride1_block",
    "d_dense_units",
    "d_dropout",
    "noise_distribution",
    "noise_scale",
    "noise_shape",
    "loss",
    "generator_loss",
    "label_smoothing",
    "penalty",
    "spectral_norm",
    "g_spectral_norm",
    "pack",
    "diff_augment",
    "n_critic",
    "train_order",
    "updates",
    "g_optimizer",
    "d_optimizer",
    "g_lr",
    "d_lr",
    "g_beta1",
    "d_beta1",
    "g_beta2",
    "d_beta2",
    "lr_decay_steps",
    "g_ema_decay",
    "strategy",
    "steps_per_loop",
    "profile_steps",
    "jit_compile",
)
# wgan-gp on ring2d with an RMSProp discriminator: no image fields, no data_dir, no
# dcgan/wgan fields, no d_beta*.
WGAN_GP_RING2D_FIELDS = (
    "workdir",
    "train_steps",
    "batch_size",
    "seed",
    "log_every",
    "summary_every",
    "image_every",
    "checkpoint_every",
    "keep_checkpoints",
    "deterministic",
    "precision",
    "on_nonfinite",
    "allow_flag_changes",
    "eval_every",
    "dataset",
    "latent_dim",
    "g_hidden_units",
    "d_hidden_units",
    "g_activation",
    "d_activation",
    "noise_distribution",
    "noise_scale",
    "loss",
    "gp_weight",
    "penalty",
    "penalty_every",
    "spectral_norm",
    "g_spectral_norm",
    "pack",
    "n_critic",
    "train_order",
    "updates",
    "g_optimizer",
    "d_optimizer",
    "g_lr",
    "d_lr",
    "g_beta1",
    "g_beta2",
    "lr_decay_steps",
    "g_ema_decay",
    "strategy",
    "steps_per_loop",
    "profile_steps",
    "jit_compile",
)


def dcgan_glyphs():
    return Config(
        workdir="runs/glyphs=a b",  # '=' and a space in the value must survive the text form
        train_steps=1234,
        batch_size=16,
        seed=7,
        keep_checkpoints=0,
        grid_size=4,
        image_size=64,
        channels=3,
        latent_dim=32,
        g_base_width=16,
        d_base_width=24,
        kernel_size=5,
        g_norm="layer",
        d_norm="none",
        generator_loss="minimax",
        label_smoothing=0.1,
        n_critic=2,
        train_order="g_first",
        g_lr=1e-05,
        d_lr=3e-4,
        g_beta1=0.0,
        d_beta1=0.9,
        g_beta2=0.99,
        d_beta2=0.9999,
        g_activation="elu",
        d_activation="selu",
        g_upsample="nearest",
        g_start_size=4,
        d_stride1_block=2,
        d_dense_units=16,
        d_dropout=0.25,
        noise_distribution="uniform",
        noise_scale=2.0,
        noise_shape=(4, 4, 2),
    )


def wgan_gp_ring2d():
    return Config(
        workdir="runs/ring",
        dataset="ring2d",
        loss="wgan-gp",
        latent_dim=2,
        g_hidden_units=(64, 32),
        d_hidden_units=(128,),
        gp_weight=2.5,
        n_critic=5,
        d_optimizer="rmsprop",
        g_lr=1e-4,
        d_lr=5e-5,
        g_beta1=0.5,
        g_beta2=0.9,
    )


def parse_flagfile(text):
    types = {f.name: f.type for f in dataclasses.fields(Config)}
    converters = {
        "int": int,
        "float": float,
        "str": str,
        "tuple[int, ...]": lambda s: tuple(int(u) for u in s.split(",") if u),
        # absl reads a bool flag's value case-insensitively; an empty list flag is [].
        "bool": {"True": True, "False": False}.__getitem__,
        "tuple[str, ...]": lambda s: tuple(name for name in s.split(",") if name),
    }
    values = {}
    for line in text.splitlines():
        assert line.startswith("--"), line
        name, _, raw = line[2:].partition("=")
        assert name not in values, f"{name} written twice"
        values[name] = converters[types[name]](raw)
    return values


@pytest.mark.parametrize(
    "build, expected",
    [(dcgan_glyphs, DCGAN_GLYPHS_FIELDS), (wgan_gp_ring2d, WGAN_GP_RING2D_FIELDS)],
    ids=["dcgan-glyphs", "wgan-gp-ring2d"],
)
def test_flagfile_lists_exactly_the_applicable_fields(build, expected):
    config = build()
    assert config.applicable_fields() == expected
    text = config.to_flagfile()
    assert text.endswith("\n") and not text.endswith("\n\n")
    names = [line[2:].split("=", 1)[0] for line in text.splitlines()]
    assert tuple(names) == expected
    config_lib.check_explicit_flags(config, set(names))


def test_flagfile_folder_includes_data_dir():
    config = make(dataset="folder", data_dir="/data/faces")
    assert "data_dir" in config.applicable_fields()
    assert "--data_dir=/data/faces\n" in config.to_flagfile()


@pytest.mark.parametrize("build", [dcgan_glyphs, wgan_gp_ring2d], ids=["dcgan", "wgan-gp"])
def test_flagfile_round_trips(build):
    config = build()
    values = parse_flagfile(config.to_flagfile())
    assert Config(**values) == config


def test_flagfile_text_formats():
    text = wgan_gp_ring2d().to_flagfile()
    lines = text.splitlines()
    assert "--g_hidden_units=64,32" in lines
    assert "--d_hidden_units=128" in lines
    assert "--gp_weight=2.5" in lines
    assert "--d_optimizer=rmsprop" in lines
    assert lines[0] == "--workdir=runs/ring"


# --- JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [dcgan_glyphs, wgan_gp_ring2d, make], ids=["a", "b", "default"])
def test_json_round_trip(build):
    config = build()
    text = config.to_json()
    restored = Config.from_json(text)
    assert restored == config
    assert isinstance(restored.g_hidden_units, tuple)
    assert isinstance(restored.d_hidden_units, tuple)
    values = json.loads(text)
    assert set(values) == {f.name for f in dataclasses.fields(Config)}
    assert values["g_hidden_units"] == list(config.g_hidden_units)


def test_json_holds_every_field_even_inapplicable_ones():
    values = json.loads(wgan_gp_ring2d().to_json())
    assert values["image_size"] == 32
    assert values["clip_value"] == 0.01
    assert values["gp_weight"] == 2.5


def test_from_json_rejects_unknown_fields():
    values = json.loads(make().to_json())
    values["learning_rate"] = 0.1
    values["zeta"] = 1
    with pytest.raises(ConfigError) as excinfo:
        Config.from_json(json.dumps(values))
    assert_one_line_error(excinfo, "unknown config fields ['learning_rate', 'zeta']")


def test_from_json_validates_values():
    values = json.loads(make().to_json())
    values["batch_size"] = 0
    with pytest.raises(ConfigError) as excinfo:
        Config.from_json(json.dumps(values))
    assert_one_line_error(excinfo, "--batch_size=0 is invalid")


# --- check_resumable ---------------------------------------------------------------------

IMAGE_BASE = {}
VECTOR_BASE = {"dataset": "ring2d"}
STATE_CHANGES = [
    ("dataset", IMAGE_BASE, "folder", "glyphs"),
    ("image_size", IMAGE_BASE, 64, "32"),
    ("channels", IMAGE_BASE, 3, "1"),
    ("grid_size", IMAGE_BASE, 4, "8"),
    ("latent_dim", IMAGE_BASE, 64, "100"),
    ("g_base_width", IMAGE_BASE, 32, "64"),
    ("d_base_width", IMAGE_BASE, 128, "64"),
    ("architecture", IMAGE_BASE, "resnet", "dcgan"),
    ("attention_size", IMAGE_BASE, 16, "0"),
    ("weight_init", IMAGE_BASE, "orthogonal", "default"),
    ("kernel_size", IMAGE_BASE, 5, "4"),
    ("g_norm", IMAGE_BASE, "layer", "batch"),
    ("d_norm", IMAGE_BASE, "none", "batch"),
    ("g_hidden_units", VECTOR_BASE, (200, 100), "200,100,50"),
    ("d_hidden_units", VECTOR_BASE, (200, 50, 10), "200,50"),
    ("g_optimizer", IMAGE_BASE, "rmsprop", "adam"),
    ("d_optimizer", VECTOR_BASE, "rmsprop", "adam"),
    ("g_activation", VECTOR_BASE, "elu", "relu"),
    ("d_activation", IMAGE_BASE, "relu", "leaky_relu"),
    ("g_upsample", IMAGE_BASE, "nearest", "transpose"),
    ("g_start_size", IMAGE_BASE, 8, "0"),
    ("d_stride1_block", IMAGE_BASE, 2, "0"),
    ("d_dense_units", IMAGE_BASE, 2048, "0"),
    ("d_dropout", IMAGE_BASE, 0.3, "0.0"),
    ("noise_distribution", VECTOR_BASE, "uniform", "normal"),
    ("noise_scale", VECTOR_BASE, 3.0, "1.0"),
    ("noise_shape", {"latent_dim": 64}, (4, 4, 4), ""),
    ("vector_dim", {"dataset": "npy_vectors", "data_file": "v.npy", "vector_dim": 3}, 4, "3"),
    ("g_ema_decay", VECTOR_BASE, 0.999, "0.0"),
    ("spectral_norm", VECTOR_BASE, True, "False"),
    ("g_spectral_norm", VECTOR_BASE, True, "False"),
    ("conditioning", IMAGE_BASE, "acgan", "none"),
    ("num_classes", {"conditioning": "acgan", "num_classes": 10}, 62, "10"),
    ("g_class_norm", {"conditioning": "projection"}, True, "False"),
    ("pack", VECTOR_BASE, 2, "1"),
    ("precision", IMAGE_BASE, "mixed_float16", "float32"),
]


def test_state_change_table_covers_state_fields():
    assert sorted(name for name, *_ in STATE_CHANGES) == sorted(STATE_FIELDS)


def _shown(value):
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


@pytest.mark.parametrize(
    "name, base, new, old_text", STATE_CHANGES, ids=[c[0] for c in STATE_CHANGES]
)
def test_check_resumable_refuses_state_field_changes(name, base, new, old_text):
    saved = make(**base)
    extra = {"data_dir": "imgs"} if new == "folder" else {}
    config = dataclasses.replace(saved, **{name: new}, **extra)
    with pytest.raises(ConfigError) as excinfo:
        config_lib.check_resumable(saved, config)
    assert_one_line_error(
        excinfo, f"--{name}={_shown(new)} differs from {old_text} in the run saved in {WORKDIR}"
    )


def test_check_resumable_accepts_run_field_changes():
    saved = make()
    changes = {
        "train_steps": 50_000,
        "log_every": 7,
        "summary_every": 3,
        "image_every": 9,
        "checkpoint_every": 11,
        "keep_checkpoints": 0,
        "deterministic": True,
        "on_nonfinite": "skip",
        "workdir": "elsewhere",
        "on_bad_image": "fail",
        "eval_every": 10,
        "eval_samples": 500,
        "best_metric": "kid",
        "patience": 4,
        "eval_classifier": "classifier.keras",
        "eval_layer": "features",
        "alarm_coverage": 0.5,
        "alarm_recall": 0.0,
        "alarm_classes_covered": 1.0,
        "strategy": "tpu",
        "tpu": "grpc://10.0.0.2:8470",
        "steps_per_loop": 10,
        "profile_steps": (2, 3),
    }
    one_device = {"allow_flag_changes", "devices", "jit_compile"}
    assert set(changes) | one_device == set(config_lib.RUN_FIELDS)
    config_lib.check_resumable(
        saved, dataclasses.replace(saved, strategy="mirrored", devices=("/gpu:0", "/gpu:1"))
    )
    config_lib.check_resumable(saved, dataclasses.replace(saved, jit_compile=True))
    config_lib.check_resumable(saved, dataclasses.replace(saved, **changes))


@pytest.mark.parametrize(
    "changes",
    [
        {"g_lr": 1e-3},
        {"d_lr": 1e-5},
        {"loss": "wgan"},
        {"loss": "wgan", "clip_value": 0.05, "n_critic": 5, "batch_size": 32},
        {"seed": 3},
        {"label_smoothing": 0.2, "g_beta1": 0.9},
        {"lr_decay_steps": 20_000},
    ],
)
def test_check_resumable_needs_allow_flag_changes_for_the_rest(changes):
    saved = make()
    with pytest.raises(ConfigError) as excinfo:
        config_lib.check_resumable(saved, dataclasses.replace(saved, **changes))
    first = sorted(changes, key=[f.name for f in dataclasses.fields(Config)].index)[0]
    assert_one_line_error(excinfo, f"pass --allow_flag_changes={first} to change it")
    allowed = dataclasses.replace(saved, **changes, allow_flag_changes=tuple(changes))
    config_lib.check_resumable(saved, allowed)


@pytest.mark.parametrize(
    "names, fragment",
    [
        (("lr",), "--allow_flag_changes=lr is invalid; allowed: batch_size, seed"),
        (("latent_dim",), "--allow_flag_changes=latent_dim is invalid"),
        (("train_steps",), "--allow_flag_changes=train_steps is invalid"),
    ],
)
def test_allow_flag_changes_names_only_changeable_fields(names, fragment):
    with pytest.raises(ConfigError) as excinfo:
        make(allow_flag_changes=names)
    assert_one_line_error(excinfo, fragment)


def test_check_resumable_accepts_identical_configs():
    config_lib.check_resumable(wgan_gp_ring2d(), wgan_gp_ring2d())


def test_eval_metrics_per_dataset():
    images = ("fid", "kid", "precision", "recall", "density", "coverage")
    classes = ("classes_covered", "class_kl", "inception_score")
    assert make().eval_metrics == images + classes  # glyphs: the shipped classifier
    conditional = ("conditional_accuracy", "intra_fid")
    assert make(conditioning="projection").eval_metrics == images + classes + conditional
    assert make(dataset="folder", data_dir="x").eval_metrics == images  # InceptionV3
    assert make(dataset="folder", data_dir="x", eval_classifier="c.keras").eval_metrics == (
        images + classes
    )
    # Either InceptionV3 has no classes, even on glyphs.
    for network in ("inception", "ttur_inception"):
        assert make(eval_classifier=network).eval_metrics == images
    assert make(dataset="ring2d").eval_metrics == ("modes", "high_quality", "reverse_kl")
    assert make(dataset="grid2d").eval_metrics == ("modes", "high_quality", "reverse_kl")
    assert make(dataset="gaussian1d").eval_metrics == ("w1", "ks")
    assert make(dataset="npy_vectors", data_file="v.npy").eval_metrics == ()


# --- field metadata -----------------------------------------------------------------------


@pytest.mark.parametrize("field", dataclasses.fields(Config), ids=lambda f: f.name)
def test_every_field_has_help_a_spec_a_role_and_well_formed_metadata(field):
    meta = field.metadata
    assert set(meta) == {"help", "spec", "when", "role"}
    assert isinstance(meta["help"], str) and meta["help"].strip()
    assert isinstance(meta["spec"], options.Spec)
    assert meta["role"] in (config_lib.STATE, config_lib.RUN, config_lib.LEARNING)
    assert meta["when"] is None or isinstance(meta["when"], config_lib.Applies)
    if field.default is not dataclasses.MISSING:  # the default is a value the spec takes
        assert meta["spec"].accepts(field.default), field.name
    values = config_fields.choices(field)
    if values is not None:
        assert isinstance(values, tuple) and values


def test_roles_give_the_resume_tables():
    fields = dataclasses.fields(Config)
    learning = [f.name for f in fields if f.metadata["role"] == config_lib.LEARNING]
    assert len(STATE_FIELDS) + len(config_lib.RUN_FIELDS) + len(learning) == len(fields)
    assert "batch_size" in learning and "g_lr" in learning


def test_the_loss_options_are_config_fields_that_apply_through_the_families():
    fields = {f.name: f for f in dataclasses.fields(Config)}
    loss_options = {name for family in objective.FAMILIES.values() for name in family.options}
    assert loss_options == {
        "generator_loss",
        "label_smoothing",
        "clip_value",
        "gp_weight",
        "lsgan_targets",
    }
    for name in loss_options:
        assert fields[name].metadata["when"] is None, f"{name}: FAMILIES says when it applies"
    assert config_fields.choices(fields["loss"]) == tuple(objective.FAMILIES)
    assert config_fields.choices(fields["generator_loss"]) == objective.GENERATOR_LOSSES
    for loss, family in objective.FAMILIES.items():
        applicable = make(loss=loss, d_norm="layer").applicable_fields()
        assert {name for name in loss_options if name in applicable} == set(family.options)


def test_importing_config_loads_no_tensorflow():
    code = (
        "import sys, dcgan.config, dcgan.config.flags; dcgan.config.Config(workdir='w'); "
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- renamed fields ----------------------------------------------------------------------


def test_from_json_reads_the_old_name_of_a_renamed_field():
    values = json.loads(make(noise_distribution="uniform").to_json())
    values["noise"] = values.pop("noise_distribution")  # config.json of an older run
    assert Config.from_json(json.dumps(values)) == make(noise_distribution="uniform")


def test_from_json_refuses_a_field_under_both_names():
    values = json.loads(make().to_json())
    values["noise"] = "uniform"
    with pytest.raises(ConfigError) as excinfo:
        Config.from_json(json.dumps(values))
    assert_one_line_error(excinfo, "'noise' and 'noise_distribution' both given")


def test_from_json_reads_a_replaced_field():
    values = json.loads(make(dataset="ring2d").to_json())
    for name in ("penalty", "penalty_weight"):
        del values[name]
    values["r1_weight"] = 3.0  # config.json of a run from before --penalty
    replaced = Config.from_json(json.dumps(values))
    assert (replaced.penalty, replaced.penalty_weight) == ("r1", 3.0)
    values["r1_weight"] = 0.0
    assert Config.from_json(json.dumps(values)).penalty == "none"


# --- precision ---------------------------------------------------------------------------


def test_precision_defaults_to_float32_and_takes_the_three_policies():
    assert make().precision == "float32"
    for precision in ("float32", "mixed_float16", "mixed_bfloat16"):
        assert make(precision=precision).precision == precision


@pytest.mark.parametrize("bad", ["float16", "bfloat16", "mixed_float32", ""])
def test_precision_refuses_other_values(bad):
    with pytest.raises(ConfigError) as excinfo:
        make(precision=bad)
    assert_one_line_error(
        excinfo, f"--precision={bad} is invalid", "float32, mixed_float16, mixed_bfloat16"
    )


def test_config_json_without_precision_loads_as_float32():
    values = json.loads(make().to_json())
    del values["precision"]  # config.json of a run from before --precision
    assert Config.from_json(json.dumps(values)).precision == "float32"


@pytest.mark.parametrize(
    "saved, new", [("float32", "mixed_float16"), ("mixed_bfloat16", "float32")]
)
def test_resume_with_another_precision_is_refused_in_one_line(saved, new):
    old = make(precision=saved)
    with pytest.raises(ConfigError) as excinfo:
        config_lib.check_resumable(old, dataclasses.replace(old, precision=new))
    assert_one_line_error(
        excinfo,
        f"--precision={new} differs from {saved} in the run saved in {WORKDIR}",
        "resume with the same value or use a new --workdir",
    )
    # Not a flag --allow_flag_changes can release: the checkpoint could not hold it.
    with pytest.raises(ConfigError):
        make(precision=saved, allow_flag_changes=("precision",))


def test_renamed_fields_map_old_names_to_fields():
    names = {f.name for f in dataclasses.fields(Config)}
    for old, new in config_lib.RENAMED_FIELDS.items():
        assert old not in names and new in names


# --- choice lists: one list each, owned by the layer that reads it --------------------------


@pytest.mark.parametrize(
    "name, owner",
    [
        ("image_size", gan_choices.IMAGE_SIZES),
        ("g_norm", gan_choices.NORMALIZATIONS),
        ("g_activation", gan_choices.ACTIVATIONS),
        ("g_upsample", gan_choices.UPSAMPLINGS),
        ("precision", distribute_choices.PRECISION_CHOICES),
        ("noise_distribution", gan_choices.NOISE_DISTRIBUTIONS),
        ("crop", data_choices.CROPS),
        ("resize_method", data_choices.RESIZE_METHODS),
        ("on_bad_image", data_choices.BAD_IMAGE_ACTIONS),
        ("train_order", step_choices.TRAIN_ORDERS),
        ("updates", step_choices.UPDATES),
        ("g_optimizer", step_choices.OPTIMIZERS),
        ("strategy", distribute_choices.STRATEGIES),
        ("generator_loss", objective.GENERATOR_LOSSES),
    ],
)
def test_choice_fields_take_their_owners_list(name, owner):
    field = {f.name: f for f in dataclasses.fields(Config)}[name]
    assert config_fields.choices(field) is owner


def test_the_owners_lists_are_what_the_library_reads():
    for size in gan_choices.IMAGE_SIZES:
        assert make(image_size=size).g_start == gan_choices.default_start_size(size)
    assert set(data_choices.DATASETS) - set(data_choices.IMAGE_DATASETS) == {
        *data_choices.VECTOR_DATASETS,
        "npy_vectors",
    }
    assert set(eval_choices.TOY_METRICS) == set(data_choices.VECTOR_DATASETS)
    assert tuple(schedules.SCHEDULES) == step_choices.UPDATES
    # Each optimizer builds, and nothing else does.
    for name in step_choices.OPTIMIZERS:
        builder.build_optimizer(name, learning_rate=1e-3, beta1=0.5, beta2=0.999)
    with pytest.raises(ValueError, match=re.escape(repr(list(step_choices.OPTIMIZERS)))):
        builder.build_optimizer("sgd", learning_rate=1e-3, beta1=0.5, beta2=0.999)
