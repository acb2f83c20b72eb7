"""The layering of docs/architecture.md: lower layers never import higher ones, and the config
checks never load Lightning (a typo is reported in seconds)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import lightcnn

PACKAGE = Path(lightcnn.__file__).resolve().parent

# What each layer may import from lightcnn (besides itself). Entry points (the modules at the
# top of the package) may import anything.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "nn": {"core"},
    "models": {"core", "nn"},
    "data": {"core", "models"},
    "lit": {"core", "nn", "models"},
    "inspection": {"core", "nn"},
    "rundir": {"core", "models", "data", "lit"},
    "evaluation": {"core", "models", "rundir"},
    "callbacks": {"core", "nn", "models", "evaluation", "inspection"},
    "config": {"core", "models", "data", "lit", "rundir"},
    "sweeps": {"core", "rundir"},
    "launch": {
        *("core", "nn", "models", "data", "lit", "inspection", "rundir", "evaluation"),
        *("callbacks", "config", "sweeps"),
    },
}
ENTRY_POINTS = {"train", "summary", "leaderboard", "eval", "predict"}


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def lightcnn_imports(path: Path) -> set[str]:
    """The layers a module imports from (``lightcnn.<layer>...``)."""
    layers = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "lightcnn" and len(parts) > 1:
                layers.add(parts[1])
    return layers


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if layer_of(p) not in ("__init__",))


def test_every_module_belongs_to_a_known_layer() -> None:
    unknown = {layer_of(p) for p in MODULES} - set(ALLOWED) - ENTRY_POINTS
    assert not unknown, f"add these to docs/architecture.md and ALLOWED: {unknown}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path: Path) -> None:
    layer = layer_of(path)
    if layer in ENTRY_POINTS:
        return
    upward = lightcnn_imports(path) - ALLOWED[layer] - {layer}
    assert not upward, f"{path.relative_to(PACKAGE)} ({layer}) imports {sorted(upward)}"


def test_config_checks_do_not_load_lightning() -> None:
    """What runs before a job starts: the Hydra callback, validation, resume, the rules."""
    code = (
        "import sys\n"
        "import lightcnn.launch.hydra_callbacks, lightcnn.rundir.resume, lightcnn.launch.job\n"
        "import lightcnn.rundir.checkpoints, lightcnn.train, lightcnn.eval, lightcnn.predict\n"
        "import lightcnn.leaderboard\n"
        "import lightcnn.config.validation, lightcnn.data, lightcnn.lit.options\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'lightning'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_folder_is_a_drawer() -> None:
    """Each folder holds one job, small enough to read: at most 10 modules besides __init__."""
    for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir())]:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= 10, f"{folder.relative_to(PACKAGE.parent)}: {len(modules)} modules"
