"""The run configuration: ``Config``, its fields by concern, their checks, resume rules.

- ``core``: ``Config``, the frozen dataclass of every field, its flagfile and JSON forms;
- ``run_fields``, ``model_fields``, ``training_fields``: the fields, one section each
  per concern;
- ``fields``: how a field is declared (help, spec, when it applies, role on resume) and
  which flags would be ignored;
- ``checks``: the rules between fields; ``resume``: what a resumed run may change;
- ``flags``: absl flags defined from the fields, for ``dcgan.train``.

Nothing here loads TensorFlow: flag errors must be instant. The names most callers need
are the package's: ``from dcgan.config import Config, ConfigError``.
"""

from dcgan.config.core import RUN_FIELDS, STATE_FIELDS, Config
from dcgan.config.fields import (
    LEARNING,
    RUN,
    STATE,
    Applies,
    ConfigError,
    check_explicit_flags,
    no_effect_message,
)
from dcgan.config.resume import RENAMED_FIELDS, REPLACED_FIELDS, check_resumable
from dcgan.options import format_value

__all__ = [
    "LEARNING",
    "REPLACED_FIELDS",
    "RENAMED_FIELDS",
    "RUN",
    "RUN_FIELDS",
    "STATE",
    "STATE_FIELDS",
    "Applies",
    "Config",
    "ConfigError",
    "check_explicit_flags",
    "check_resumable",
    "format_value",
    "no_effect_message",
]
