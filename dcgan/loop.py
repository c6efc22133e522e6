"""The eager outer loop of a run: restore, step, log, summarize, sample, checkpoint.

All I/O of training happens here, between calls of the compiled ``Trainer.train_step``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import time
from collections.abc import Iterator

import keras
import numpy as np
import tensorflow as tf

from dcgan import config as config_lib
from dcgan import data, evaluation, networks, snapshots
from dcgan.config import Config
from dcgan.trainer import Trainer, build_trainer
from dcgan.workdir import CheckpointError, Workdir, summarize_error

# The order of the columns of the stdout log line; other metrics follow.
_LOG_FIRST = ("d_loss", "g_loss")
# Checked after every step when a run stops on them (a NaN loss makes a NaN norm).
_WATCHED = ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm", "gradient_penalty")


class NonFiniteError(RuntimeError):
    """A NaN or infinite loss or gradient stopped the run; nothing bad was saved."""


class Run:
    """A prepared run: the trainer, its data iterator and the checkpoint over both."""

    def __init__(
        self,
        config: Config,
        trainer: Trainer,
        iterator,
        workdir: Workdir,
        manager,
        skipped_images: tf.Variable | None = None,
        evaluator: evaluation.Evaluator | None = None,
        best_manager=None,
    ):
        self.config = config
        self.trainer = trainer
        self.iterator = iterator
        self.workdir = workdir
        self.manager = manager
        # Image files the data pipeline could not decode and skipped (folders only).
        self.skipped_images = skipped_images
        # With --eval_every: the metrics, and with --best_metric the manager of best/.
        self.evaluator = evaluator
        self.best_manager = best_manager

    def save(self, step: int) -> str:
        """Saves a checkpoint numbered ``step``.

        Raises:
            CheckpointError: if it cannot be written; the earlier checkpoints stay intact
                (the manager deletes old ones only after a new one is complete).
        """
        try:
            return self.manager.save(checkpoint_number=step)
        except (OSError, tf.errors.OpError) as e:
            raise CheckpointError(
                f"could not save the checkpoint of step {step} in {self.manager.directory} "
                f"({summarize_error(e)}); the earlier checkpoints are intact"
            ) from None


def prepare(config: Config) -> Run:
    """Validates the run against its workdir and data, builds it, and restores it.

    Nothing is written before every check has passed, so a refused run leaves the
    workdir as it was.

    Raises:
        ConfigError: if the workdir holds a run that these flags may not continue.
        WorkdirError: if the workdir cannot be created or written.
        data.DataError: if the data is missing or unreadable.
        CheckpointError: if the latest checkpoint does not match the networks.
        evaluation.EvaluationError: if --eval_every needs a feature extractor that
            cannot be loaded.
    """
    if os.path.exists(config.workdir) and not os.path.isdir(config.workdir):
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
    if config.dataset == "folder":
        skipped_images = tf.Variable(0, dtype=tf.int64, trainable=False, name="skipped_images")
    dataset = networks.build_dataset(
        config, batch_size=config.batch_size, skipped_images=skipped_images
    )
    trainer = build_trainer(config)
    iterator = iter(dataset)
    # The iterator's position is state too: a resumed run sees the batches the
    # uninterrupted run would have seen.
    data_state = {"data": iterator}
    if skipped_images is not None:
        # Counts the files behind the iterator's position, so it is saved with it.
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
    return Run(config, trainer, iterator, workdir, manager, skipped_images, evaluator, best_manager)


def train(config: Config) -> Trainer:
    """Trains until ``config.train_steps`` generator updates, resuming if possible.

    SIGINT or SIGTERM ends the run after the current step, with a checkpoint; a second
    signal aborts at once without saving.

    Returns:
        The trainer, at ``config.train_steps`` or at the step a signal stopped it.

    Raises:
        NonFiniteError: with ``on_nonfinite=stop``, at the first NaN or infinite update.
        CheckpointError: if a checkpoint cannot be restored or saved.
    """
    run = prepare(config)
    trainer = run.trainer
    step = int(trainer.step.numpy())
    if step >= config.train_steps:
        print(
            f"workdir {config.workdir} is at step {step} >= --train_steps={config.train_steps}:"
            " nothing to do",
            flush=True,
        )
        return trainer
    exhausted = _patience_exhausted(config, step, run.workdir.best() if config.patience else None)
    if exhausted:
        print(
            f"workdir {config.workdir} stopped early at step {step}: {exhausted}; nothing to do",
            flush=True,
        )
        return trainer
    print(
        f"{'resuming from' if step else 'starting at'} step {step}; "
        f"training to step {config.train_steps} in {config.workdir}",
        flush=True,
    )
    writer = run.workdir.summary_writer()
    if step == 0:
        snapshots.write(run.trainer, run.config, run.workdir, writer, step)

    nonfinite_at_start = int(trainer.nonfinite_updates.numpy())
    last_log_step, last_log_time = step, time.perf_counter()
    steps_per_sec = float("nan")
    saved_step = step
    early_stop = None
    with _stop_on_signals() as stop:
        while step < config.train_steps and stop.signal is None and early_stop is None:
            if config.lr_decay_steps:  # a variable assignment: the step is not retraced
                trainer.set_learning_rates(**config.learning_rates(step))
            metrics = _train_step(run)
            step += 1
            if (
                config.on_nonfinite == "stop"
                and int(metrics["nonfinite_updates"]) > nonfinite_at_start
            ):
                writer.flush()
                raise NonFiniteError(_nonfinite_message(run, step, metrics))
            if config.eval_every and (step % config.eval_every == 0 or step == config.train_steps):
                best = _evaluate(run, writer, step)
                early_stop = _patience_exhausted(config, step, best)
            final = step == config.train_steps or stop.signal is not None or early_stop
            if step % config.log_every == 0 or final:
                now = time.perf_counter()
                steps_per_sec = (step - last_log_step) / (now - last_log_time)
                last_log_step, last_log_time = step, now
                print(_log_line(step, config.train_steps, metrics, steps_per_sec), flush=True)
            if step % config.summary_every == 0 or final:
                with writer.as_default(step=step):
                    for name, value in metrics.items():
                        tf.summary.scalar(name, value)
                    if np.isfinite(steps_per_sec):
                        tf.summary.scalar("steps_per_sec", steps_per_sec)
                    if config.lr_decay_steps:  # the rates the step just taken used
                        for name, value in config.learning_rates(step - 1).items():
                            tf.summary.scalar(name, value)
            if step % config.image_every == 0 or final:
                snapshots.write(run.trainer, run.config, run.workdir, writer, step)
            if step % config.checkpoint_every == 0 or final:
                run.save(step)
                saved_step = step
        if saved_step != step:  # a signal came during this step's I/O, after its checks
            run.save(step)
    writer.flush()
    latest = run.manager.latest_checkpoint
    if stop.signal is not None:
        print(f"stopped by {signal.Signals(stop.signal).name} at step {step}; checkpoint {latest}")
    elif early_stop:
        print(f"stopped early at step {step}: {early_stop}; checkpoint {latest}")
    else:
        print(f"done at step {step}; checkpoint {latest}")
    # More than one trace per function means the step was rebuilt mid-run: slow and a bug.
    traces = {
        "train_step": trainer.train_step.experimental_get_tracing_count(),
        "generate": trainer.generate.experimental_get_tracing_count(),
    }
    print("traces: " + " ".join(f"{name}={count}" for name, count in traces.items()), flush=True)
    return trainer


def _train_step(run: Run) -> dict:
    """One step; the data's counters join the metrics; an unreadable file is a DataError."""
    try:
        metrics = run.trainer.train_step(run.iterator)
    except tf.errors.InvalidArgumentError as e:
        message = data.bad_image_message(e)
        if message is None:
            raise
        raise data.DataError(message) from None
    if run.skipped_images is not None:
        metrics = {**metrics, "skipped_images": run.skipped_images.value()}
    return metrics


