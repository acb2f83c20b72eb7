"""The notebooks in notebooks/: stored without outputs, and each runs top to bottom on real MNIST
with its default (small) settings, answering its questions, writing nothing into the repository.

The kernels run with one torch thread (``OMP_NUM_THREADS=1``): on the shared 2-core CPU of CI
one thread is steadier than two, whose threads wait on each other when the other core is busy.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import real_mnist_root

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {
    "01_pooling_and_padding.ipynb",
    "02_lenet5.ipynb",
    "03_alexnet.ipynb",
}


def tracked_notebooks() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "notebooks/*.ipynb"], cwd=ROOT, capture_output=True, text=True
    )
    if listed.returncode != 0:  # not a git checkout (an sdist): the files on disk
        return sorted((ROOT / "notebooks").glob("*.ipynb"))
    return [ROOT / name for name in listed.stdout.split()]


def test_the_three_notebooks_are_there() -> None:
    assert {path.name for path in (ROOT / "notebooks").glob("*.ipynb")} == NOTEBOOKS


@pytest.mark.parametrize("path", tracked_notebooks(), ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(cell.outputs == [] for cell in code), f"{path.name} holds outputs: clear them"
    assert all(cell.execution_count is None for cell in code), f"{path.name}: execution counts"
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert tagged and tagged[0] is code[0], "the first code cell is the tagged parameter cell"


def repository_state() -> str:
    """Every file git sees as changed, untracked or ignored (logs/, data/, ...)."""
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def text_of(notebook: nbformat.NotebookNode) -> str:
    """All text the notebook's cells printed or displayed, in order."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stdout":
                parts.append(output.text)
            for kind in ("text/markdown", "text/plain"):
                if kind in output.get("data", {}):
                    parts.append(output.data[kind])
    return "\n".join(parts)


def images_in(notebook: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )


@pytest.fixture
def execute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run a notebook in a fresh kernel (its temporary files under ``tmp_path``) and check that
    the repository is left as it was."""
    if real_mnist_root() is None:
        pytest.skip("the notebooks read real MNIST: set LIGHTCNN_DATA_DIR to a folder with it")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    before = repository_state()

    def _execute(name: str) -> nbformat.NotebookNode:
        notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute()  # raises CellExecutionError, with the cell and traceback, on an error
        assert repository_state() == before, "the notebook wrote into the repository"
        return notebook

    return _execute


@pytest.mark.slow
def test_pooling_and_padding_notebook(execute) -> None:
    text = text_of(execute("01_pooling_and_padding.ipynb"))
    assert "lightcnn's arithmetic matches PyTorch's shapes: True" in text
    # rows of the output-size table: arithmetic and PyTorch agree, valid shrinks, same keeps
    assert "| 28 | conv 5×5 / 1, padding=valid | 24 | 24 | ✓ |" in text
    assert "| 28 | conv 5×5 / 2, padding=reflect | 14 | 14 | ✓ |" in text
    assert "| 28 | max pool 3×3 / 2 | 13 | 13 | ✓ |" in text
    assert "✗" not in text
    # pooled maps of shifted digits are more alike than the digits (max pooling)
    shift_1 = re.search(r"\| 1 \| (0\.\d+) \| (0\.\d+) \|", text)
    assert shift_1 and float(shift_1[2]) > float(shift_1[1])
    # the trained LeNet-5 classifies unshifted digits well, 3-pixel shifts much worse
    accuracy = {int(m[1]): float(m[2]) for m in re.finditer(r"\| (\d) \| (\d+\.\d)% \| \d", text)}
    assert accuracy[0] > 85 and accuracy[3] < accuracy[0] - 10
    assert "| min | valid | 44,426 |" in text  # the measured sweep's table
    assert "notebook ran in" in text


@pytest.mark.slow
def test_lenet5_notebook(execute) -> None:
    notebook = execute("02_lenet5.ipynb")
    text = text_of(notebook)
    assert "feature map sides: 28 → 24 → 12 → 8 → 4" in text
    assert "| **total** | | | **44,426** | **281,640** | | | |" in text
    assert "| features.C3 | PartialConv | 16×10×10 | 1,516 |" in text
    assert "| parameters | 44,426 | 60,850 |" in text
    assert "C3 parameters: 1,516 (a dense 6→16 5×5 conv would have 2,416)" in text
    test_acc = re.search(r"test accuracy (\d+\.\d+)% \(official 10,000-image test split", text)
    assert test_acc and float(test_acc[1]) > 90
    assert "report/: calibration.png, confusion_matrix.png, curves.png" in text
    assert "top confusions:" in text
    assert "| shift (px, right and down) | 0 | 1 | 2 | 3 | 4 |" in text
    assert images_in(notebook) >= 5  # C3 table, curves, confusion matrix, mistakes, examples


@pytest.mark.slow
def test_alexnet_notebook(execute) -> None:
    text = text_of(execute("03_alexnet.ipynb"))
    assert "| `alexnet` | 3×224×224 | 61,100,840 |" in text
    assert "| `alexnet_2012` | 3×227×227 | 62,378,344 |" in text
    assert "| `alexnet_cifar` | 3×32×32 | 5,674,826 |" in text
    for run in ("baseline (ReLU)", "tanh instead of ReLU", "with LRN", "no dropout"):
        assert f"| {run} |" in text
    assert "output side on 55×55 maps: overlapping 3×3/2 → 27 · non-overlapping 2×2/2 → 27" in text
    assert "| features.conv2 | 0.0100 | 1.0 |" in text  # the paper's initialisation
    # no CIFAR-10 and no ImageNet weights here: the stand-in says so
    assert "STAND-IN data" in text and "STAND-IN weights" in text
    # the fine-tuning policies' param groups: a new 10-class head, the backbone's lower LR
    assert "| head: 40,970 @ lr 1e-03 | 40,970 |" in text
    assert "backbone: 57,003,840 (joined at the unfreeze epoch)" in text
    assert "backbone: 57,003,840 @ lr 1e-04, head: 40,970 @ lr 1e-03" in text
    assert "backbone: 57,003,840 @ lr 1e-03, head: 40,970 @ lr 1e-03" in text
