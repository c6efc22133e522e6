"""Shared test helpers."""

import collections
import glob
import os

import pytest

# One intra-op thread per process (this one, and every command it starts, which inherits
# the environment): pytest-xdist already runs a test module per core, and TensorFlow's
# and oneDNN's default pools of a thread per core each would oversubscribe the cores.
# Set before TensorFlow starts its thread pools.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Every command a test starts loads TensorFlow, and with it Keras, which imports IPython
# where it is installed (for notebooks): 0.5 s of the 5 s each takes to load here, for
# nothing a test uses. tests/shims/IPython raises ImportError, which Keras takes as
# "not installed".
_SHIMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shims")
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [_SHIMS, os.environ.get("PYTHONPATH")]))

import tensorflow as tf  # noqa: E402 - after the thread settings above

# Nothing the tests run fetches from the network (InceptionV3's weights): CI has none,
# and a test must not depend on it. The fetching code is tested with a stand-in fetch.
# Set before any command starts, so that every child process inherits it.
os.environ["DCGAN_OFFLINE"] = "1"

# Two logical CPU devices for the whole session, so tf.distribute tests run a mirrored
# strategy in-process; it must be set before TensorFlow initializes its devices. Ops
# without a strategy still run on the first one, as on any machine.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
)


def _read_summaries(directory):
    """Returns {tag: [(step, value), ...]} from every event file in ``directory``.

    A value is a float for a numeric scalar, a str for a text summary, bytes for other
    strings (a serialized Custom Scalars layout), else None.
    """
    found = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                found[value.tag].append((event.step, _value(value)))
    return dict(found)


def _value(value):
    tensor = tf.make_ndarray(value.tensor) if value.HasField("tensor") else None
    if tensor is None or tensor.ndim != 0:
        return None
    if tensor.dtype == object:  # strings: a text summary, or a layout's bytes
        data = tensor.item()
        return data.decode() if value.metadata.plugin_data.plugin_name == "text" else data
    return float(tensor)


@pytest.fixture
def read_summaries():
    """The function that reads a workdir's TensorBoard events into {tag: [(step, value)]}."""
    return _read_summaries
