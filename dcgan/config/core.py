"""The run configuration: one frozen dataclass of every field, and its flagfile and JSON
forms.

``Config`` joins the sections of ``run_fields``, ``model_fields`` and ``training_fields``;
field names are the flag names of ``dcgan.train``, the only place that reads flags.
Everything below it takes a ``Config``, validated when built (``dcgan.config.checks``).
Loads no TensorFlow: flag errors must be instant.
"""

from __future__ import annotations

import dataclasses
import json

from dcgan.config import checks, resume
from dcgan.config.fields import RUN, STATE, applies
from dcgan.config.model_fields import DataFields, NetworkFields, NoiseFields
from dcgan.config.run_fields import DeviceFields, EvaluationFields, RunFields
from dcgan.config.training_fields import ObjectiveFields, OptimizerFields, ScheduleFields
from dcgan.data import choices as data_choices
from dcgan.evaluation import choices as eval_choices
from dcgan.gan.choices import default_start_size
from dcgan.options import format_value


# A dataclass takes the fields of its last base first: the sections are listed last to
# first, so that the flags and flags.txt keep the order the sections are read in.
@dataclasses.dataclass(frozen=True)
class Config(
    DeviceFields,
    OptimizerFields,
    ScheduleFields,
    ObjectiveFields,
    NoiseFields,
    NetworkFields,
    DataFields,
    EvaluationFields,
    RunFields,
):
    """Everything that defines a training run. Defaults follow Radford et al. (2015)."""

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(field.default, tuple) and isinstance(value, list):
                object.__setattr__(self, field.name, tuple(value))  # JSON and absl give lists
        checks.validate(self)

    @property
    def eval_metrics(self) -> tuple[str, ...]:
        """Names of the metrics an evaluation of this run computes (empty: none exist)."""
        return eval_choices.eval_metrics(
            self.dataset,
            is_image=self.is_image,
            has_classifier=self.has_classifier,
            conditional=self.is_image and self.conditioning != "none",
        )

    @property
    def has_classifier(self) -> bool:
        """Whether an image run is measured by a domain classifier, which has classes:
        ``--eval_classifier`` (unless it names an InceptionV3), or the one shipped for its
        dataset."""
        if self.eval_classifier:
            return self.eval_classifier not in eval_choices.INCEPTION_NETWORKS
        return self.dataset in eval_choices.SHIPPED_CLASSIFIER_DATASETS

    @property
    def is_image(self) -> bool:
        """Whether the dataset holds images (DCGAN nets) rather than vectors (MLPs)."""
        return data_choices.is_image(self.dataset)

    @property
    def is_tfds(self) -> bool:
        """Whether the dataset is a TensorFlow Datasets set, ``tfds:NAME``."""
        return data_choices.is_tfds(self.dataset)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one noise example: ``noise_shape``, or ``(latent_dim,)`` if empty."""
        return self.noise_shape or (self.latent_dim,)

    @property
    def g_start(self) -> int:
        """G's first spatial size: ``g_start_size``, or the networks' default for the size."""
        return self.g_start_size or default_start_size(self.image_size)

    def applicable_fields(self) -> tuple[str, ...]:
        """Names of the fields that have an effect in this run, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(self) if applies(self, f.name))

    def to_flagfile(self) -> str:
        """Returns the run as flagfile text that ``dcgan.train --flagfile`` accepts.

        Only applicable fields are written, so the file passes ``check_explicit_flags``.
        """
        names = self.applicable_fields()
        return "".join(f"--{name}={format_value(getattr(self, name))}\n" for name in names)

    def to_json(self) -> str:
        """Serializes every field to JSON."""
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Config:
        """Parses ``to_json`` output, also of runs saved before a field was renamed.

        Raises:
            ConfigError: for unknown fields or invalid values.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**resume.saved_values(json.loads(text), known))


STATE_FIELDS = tuple(f.name for f in dataclasses.fields(Config) if f.metadata["role"] == STATE)
RUN_FIELDS = tuple(f.name for f in dataclasses.fields(Config) if f.metadata["role"] == RUN)
