"""docs/configuration.md, generated from conf/ itself so that it cannot go stale.

Every config group, each of its options, and each key with its default value and the comment
written beside it in the YAML file (where the allowed values are listed). A test checks that
the file in docs/ equals what this module renders; ``make docs`` rewrites it.

    python -m lightcnn.config.reference > docs/configuration.md
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from lightcnn.config.location import CONF_DIR

ENTRY_CONFIGS = ("train.yaml", "summary.yaml", "eval.yaml", "predict.yaml", "leaderboard.yaml")
KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[\w@/.+-]+):(?P<value>[^#]*?)\s*(#\s?(?P<comment>.*))?$")


def commented_keys(path: Path) -> list[tuple[str, str, str]]:
    """(dotted key, value as written, comment) of every leaf key of a YAML file.

    A key's comment is the one beside it, else the comment lines right above it.

    Args:
        path: a config file of conf/.
    """
    rows: list[tuple[str, str, str]] = []
    stack: list[tuple[int, str]] = []  # (indent, key) of the mappings we are inside
    above: list[str] = []  # comment lines since the last key or blank line
    lines = path.read_text().splitlines()
    while lines and lines[0].startswith("#"):  # the file's own description, not a key's
        lines.pop(0)
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("-"):
            above = []
            continue
        if stripped.startswith("#"):
            if not stripped.startswith("# @package"):
                above.append(stripped.lstrip("# ").strip())
            continue
        match = KEY.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key, value = match["key"], match["value"].strip()
        comment = (match["comment"] or "").strip() or " ".join(above)
        above = []
        if not stack and key == "defaults":
            continue
        if value:
            rows.append((".".join([k for _, k in stack] + [key]), value, comment))
        else:
            stack.append((indent, key))
    return rows


def _description(path: Path) -> str:
    """The first sentence of a config file's leading comment (what the option is)."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        if not line.startswith("# @package"):
            lines.append(line.lstrip("# ").strip())
    text = " ".join(lines)
    end = re.search(r"\.(\s|$)", text)
    return text[: end.start() + 1] if end else text


def _table(rows: list[tuple[str, str, str]]) -> list[str]:
    lines = ["| key | default | notes |", "| --- | --- | --- |"]
    for key, value, comment in rows:
        escaped = comment.replace("|", r"\|")  # a | in a comment would end the table cell
        lines.append(f"| `{key}` | `{value}` | {escaped} |")
    return lines


def groups() -> list[str]:
    """Config groups: the folders of conf/ holding options (nested ones as ``hydra/launcher``)."""
    found = {
        str(path.parent.relative_to(CONF_DIR))
        for path in CONF_DIR.rglob("*.yaml")
        if path.parent != CONF_DIR
    }
    return sorted(found)


def render() -> str:
    """docs/configuration.md."""
    out = [
        "# Configuration reference",
        "",
        "Generated from `conf/` by `python -m lightcnn.config.reference` (`make docs`); a test",
        "keeps it equal to the files. Every key below can be set on the command line",
        "(`python -m lightcnn.train model.lr=0.01`), a group's option is chosen with",
        "`group=option` (`model=alexnet`), and a key that is not in the config is added with",
        "`+` (`+trainer.profiler=simple`). The optimizer presets of `conf/optim/` merge into the",
        "model node: `optim@model=sgd`. Where each key goes in the code: docs/architecture.md.",
        "",
    ]
    for name in ENTRY_CONFIGS:
        path = CONF_DIR / name
        if not path.is_file():
            continue
        defaults = yaml.safe_load(path.read_text()).get("defaults", [])
        chosen = [
            f"`{k}={v}`"
            for item in defaults
            if isinstance(item, dict)
            for k, v in item.items()
            if not k.startswith("override")
        ]
        out += [f"## `{name}`", "", _description(path), ""]
        if chosen:
            out += [f"Default options: {', '.join(chosen)}.", ""]
        rows = commented_keys(path)
        if rows:
            out += [*_table(rows), ""]
    for group in groups():
        out += [f"## Group `{group}`", ""]
        for path in sorted((CONF_DIR / group).glob("*.yaml")):
            out += [f"### `{group}={path.stem}`", ""]
            description = _description(path)
            if description:
                out += [description, ""]
            rows = commented_keys(path)
            out += [*_table(rows), ""] if rows else ["(no keys of its own)", ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
