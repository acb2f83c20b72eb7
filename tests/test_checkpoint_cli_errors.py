"""Bad input to ``lightcnn.eval`` and ``lightcnn.predict``: through the real CLI one clear line,
exit 2 and nothing written, and a checkpoint carrying code is refused without running it (the
subprocesses run concurrently; they mostly wait on imports); the option rules in-process."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra

from conftest import best_checkpoint, compose_job, run_cli
from lightcnn.config.checkpoint_jobs import validate_checkpoint_job
from lightcnn.core.errors import ConfigError

# case → (module, arguments, the error line's start); CKPT: the fixture run's best checkpoint,
# CRAFTED: a checkpoint that pickles a call of os.system, IMAGES: a folder with one PNG
CASES: dict[str, tuple[str, list[str], str]] = {
    "eval_no_ckpt": ("lightcnn.eval", [], "ckpt_path is required: python -m lightcnn.eval"),
    "eval_batch": (
        "lightcnn.eval",
        ["ckpt_path=CKPT", "data.batch_size=0"],
        "data.batch_size=0 is not allowed: it must be a positive integer",
    ),
    "eval_crafted": ("lightcnn.eval", ["ckpt_path=CRAFTED"], "refusing to load CRAFTED"),
    "predict_nothing": (
        "lightcnn.predict",
        ["ckpt_path=CKPT", "inputs=IMAGES/*.gif"],
        "inputs=IMAGES/*.gif: no file matches this pattern",
    ),
    "predict_crafted": (
        "lightcnn.predict",
        ["ckpt_path=CRAFTED", "inputs=IMAGES"],
        "refusing to load CRAFTED",
    ),
}


class RunsCode:
    """Pickles into a call of os.system: what a malicious checkpoint would carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def results(trained_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("checkpoint-cli")
    crafted = base / "run" / "checkpoints" / "crafted.ckpt"
    crafted.parent.mkdir(parents=True)
    torch.save({"state_dict": {}, "payload": RunsCode(base / "code-was-executed")}, crafted)
    images = base / "images"
    images.mkdir()
    (images / "digit.png").write_bytes((trained_run / "report" / "curves.png").read_bytes())
    names = {
        "CKPT": str(best_checkpoint(trained_run)),
        "CRAFTED": str(crafted),
        "IMAGES": str(images),
    }

    def fill(text: str) -> str:
        for name, value in names.items():
            text = text.replace(name, value)
        return text

    def run(case: str):
        module, args, _ = CASES[case]
        out = base / "out" / case
        return run_cli(*map(fill, args), f"hydra.run.dir={out}", cwd=base, module=module)

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip(CASES, pool.map(run, CASES), strict=True))
    return {"base": base, "results": done, "fill": fill}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_line_exit_2_and_nothing_written(results: dict, case: str) -> None:
    result = results["results"][case]
    expected = results["fill"](CASES[case][2])
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith(f"lightcnn: error: {expected}"), lines[-1]
    assert not any("Traceback" in line for line in lines)
    assert not (results["base"] / "out" / case).exists()


@pytest.mark.slow
def test_the_crafted_checkpoint_never_ran(results: dict) -> None:
    assert "weights_only=True" in results["results"]["eval_crafted"].stderr
    assert not (results["base"] / "code-was-executed").exists()
    assert not (results["base"] / "run" / "eval").exists()


@pytest.mark.parametrize(
    ("command", "overrides", "message"),
    [
        ("eval", ["ckpt_path=missing.ckpt"], "ckpt_path=missing.ckpt: no such file"),
        ("eval", ["split=train"], "split='train' is not allowed: it must be one of test, val"),
        ("eval", ["max_mistakes=-1"], "max_mistakes=-1 is not allowed: it must be an integer"),
        ("eval", ["data.batch_size=0"], "data.batch_size=0 is not allowed"),
        ("eval", ["data.pipeline=fast"], "data.pipeline='fast' is not allowed"),
        ("predict", [], "inputs is required: python -m lightcnn.predict"),
        ("predict", ["inputs=x.png", "topk=0"], "topk=0 is not allowed: it must be an integer"),
        ("predict", ["inputs=x.png", "dataset=usps"], "dataset='usps' is not allowed"),
        ("predict", ["inputs=x.png", "batch_size=0"], "batch_size=0 is not allowed"),
    ],
)
def test_option_rules(trained_run: Path, tmp_path: Path, command, overrides, message) -> None:
    given = overrides and overrides[0].startswith("ckpt_path")
    ckpt = [] if given else [f"ckpt_path={best_checkpoint(trained_run)}"]
    try:
        cfg = compose_job(command, [*ckpt, *overrides], tmp_path)
    finally:
        GlobalHydra.instance().clear()
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_checkpoint_job(cfg, command)
