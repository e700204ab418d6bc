"""Layering: the paper packages and the examples sit on the engine's public API only.

The rules, checked by parsing the source with :mod:`ast` (nothing is imported):

- A *paper package* (``jaxspin/<paper>/*.py``) may import from an engine module
  (``jaxspin/_*.py``, written ``from .._x import name`` or ``from jaxspin._x import name``)
  only names that ``jaxspin/__init__.py`` or ``jaxspin/extend.py`` (the helpers for
  building a model on the engine) export publicly (re-exported there, not starting with
  ``_``). Imports between files of the same paper package are free (a private helper
  such as ``_check_times`` shared inside one paper is fine). From another paper package it
  may import only that paper's public names (``jaxspin/<other>/__init__.py``), and from a
  public module of jaxspin (``jaxspin.constants``) only names without a leading ``_``.
- An *example* (``examples/*.py``) may import only from ``jaxspin`` and ``jaxspin.<paper>``
  (and public modules such as ``jaxspin.constants``), only public names: no ``jaxspin._x``
  module, no ``jaxspin.<paper>._x`` module, no ``_`` names, and no ``_`` attribute reached
  through an imported jaxspin module (``jaxspin._progress.Progress``, ``dl._fit``).

Where a paper or an example needs an engine helper that is not public, the helper is made
public (re-exported from ``jaxspin/__init__.py``, or from ``jaxspin/extend.py`` when it
is a helper for writing a model, and documented in README.md) or the logic
moves so that the caller uses a public function.
"""

import ast
import pathlib

import pytest


ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "jaxspin"
PAPERS = sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").is_file())
PAPER_SET = set(PAPERS)


def _exports(init: pathlib.Path) -> set[str]:
    """Public names bound at the top level of an ``__init__.py`` (imports and assignments)."""
    names = set()
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return {n for n in names if not n.startswith("_")}


#: Names of ``jaxspin`` and of ``jaxspin.extend`` (the helpers for building a model).
ENGINE_PUBLIC = _exports(PKG / "__init__.py") | _exports(PKG / "extend.py")
PAPER_PUBLIC = {paper: _exports(PKG / paper / "__init__.py") for paper in PAPERS}
PUBLIC_MODULES = {
    p.stem for p in PKG.glob("*.py") if not p.stem.startswith("_") and p.stem in ENGINE_PUBLIC
}


def _absolute(node: ast.ImportFrom, file: pathlib.Path) -> list[str]:
    """The absolute dotted module path of a ``from ... import`` inside the jaxspin tree."""
    if node.level == 0:
        return (node.module or "").split(".")
    package = list(file.relative_to(ROOT).parent.parts)  # e.g. ["jaxspin", "danon11"]
    base = package[: len(package) - (node.level - 1)]
    return base + (node.module.split(".") if node.module else [])


def _names_allowed_from(module: list[str], here: str | None) -> tuple[set[str] | None, str]:
    """(allowed names or None for "any", why) for importing from ``module`` (absolute
    parts) in a file of paper ``here`` (``None`` for an example)."""
    if module[:1] != ["jaxspin"]:
        return None, ""
    rest = module[1:]
    if not rest:
        return ENGINE_PUBLIC, "not exported by jaxspin/__init__.py"
    head = rest[0]
    if head in PAPERS:
        if head == here:
            return None, ""
        if len(rest) > 1:
            return set(), f"private module {'.'.join(module)}"
        return PAPER_PUBLIC[head], f"not exported by jaxspin/{head}/__init__.py"
    if head.startswith("_"):
        if here is None:
            return set(), f"private engine module {'.'.join(module)}"
        return ENGINE_PUBLIC, "not exported by jaxspin/__init__.py"
    if head in PUBLIC_MODULES and len(rest) == 1:
        return {"*public*"}, "private name of a public module"
    return set(), f"module {'.'.join(module)} is not part of the public API"


