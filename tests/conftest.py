"""Shared test helpers."""

import collections
import glob
import os

import pytest
import tensorflow as tf

# Two logical CPU devices for the whole session, so tf.distribute tests run a mirrored
# strategy in-process; it must be set before TensorFlow initializes its devices. Ops
# without a strategy still run on the first one, as on any machine.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
)


def _read_summaries(directory):
    """Returns {tag: [(step, value-or-None), ...]} from every event file in ``directory``."""
    found = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor) if value.HasField("tensor") else None
                scalar = float(tensor) if tensor is not None and tensor.ndim == 0 else None
                found[value.tag].append((event.step, scalar))
    return dict(found)


@pytest.fixture
def read_summaries():
    """The function that reads a workdir's TensorBoard events into {tag: [(step, value)]}."""
    return _read_summaries
