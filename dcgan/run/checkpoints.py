"""A run's checkpoints on disk: finding the newest intact one, restoring, and damage.

A checkpoint is trusted only once all of it reads back: the index file may be missing
or garbled, and a process may have ended while writing one. ``find_latest`` finds the
checkpoint a run resumes from, ``restore`` fills a ``tf.train.Checkpoint`` and tells
damage from a mismatch, and ``checkpoint_damage`` reads every tensor.
"""

from __future__ import annotations

import os

import tensorflow as tf

from dcgan.io import storage


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read or does not match the networks; one line."""


def find_latest(checkpoint_dir: str) -> tuple[str | None, str | None]:
    """The newest intact checkpoint, and why it is one the index does not list.

    The index (``checkpoints/checkpoint``) lists what a manager saved. A checkpoint
    written whole when the process ended before listing it, or any checkpoint of a
    workdir whose index was lost or garbled, is found by listing the files, and read
    in full before it is trusted (one cut short by the end of its process is passed
    over). Listed checkpoints whose files were deleted are passed over too, the way out
    of a damaged one. Otherwise training would start over and overwrite the intact
    checkpoints, whose names are their steps.

    Returns:
        ``(path, note)``: the checkpoint's path prefix, or None if there is none; and
        one line on a checkpoint found by listing, else None.
    """
    index = os.path.join(checkpoint_dir, "checkpoint")
    state = tf.train.get_checkpoint_state(checkpoint_dir)  # None: missing, garbled
    listed = [] if state is None else [*state.all_model_checkpoint_paths]
    listed = [path for path in listed if tf.io.gfile.exists(f"{path}.index")]
    newest = max(listed, key=_step) if listed else None
    names = {os.path.basename(path) for path in listed}
    newer = [
        prefix
        for prefix in _checkpoints_in(checkpoint_dir)
        if os.path.basename(prefix) not in names
        and (newest is None or _step(prefix) > _step(newest))
    ]
    for prefix in reversed(newer):  # the newest first
        if checkpoint_damage(prefix) is None:
            if state is not None:
                why = "its index does not list it (a run ended while saving it)"
            elif tf.io.gfile.exists(index):
                why = f"its index {index} cannot be read"
            else:
                why = f"its index {index} is missing"
            note = (
                f"resuming from {prefix}, the newest intact checkpoint found by listing "
                f"the files: {why}"
            )
            return prefix, note
    return newest, None


def restore(
    checkpoint: tf.train.Checkpoint,
    path: str,
    *,
    partial: bool = False,
    choose_with: str | None = None,
) -> str:
    """Restores the checkpoint at ``path`` into ``checkpoint``'s objects.

    Args:
        checkpoint: objects to fill; every one must be found in the file.
        path: a checkpoint prefix such as ``<workdir>/checkpoints/ckpt-1000``.
        partial: allow the file to hold more than ``checkpoint`` asks for (for
            sampling, which restores only the generator).
        choose_with: the flag that picks another checkpoint (``--checkpoint``), offered
            when this one is damaged; None for training, which resumes from the latest:
            the error then says which files to delete to resume from an intact one.

    Returns:
        ``path``.

    Raises:
        CheckpointError: if the file is damaged (the message lists the intact checkpoints
            beside it) or its variables do not match. Nothing on disk is changed.
    """
    if not tf.io.gfile.exists(f"{path}.index"):
        raise CheckpointError(f"no checkpoint at {path} (expected {path}.index)")
    try:
        status = checkpoint.restore(path)
        if partial:
            status.expect_partial().assert_existing_objects_matched()
        else:
            status.assert_consumed()
    except (AssertionError, ValueError, IndexError, tf.errors.OpError) as e:
        # Damage shows as anything from an IndexError (a truncated file) to a missing
        # object; only reading every tensor tells it from a checkpoint of other networks.
        damage = checkpoint_damage(path)
        if damage is not None:
            raise CheckpointError(_damaged_message(path, damage, choose_with)) from None
        raise CheckpointError(
            f"checkpoint {path} does not match the networks built from this config "
            f"({storage.reason(e)}); use the config it was trained with or a new --workdir"
        ) from None
    return path


def checkpoint_damage(path: str) -> str | None:
    """Why the checkpoint at ``path`` cannot be read in full, or None if it is intact.

    Reads all of its data, checksums included: for error paths, not for every restore.
    """
    try:
        reader = tf.train.load_checkpoint(path)
        for name, dtype in reader.get_variable_to_dtype_map().items():
            if dtype != tf.variant:
                reader.get_tensor(name)  # raises on a short read or a wrong checksum
            else:
                # The reader cannot convert a variant such as the data iterator's state; the
                # op can (and logs a line of its own when it fails, hence not for all).
                tf.raw_ops.RestoreV2(
                    prefix=path, tensor_names=[name], shape_and_slices=[""], dtypes=[dtype]
                )
    except (IndexError, ValueError, tf.errors.OpError) as e:
        return storage.reason(e)
    return None


def _damaged_message(path: str, damage: str, choose_with: str | None) -> str:
    """The error for a damaged checkpoint: which ones beside it are intact, how to use one."""
    directory = os.path.dirname(path)
    others = [prefix for prefix in _checkpoints_in(directory) if prefix != path]
    intact = [prefix for prefix in others if checkpoint_damage(prefix) is None]
    message = f"checkpoint {path} cannot be read: it is damaged ({damage})"
    if not intact:
        elsewhere = "" if choose_with else ", or train in a new --workdir"
        return (
            f"{message}; {directory} holds no intact checkpoint: restore its files from a "
            f"copy{elsewhere}"
        )
    names = ", ".join(os.path.basename(prefix) for prefix in intact)
    message = f"{message}; intact checkpoints in {directory}: {names}"
    newest = intact[-1]
    if choose_with:
        return f"{message}; pick one with {choose_with}, e.g. {choose_with}={newest}"
    # Training resumes from the latest: every damaged one after the newest intact must go.
    damaged = [prefix for prefix in others if _step(prefix) > _step(newest)] + [path]
    files = " and ".join(f"{prefix}.*" for prefix in damaged)
    return f"{message}; to resume from {os.path.basename(newest)}, move aside or delete {files}"


def _checkpoints_in(directory: str) -> list[str]:
    """The checkpoint prefixes in ``directory``, oldest step first."""
    try:
        names = tf.io.gfile.listdir(directory or ".")
    except tf.errors.OpError:
        return []
    suffix = ".index"
    prefixes = [os.path.join(directory, n[: -len(suffix)]) for n in names if n.endswith(suffix)]
    return sorted(prefixes, key=lambda prefix: (_step(prefix), prefix))


def _step(prefix: str) -> int:
    number = prefix.rsplit("-", 1)[-1]
    return int(number) if number.isdigit() else -1
