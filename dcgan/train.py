r"""Trains a GAN: ``python -m dcgan.train --flagfile=experiments/quickstart.flags``.

Flags live only here; they become a ``Config`` that everything below receives. A workdir
that holds a checkpoint is resumed from it. Errors in flags, data or checkpoints end
the run with one line on stderr before any training.
"""

from __future__ import annotations

import dataclasses

from absl import app, flags

from dcgan import cli
from dcgan import config as config_lib

_PROGRAM = "dcgan.train"
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(config_lib.Config)}


def _enum(name: str, choices, help_text: str) -> None:
    flags.DEFINE_enum(name, str(_DEFAULTS[name]), [str(c) for c in choices], help_text)


# The run.
flags.DEFINE_string("workdir", None, "Directory of the run: checkpoints, summaries, samples.")
flags.DEFINE_integer("train_steps", _DEFAULTS["train_steps"], "Generator updates to reach.")
flags.DEFINE_integer("batch_size", _DEFAULTS["batch_size"], "Examples per batch (per update).")
flags.DEFINE_integer("seed", _DEFAULTS["seed"], "Seed of the weights, noise and data order.")
flags.DEFINE_integer("log_every", _DEFAULTS["log_every"], "Steps between stdout lines.")
flags.DEFINE_integer(
    "summary_every", _DEFAULTS["summary_every"], "Steps between TensorBoard scalars."
)
flags.DEFINE_integer(
    "image_every", _DEFAULTS["image_every"], "Steps between fixed-noise sample grids."
)
flags.DEFINE_integer(
    "checkpoint_every", _DEFAULTS["checkpoint_every"], "Steps between checkpoints."
)
flags.DEFINE_integer(
    "keep_checkpoints", _DEFAULTS["keep_checkpoints"], "Checkpoints kept; 0 keeps all."
)
flags.DEFINE_integer("grid_size", _DEFAULTS["grid_size"], "Sample grid is grid_size^2 images.")
flags.DEFINE_bool(
    "deterministic", _DEFAULTS["deterministic"], "Deterministic ops: bit-exact reruns on GPU."
)
_enum("on_nonfinite", config_lib.NONFINITE_ACTIONS, "On a NaN/Inf loss or gradient: stop or skip.")
flags.DEFINE_list(
    "allow_flag_changes",
    list(_DEFAULTS["allow_flag_changes"]),
    "Flags a resumed run may change from the saved run (e.g. g_lr,d_lr).",
)
# Evaluation and the best checkpoint.
flags.DEFINE_integer(
    "eval_every",
    _DEFAULTS["eval_every"],
    "Steps between evaluations (metrics in TensorBoard under eval/); 0: never.",
)
flags.DEFINE_integer(
    "eval_samples", _DEFAULTS["eval_samples"], "Generated (and real) examples per evaluation."
)
flags.DEFINE_string(
    "best_metric",
    _DEFAULTS["best_metric"],
    "Keep the checkpoint with the best value of this metric in best/: modes, high_quality, "
    "reverse_kl (ring2d, grid2d), w1, ks (gaussian1d), fid, kid (images); '': none.",
)
flags.DEFINE_integer(
    "patience",
    _DEFAULTS["patience"],
    "Stop after this many evaluations without a better --best_metric; 0: never.",
)
flags.DEFINE_string(
    "eval_classifier",
    _DEFAULTS["eval_classifier"],
    "Saved Keras classifier whose activations FID/KID use; '': InceptionV3 (Keras cache).",
)
flags.DEFINE_string(
    "eval_layer", _DEFAULTS["eval_layer"], "Layer of --eval_classifier; '': its penultimate."
)
# The data.
flags.DEFINE_string(
    "dataset",
    _DEFAULTS["dataset"],
    f"Training data: {', '.join(config_lib.DATASETS)}, or tfds:NAME (a prepared TensorFlow "
    "Datasets set); glyphs ships with the package.",
)
flags.DEFINE_string(
    "data_dir",
    _DEFAULTS["data_dir"],
    "Image folder for --dataset=folder; TFDS data directory for tfds:NAME (default TFDS's).",
)
_enum("image_size", config_lib.IMAGE_SIZES, "Side of the square images, pixels.")
_enum("channels", config_lib.CHANNELS, "1 for grayscale, 3 for RGB.")
flags.DEFINE_string(
    "data_file", _DEFAULTS["data_file"], ".npy file: N x H x W x C uint8 images or N x D vectors."
)
_enum("crop", config_lib.CROPS, "center: crop a centered square before resizing (folder).")
flags.DEFINE_integer(
    "crop_size", _DEFAULTS["crop_size"], "Side of the center crop; 0: the largest square."
)
_enum("resize_method", config_lib.RESIZE_METHODS, "How images of other sizes are resized.")
flags.DEFINE_bool(
    "random_flip", _DEFAULTS["random_flip"], "Mirror each image left-right with p = 1/2."
)
_enum("on_bad_image", config_lib.BAD_IMAGE_ACTIONS, "An undecodable file: skip (counted) or fail.")
flags.DEFINE_integer(
    "vector_dim", _DEFAULTS["vector_dim"], "Width D of --dataset=npy_vectors; 0: from the file."
)
flags.DEFINE_string(
    "cache", _DEFAULTS["cache"], "Folder: '' streams; memory, or an .npy path, decodes once."
)
# The networks.
flags.DEFINE_integer("latent_dim", _DEFAULTS["latent_dim"], "Size of the noise vector z.")
flags.DEFINE_integer("g_base_width", _DEFAULTS["g_base_width"], "Filters of G's last block.")
flags.DEFINE_integer("d_base_width", _DEFAULTS["d_base_width"], "Filters of D's first block.")
flags.DEFINE_integer("kernel_size", _DEFAULTS["kernel_size"], "Convolution kernel size.")
_enum("g_norm", config_lib.NORMALIZATIONS, "Normalization in G.")
_enum("d_norm", config_lib.NORMALIZATIONS, "Normalization in D (not batch for wgan-gp).")
flags.DEFINE_list(
    "g_hidden_units", list(_DEFAULTS["g_hidden_units"]), "Hidden layers of the MLP G."
)
flags.DEFINE_list(
    "d_hidden_units", list(_DEFAULTS["d_hidden_units"]), "Hidden layers of the MLP D."
)
_enum("g_activation", config_lib.ACTIVATIONS, "G's hidden activation (leaky_relu: slope 0.2).")
_enum("d_activation", config_lib.ACTIVATIONS, "D's hidden activation (leaky_relu: slope 0.2).")
_enum(
    "g_upsample",
    config_lib.UPSAMPLINGS,
    "How G doubles its size: stride-2 transposed conv, or nearest upsample + conv.",
)
flags.DEFINE_integer(
    "g_start_size", _DEFAULTS["g_start_size"], "G's first spatial size; 0: 7 for 28 px, else 4."
)
flags.DEFINE_integer(
    "d_stride1_block", _DEFAULTS["d_stride1_block"], "D block (1-based) with stride 1; 0: none."
)
flags.DEFINE_integer(
    "d_dense_units", _DEFAULTS["d_dense_units"], "Hidden Dense layer before D's logit; 0: none."
)
flags.DEFINE_float("d_dropout", _DEFAULTS["d_dropout"], "Dropout rate after each D block.")
_enum("noise", config_lib.NOISES, "Distribution of z: normal or uniform.")
flags.DEFINE_float(
    "noise_scale", _DEFAULTS["noise_scale"], "Stddev of normal z; half-width of uniform z."
)
flags.DEFINE_list(
    "noise_shape",
    list(_DEFAULTS["noise_shape"]),
    "Shape of z for image G, e.g. 4,4,4 (product latent_dim); empty: a flat vector.",
)
# The objective and schedule.
_enum("loss", config_lib.LOSSES, "dcgan: cross-entropy; wgan: clipping; wgan-gp: penalty.")
_enum("generator_loss", config_lib.GENERATOR_LOSSES, "G's loss for --loss=dcgan.")
flags.DEFINE_float(
    "label_smoothing", _DEFAULTS["label_smoothing"], "One-sided: real target is 1 - this."
)
flags.DEFINE_float("clip_value", _DEFAULTS["clip_value"], "WGAN clips D's weights to [-c, c].")
flags.DEFINE_float("gp_weight", _DEFAULTS["gp_weight"], "WGAN-GP penalty weight lambda.")
flags.DEFINE_float(
    "r1_weight",
    _DEFAULTS["r1_weight"],
    "dcgan: gamma of the R1 penalty gamma/2 * ||grad D(x_real)||^2 in D's loss; 0: none.",
)
flags.DEFINE_integer("n_critic", _DEFAULTS["n_critic"], "D updates per G update.")
_enum("train_order", config_lib.TRAIN_ORDERS, "Which network updates first in a step.")
# The optimizers.
_enum("g_optimizer", config_lib.OPTIMIZERS, "G's optimizer.")
_enum("d_optimizer", config_lib.OPTIMIZERS, "D's optimizer.")
flags.DEFINE_float("g_lr", _DEFAULTS["g_lr"], "G's learning rate.")
flags.DEFINE_float("d_lr", _DEFAULTS["d_lr"], "D's learning rate.")
flags.DEFINE_float("g_beta1", _DEFAULTS["g_beta1"], "G's Adam beta1.")
flags.DEFINE_float("d_beta1", _DEFAULTS["d_beta1"], "D's Adam beta1.")
flags.DEFINE_float("g_beta2", _DEFAULTS["g_beta2"], "G's Adam beta2.")
flags.DEFINE_float("d_beta2", _DEFAULTS["d_beta2"], "D's Adam beta2.")
flags.DEFINE_integer(
    "lr_decay_steps",
    _DEFAULTS["lr_decay_steps"],
    "Decay both learning rates linearly to 0 over this many steps (>= --train_steps); 0: constant.",
)
flags.DEFINE_float(
    "g_ema_decay",
    _DEFAULTS["g_ema_decay"],
    "Keep an exponential moving average of G's weights with this decay, in [0, 1), and "
    "sample, evaluate and export with it; 0: none.",
)

