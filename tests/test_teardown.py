"""A command line that finished exits without the interpreter's teardown (core/teardown.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cli_env

# A command line in miniature: what a run leaves to the exit (buffered output, a log handler
# that writes on close, another library's exit handler, a worker thread) and an object whose
# finaliser runs only when the interpreter tears its modules down.
COMMAND_LINE = """
import sys
from lightcnn.core import teardown

teardown.skip_if_main(__name__)

import atexit, logging, logging.handlers, pathlib, threading

out = pathlib.Path(sys.argv[1])
target = logging.FileHandler(out / "run.log")
logging.getLogger("run").addHandler(logging.handlers.MemoryHandler(1000, target=target))
logging.getLogger("run").warning("the last record")  # written when logging shuts down
atexit.register(lambda: (out / "library_exit_handler").write_text("ran"))
threading.Thread(target=lambda: (out / "thread").write_text("joined")).start()


class TornDown:
    def __del__(self):
        print("torn down", flush=True)


kept_to_the_end = TornDown()
sys.stdout.write("the last line, unflushed")
if sys.argv[2] == "error":
    sys.exit(3)
teardown.finished()
"""


@pytest.mark.parametrize("outcome", ["finished", "error"])
def test_exit_without_teardown_only_after_the_work_is_done(tmp_path: Path, outcome: str) -> None:
    script = tmp_path / "command_line.py"
    script.write_text(COMMAND_LINE)
    env = cli_env()
    env.pop("PYTHONUNBUFFERED", None)  # stdout to a pipe is then buffered: flushed at the exit
    result = subprocess.run(
        [sys.executable, "-m", "command_line", str(tmp_path), outcome],  # as lightcnn's are run
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == (0 if outcome == "finished" else 3), result.stderr
    assert result.stdout.startswith("the last line, unflushed")
    assert (tmp_path / "run.log").read_text() == "the last record\n"
    assert (tmp_path / "library_exit_handler").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "joined"
    # the teardown is skipped after finished() only: an error exits as usual, with its status
    assert ("torn down" in result.stdout) == (outcome == "error")


def test_imported_as_a_library_nothing_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    from lightcnn.core import teardown

    registered: list = []
    monkeypatch.setattr(teardown.atexit, "register", registered.append)
    teardown.skip_if_main("lightcnn.train")
    assert registered == []
    teardown.skip_if_main("__main__")
    assert len(registered) == 1
