"""``--precision=auto``: the precision the run's devices compute fastest without risk.

A new run with ``auto`` trains in ``mixed_bfloat16`` where every device it computes on
has bfloat16 units, and in ``float32`` elsewhere:

- a TPU: always;
- NVIDIA GPUs: compute capability 8.0 (A100) and later;
- a CPU: the ``avx512_bf16`` or ``amx_bf16`` flag in ``/proc/cpuinfo`` (Intel Cooper Lake,
  Sapphire Rapids and later, AMD Zen 4). Without them bfloat16 is emulated, and a step
  can cost more than in float32.

``mixed_float16`` is never picked: it needs loss scaling and its range is narrow, a
numerics change a user should choose. The choice is made once, when the run starts, and
saved in ``config.json`` as the concrete policy (``dcgan.run.prepare``): a resumed run
keeps the precision it was saved with, on whatever machine it resumes. Workers of a
multi-worker run could see different hardware, so they must name the precision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tensorflow as tf

# The /proc/cpuinfo flags of CPUs that compute bfloat16 natively.
CPU_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
# NVIDIA GPUs compute bfloat16 natively from Ampere (compute capability 8.0) on.
GPU_BFLOAT16_CAPABILITY = (8, 0)
_CPUINFO = "/proc/cpuinfo"


def cpu_flags(path: str = _CPUINFO) -> frozenset[str]:
    """The feature flags of this machine's first CPU, or none where ``path`` cannot be
    read (not Linux)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            for line in file:
                name, _, value = line.partition(":")
                if name.strip() == "flags":
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def gpu_capabilities() -> list[tuple[int, int] | None]:
    """The compute capability of each visible GPU (None where TensorFlow gives none)."""
    import tensorflow as tf

    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        capabilities.append(tuple(capability) if capability else None)
    return capabilities


def native_bfloat16(
    strategy: tf.distribute.Strategy,
    *,
    read_cpu_flags: Callable[[], frozenset[str]] | None = None,
    read_gpu_capabilities: Callable[[], list] | None = None,
) -> tuple[bool, str]:
    """Whether every device ``strategy`` computes on has bfloat16 units, and why, in a
    few words for the log (``"this CPU has amx_bf16"``).

    ``read_cpu_flags`` and ``read_gpu_capabilities`` stand in for ``cpu_flags`` and
    ``gpu_capabilities``, to ask about hardware this machine does not have.
    """
    # Imported here: the benchmarks read cpu_flags before TensorFlow loads.
    import tensorflow as tf

    from dcgan.distribute.devices import compute_devices

    if isinstance(strategy, tf.distribute.TPUStrategy):
        return True, "a TPU"
    types = {tf.DeviceSpec.from_string(name).device_type for name in compute_devices(strategy)}
    if "GPU" in types:
        capabilities = (read_gpu_capabilities or gpu_capabilities)()
        if capabilities and all(c and c >= GPU_BFLOAT16_CAPABILITY for c in capabilities):
            return True, f"GPUs of compute capability {min(capabilities)[0]}.{min(capabilities)[1]}"
        return False, "a GPU older than compute capability 8.0"
    found = sorted(set(CPU_BFLOAT16_FLAGS) & (read_cpu_flags or cpu_flags)())
    if found:
        return True, f"this CPU has {found[0]}"
    return False, f"this CPU has neither {' nor '.join(CPU_BFLOAT16_FLAGS)}"
