"""The distribute layer's names, free of TensorFlow: where a step may run.

``dcgan.config`` declares ``--strategy`` with these and ``dcgan.distribute.devices``
builds them. Loads no TensorFlow.
"""

from dcgan.gan.choices import PRECISIONS

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
# ``--precision=auto``: the run picks one of ``PRECISIONS`` for its devices when it
# starts (``dcgan.distribute.precision``).
AUTO_PRECISION = "auto"
PRECISION_CHOICES = (*PRECISIONS, AUTO_PRECISION)
