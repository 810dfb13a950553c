"""Generated blocks of the README and docs equal what their sources give today."""
from dssl_lite import docgen


def test_every_generated_block_is_current():
    assert docgen.stale() == [], "run `python scripts/generate_docs.py` (and commit the result)"


def test_a_changed_source_makes_its_block_stale(tmp_path, monkeypatch):
    (tmp_path / "README.md").write_text("x\n<!-- generated: topologies -->\nold\n<!-- /generated -->\ny\n")
    assert docgen.stale(tmp_path) == ["README.md: topologies"]
    docgen.write_all(tmp_path)
    assert docgen.stale(tmp_path) == [] and "`star`" in (tmp_path / "README.md").read_text()
