"""Adapter: Lightning's NVML-based CUDA check, on machines where NVML cannot load.

``lightning.fabric`` sets ``PYTORCH_NVML_BASED_CUDA_CHECK=1`` when it is imported, so that
``torch.cuda.is_available()`` asks NVML instead of initialising CUDA (which would poison
forks; pytorch/pytorch#83973). torch's Adam and AdamW call ``torch.accelerator.is_available()``
at every ``step()`` (their CUDA-graph capture check). Where NVIDIA's NVML library is absent —
a CUDA build of torch on a machine without an NVIDIA driver, which is what ``pip install torch``
gives on a CPU machine — each of those calls tries to load ``libnvidia-ml.so.1``, fails, and
falls back to the CUDA runtime's count all the same: about 170 µs per optimizer step here, 1-2%
of a LeNet-5 step. Without NVML the variable changes nothing but that cost, so
:func:`drop_nvml_check_without_nvml` removes it there, and only there.

``tests/test_nvml_check.py`` fails when Lightning stops setting the variable (then delete this
module) or when torch's answer would change.
"""

from __future__ import annotations

import ctypes
import os

VARIABLE = "PYTORCH_NVML_BASED_CUDA_CHECK"
#: the library torch's NVML check loads (torch/cuda/__init__.py, _raw_device_count_nvml)
NVML_LIBRARY = "libnvidia-ml.so.1"


def nvml_loads() -> bool:
    """Whether NVIDIA's NVML library can be loaded in this process."""
    try:
        ctypes.CDLL(NVML_LIBRARY)
    except OSError:
        return False
    return True


def drop_nvml_check_without_nvml() -> bool:
    """Remove ``PYTORCH_NVML_BASED_CUDA_CHECK`` when it is set and NVML cannot load; returns
    whether it was removed. With NVML present (a machine with an NVIDIA driver) it stays."""
    if os.environ.get(VARIABLE) != "1" or nvml_loads():
        return False
    del os.environ[VARIABLE]
    return True
