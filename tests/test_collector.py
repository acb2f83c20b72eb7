"""The garbage collector paused while a command line imports (core/collector.py)."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from conftest import best_checkpoint, cli_env, compose_job
from lightcnn.core import collector
from lightcnn.eval import evaluate
from lightcnn.predict import predict
from lightcnn.train import train


@pytest.fixture
def restore_collector() -> Iterator[list]:
    """The atexit registrations made meanwhile; the collector enabled and unfrozen after."""
    registered: list = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(collector.atexit, "register", registered.append)
        yield registered
    gc.unfreeze()
    gc.enable()


def test_paused_as_main_then_resumed_frozen_until_the_exit(restore_collector: list) -> None:
    collector.pause_if_main("__main__")
    assert not gc.isenabled()
    collector.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 10_000  # the test session's imports: out of every pass
    assert restore_collector == [gc.unfreeze]  # the last collection at exit sees them again


def test_imported_as_a_library_nothing_is_paused_or_frozen(restore_collector: list) -> None:
    frozen = gc.get_freeze_count()
    collector.pause_if_main("lightcnn.train")
    assert gc.isenabled()
    collector.resume()
    assert gc.get_freeze_count() == frozen and restore_collector == []


def test_train_resumes_the_collector_before_it_builds_the_run(
    make_cfg, restore_collector: list
) -> None:
    collector.pause_if_main("__main__")  # as `python -m lightcnn.train` starts
    _, objects = train(make_cfg("debug=fdr", "logger=csv"))
    assert gc.isenabled() and restore_collector == [gc.unfreeze]
    # what a pass visits (frozen objects are in none of the generations): the run's data, model
    # and trainer, made after the freeze, are collected as usual (a sweep's jobs share one
    # process, and a job's data may sit on the GPU); the modules imported before are not
    visited = {id(thing) for thing in gc.get_objects()}
    assert all(id(objects[name]) in visited for name in ("datamodule", "model", "trainer"))
    assert id(collector) not in visited


def test_eval_and_predict_resume_the_collector_before_their_pass(
    trained_run, tmp_path, restore_collector: list
) -> None:
    ckpt = best_checkpoint(trained_run)
    image = tmp_path / "digit.png"
    Image.new("L", (28, 28)).save(image)
    try:
        collector.pause_if_main("__main__")  # as `python -m lightcnn.eval` starts
        evaluate(compose_job("eval", [f"ckpt_path={ckpt}"], tmp_path / "eval"))
        assert gc.isenabled() and restore_collector == [gc.unfreeze]
        GlobalHydra.instance().clear()
        collector.pause_if_main("__main__")  # as `python -m lightcnn.predict` starts
        predict(compose_job("predict", [f"ckpt_path={ckpt}", f"inputs={image}"], tmp_path / "p"))
        assert gc.isenabled() and restore_collector == [gc.unfreeze, gc.unfreeze]
    finally:
        GlobalHydra.instance().clear()


PROBE = """
import gc, runpy, sys
import lightcnn.train, lightcnn.eval, lightcnn.predict
print("library", gc.isenabled())
for module in ("lightcnn.train", "lightcnn.eval", "lightcnn.predict"):
    gc.enable()
    sys.argv = [module, "--cfg", "job"]  # Hydra prints the config: no work starts
    runpy.run_module(module, run_name="__main__")
    print(module, gc.isenabled())
"""


@pytest.mark.slow
def test_the_command_lines_pause_the_collector_only_when_run_as_main() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=cli_env(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.endswith(("True", "False"))]
    assert lines == [
        "library True",
        "lightcnn.train False",
        "lightcnn.eval False",
        "lightcnn.predict False",
    ]
