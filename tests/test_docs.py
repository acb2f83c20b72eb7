"""The documentation generated from the configs is current."""

from __future__ import annotations

from pathlib import Path

from lightcnn.config import CONF_DIR
from lightcnn.config.reference import commented_keys, groups, render

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_configuration_reference_is_generated_from_the_current_configs() -> None:
    assert (DOCS / "configuration.md").read_text() == render(), "run `make docs`"


def test_every_option_and_key_is_in_the_reference() -> None:
    text = render()
    for group in groups():
        for path in (CONF_DIR / group).glob("*.yaml"):
            assert f"`{group}={path.stem}`" in text
            for key, value, _ in commented_keys(path):
                assert f"| `{key}` | `{value}` |" in text


def test_comments_beside_or_above_a_key_are_its_notes(tmp_path: Path) -> None:
    config = tmp_path / "x.yaml"
    config.write_text(
        "# the file's description\n"
        "a: 1  # beside\n"
        "# above b\n"
        "b: 2\n"
        "\n"
        "nested:\n"
        "  c: null  # one | two\n"
    )
    assert commented_keys(config) == [
        ("a", "1", "beside"),
        ("b", "2", "above b"),
        ("nested.c", "null", "one | two"),
    ]
