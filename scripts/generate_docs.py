"""Rewrite every generated block of the README and docs from the code and the shipped data
(`dssl_lite.docgen`): `python scripts/generate_docs.py`. tests/test_docgen.py fails while any
block is stale."""
from dssl_lite.docgen import write_all

if __name__ == "__main__":
    changed = write_all()
    print("rewrote " + ", ".join(changed) if changed else "every generated block is current")
