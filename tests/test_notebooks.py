"""The notebooks in notebooks/: stored without outputs, and each runs top to bottom on real MNIST
with its default (small) settings, answering its questions, writing nothing into the repository.

The kernels run with one torch thread (``OMP_NUM_THREADS=1``): on the shared 2-core CPU of CI
one thread is steadier than two, whose threads wait on each other when the other core is busy.
Each kernel has its own temporary folder, IPython folder and empty torch hub, and sees only real
MNIST in its data folder, so what a notebook finds and prints does not depend on what other
processes put in the shared caches (real CIFAR-10 or ImageNet weights there would change 03's
"STAND-IN" notes).
"""

from __future__ import annotations

import re
import shutil
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


# Where a notebook's own files would land in the checkout: its own folder, the default data and
# log folders (``paths.data_dir`` and ``paths.log_dir`` hang off the checkout, not off the
# kernel's working directory) and Hydra's and Lightning's default output folders. Ignored files
# are compared only here: other test workers write ignored caches elsewhere meanwhile
# (Hypothesis's .hypothesis/, __pycache__/, .pytest_cache/), which no notebook writes.
OUTPUT_PLACES = ("notebooks", "data", "logs", "outputs", "multirun", "lightning_logs")


def git_status(root: Path, *args: str) -> list[str]:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()


def repository_state(root: Path = ROOT) -> set[str]:
    """What a notebook could have written into the checkout: changed tracked files and new
    files that git does not ignore, anywhere; and every file, ignored or not, under
    ``OUTPUT_PLACES``."""
    return {*git_status(root), *git_status(root, "--ignored", "--", *OUTPUT_PLACES)}


def written(before: set[str], after: set[str]) -> str:
    """The difference of two repository states, one ``git status`` line each."""
    return "\n".join(
        [
            *(f"+ {line}" for line in sorted(after - before)),
            *(f"- {line}" for line in sorted(before - after)),
        ]
    )


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".gitignore").is_file(),
    reason="needs git and the checkout's .gitignore",
)
def test_the_repository_check_sees_a_notebooks_files_not_other_workers_caches(
    tmp_path: Path,
) -> None:
    """``repository_state`` on a scratch repository with this checkout's .gitignore (never on
    the checkout itself: the notebook tests of other workers compare it meanwhile)."""
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    shutil.copy(ROOT / ".gitignore", repo / ".gitignore")
    (repo / "docs" / "notes.md").write_text("tracked\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "start"], cwd=repo, check=True)
    before = repository_state(repo)

    def seen(path: str) -> bool:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("x")
        after = repository_state(repo)
        (repo / path).unlink()
        return after != before

    # what other workers write meanwhile: ignored caches outside the notebooks' places
    for cache in (".hypothesis/constants/0123abcd", "src/pkg/__pycache__/m.pyc", ".pytest_cache/x"):
        assert not seen(cache), cache
    # what a notebook could write: anywhere git does not ignore, and its places, ignored or not
    for output in (
        "stray.txt",
        "src/pkg/new.py",
        "notebooks/figure.png",
        "notebooks/.ipynb_checkpoints/01-checkpoint.ipynb",
        "logs/train/runs/x/metrics.json",
        "data/MNIST/raw/x",
        "outputs/x.log",
        "lightning_logs/version_0/hparams.yaml",
    ):
        assert seen(output), output
    (repo / "docs" / "notes.md").write_text("changed\n")
    assert repository_state(repo) - before == {" M docs/notes.md"}


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
    mnist = real_mnist_root()
    if mnist is None:
        pytest.skip("the notebooks read real MNIST: set LIGHTCNN_DATA_DIR to a folder with it")
    data = tmp_path / "data"  # real MNIST and nothing else the shared folder may hold
    data.mkdir()
    (data / "MNIST").symlink_to(mnist / "MNIST", target_is_directory=True)
    monkeypatch.setenv("LIGHTCNN_DATA_DIR", str(data))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no cached weights
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # its own history database
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
        after = repository_state()
        assert after == before, f"the notebook wrote into the repository:\n{written(before, after)}"
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
