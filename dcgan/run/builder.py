"""The builder: the one place where a ``Config`` becomes the objects of a run.

Networks, optimizers, the objective, the noise distribution, the trainer, the data
pipeline and the evaluator are built here and nowhere else. The builder sits above the
step in the import graph: the trainer takes finished objects and imports nothing that
builds them. Training (``dcgan.run.prepare``) and the entry points that only generate
(sample, interpolate, export, evaluate) share it, so a generator is always rebuilt and
fed exactly as it was trained.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from dcgan import data
from dcgan.config import Config, ConfigError
from dcgan.data import decode
from dcgan.evaluation import evaluator, features
from dcgan.gan import blocks, mlp, models, objective, resnet
from dcgan.gan.choices import PRECISIONS
from dcgan.gan.conditioning import Conditioning
from dcgan.gan.noise import NoiseDistribution
from dcgan.step.choices import OPTIMIZERS
from dcgan.step.trainer import Trainer

# Vector runs have no image grid; their fixed noise batch feeds a histogram instead.
_VECTOR_FIXED_SAMPLES = 1000


def build_optimizer(
    name: str,
    *,
    learning_rate: float,
    beta1: float,
    beta2: float,
    loss_scale: bool = False,
) -> keras.optimizers.Optimizer:
    """Returns a Keras optimizer, wrapped for dynamic loss scaling if asked.

    Under float16 small gradients underflow to 0, so the loss is multiplied by a scale
    before differentiating and the gradients divided by it before the update. A
    ``keras.optimizers.LossScaleOptimizer`` keeps that scale in a variable
    (``dynamic_scale``, 2**15 at first), and its ``apply`` unscales the gradients,
    skips the update and halves the scale when one is not finite, and doubles it after
    2,000 finite updates. Each network gets its own: G's and D's gradients underflow
    at different scales. The wrapper's slots lie under ``inner_optimizer/`` in a
    checkpoint, so a run keeps the same ``loss_scale`` for its life.

    Call ``.build(variables)`` on the result before the first (traced) update, for the
    wrapper as for a plain optimizer: it creates the slots and the scale.

    Args:
        name: "adam" or "rmsprop". RMSProp keeps the Keras defaults (rho 0.9, no
            momentum) and ignores the betas, which belong to Adam.
        learning_rate: step size.
        beta1: Adam's first-moment decay.
        beta2: Adam's second-moment decay.
        loss_scale: wrap the optimizer in a ``LossScaleOptimizer``; ``use_loss_scale``
            says when (mixed_float16 only: bfloat16 has float32's range).

    Raises:
        ValueError: for an unknown name.
    """
    if name == "adam":
        optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta1, beta_2=beta2)
    elif name == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate)
    else:
        raise ValueError(f"optimizer {name!r} is not one of {list(OPTIMIZERS)}")
    if loss_scale:
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def use_loss_scale(config: Config) -> bool:
    """Whether the run's optimizers scale the loss: under mixed_float16 only.

    float16 has 5 exponent bits (smallest normal 6e-5), so gradients underflow;
    bfloat16 has float32's 8, so mixed_bfloat16 needs no scaling.
    """
    return config.precision == "mixed_float16"


def sample_shape(config: Config) -> tuple[int, ...]:
    """Shape of one example of the run's data: (H, W, C) for images, (D,) for vectors."""
    if config.is_image:
        return (config.image_size, config.image_size, config.channels)
    if config.dataset in data.VECTOR_DATASETS:
        return (data.VECTOR_DATASETS[config.dataset],)
    return (config.vector_dim,)  # npy_vectors


def build_networks(config: Config) -> tuple[keras.Model, keras.Model]:
    """Builds the generator and discriminator a ``Config`` describes.

    With ``pack`` > 1, D's input is ``pack`` samples concatenated along the last axis.
    Every layer gets the dtype policy ``config.precision`` (float32 variables; images,
    samples and logits float32 under any policy).

    Raises:
        ConfigError: for ``precision="auto"``, which ``dcgan.run.prepare`` replaces by a
            policy when a run starts.
    """
    if config.precision not in PRECISIONS:
        raise ConfigError(
            f"precision={config.precision!r} is chosen when a run starts (dcgan.run.prepare); "
            f"allowed here: {', '.join(PRECISIONS)}"
        )
    if config.is_image:
        # What both image architectures take; the DCGAN nets take their own options too.
        g_options = dict(
            image_size=config.image_size,
            channels=config.channels,
            latent_dim=config.latent_dim,
            base_width=config.g_base_width,
            norm=config.g_norm,
            start_size=config.g_start,
            attention_size=config.attention_size,
            spectral_norm=config.g_spectral_norm,
            num_classes=config.num_classes if config.conditioning != "none" else 0,
            weight_init=config.weight_init,
            dtype_policy=config.precision,
        )
        d_options = dict(
            image_size=config.image_size,
            channels=config.channels * config.pack,
            base_width=config.d_base_width,
            spectral_norm=config.spectral_norm,
            attention_size=config.attention_size,
            conditioning=config.conditioning,
            num_classes=config.num_classes,
            weight_init=config.weight_init,
            dtype_policy=config.precision,
        )
    if config.is_image and config.architecture == "resnet":
        generator = resnet.resnet_generator(**g_options)
        discriminator = resnet.resnet_discriminator(**d_options)
    elif config.is_image:
        generator = models.dcgan_generator(
            **g_options,
            kernel_size=config.kernel_size,
            activation=config.g_activation,
            upsample=config.g_upsample,
            class_norm=config.g_class_norm,
            noise_shape=config.latent_shape,
        )
        discriminator = models.dcgan_discriminator(
            **d_options,
            kernel_size=config.kernel_size,
            norm=config.d_norm,
            activation=config.d_activation,
            stride1_block=config.d_stride1_block,
            dense_units=config.d_dense_units,
            dropout=config.d_dropout,
        )
    else:
        (dim,) = sample_shape(config)
        generator = mlp.mlp_generator(
            latent_dim=config.latent_dim,
            output_dim=dim,
            hidden_units=config.g_hidden_units,
            activation=config.g_activation,
            spectral_norm=config.g_spectral_norm,
            dtype_policy=config.precision,
        )
        discriminator = mlp.mlp_discriminator(
            input_dim=dim * config.pack,
            hidden_units=config.d_hidden_units,
            activation=config.d_activation,
            spectral_norm=config.spectral_norm,
            dtype_policy=config.precision,
        )
    return generator, discriminator


def build_noise(config: Config) -> NoiseDistribution:
    """The distribution of z the run of ``config`` trains (and samples) with."""
    return NoiseDistribution(
        name=config.noise_distribution, scale=config.noise_scale, shape=config.latent_shape
    )


def build_conditioning(config: Config) -> Conditioning:
    """How the run's nets take classes (``config.num_classes`` is set by then: see
    ``dcgan.run.classes.resolve``)."""
    if config.conditioning == "none":
        return Conditioning()
    return Conditioning(config.conditioning, config.num_classes, config.class_weight)


def build_objective(config: Config) -> objective.Objective:
    """The run's objective: its loss family with the options that family reads, and the
    penalty."""
    family = objective.FAMILIES[config.loss]
    return objective.build(
        config.loss,
        penalty=config.penalty,
        penalty_weight=config.penalty_weight,
        penalty_every=config.penalty_every,
        **{name: getattr(config, name) for name in family.options},
    )


def _network_optimizer(config: Config, net: str):
    """The optimizer of network ``net`` ("g" or "d") from its ``{net}_*`` fields."""
    return build_optimizer(
        getattr(config, f"{net}_optimizer"),
        learning_rate=getattr(config, f"{net}_lr"),
        beta1=getattr(config, f"{net}_beta1"),
        beta2=getattr(config, f"{net}_beta2"),
        loss_scale=use_loss_scale(config),
    )


def build_trainer(
    config: Config,
    *,
    strategy: tf.distribute.Strategy | None = None,
    per_replica_input: bool = False,
) -> Trainer:
    """Builds the networks, optimizers, objective and trainer of ``config``; restores nothing.

    Args:
        config: the run.
        strategy: the strategy to build under (its scope holds every variable); None:
            the default, one device.
        per_replica_input: the run's iterator yields each replica its own share of the
            batch (a distributed dataset).
    """
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        generator, discriminator = build_networks(config)
        if config.sync_batch_norm:
            for model in (generator, discriminator):
                blocks.synchronize_batch_norm(model)
        return Trainer(
            generator=generator,
            discriminator=discriminator,
            g_optimizer=_network_optimizer(config, "g"),
            d_optimizer=_network_optimizer(config, "d"),
            objective=build_objective(config),
            noise=build_noise(config),
            n_critic=config.n_critic,
            train_order=config.train_order,
            skip_nonfinite=config.on_nonfinite == "skip",
            g_ema_decay=config.g_ema_decay,
            seed=config.seed,
            num_fixed_samples=config.grid_size**2 if config.is_image else _VECTOR_FIXED_SAMPLES,
            pack=config.pack,
            diff_augment=config.diff_augment,
            lr_decay_steps=config.lr_decay_steps,
            strategy=strategy,
            per_replica_input=per_replica_input,
            updates=config.updates,
            jit_compile=config.jit_compile,
            conditioning=build_conditioning(config),
        )


def build_dataset(
    config: Config,
    *,
    batch_size: int,
    skipped_images=None,
    seed: int | None = None,
    shard: tuple[int, int] = (1, 0),
) -> tf.data.Dataset:
    """The run's data pipeline, as ``config`` describes it, in batches of ``batch_size``.

    Args:
        config: the run.
        batch_size: examples per batch.
        skipped_images: the counter of undecodable files (folders, tfrecord).
        seed: the order's seed; None: the run's.
        shard: ``(num_workers, worker index)``: each worker of a multi-worker run reads
            its own disjoint part (see ``dcgan.data.make_dataset``).
    """
    return data.make_dataset(
        config.dataset,
        batch_size=batch_size,
        seed=config.seed if seed is None else seed,
        image_size=config.image_size,
        channels=config.channels,
        data_dir=config.data_dir or None,
        data_file=config.data_file or None,
        data_pattern=config.data_pattern or None,
        crop=config.crop,
        crop_size=config.crop_size,
        resize_method=config.resize_method,
        random_flip=config.random_flip,
        on_bad_image=config.on_bad_image,
        skipped_images=skipped_images,
        vector_dim=config.vector_dim or None,
        cache=config.cache,
        shard=shard,
        tfds_download=config.tfds_download,
        labels=config.conditioning != "none",
    )


def real_examples(config: Config, count: int) -> np.ndarray:
    """``count`` examples [N, ...] of the run's data, from a pipeline of their own
    (images only; ``real_labeled_examples`` gives a conditional run's labels too).

    The training iterator is never touched, so evaluating does not change what a run
    trains on (exact resume holds with evaluation on). Read in batches of the run's size,
    which the data is known to hold; a small set repeats.

    The draw depends on the run's seed alone: tf.data mixes a shuffle's seed with the
    global one, which each process that evaluates a run may have set otherwise (the run
    sets it to ``config.seed`` before building its networks; ``dcgan.evaluate`` never
    did). So the global seed is set to the run's here, and the run's own evaluations and
    ``dcgan.evaluate`` measure against the same examples.

    Raises:
        DataError: if the data is missing, or holds no decodable image.
    """
    return real_labeled_examples(config, count)[0]


def real_labeled_examples(config: Config, count: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``real_examples`` and, for a conditional run, their labels ``[N]`` (else None)."""
    tf.random.set_seed(config.seed)
    batches = -(-count // config.batch_size)
    dataset = build_dataset(config, batch_size=config.batch_size).take(batches)
    with decode.as_data_errors():
        read = list(dataset.as_numpy_iterator())
    if config.conditioning == "none":
        return np.concatenate(read)[:count], None
    images, labels = zip(*read, strict=True)
    return np.concatenate(images)[:count], np.concatenate(labels)[:count]


def build_extractor(config: Config) -> features.Extractor:
    """The feature space of an image run: ``--eval_classifier``, the classifier shipped
    for its dataset, or InceptionV3.

    Raises:
        EvaluationError: if the classifier or the Inception weights cannot be loaded.
    """
    return features.make_extractor(
        classifier=config.eval_classifier, layer=config.eval_layer, dataset=config.dataset
    )


def build_evaluator(
    config: Config, *, num_samples: int, seed: int | None = None
) -> evaluator.Evaluator:
    """The evaluator of ``config``'s run on ``num_samples`` examples; ``seed`` (default
    the run's) draws its noise.

    Raises:
        ValueError: if the dataset has no metrics (npy_vectors).
        EvaluationError: if an image run's feature extractor cannot be loaded.
        DataError: if the real images cannot be read.
    """
    if not config.eval_metrics:
        raise ValueError(f"--dataset={config.dataset} has no evaluation metrics")
    extractor = real = real_labels = None
    if config.is_image:
        extractor = build_extractor(config)
        real, real_labels = real_labeled_examples(config, num_samples)
    return evaluator.Evaluator(
        dataset=config.dataset,
        noise=build_noise(config),
        num_samples=num_samples,
        seed=config.seed if seed is None else seed,
        extractor=extractor,
        real=real,
        conditioning=build_conditioning(config),
        real_labels=real_labels,
    )