FLAGS = flags.FLAGS
_INT_ENUMS = ("image_size", "channels")
_UNIT_LISTS = ("g_hidden_units", "d_hidden_units", "noise_shape")
_NAME_LISTS = ("allow_flag_changes",)


def config_from_flags() -> config_lib.Config:
    """Builds the Config from the parsed flags, refusing flags that would be ignored.

    Raises:
        ConfigError: for an invalid value or combination.
    """
    values = {}
    for name in _DEFAULTS:
        value = FLAGS[name].value
        if name in _INT_ENUMS:
            value = int(value)
        elif name in _UNIT_LISTS:
            try:
                value = tuple(int(unit) for unit in value)
            except ValueError:
                raise config_lib.ConfigError(
                    f"--{name}={','.join(value)} is invalid; allowed: a comma-separated list "
                    "of positive integers"
                ) from None
        elif name in _NAME_LISTS:
            value = tuple(value)
        values[name] = value if value is not None else ""
    config = config_lib.Config(**values)
    config_lib.check_explicit_flags(config, {name for name in _DEFAULTS if FLAGS[name].present})
    return config


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    try:
        config = config_from_flags()
    except config_lib.ConfigError as e:
        cli.fail(_PROGRAM, e, cli.USAGE_ERROR)
    # Imported after the flag checks: TensorFlow takes seconds to load.
    cli.quiet_tensorflow()
    from dcgan import data, loop, workdir

    try:
        loop.train(config)
    except config_lib.ConfigError as e:
        cli.fail(_PROGRAM, e, cli.USAGE_ERROR)
    except (
        data.DataError,
        workdir.CheckpointError,
        workdir.WorkdirError,
        loop.NonFiniteError,
    ) as e:
        cli.fail(_PROGRAM, e, cli.INPUT_ERROR)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
