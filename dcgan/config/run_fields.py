"""The fields of how a run goes: where it lives, how long and how visibly it trains, how
it is evaluated, and on which devices. None changes what is learned but ``batch_size``,
``seed`` and ``precision``.

``dcgan.config.core.Config`` joins these sections with the others; each field names its
help, its spec, when it applies and its role on resume (``dcgan.config.fields``).
Loads no TensorFlow.
"""

from __future__ import annotations

import dataclasses

from dcgan import options
from dcgan.config.fields import (
    ALARM,
    BEST,
    BOOLEAN,
    COUNT,
    EVAL,
    IMAGE,
    IMAGE_EVAL,
    MIRRORED,
    POSITIVE,
    REPLICATED_BATCH_NORM,
    RUN,
    STATE,
    TEXT,
    TPU,
    field,
)
from dcgan.distribute import choices as distribute
from dcgan.step import choices as step


@dataclasses.dataclass(frozen=True)
class RunFields:
    """The run: where it lives, how long it trains, how visibly, and its precision."""

    workdir: str = field(
        dataclasses.MISSING,
        "Directory of the run: checkpoints, summaries, samples.",
        spec=options.Text("a directory path (it is created if missing)", allow_empty=False),
        role=RUN,
    )
    train_steps: int = field(10_000, "Generator updates to reach.", spec=POSITIVE, role=RUN)
    batch_size: int = field(64, "Examples per batch (per update).", spec=POSITIVE)
    seed: int = field(0, "Seed of the weights, noise and data order.", spec=COUNT)
    log_every: int = field(100, "Steps between stdout lines.", spec=POSITIVE, role=RUN)
    summary_every: int = field(100, "Steps between TensorBoard scalars.", spec=POSITIVE, role=RUN)
    image_every: int = field(
        1000, "Steps between fixed-noise sample grids.", spec=POSITIVE, role=RUN
    )
    checkpoint_every: int = field(1000, "Steps between checkpoints.", spec=POSITIVE, role=RUN)
    keep_checkpoints: int = field(5, "Checkpoints kept; 0 keeps all.", spec=COUNT, role=RUN)
    # STATE: the checkpointed fixed noise holds grid_size**2 vectors.
    grid_size: int = field(
        8, "Sample grid is grid_size^2 images.", spec=POSITIVE, when=IMAGE, role=STATE
    )
    deterministic: bool = field(
        False, "Deterministic ops: bit-exact reruns on GPU.", spec=BOOLEAN, role=RUN
    )
    # STATE: under mixed_float16 each optimizer is wrapped in a loss-scale optimizer, which
    # moves its slots in the checkpoint (under inner_optimizer/) and adds the loss scale.
    precision: str = field(
        "float32",
        "Keras dtype policy of G and D (variables stay float32): float32 on CPUs; "
        "mixed_float16 on NVIDIA GPUs with tensor cores (dynamic loss scaling per network); "
        "mixed_bfloat16 on TPUs and on CPUs or GPUs with bfloat16 units; auto: "
        "mixed_bfloat16 where every device has bfloat16 units, else float32, chosen when the "
        "run starts and saved. Fixed for a run's life.",
        spec=options.Choice(distribute.PRECISION_CHOICES),
        role=STATE,
    )
    on_nonfinite: str = field(
        "stop",
        "On a NaN/Inf loss or gradient: stop or skip.",
        spec=options.Choice(step.NONFINITE_ACTIONS),
        role=RUN,
    )
    allow_flag_changes: tuple[str, ...] = field(
        (),
        "Flags a resumed run may change from the saved run (e.g. g_lr,d_lr).",
        spec=options.Names(),
        role=RUN,
    )


