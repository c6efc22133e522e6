"""The eager outer loop of a run: step, log, summarize, sample, evaluate, checkpoint.

All I/O of training happens here, between calls of the compiled ``Trainer.train_step``;
``dcgan.run.prepare`` builds and restores what the loop steps.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import time
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from dcgan.config import Config
from dcgan.data import decode
from dcgan.distribute import devices
from dcgan.evaluation import choices as eval_choices
from dcgan.evaluation import evaluator
from dcgan.run import snapshots, summaries
from dcgan.run.history import LOG_NAME, METRICS_NAME, History
from dcgan.run.log import describe, format_duration, log_line
from dcgan.run.prepare import PreparedRun, prepare
from dcgan.run.profile import Profile
from dcgan.run.signals import StopRequest, stop_on_signals
from dcgan.step.trainer import Trainer

# Named when a run stops on a non-finite update (a NaN loss makes a NaN norm), before
# the objective's penalties.
_WATCHED = ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm")


class NonFiniteError(RuntimeError):
    """A NaN or infinite loss or gradient stopped the run; nothing bad was saved."""


def train(config: Config, *, stop: StopRequest | None = None) -> Trainer:
    """Trains until ``config.train_steps`` generator updates, resuming if possible.

    SIGINT or SIGTERM ends the run after the current step, with a checkpoint, or at once
    while it is starting; a second signal, or a run that does not stop within seconds,
    aborts without saving (``dcgan.run.signals``).

    Args:
        config: the run.
        stop: the stop request of signals the caller already watches
            (``dcgan.run.signals.stop_on_signals``); None: watched here.

    Returns:
        The trainer, at ``config.train_steps`` or at the step a signal stopped it.

    Raises:
        NonFiniteError: with ``on_nonfinite=stop``, at the first NaN or infinite update.
        CheckpointError: if a checkpoint cannot be restored or saved.
        RunStopped: if a signal came while the run was starting.
    """
    watching = contextlib.nullcontext(stop) if stop else stop_on_signals()
    with watching as stop:
        history = History()
        history.say(f"preparing the run in {config.workdir}")
        run = prepare(config, say=history.say)
        stop.take_back()
        stop.phase = "training"
        stop.latest = lambda: run.manager.latest_checkpoint
        try:
            return _train(run, stop, history)
        finally:
            if not run.cluster.is_chief:  # its files only took part in the saves
                shutil.rmtree(run.workdir.path, ignore_errors=True)


class _Stopwatch:
    """The seconds spent in ``timing`` blocks (not nested)."""

    def __init__(self):
        self.total = 0.0
        self._since: float | None = None  # the start of the block in progress

    @contextlib.contextmanager
    def timing(self) -> Iterator[None]:
        self._since = time.perf_counter()
        try:
            yield
        finally:
            self.total += time.perf_counter() - self._since
            self._since = None

    def seconds(self) -> float:
        """``total`` with the block in progress so far."""
        running = 0.0 if self._since is None else time.perf_counter() - self._since
        return self.total + running


def _train(run: PreparedRun, stop: StopRequest, history: History) -> Trainer:
    config, trainer = run.config, run.trainer
    step = int(trainer.step.numpy())
    if step >= config.train_steps:
        history.say(
            f"workdir {config.workdir} is at step {step} >= --train_steps={config.train_steps}:"
            " nothing to do"
        )
        return trainer
    exhausted = _patience_exhausted(config, step, run.workdir.best() if config.patience else None)
    if exhausted:
        history.say(
            f"workdir {config.workdir} stopped early at step {step}: {exhausted}; nothing to do"
        )
        return trainer
    history.open(run.workdir.path, step)
    history.say(describe(config, trainer, run.cluster))
    history.say(
        f"{'resuming from' if step else 'starting at'} step {step}; "
        f"training to step {config.train_steps} in {config.workdir}"
    )
    try:
        return _loop(run, stop, history, step)
    finally:
        history.flush()


def _loop(run: PreparedRun, stop: StopRequest, history: History, step: int) -> Trainer:
    config, trainer = run.config, run.trainer
    writer = run.workdir.summary_writer()
    # Only the chief's writer stays: another worker's workdir is a temporary directory,
    # removed when the run ends.
    summaries.write_flags(writer, config, step)
    summaries.write_hparams(writer, config)
    summaries.write_layout(writer, config, [*trainer.metric_names, "steps_per_sec"])
    # Time the loop spends on anything but training (evaluations, samples, summaries,
    # checkpoints), so that steps/s and the ETA measure training alone.
    busy, evaluating = _Stopwatch(), _Stopwatch()
    start = time.perf_counter()
    history.time_training(lambda: time.perf_counter() - start - busy.seconds())
    if step == 0:
        with busy.timing():
            stop.phase = "writing samples"
            snapshots.write(run.trainer, run.config, run.workdir, writer, step)
            snapshots.write_real(config, run.workdir, writer, trainer.fixed_noise.shape[0])
            if config.eval_every:  # where the curves start: the untrained G
                stop.phase = "evaluating"
                with evaluating.timing():
                    _evaluate(run, writer, step, history)

    nonfinite_at_start = int(trainer.nonfinite_updates.numpy())
    last_log = (step, time.perf_counter(), busy.total)  # step, time, busy seconds at the log
    steps_per_sec = float("nan")
    saved_step = step
    early_stop = None
    stopping = False
    since_check = []  # the metrics of each call since the loop last waited for the device
    with Profile(config, run.workdir.path, step) as profile:
        while step < config.train_steps and not stopping and early_stop is None:
            count = _steps_to_next_event(config, step)
            profile.before(step)
            stop.phase = "in a training step"
            since_check.append(_train_steps(run, count))
            step += count  # the device may still be running these: nothing waits for it
            # Every worker stops at the same step, even if a signal reached only one.
            stopping = devices.agree_to_stop(run.cluster, stop.signal is not None)
            if not (stopping or _is_event(config, step)):
                continue
            # Below, everything reads the device's results: wait for them once, here.
            metrics = since_check[-1]
            step = int(trainer.step.numpy())
            profile.after(step)
            if (
                config.on_nonfinite == "stop"
                and int(metrics["nonfinite_updates"]) > nonfinite_at_start
            ):  # the step halted there: trainer.step is the bad step
                writer.flush()
                bad = _first_nonfinite(since_check, nonfinite_at_start)
                raise NonFiniteError(_nonfinite_message(run, step, bad))
            since_check = []
            if config.eval_every and (step % config.eval_every == 0 or step == config.train_steps):
                stop.phase = "evaluating"
                with busy.timing(), evaluating.timing():
                    best = _evaluate(run, writer, step, history)
                early_stop = _patience_exhausted(config, step, best)
            final = step == config.train_steps or stopping or early_stop
            if step % config.log_every == 0 or final:
                now = time.perf_counter()
                training = now - last_log[1] - (busy.total - last_log[2])
                steps_per_sec = (step - last_log[0]) / training if training > 0 else float("nan")
                last_log = (step, now, busy.total)
                history.say(log_line(step, config.train_steps, metrics, steps_per_sec))
            if step % config.summary_every == 0 or final:
                with busy.timing():
                    _summarize(run, writer, history, step, metrics, steps_per_sec)
            if step % config.image_every == 0 or final:
                stop.phase = "writing samples"
                with busy.timing():
                    snapshots.write(run.trainer, run.config, run.workdir, writer, step)
            if step % config.checkpoint_every == 0 or final:
                stop.phase = "saving a checkpoint"
                with busy.timing():
                    run.save(step)
                    history.flush()
                saved_step = step
        if saved_step != step:  # a signal came during this step's I/O, after its checks
            stop.phase = "saving a checkpoint"
            run.save(step)
    writer.flush()
    latest = run.manager.latest_checkpoint
    took = f"took {format_duration(history.elapsed())}"
    if config.eval_every:
        took += f" ({format_duration(evaluating.total)} of it evaluating)"
    if stopping:
        by = signal.Signals(stop.signal).name if stop.signal else "another worker's signal"
        history.say(f"stopped by {by} at step {step}; checkpoint {latest}; {took}")
    elif early_stop:
        history.say(f"stopped early at step {step}: {early_stop}; checkpoint {latest}; {took}")
    else:
        history.say(f"done at step {step}; checkpoint {latest}; {took}")
    best = run.workdir.best() if config.best_metric else None
    if best is not None:
        where = best["checkpoint"]
        history.say(f"best {best['metric']}={best['value']:.4g} at step {best['step']}: {where}")
    history.say(
        f"outputs in {config.workdir}: samples/, {LOG_NAME}, {METRICS_NAME}, checkpoints/; "
        f"tensorboard --logdir={config.workdir}"
    )
    # More than one trace per function means the step was rebuilt mid-run: slow and a bug.
    traces = trainer.tracing_counts()
    history.say("traces: " + " ".join(f"{name}={count}" for name, count in traces.items()))
    return trainer


def _summarize(
    run: PreparedRun, writer, history: History, step: int, metrics: dict, steps_per_sec: float
) -> None:
    """Writes a summary step's scalars to TensorBoard and ``metrics.jsonl``."""
    values = dict(metrics)
    if np.isfinite(steps_per_sec):
        values["steps_per_sec"] = steps_per_sec
    if run.config.lr_decay_steps:  # the rates the step just taken used
        values.update(run.trainer.learning_rates(step - 1))
    with writer.as_default(step=step):
        for name, value in values.items():
            tf.summary.scalar(summaries.summary_tag(name), value)
    history.record("train", step, values)