def _evaluate(run: Run, writer, step: int) -> dict | None:
    """Measures G, writes the metrics, and keeps the checkpoint if it is the best.

    Returns:
        The best-checkpoint record after this evaluation (None without --best_metric).
    """
    config = run.config
    result = run.evaluator(run.trainer.sampler)
    values = {
        name: value
        for name, value in result.items()
        if isinstance(value, (int, float)) and not name.startswith("num_")
    }
    with writer.as_default(step=step):
        for name, value in values.items():
            tf.summary.scalar(f"eval/{name}", value)
    line = " ".join(f"{name}={value:.4g}" for name, value in values.items())
    print(f"eval at step {step}: {line}", flush=True)
    if not config.best_metric:
        return None
    metric = config.best_metric
    best = run.workdir.best()
    value = float(result[metric])
    # A record of another metric (the flag changed on resume) is replaced, not compared.
    previous = best["value"] if best is not None and best["metric"] == metric else None
    if not evaluation.is_better(metric, value, previous):
        return best
    try:
        path = run.best_manager.save(checkpoint_number=step)
    except (OSError, tf.errors.OpError) as e:
        raise CheckpointError(
            f"could not save the best checkpoint of step {step} in {run.workdir.best_dir} "
            f"({summarize_error(e)}); the previous best is intact"
        ) from None
    best = {"metric": metric, "value": value, "step": step, "checkpoint": path, "metrics": result}
    run.workdir.save_best(best)
    print(f"best {metric}={value:.4g} so far: saved {path}", flush=True)
    return best