@dataclasses.dataclass(frozen=True)
class EvaluationFields:
    """Evaluation during training and the best checkpoint."""

    # Evaluation during training (dcgan.evaluation) and the best checkpoint. Evaluation
    # reads G; it never changes what is learned, so these are RUN fields.
    eval_every: int = field(
        0,
        "Steps between evaluations (metrics in TensorBoard under eval/); 0: never.",
        spec=COUNT,
        role=RUN,
    )
    eval_samples: int = field(
        10_000,
        "Generated (and real) examples per evaluation.",
        spec=options.Integer(2),
        when=EVAL,
        role=RUN,
    )
    best_metric: str = field(
        "",
        "Keep the checkpoint with the best value of this metric in best/: modes, high_quality, "
        "reverse_kl (ring2d, grid2d), w1, ks (gaussian1d), fid, kid, precision, recall, "
        "density, coverage (images), classes_covered, class_kl (images measured by a "
        "classifier); '': none.",
        spec=TEXT,
        when=EVAL,
        role=RUN,
    )
    patience: int = field(
        0,
        "Stop after this many evaluations without a better --best_metric; 0: never.",
        spec=COUNT,
        when=BEST,
        role=RUN,
    )
    eval_classifier: str = field(
        "",
        "Saved Keras classifier (python -m dcgan.classifier) whose activations and classes "
        "evaluation uses, or an InceptionV3: inception (Keras's weights) or ttur_inception "
        "(the FID reference graph papers report); '': the classifier shipped for the dataset "
        "(glyphs), else inception.",
        spec=TEXT,
        when=IMAGE_EVAL,
        role=RUN,
    )
    eval_layer: str = field(
        "", "Layer of --eval_classifier; '': its penultimate.", spec=TEXT, when=IMAGE_EVAL, role=RUN
    )
    # The mode-collapse alarm: an evaluation with one of these below its threshold and
    # below half the best of the run's earlier evaluations prints a line and writes
    # TensorBoard text (dcgan.evaluation.evaluator.collapse_alarm).
    alarm_coverage: float = field(
        0.05,
        "Mode-collapse alarm below this coverage and half the run's best; 0: off.",
        spec=ALARM,
        when=IMAGE_EVAL,
        role=RUN,
    )
    alarm_recall: float = field(
        0.05,
        "Mode-collapse alarm below this recall and half the run's best; 0: off.",
        spec=ALARM,
        when=IMAGE_EVAL,
        role=RUN,
    )
    alarm_classes_covered: float = field(
        0.9,
        "Mode-collapse alarm below this share of the classifier's classes covered (and half "
        "the run's best); 0: off.",
        spec=ALARM,
        when=IMAGE_EVAL,
        role=RUN,
    )


@dataclasses.dataclass(frozen=True)
class DeviceFields:
    """The devices: where and how the step runs."""

    # The devices. How the step runs never changes what the checkpoint holds: a run may
    # resume under another strategy (the data order aside; see the README).
    strategy: str = field(
        "default",
        "Where the step runs: default (one device), mirrored (this machine's GPUs, or "
        "--devices), multi_worker (the machines in TF_CONFIG), tpu (--tpu). --batch_size "
        "is the global batch, split evenly over the replicas.",
        spec=options.Choice(distribute.STRATEGIES),
        role=RUN,
    )
    devices: tuple[str, ...] = field(
        (),
        "Devices to mirror over, e.g. /gpu:0,/gpu:1; empty: every GPU.",
        spec=options.Names(),
        when=MIRRORED,
        role=RUN,
    )
    tpu: str = field(
        "", "The TPU: its name, 'local', or grpc://host:port.", spec=TEXT, when=TPU, role=RUN
    )
    steps_per_loop: int = field(
        1,
        "Generator steps per call of the compiled step (fewer host round trips for small "
        "nets and TPUs); logs, summaries, images and checkpoints still land on their steps.",
        spec=POSITIVE,
        role=RUN,
    )
    profile_steps: tuple[int, ...] = field(
        (),
        "START,END: a TensorFlow profiler trace of the steps from START to END, in the "
        "workdir (TensorBoard's Profile tab, with tensorboard-plugin-profile); empty: none.",
        spec=options.Integers(0, allow_empty=True),
        role=RUN,
    )
    jit_compile: bool = field(
        False,
        "Compile the step with XLA (one device; measure first: on CPUs oneDNN is often faster).",
        spec=BOOLEAN,
        role=RUN,
    )
    sync_batch_norm: bool = field(
        False,
        "Batch norm statistics over the global batch (all replicas), not each replica's.",
        spec=BOOLEAN,
        when=REPLICATED_BATCH_NORM,
    )
