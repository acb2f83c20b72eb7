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


def test_the_worked_example_of_docs_datasets_makes_an_image_folder(
    mnist_root: Path, tmp_path: Path, monkeypatch
) -> None:
    """docs/datasets.md's export script, as printed there (fewer images), on the small MNIST."""
    from lightcnn.data import open_source

    text = (DOCS / "datasets.md").read_text()
    script = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert 'PER_CLASS = {"train": 1000, "test": 200}' in script
    monkeypatch.setenv("LIGHTCNN_DATA_DIR", str(mnist_root))
    monkeypatch.chdir(tmp_path)
    exec(script.replace('{"train": 1000, "test": 200}', '{"train": 4, "test": 2}'), {})
    source = open_source({"dataset": "folder", "root": str(tmp_path / "digits"), "val_size": 8})
    assert source.classes == tuple(sorted(source.classes)) and "seven" in source.classes
    assert len(source.scan().listing.files["train"]) == 40 and source.has_test
    assert (source.image_size, source.channels) == (28, 1)
