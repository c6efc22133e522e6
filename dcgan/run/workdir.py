"""Everything about a run's directory: config files, checkpoints, summaries, samples.

Layout of a workdir:
    config.json       the run's Config (what ``dcgan.sample`` rebuilds the networks from)
    flags.txt         the same run as a flagfile: ``dcgan.train --flagfile=W/flags.txt``
    classes.json      a class-conditional run's class names (``dcgan.run.classes``)
    checkpoints/      ``ckpt-<step>`` files of a ``tf.train.CheckpointManager``
    best/             ``ckpt-<step>``: the checkpoint with the best ``--best_metric``,
                      and ``best.json``: its metric, value, step and evaluation
    samples/          ``step_<step>.png``: the fixed-noise grid; ``real.png``: real images
    log.txt           the lines the loop printed (``dcgan.run.history``)
    metrics.jsonl     every summary step's scalars and every evaluation, a JSON line each
    events.out.*      TensorBoard summaries

The workdir may be on any file system TensorFlow reads (``gs://bucket/run``, say): every
file is listed, read and written through ``tf.io.gfile`` (``dcgan.io.storage``).
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid

import numpy as np
import tensorflow as tf

from dcgan.config import Config, ConfigError
from dcgan.io import images, storage
from dcgan.run import checkpoints
from dcgan.run.checkpoints import CheckpointError


class WorkdirError(RuntimeError):
    """A ``--workdir`` that cannot be created or written; one line."""


class Workdir:
    """The files of one run under ``path``."""

    def __init__(self, path: str):
        self.path = path
        self.checkpoint_dir = os.path.join(path, "checkpoints")
        self.best_dir = os.path.join(path, "best")
        self.best_path = os.path.join(self.best_dir, "best.json")
        self.samples_dir = os.path.join(path, "samples")
        self.config_path = os.path.join(path, "config.json")
        self.flags_path = os.path.join(path, "flags.txt")

    def saved_config(self) -> Config | None:
        """The config a previous run saved here, or None for a new workdir.

        Raises:
            ConfigError: if config.json exists but cannot be read or parsed.
        """
        if not tf.io.gfile.exists(self.config_path):
            return None
        if tf.io.gfile.isdir(self.config_path):
            raise ConfigError(
                f"{self.config_path} is a directory, not the run's config file; allowed: the "
                "config.json dcgan.train wrote, or a new --workdir"
            )
        try:
            text = storage.read_text(self.config_path)
        except tf.errors.OpError as e:
            raise ConfigError(f"{self.config_path} cannot be read ({storage.reason(e)})") from None
        try:
            return Config.from_json(text)
        except (ValueError, TypeError) as e:
            reason = storage.reason(e, limit=200)
            raise ConfigError(f"{self.config_path} is not a valid dcgan config: {reason}") from None

    def check_writable(self) -> None:
        """Refuses a workdir that cannot be created or written, and leaves none behind.

        Trying is the only sure test: root ignores permission bits, and a mount or a
        bucket may be read-only. The directories made for the test are removed again, so a
        run refused later for another reason leaves no half-made workdir.

        Raises:
            WorkdirError: naming the path and the operating system's reason.
        """
        if not storage.is_local(self.path):
            self._check_writable_remote()
            return
        missing = []
        head = os.path.abspath(self.path)
        while not os.path.lexists(head):
            missing.append(head)
            head = os.path.dirname(head)
        try:
            os.makedirs(self.path, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.path):
                pass
        except OSError as e:
            # The probe file's random name would only confuse; a missing path names the
            # part that could not be made.
            what, reason = (
                ("created", e) if missing else ("written", f"[Errno {e.errno}] {e.strerror}")
            )
            raise WorkdirError(
                f"--workdir={self.path} cannot be {what}: {reason}; allowed: a writable "
                "directory, or a new path in one"
            ) from None
        finally:
            for directory in missing:  # deepest first; rmdir never removes files
                try:
                    os.rmdir(directory)
                except OSError:
                    pass

    def _check_writable_remote(self) -> None:
        """``check_writable`` through ``tf.io.gfile``: makes the path, writes a probe file."""
        scheme, head = self.path.split("://", 1)
        missing = []
        head = head.rstrip("/")
        probe = os.path.join(self.path, f".dcgan-write-probe-{uuid.uuid4().hex}")
        try:
            while head and not tf.io.gfile.exists(f"{scheme}://{head}"):
                missing.append(f"{scheme}://{head}")  # deepest first
                head = os.path.dirname(head)
            tf.io.gfile.makedirs(self.path)
            with tf.io.gfile.GFile(probe, "w") as f:
                f.write("")
        except tf.errors.OpError as e:
            what = "created" if missing else "written"
            raise WorkdirError(
                f"--workdir={self.path} cannot be {what}: {storage.reason(e)}; allowed: a "
                "writable directory, or a new path in one"
            ) from None
        finally:
            storage.remove_quietly(probe)
            for directory in missing:  # only if still empty: another writer may use it
                try:
                    if not tf.io.gfile.listdir(directory):
                        storage.remove_quietly(directory)
                except tf.errors.OpError:
                    pass

    def save_config(self, config: Config) -> None:
        """Writes config.json and flags.txt (atomically: complete files or none)."""
        tf.io.gfile.makedirs(self.path)
        storage.write_text(self.config_path, config.to_json())
        storage.write_text(self.flags_path, config.to_flagfile())

    def checkpoint_manager(
        self, checkpoint: tf.train.Checkpoint, *, keep: int
    ) -> tf.train.CheckpointManager:
        """A manager over checkpoints/ keeping the last ``keep`` (0 keeps them all)."""
        return tf.train.CheckpointManager(
            checkpoint, self.checkpoint_dir, max_to_keep=keep or None, checkpoint_name="ckpt"
        )

    def best_manager(self, checkpoint: tf.train.Checkpoint) -> tf.train.CheckpointManager:
        """A manager over best/ holding one checkpoint: the best so far."""
        return tf.train.CheckpointManager(
            checkpoint, self.best_dir, max_to_keep=1, checkpoint_name="ckpt"
        )

    def best_checkpoint(self) -> str | None:
        """Path prefix of the best checkpoint, or None."""
        return tf.train.latest_checkpoint(self.best_dir)

    def best(self) -> dict | None:
        """The record of the best checkpoint (``best.json``), or None if there is none.

        Raises:
            CheckpointError: if best.json cannot be parsed.
        """
        if not tf.io.gfile.exists(self.best_path):
            return None
        try:
            record = json.loads(storage.read_text(self.best_path))
        except ValueError as e:
            record = {"error": str(e)}
        missing = [key for key in ("metric", "value", "step", "checkpoint") if key not in record]
        if missing:
            raise CheckpointError(
                f"{self.best_path} is not a best-checkpoint record (missing {missing}); delete "
                "it to start keeping the best checkpoint over"
            )
        return record

    def save_best(self, record: dict) -> None:
        """Writes ``best.json`` (atomically: complete or not at all)."""
        tf.io.gfile.makedirs(self.best_dir)
        storage.write_text(self.best_path, json.dumps(record, indent=2, sort_keys=True) + "\n")

    def latest_checkpoint(self) -> str | None:
        """Path prefix of the checkpoint a run resumes from: the newest intact one, or None.

        See ``find_latest_checkpoint``.
        """
        return self.find_latest_checkpoint()[0]

    def find_latest_checkpoint(self) -> tuple[str | None, str | None]:
        """The newest intact checkpoint and a note on it (``checkpoints.find_latest``)."""
        return checkpoints.find_latest(self.checkpoint_dir)

    def restore(
        self,
        checkpoint: tf.train.Checkpoint,
        *,
        path: str | None = None,
        partial: bool = False,
        choose_with: str | None = None,
    ) -> str | None:
        """Restores ``path``, by default the newest intact checkpoint, into
        ``checkpoint``'s objects (see ``checkpoints.restore``).

        Returns:
            The restored checkpoint's path, or None if the workdir has none.

        Raises:
            CheckpointError: if the file is damaged or does not match the networks.
        """
        path = path or self.latest_checkpoint()
        if path is None:
            return None
        return checkpoints.restore(checkpoint, path, partial=partial, choose_with=choose_with)

    def summary_writer(self) -> tf.summary.SummaryWriter:
        """The TensorBoard event writer of the run."""
        return tf.summary.create_file_writer(self.path)

    def write_sample_grid(self, step: int, grid: np.ndarray) -> str:
        """Writes a uint8 image grid [H, W, C] as samples/step_<step>.png.

        Returns:
            The PNG's path.
        """
        tf.io.gfile.makedirs(self.samples_dir)
        path = os.path.join(self.samples_dir, f"step_{step:08d}.png")
        images.write_png(path, grid)
        return path