def _event_periods(config: Config) -> list[int]:
    periods = [
        config.log_every,
        config.summary_every,
        config.image_every,
        config.checkpoint_every,
        config.eval_every,
    ]
    return [p for p in periods if p]


def _is_event(config: Config, step: int) -> bool:
    """Whether the loop does anything at ``step`` but call the step again: log, summarize,
    draw, evaluate, checkpoint, start or stop a profile, or end."""
    return (
        step == config.train_steps
        or step in config.profile_steps
        or any(step % p == 0 for p in _event_periods(config))
    )


def _steps_to_next_event(config: Config, step: int) -> int:
    """Steps the next call of the compiled step may take: at most ``steps_per_loop``, and
    never past an event (``_is_event``)."""
    events = [config.train_steps] + [(step // p + 1) * p for p in _event_periods(config)]
    events += [s for s in config.profile_steps if s > step]
    return max(1, min(config.steps_per_loop, min(events) - step))


def _first_nonfinite(since_check: list[dict], nonfinite_at_start: int) -> dict:
    """The metrics of the call that first counted a non-finite update (the stop policy
    halts the step there, so later calls return zeros)."""
    # The caller found the count risen in the last call, so some call has it.
    return next(m for m in since_check if int(m["nonfinite_updates"]) > nonfinite_at_start)


def _train_steps(run: PreparedRun, count: int) -> dict:
    """``count`` steps in one call; the data's counters join the metrics; an unreadable
    file, or a source with nothing decodable, is a DataError."""
    with decode.as_data_errors():
        if run.config.steps_per_loop == 1:  # no graph loop to build
            metrics = run.trainer.train_step(run.iterator)
        else:  # a tensor, so that every count runs the same trace
            metrics = run.trainer.train_step(run.iterator, tf.constant(count, tf.int64))
    if run.skipped_images is not None:
        metrics = {**metrics, "skipped_images": run.skipped_images.value()}
    return metrics


def _evaluate(run: PreparedRun, writer, step: int, history: History) -> dict | None:
    """Measures G, writes the metrics, and keeps the checkpoint if it is the best.

    Returns:
        The best-checkpoint record after this evaluation (None without --best_metric).
    """
    config = run.config
    history.say(f"evaluating at step {step}...")
    start = time.perf_counter()
    result = run.evaluator(run.trainer.sampling_generator)
    took = time.perf_counter() - start
    values = {
        name: value
        for name, value in result.items()
        if isinstance(value, (int, float)) and not name.startswith("num_")
    }
    with writer.as_default(step=step):
        for name, value in values.items():
            tf.summary.scalar(f"eval/{name}", value)
    earlier = history.evaluations()  # this run's, for the alarm: what has it lost?
    history.record("eval", step, values)
    line = " ".join(f"{name}={value:.4g}" for name, value in values.items())
    took_text = f"{took:.1f}s" if took < 60 else format_duration(took)
    history.say(f"eval at step {step}: {line} (took {took_text})")
    alarm = None
    if step:  # G is untrained at step 0
        alarm = evaluator.collapse_alarm(
            result,
            coverage=config.alarm_coverage,
            recall=config.alarm_recall,
            classes_covered=config.alarm_classes_covered,
            earlier=earlier,
        )
    if alarm:
        message = f"mode collapse? at step {step}: {alarm} (--alarm_* thresholds)"
        history.say(message)
        with writer.as_default(step=step):
            tf.summary.text("eval/alarm", message)
    if not config.best_metric or not step:  # the untrained G is no checkpoint to keep
        return None
    metric = config.best_metric
    best = run.workdir.best()
    value = float(result[metric])
    # A record of another metric, or of the same one measured another way (another
    # feature network or sample count: flags a resume may change), is replaced, not
    # compared.
    comparable = (
        best is not None
        and best["metric"] == metric
        and all(best["metrics"].get(key) == result.get(key) for key in ("extractor", "num_samples"))
    )
    previous = best["value"] if comparable else None
    if not eval_choices.is_better(metric, value, previous):
        return best
    path = run.save(step, best=True)
    best = {"metric": metric, "value": value, "step": step, "checkpoint": path, "metrics": result}
    run.workdir.save_best(best)
    with writer.as_default(step=step):  # the HParams tab shows its last value: the best
        tf.summary.scalar(f"best/{metric}", value)
    history.say(f"best {metric}={value:.4g} so far: saved {path}")
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


def _nonfinite_message(run: PreparedRun, step: int, metrics: dict) -> str:
    watched = _WATCHED + tuple(penalty.name for penalty in run.trainer.objective.penalties)
    bad = [
        f"{name}={float(metrics[name])}"
        for name in watched
        if name in metrics and not np.isfinite(float(metrics[name]))
    ]
    what = ", ".join(bad) if bad else "a discriminator update earlier in the step"
    latest = run.manager.latest_checkpoint or "none yet"
    return (
        f"non-finite {what} at step {step}; stopped without saving, so the latest checkpoint "
        f"is {latest}; --on_nonfinite=skip skips such updates instead"
    )
