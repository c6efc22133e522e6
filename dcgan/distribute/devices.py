"""The devices a run trains on: the ``tf.distribute`` strategy, the cluster, who writes.

``make_strategy`` turns ``--strategy`` (with ``--devices``, ``--tpu`` and, for several
machines, the ``TF_CONFIG`` environment variable) into a strategy, refusing what cannot
work in one line before anything is built. ``Cluster`` says what this process is: how
many replicas share the global batch, whether it is the chief (the only process that
writes checkpoints, summaries, images and JSON into the workdir), and how the workers
agree to stop. The step itself (``dcgan.step.trainer``) only asks the strategy to run it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket

import tensorflow as tf

from dcgan.distribute.choices import STRATEGIES
from dcgan.io import storage

# The task types TF_CONFIG may name; a chief is optional (else worker 0 is the chief).
_TASK_TYPES = ("chief", "worker")
_TPU_CONNECT_SECONDS = 5.0


class DistributeError(RuntimeError):
    """A strategy, device list, TPU or cluster that cannot be used; one line."""


@dataclasses.dataclass(frozen=True)
class Cluster:
    """What this process is in a run.

    Attributes:
        strategy: the run's strategy.
        num_replicas: replicas in sync over all workers; the global batch is split among
            them.
        num_workers: processes (machines) taking part; 1 unless multi_worker or tpu hosts.
        worker_index: this process's index among them.
        is_chief: whether this process writes the workdir.
        distributes_input: whether each worker reads its own shard of the data through a
            distributed dataset (multi_worker, tpu), whose position a checkpoint cannot
            hold; otherwise one pipeline feeds the global batch and is checkpointed.
    """

    strategy: tf.distribute.Strategy
    num_replicas: int
    num_workers: int
    worker_index: int
    is_chief: bool
    distributes_input: bool


def make_strategy(name: str, *, devices: tuple[str, ...] = (), tpu: str = "") -> Cluster:
    """Builds the strategy ``--strategy=name`` asks for; call it before any other TF work.

    Args:
        name: one of :data:`STRATEGIES`.
        devices: for "mirrored": the devices to mirror over, e.g. ``("/gpu:0", "/gpu:1")``;
            empty: every GPU, or the CPU if there is none.
        tpu: for "tpu": a TPU name or ``grpc://host:port`` address.

    Raises:
        DistributeError: for an unknown name, an unknown device, a malformed TF_CONFIG or
            a TPU that cannot be reached.
    """
    if name not in STRATEGIES:
        raise DistributeError(f"--strategy={name} is unknown; allowed: {', '.join(STRATEGIES)}")
    if name == "default":
        return _cluster(tf.distribute.get_strategy())
    if name == "mirrored":
        return _cluster(_mirrored_strategy(_check_devices(devices)))
    if name == "multi_worker":
        spec = read_tf_config()
        try:
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
        except (tf.errors.OpError, RuntimeError, ValueError) as e:
            task = spec["task"]
            address = spec["cluster"][task["type"]][task["index"]]
            raise DistributeError(
                f"--strategy=multi_worker cannot start this worker ({task['type']} "
                f"{task['index']} at {address} in TF_CONFIG): {storage.reason(e, limit=150)}; "
                "allowed: an address whose port is free on this machine"
            ) from None
        task_type, task_index = spec["task"]["type"], int(spec["task"]["index"])
        chief = task_type == "chief" or ("chief" not in spec["cluster"] and task_index == 0)
        workers = sum(len(spec["cluster"][kind]) for kind in _TASK_TYPES if kind in spec["cluster"])
        index = task_index + (1 if task_type == "worker" and "chief" in spec["cluster"] else 0)
        return Cluster(strategy, strategy.num_replicas_in_sync, workers, index, chief, True)
    return _cluster(_tpu_strategy(tpu), distributes_input=True)


def compute_devices(strategy: tf.distribute.Strategy) -> list[str]:
    """The full names of the devices ``strategy`` computes on (``.../device:GPU:0``)."""
    try:
        return list(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy: TensorFlow's first device
        return [(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices())[0].name]


def _cluster(strategy: tf.distribute.Strategy, *, distributes_input: bool = False) -> Cluster:
    return Cluster(strategy, strategy.num_replicas_in_sync, 1, 0, True, distributes_input)


def _mirrored_strategy(devices: list[str]) -> tf.distribute.Strategy:
    names = devices or [d.name for d in _logical() if d.device_type == "GPU"]
    if names and all(tf.DeviceSpec.from_string(d).device_type != "CPU" for d in names):
        return tf.distribute.MirroredStrategy(names)  # NCCL all-reduce between GPUs
    # Between CPU devices, TF 2.21's collective all-reduce matched a step's collectives
    # out of order between devices (a shape mismatch, with n_critic > 1); reducing on
    # one device has no such order to keep.
    return tf.distribute.MirroredStrategy(
        names or None, cross_device_ops=tf.distribute.ReductionToOneDevice()
    )


def _check_devices(devices: tuple[str, ...]) -> list[str]:
    specs = {device: _device_spec(device, devices) for device in devices}
    _split_cpu(specs.values())
    known = {d.name.lower().replace("/job:localhost/replica:0/task:0", "") for d in _logical()}
    for device, spec in specs.items():
        canonical = spec.to_string().lower()
        if canonical not in known:
            raise DistributeError(
                f"--devices={','.join(devices)}: {device} is not a device of this machine; "
                f"allowed: {', '.join(sorted(known))}"
            )
    return list(devices)


def _device_spec(device: str, devices: tuple[str, ...]) -> tf.DeviceSpec:
    """``device`` parsed, or a one-line error naming it."""
    try:
        return tf.DeviceSpec.from_string(device)
    except ValueError:
        raise DistributeError(
            f"--devices={','.join(devices)}: {device!r} is not a device name; allowed: "
            "names like /gpu:0 or /cpu:1, comma-separated"
        ) from None


def _split_cpu(specs) -> None:
    """Splits the CPU into as many logical devices as ``specs`` name (``/cpu:1`` and
    up), so a CPU-only machine can run a mirrored step; only before TF starts its
    devices (else the names are checked against the devices it has)."""
    indices = [spec.device_index or 0 for spec in specs if spec.device_type == "CPU"]
    cpu = tf.config.list_physical_devices("CPU")[0]
    if not indices or max(indices) == 0 or tf.config.get_logical_device_configuration(cpu):
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(max(indices) + 1)]
        )
    except RuntimeError:  # already started
        pass


def _logical() -> list:
    return tf.config.list_logical_devices()


def read_tf_config() -> dict:
    """The cluster of a multi-worker run, from the ``TF_CONFIG`` environment variable.

    Raises:
        DistributeError: if it is unset or not ``{"cluster": {"worker": ["host:port",
            ...], ...}, "task": {"type": "worker", "index": i}}``.
    """
    text = os.environ.get("TF_CONFIG", "")
    expected = (
        'allowed: JSON like {"cluster": {"worker": ["host1:port", "host2:port"]}, '
        '"task": {"type": "worker", "index": 0}}'
    )
    if not text.strip():
        raise DistributeError(f"--strategy=multi_worker needs the TF_CONFIG variable; {expected}")
    try:
        spec = json.loads(text)
    except ValueError as e:
        raise DistributeError(f"TF_CONFIG is not JSON ({e}); {expected}") from None
    problem = _tf_config_problem(spec)
    if problem:
        raise DistributeError(f"TF_CONFIG {problem}; {expected}")
    return spec


def _tf_config_problem(spec) -> str | None:
    if not isinstance(spec, dict) or not isinstance(spec.get("cluster"), dict):
        return "has no 'cluster' object"
    cluster = spec["cluster"]
    for kind, addresses in cluster.items():
        if kind not in (*_TASK_TYPES, "evaluator", "ps"):
            return f"names an unknown task type {kind!r}"
        if not isinstance(addresses, list) or not all(
            isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses
        ):
            return f"cluster.{kind} is not a list of 'host:port' strings: {addresses!r}"
    if "ps" in cluster or "evaluator" in cluster:
        return "has 'ps' or 'evaluator' tasks, which MultiWorkerMirroredStrategy does not use"
    if not cluster.get("worker") and not cluster.get("chief"):
        return "lists no workers"
    task = spec.get("task")
    if not isinstance(task, dict) or task.get("type") not in cluster:
        return f"task {task!r} does not name a task type of the cluster"
    index = task.get("index")
    if isinstance(index, bool) or not isinstance(index, int):
        return f"task index {index!r} is not an integer"
    if not 0 <= index < len(cluster[task["type"]]):
        return f"task index {index} is outside cluster.{task['type']}"
    return None


def _tpu_strategy(address: str) -> tf.distribute.Strategy:
    if not address:
        raise DistributeError(
            "--strategy=tpu needs --tpu; allowed: a TPU name, 'local', or grpc://host:port"
        )
    if address.startswith("grpc://"):
        host, _, port = address[len("grpc://") :].rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=_TPU_CONNECT_SECONDS):
                pass
        except (OSError, ValueError) as e:
            raise DistributeError(
                f"--tpu={address} cannot be reached ({e}); allowed: the grpc://host:port of a "
                "running TPU worker, a TPU name, or 'local'"
            ) from None
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    # A name is looked up on the cloud metadata server: OSError (URLError) off the cloud.
    except (ValueError, RuntimeError, OSError, tf.errors.OpError) as e:
        raise DistributeError(
            f"--tpu={address} cannot be used ({storage.reason(e, limit=150)}); allowed: a TPU "
            "name, 'local', or grpc://host:port of a reachable TPU worker"
        ) from None


def check_batch(cluster: Cluster, batch_size: int, pack: int = 1) -> None:
    """Refuses a global batch the replicas cannot share evenly.

    Raises:
        DistributeError: if ``batch_size`` is not a multiple of ``replicas * pack``.
    """
    if batch_size % (cluster.num_replicas * pack):
        per = f" x --pack={pack}" if pack > 1 else ""
        raise DistributeError(
            f"--batch_size={batch_size} cannot be split over {cluster.num_replicas} replicas"
            f"{per}; allowed: a multiple of {cluster.num_replicas * pack}"
        )


def agree_to_stop(cluster: Cluster, stop: bool) -> bool:
    """True on every worker if any worker asks to stop (a SIGTERM reached only one).

    A collective: every worker must call it at the same step. One worker: ``stop``.
    """
    if cluster.num_workers == 1:
        return stop
    strategy = cluster.strategy
    value = strategy.experimental_distribute_values_from_function(
        lambda _: tf.constant(float(stop))
    )
    return bool(strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None) > 0)
