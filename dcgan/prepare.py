"""Preparing a training run: check it against its workdir, build it, restore it.

``prepare`` turns a ``Config`` into a ``PreparedRun`` the loop (``dcgan.loop``) only has
to step: the trainer, its data iterator, the checkpoint managers and the evaluator. Every
check (workdir, saved config, data, checkpoint, evaluator) runs before anything is
written, so a refused run leaves its workdir as it was.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from dcgan import builder, data, evaluation
from dcgan import config as config_lib
from dcgan.config import Config
from dcgan.trainer import Trainer
from dcgan.workdir import CheckpointError, Workdir, summarize_error


@dataclasses.dataclass
class PreparedRun:
    """A run ready to train: what it trains, what it reads, and where it saves.

    Attributes:
        config: the run's config (``vector_dim`` filled in from the data if it was 0).
        trainer: the GAN, restored from the latest checkpoint if there is one.
        iterator: the training data, positioned where the checkpoint left it.
        workdir: the run's files.
        manager: the manager of ``checkpoints/``.
        skipped_images: image files the pipeline could not decode and skipped (folders
            only; saved with the iterator, whose position it counts).
        evaluator: with ``--eval_every``, the metrics of G.
        best_manager: with ``--best_metric``, the manager of ``best/``.
    """

    config: Config
    trainer: Trainer
    iterator: object
    workdir: Workdir
    manager: tf.train.CheckpointManager
    skipped_images: tf.Variable | None = None
    evaluator: evaluation.Evaluator | None = None
    best_manager: tf.train.CheckpointManager | None = None

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
                f"{manager.directory} ({summarize_error(e)}); {kept} intact"
            ) from None


def prepare(config: Config) -> PreparedRun:
    """Validates the run against its workdir and data, builds it, and restores it.

    Raises:
        ConfigError: if the workdir holds a run that these flags may not continue.
        WorkdirError: if the workdir cannot be created or written.
        data.DataError: if the data is missing or unreadable.
        CheckpointError: if the latest checkpoint does not match the networks.
        evaluation.EvaluationError: if --eval_every needs a feature extractor that
            cannot be loaded.
    """
    if tf.io.gfile.exists(config.workdir) and not tf.io.gfile.isdir(config.workdir):
        raise config_lib.ConfigError(f"--workdir={config.workdir} exists and is not a directory")
    Workdir(config.workdir).check_writable()  # before any work, so a refusal costs nothing
    if config.dataset == "npy_vectors" and not config.vector_dim:
        # Read from the file's header and saved with the run, so sampling later does
        # not need the data file.
        config = dataclasses.replace(config, vector_dim=data.npy_vector_dim(config.data_file))
    workdir = Workdir(config.workdir)
    saved = workdir.saved_config()
    if saved is not None:
        config_lib.check_resumable(saved, config)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    # Before anything random is built: weight init and tf.data's seeded shuffles both
    # derive from the global seed.
    keras.utils.set_random_seed(config.seed)
    skipped_images = None
    if config.dataset in data.ENCODED_DATASETS:
        skipped_images = tf.Variable(0, dtype=tf.int64, trainable=False, name="skipped_images")
    dataset = builder.build_dataset(
        config, batch_size=config.batch_size, skipped_images=skipped_images
    )
    trainer = builder.build_trainer(config)
    iterator = iter(dataset)
    # The iterator's position is state too: a resumed run sees the batches the
    # uninterrupted run would have seen.
    data_state = {"data": iterator}
    if skipped_images is not None:
        data_state["data_skipped_images"] = skipped_images
    checkpoint = tf.train.Checkpoint(**trainer.checkpoint_items(), **data_state)
    workdir.restore(checkpoint)
    # A restore brings back the saved learning rates; the flags of this run win.
    trainer.set_learning_rates(**config.learning_rates(int(trainer.step.numpy())))
    manager = workdir.checkpoint_manager(checkpoint, keep=config.keep_checkpoints)
    evaluator = best_manager = None
    if config.eval_every:
        evaluator = evaluation.Evaluator(config, num_samples=config.eval_samples)
    if config.best_metric:
        workdir.best()  # a damaged record is refused now, not after hours of training
        best_manager = workdir.best_manager(checkpoint)
    workdir.save_config(config)
    return PreparedRun(
        config, trainer, iterator, workdir, manager, skipped_images, evaluator, best_manager
    )