def _patience_exhausted(config: Config, step: int, best: dict | None) -> str | None:
    """Why the run should stop at ``step`` for want of progress, or None to go on.

    Args:
        config: the run.
        step: generator steps done.
        best: the best-checkpoint record (``Workdir.best()``), or None.
    """
    if not config.patience or best is None or best["metric"] != config.best_metric:
        return None
    if step - best["step"] < config.patience * config.eval_every:
        return None
    return (
        f"{config.best_metric} has not improved on {best['value']:.4g} (step {best['step']}) "
        f"in {config.patience} evaluations (--patience)"
    )


def _nonfinite_message(run: Run, step: int, metrics: dict) -> str:
    bad = [
        f"{name}={float(metrics[name])}"
        for name in _WATCHED
        if name in metrics and not np.isfinite(float(metrics[name]))
    ]
    what = ", ".join(bad) if bad else "a discriminator update earlier in the step"
    latest = run.manager.latest_checkpoint or "none yet"
    return (
        f"non-finite {what} at step {step}; stopped without saving, so the latest checkpoint "
        f"is {latest}; --on_nonfinite=skip skips such updates instead"
    )


class _StopRequest:
    signal: int | None = None


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[_StopRequest]:
    """Turns the first SIGINT/SIGTERM into a stop request; a second one aborts at once.

    The handler only records the signal: the loop checks it between steps, so the step
    in flight finishes and a checkpoint is written.
    """
    request = _StopRequest()

    def handle(signum, frame):
        if request.signal is not None:
            print(
                f"second signal ({signal.Signals(signum).name}): aborting without saving",
                file=sys.stderr,
                flush=True,
            )
            os._exit(128 + signum)
        request.signal = signum
        print(f"got {signal.Signals(signum).name}: stopping after this step", flush=True)

    watched = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.getsignal(sig) for sig in watched}
    for sig in watched:
        signal.signal(sig, handle)
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _log_line(step: int, total: int, metrics: dict, steps_per_sec: float) -> str:
    quiet = {"nonfinite_updates", "skipped_images"}  # shown once they are not zero
    names = [*_LOG_FIRST, *sorted(set(metrics) - set(_LOG_FIRST) - quiet)]
    names += [name for name in sorted(quiet) if name in metrics and int(metrics[name])]
    values = " ".join(f"{name}={_format(metrics[name])}" for name in names)
    return f"step {step}/{total} {values} steps_per_sec={steps_per_sec:.2f}"


def _format(value: tf.Tensor) -> str:
    return str(int(value)) if value.dtype.is_integer else f"{float(value):.4f}"
