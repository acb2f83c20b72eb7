"""The NVML-check adapter (core/nvml_check.py): it must fail loudly when upstream changes."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from lightcnn.core import nvml_check
from lightcnn.core.nvml_check import VARIABLE, drop_nvml_check_without_nvml

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="NVML is loaded on Linux")

PROBE = """
import os, torch
import lightning  # sets the variable
set_by_lightning = os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK")
before = torch.cuda.is_available(), torch.cuda.device_count()
from lightcnn.core.nvml_check import drop_nvml_check_without_nvml, nvml_loads
dropped = drop_nvml_check_without_nvml()
after = torch.cuda.is_available(), torch.cuda.device_count()
print(set_by_lightning, nvml_loads(), dropped, before == after)
"""


def test_lightning_sets_the_variable_and_dropping_it_changes_no_answer() -> None:
    # In a fresh process: the variable is Lightning's import-time decision.
    env = {k: v for k, v in os.environ.items() if k != VARIABLE}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    set_by_lightning, loads, dropped, same = result.stdout.split()
    # "1": Lightning still sets it. If this fails, Lightning stopped: delete the adapter.
    assert set_by_lightning == "1"
    assert dropped == str(loads == "False")  # removed exactly where NVML cannot load
    assert same == "True"  # torch's CUDA answers are the same with and without it


def test_the_variable_stays_where_nvml_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, "1")
    monkeypatch.setattr(nvml_check.ctypes, "CDLL", lambda name: object())
    assert drop_nvml_check_without_nvml() is False
    assert os.environ[VARIABLE] == "1"


def test_the_variable_goes_where_nvml_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> ctypes.CDLL:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setenv(VARIABLE, "1")
    monkeypatch.setattr(nvml_check.ctypes, "CDLL", missing)
    assert drop_nvml_check_without_nvml() is True
    assert VARIABLE not in os.environ  # monkeypatch restores it after the test


def test_a_variable_the_user_set_otherwise_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, "0")
    assert drop_nvml_check_without_nvml() is False
    assert os.environ[VARIABLE] == "0"
