"""Preparing a training run: check it against its workdir, build it, restore it.

``prepare`` turns a ``Config`` into a ``PreparedRun`` the loop (``dcgan.run.loop``) only has
to step: the trainer, its data iterator, the checkpoint managers and the evaluator. Every
check (workdir, saved config, data, checkpoint, evaluator) runs before anything is
written, so a refused run leaves its workdir as it was.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable

import keras
import tensorflow as tf

from dcgan import config as config_lib
from dcgan import data
from dcgan.config import Config
from dcgan.data import decode
from dcgan.distribute import devices, precision
from dcgan.distribute.choices import AUTO_PRECISION
from dcgan.evaluation.evaluator import Evaluator
from dcgan.gan.choices import PRECISIONS
from dcgan.io import storage
from dcgan.run import builder, classes
from dcgan.run.checkpoints import CheckpointError
from dcgan.run.workdir import Workdir
from dcgan.step.trainer import Trainer


@dataclasses.dataclass
class PreparedRun:
    """A run ready to train: what it trains, what it reads, and where it saves.

    Attributes:
        config: the run's config (``vector_dim`` filled in from the data if it was 0, the
            precision chosen for ``auto``).
        trainer: the GAN, restored from the latest checkpoint if there is one.
        iterator: the training data, positioned where the checkpoint left it.
        workdir: the run's files.
        manager: the manager of ``checkpoints/``.
        skipped_images: image files the pipeline could not decode and skipped (folders
            only; saved with the iterator, whose position it counts).
        evaluator: with ``--eval_every``, the metrics of G.
        best_manager: with ``--best_metric``, the manager of ``best/``.
        cluster: the devices and this process's part; a worker that is not the chief
            writes to a temporary ``workdir`` the loop removes at the end.
    """

    config: Config
    trainer: Trainer
    iterator: object
    workdir: Workdir
    manager: tf.train.CheckpointManager
    skipped_images: tf.Variable | None = None
    evaluator: Evaluator | None = None
    best_manager: tf.train.CheckpointManager | None = None
    cluster: devices.Cluster | None = None

    def save(self, step: int, *, best: bool = False) -> str:
        """Saves a checkpoint numbered ``step`` in ``checkpoints/``, or in ``best/``.

        Returns:
            The checkpoint's path prefix.

        Raises:
            CheckpointError: if it cannot be written; the earlier checkpoints stay intact
                (a manager deletes old ones only after a new one is complete).
        """
        manager = self.best_manager if best else self.manager
        try:
            return manager.save(checkpoint_number=step)
        except (OSError, tf.errors.OpError) as e:
            kept = "the previous best is" if best else "the earlier checkpoints are"
            raise CheckpointError(
                f"could not save the {'best ' if best else ''}checkpoint of step {step} in "
                f"{manager.directory} ({storage.reason(e)}); {kept} intact"
            ) from None


def prepare(config: Config, *, say: Callable[[str], None] = print) -> PreparedRun:
    """Validates the run against its workdir and data, builds it, and restores it.

    Args:
        config: the run.
        say: prints a line for the user (the checkpoint a lost index was replaced by).

    Raises:
        ConfigError: if the workdir holds a run that these flags may not continue.
        WorkdirError: if the workdir cannot be created or written.
        devices.DistributeError: if the strategy, devices, cluster or TPU cannot be
            used, or the global batch cannot be split over the replicas.
        data.DataError: if the data is missing or unreadable.
        CheckpointError: if the latest checkpoint does not match the networks.
        EvaluationError: if --eval_every needs a feature extractor that
            cannot be loaded.
    """
    if tf.io.gfile.exists(config.workdir) and not tf.io.gfile.isdir(config.workdir):
        raise config_lib.ConfigError(f"--workdir={config.workdir} exists and is not a directory")
    Workdir(config.workdir).check_writable()  # before any work, so a refusal costs nothing
    # Before any other TensorFlow work: a multi-worker strategy must come first.
    cluster = devices.make_strategy(config.strategy, devices=config.devices, tpu=config.tpu)
    devices.check_batch(cluster, config.batch_size, config.pack)
    if config.dataset == "npy_vectors" and not config.vector_dim:
        # Read from the file's header and saved with the run, so sampling later does
        # not need the data file.
        config = dataclasses.replace(config, vector_dim=data.npy_vector_dim(config.data_file))
    # Counted from the data and saved with the run, as vector_dim is.
    config, class_names = classes.resolve(config)
    shared = Workdir(config.workdir)
    saved = shared.saved_config()
    if config.precision == AUTO_PRECISION:
        config = _choose_precision(config, cluster, saved, say)
    if saved is not None:
        config_lib.check_resumable(saved, config)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    # Before anything random is built: weight init and tf.data's seeded shuffles both
    # derive from the global seed.
    keras.utils.set_random_seed(config.seed)
    trainer = builder.build_trainer(
        config, strategy=cluster.strategy, per_replica_input=cluster.distributes_input
    )
    _check_decodable(config)
    iterator, data_state, skipped_images = _restore(config, cluster, trainer, shared, say)
    checkpoint = tf.train.Checkpoint(**trainer.checkpoint_items(), **data_state)
    # A restore brings back the saved learning rates; the flags of this run win.
    trainer.set_learning_rates(**trainer.learning_rates(trainer.step))
    # Every worker saves (a save may need every worker); only the chief's files stay.
    workdir = shared
    if not cluster.is_chief:
        workdir = Workdir(tempfile.mkdtemp(prefix=f"dcgan-worker{cluster.worker_index}-"))
        best = shared.best()
        if best is not None:  # so every worker's patience counts alike
            workdir.save_best(best)
    manager = workdir.checkpoint_manager(checkpoint, keep=config.keep_checkpoints)
    evaluator = best_manager = None
    if config.eval_every:
        evaluator = builder.build_evaluator(config, num_samples=config.eval_samples)
    if config.best_metric:
        workdir.best()  # a damaged record is refused now, not after hours of training
        best_manager = workdir.best_manager(checkpoint)
    workdir.save_config(config)
    if class_names:
        classes.write(workdir.path, class_names)
    return PreparedRun(
        config,
        trainer,
        iterator,
        workdir,
        manager,
        skipped_images,
        evaluator,
        best_manager,
        cluster,
    )


def _choose_precision(
    config: Config, cluster: devices.Cluster, saved: Config | None, say: Callable[[str], None]
) -> Config:
    """``config`` with ``--precision=auto`` replaced by a policy: the saved run's, else
    the one the devices compute fastest (``dcgan.distribute.precision``)."""
    if saved is not None:
        chosen, why = saved.precision, "the precision the run was saved with"
    elif cluster.num_workers > 1:
        raise config_lib.ConfigError(
            f"--precision=auto with --strategy={config.strategy} on {cluster.num_workers} "
            f"workers: each worker would choose for its own hardware; allowed: one of "
            f"{', '.join(PRECISIONS)}, the same on every worker"
        )
    else:
        native, why = precision.native_bfloat16(cluster.strategy)
        chosen = "mixed_bfloat16" if native else "float32"
    say(f"precision auto: {chosen} ({why})")
    return dataclasses.replace(config, precision=chosen)


def _restore(
    config: Config,
    cluster: devices.Cluster,
    trainer: Trainer,
    workdir: Workdir,
    say: Callable[[str], None],
):
    """Builds the data pipeline and restores the latest checkpoint of ``workdir``, if any.

    One pipeline feeding global batches is checkpointed with the run, so a resumed run
    sees the batches the uninterrupted run would have seen. A distributed pipeline
    (multi_worker, tpu) cannot be: it restarts at the resumed step with a new order,
    seeded by the seed and that step, the same on every restart from that checkpoint.
    The same holds for a pipeline resumed from a checkpoint without one.

    Returns:
        The iterator, the data state to checkpoint with the run, and the skipped-images
        counter (folders read by one pipeline; else None).
    """
    latest, note = workdir.find_latest_checkpoint()
    if note:
        say(note)
    saved_data = latest is not None and _holds_data_state(latest)
    skipped_images = None
    if config.dataset in data.ENCODED_DATASETS and not cluster.distributes_input:
        skipped_images = tf.Variable(0, dtype=tf.int64, trainable=False, name="skipped_images")
    if not cluster.distributes_input and (latest is None or saved_data):
        dataset = builder.build_dataset(
            config, batch_size=config.batch_size, skipped_images=skipped_images
        )
        iterator = iter(dataset)
        data_state = _data_state(iterator, skipped_images)
        if latest is not None:
            checkpoint = tf.train.Checkpoint(**trainer.checkpoint_items(), **data_state)
            workdir.restore(checkpoint, path=latest)
        return iterator, data_state, skipped_images
    # The networks and the step first; the data's order then follows from the step.
    if latest is not None:
        checkpoint = tf.train.Checkpoint(**trainer.checkpoint_items())
        workdir.restore(checkpoint, path=latest, partial=saved_data)
    seed = _data_seed(config.seed, int(trainer.step.numpy()))
    if cluster.distributes_input:

        def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
            return builder.build_dataset(
                config,
                batch_size=context.get_per_replica_batch_size(config.batch_size),
                seed=seed,
                shard=(context.num_input_pipelines, context.input_pipeline_id),
            )

        dataset = cluster.strategy.distribute_datasets_from_function(dataset_fn)
        return iter(dataset), {}, None
    dataset = builder.build_dataset(
        config, batch_size=config.batch_size, skipped_images=skipped_images, seed=seed
    )
    iterator = iter(dataset)
    return iterator, _data_state(iterator, skipped_images), skipped_images


def _check_decodable(config: Config) -> None:
    """Reads one batch of a folder or TFRecord run from a pipeline of its own, so that a
    source with nothing decodable is refused before anything is written.

    A folder cached in memory or in a file was decoded, and checked, when built.

    Raises:
        DataError: naming what was read and how many failed.
    """
    if config.dataset not in data.ENCODED_DATASETS or config.cache:
        return
    batch = builder.build_dataset(config, batch_size=config.batch_size).take(1)
    with decode.as_data_errors():
        next(iter(batch))


def _data_state(iterator, skipped_images) -> dict:
    # The iterator's position is state too: a resumed run sees the batches the
    # uninterrupted run would have seen.
    state = {"data": iterator}
    if skipped_images is not None:
        state["data_skipped_images"] = skipped_images
    return state


def _holds_data_state(path: str) -> bool:
    """Whether the checkpoint at ``path`` holds a data pipeline's position.

    A checkpoint that cannot be read counts as holding one: the full restore then
    reports the damage, as for any run.
    """
    try:
        # The reader itself: tf.train.list_variables takes a prefix for a directory on
        # some file systems (ram://).
        names = tf.compat.v1.train.NewCheckpointReader(path).get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError):
        return True
    return any(name.startswith("data/") for name in names)


def _data_seed(seed: int, step: int) -> int:
    """The data seed of a pipeline restarted at ``step``: ``seed`` itself at step 0."""
    return seed if step == 0 else (seed * 1_000_003 + step) % 2**31
