"""lightcnn.config.compose.compose_run: a train config composed from Python, as the CLI would."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.core.hydra_config import HydraConfig

from lightcnn.config.compose import compose_run, quoted
from lightcnn.config.validation import validate_config
from lightcnn.core.errors import ConfigError


def test_overrides_apply_and_the_run_goes_to_run_dir(tmp_path: Path) -> None:
    run_dir = tmp_path / "a run (1), 'quoted'"
    cfg = compose_run(["model=lenet5_1998", "seed=7", "data.batch_size=64"], run_dir=run_dir)
    assert cfg.model.arch == "lenet5_1998" and cfg.seed == 7 and cfg.data.batch_size == 64
    assert cfg.paths.output_dir == str(run_dir)
    assert HydraConfig.get().run.dir == str(run_dir)  # set for the run, as @hydra.main does
    assert list(HydraConfig.get().overrides.task)[:3] == [
        "model=lenet5_1998",
        "seed=7",
        "data.batch_size=64",
    ]
    assert not run_dir.exists()  # composing creates nothing
    validate_config(cfg)


def test_bad_values_are_refused_when_the_run_checks_its_config(tmp_path: Path) -> None:
    cfg = compose_run(["data.batch_size=0"], run_dir=tmp_path / "run")
    with pytest.raises(ConfigError, match=r"data\.batch_size=0"):
        validate_config(cfg)


@pytest.mark.parametrize("text", ["/a b/(x), y=1", "/it's", "/back\\slash", "/x\\'y", "/end\\"])
def test_quoted_values_stay_one_string(text: str, tmp_path: Path) -> None:
    cfg = compose_run([f"tags=[{quoted(text)}]"], run_dir=tmp_path / "run")
    assert list(cfg.tags) == [text]