def _violations(file: pathlib.Path, here: str | None, src: str | None = None) -> list[str]:
    """Forbidden imports of ``file`` (a file of paper ``here``, or an example for ``None``);
    ``src`` replaces the file's text (the checker's own test)."""
    tree = ast.parse(file.read_text() if src is None else src, filename=str(file))
    rel = file.relative_to(ROOT)
    out = []
    modules = {}  # local name -> absolute module parts, for attribute checks in examples
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = _absolute(node, file)
            allowed, why = _names_allowed_from(module, here)
            if allowed is None:
                continue
            for alias in node.names:
                name = alias.name
                ok = (
                    not name.startswith("_")
                    if allowed == {"*public*"}
                    else name in allowed or (name in PAPERS and module == ["jaxspin"])
                )
                if ok and here is None and name in PAPER_SET | PUBLIC_MODULES:
                    modules[alias.asname or name] = [*module, name]
                if not ok:
                    out.append(f"{rel}:{node.lineno}: {'.'.join(module)}.{name} ({why})")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] != "jaxspin":
                    continue
                bad = [p for p in parts[1:] if p.startswith("_")]
                if bad or (len(parts) > 2 and parts[1] in PAPERS and parts[1] != here):
                    out.append(f"{rel}:{node.lineno}: import {alias.name} (private module)")
                modules[alias.asname or "jaxspin"] = parts if alias.asname else ["jaxspin"]
    if here is None:  # examples: no `_` attribute of an imported jaxspin module
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr.startswith("_")
                and not (node.attr.startswith("__") and node.attr.endswith("__"))
            ):
                path = ".".join(modules[node.value.id])
                out.append(f"{rel}:{node.lineno}: {path}.{node.attr} (private attribute)")
    return out


def _paper_files():
    return [(f, paper) for paper in PAPERS for f in sorted((PKG / paper).rglob("*.py"))]


def test_rules_see_the_files():
    assert PAPERS == ["danon11", "deluca16", "gong11", "latta09", "smirnov24"]
    assert len(_paper_files()) > 20
    assert len(list((ROOT / "examples").glob("*.py"))) >= 5
    assert "linear_response" in ENGINE_PUBLIC and "constants" in PUBLIC_MODULES


def test_rules_catch_private_imports():
    """The checker itself: each kind of forbidden import is reported, allowed ones are not."""
    paper = PKG / "danon11" / "_probe.py"  # never written: only its path is used
    src = (
        "from .._steady import _prepare, linear_response\n"
        "from .._steady import SteadyState\n"
        "from ._feedback import _check_times\n"
        "from ..gong11._fit import fit_decay\n"
        "from ..gong11 import QuantumDot\n"
        "from .. import constants\n"
    )
    found = _violations(paper, "danon11", src)
    assert [v.split(": ", 1)[1].split(" ")[0] for v in found] == [
        "jaxspin._steady._prepare",
        "jaxspin.gong11._fit.fit_decay",
    ]
    example = ROOT / "examples" / "_probe.py"
    src = (
        "import jaxspin\nimport jaxspin.deluca16 as dl\n"
        "from jaxspin._progress import Progress\nfrom jaxspin.gong11._fit import x\n"
        "from jaxspin.gong11 import QuantumDot\nfrom jaxspin.constants import HBAR\n"
        "from jaxspin import linear_response\n"
        "jaxspin._steady.f\ndl._stationary\njaxspin.__version__\n"
    )
    found = _violations(example, None, src)
    assert len(found) == 4, found


@pytest.mark.parametrize("paper", PAPERS)
def test_paper_packages_import_only_public_engine_names(paper):
    found = [v for f, p in _paper_files() if p == paper for v in _violations(f, paper)]
    assert not found, "private engine imports:\n" + "\n".join(found)


def test_examples_import_only_public_names():
    found = [v for f in sorted((ROOT / "examples").glob("*.py")) for v in _violations(f, None)]
    assert not found, "private imports in examples:\n" + "\n".join(found)
