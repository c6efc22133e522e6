"""The distribute layer's names, free of TensorFlow: where a step may run.

``dcgan.config`` declares ``--strategy`` with these and ``dcgan.distribute.devices``
builds them. Loads no TensorFlow.
"""

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
