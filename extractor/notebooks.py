"""Run notebooks headless, so that they never rot: `python -m extractor.notebooks notebooks`.

Each notebook runs in a fresh kernel of the current interpreter (whatever kernelspecs the machine
has), with its own folder as working directory. The committed notebooks stay without outputs;
`--save DIR` writes executed copies and `--images DIR` the PNG figures they produced.
"""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Seconds one cell may run (the demo corpus takes a few seconds).
CELL_TIMEOUT = 300


def kernel_manager() -> Any:
    """A kernel manager that launches ipykernel with this very interpreter."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager

    class _ThisInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name=f"Python {sys.version_info.major}.{sys.version_info.minor} (extractor)",
                language="python",
            )

    return KernelManager(kernel_name="python3", kernel_spec_manager=_ThisInterpreter())


def execute_notebook(path: str | Path, timeout: int = CELL_TIMEOUT) -> Any:
    """Execute one notebook in its own folder and return the executed notebook (raises on a cell error)."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, km=kernel_manager(), timeout=timeout, resources={"metadata": {"path": str(path.parent.resolve())}}
    )
    client.execute()
    return nb


def images(nb: Any) -> list[bytes]:
    """The PNG figures of an executed notebook, in order."""
    out = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                out.append(base64.b64decode(data["image/png"]))
    return out


def strip_outputs(nb: Any) -> Any:
    """The notebook without outputs and execution counts (the form it is committed in)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    return nb


def main(argv: Sequence[str] | None = None) -> int:
    """Execute every notebook given (files or folders); exit 1 when one fails."""
    import nbformat

    parser = argparse.ArgumentParser(
        prog="python -m extractor.notebooks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("paths", nargs="+", help="notebooks or folders of notebooks")
    parser.add_argument("--save", default=None, help="folder for executed copies")
    parser.add_argument("--images", default=None, help="folder for the PNG figures")
    args = parser.parse_args(argv)
    notebooks = []
    for raw in args.paths:
        p = Path(raw)
        notebooks += sorted(p.glob("*.ipynb")) if p.is_dir() else [p]
    failed = 0
    for path in notebooks:
        try:
            nb = execute_notebook(path)
        except Exception as exc:  # report every notebook, then fail
            failed += 1
            print(f"FAILED {path}: {type(exc).__name__}: {str(exc)[:2000]}", file=sys.stderr)
            continue
        print(f"ok     {path}")
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, Path(args.save) / path.name)
        if args.images:
            Path(args.images).mkdir(parents=True, exist_ok=True)
            for k, png in enumerate(images(nb), start=1):
                (Path(args.images) / f"{path.stem}-{k}.png").write_bytes(png)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
