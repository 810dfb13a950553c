"""Save the key figure of notebooks 04, 05 and 06 in quick mode (CI=true: the shipped atlas's five
seeds for 04 and 05) as docs/notebook-NN.png, and print each notebook's conclusion.

    python scripts/notebook_figures.py
"""
import base64
import os
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
os.environ["CI"] = "true"
for name in ("04_connectivity", "05_mar", "06_feature_spaces"):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": tmp}}).execute()
    pngs = [o["data"]["image/png"] for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    (ROOT / "docs" / f"notebook-{name[:2]}.png").write_bytes(base64.b64decode(pngs[0]))
    text = [o.get("text", "") for c in nb.cells if "conclusion" in c.source or "verdict" in c.source
            for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    print(f"== {name}: {len(pngs)} figures\n" + "\n".join(t.strip() for t in text if t.strip()))
