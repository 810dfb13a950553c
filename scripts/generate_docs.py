"""Rewrite every generated block of the README and docs from the code and the shipped data
(`dssl_lite.docgen`) and the regime map's figure: `python scripts/generate_docs.py`. tests/test_docgen.py fails while any
block is stale."""
from dssl_lite.docgen import ROOT, write_all
from dssl_lite.regime import figure

if __name__ == "__main__":
    figure(ROOT / "docs" / "regime-map.png")
    changed = write_all()
    print("rewrote " + ", ".join(changed) if changed else "every generated block is current")
