"""The package list in pyproject.toml names every package, and examples/benchmarks import."""

import pathlib
import tomllib


ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_package_is_listed():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(meta["tool"]["setuptools"]["packages"])
    found = {"jaxspin.examples", "jaxspin.benchmarks"}
    for init in (ROOT / "jaxspin").rglob("__init__.py"):
        rel = init.parent.relative_to(ROOT)
        found.add(".".join(rel.parts))
    assert listed == found, f"pyproject lists {sorted(listed)}, tree has {sorted(found)}"


def test_configured_tool_paths_exist():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for path in meta["tool"]["ruff"]["src"]:
        assert (ROOT / path).is_dir(), path
    for path in meta["tool"]["pytest"]["ini_options"]["testpaths"]:
        assert (ROOT / path).is_dir(), path
    for path in meta["tool"]["pyright"]["include"]:
        assert (ROOT / path).is_dir(), path


def test_readme_documents_every_public_name():
    """The README's API tables and paper sections name every public object of jaxspin and
    of each paper subpackage (so the documentation cannot silently fall behind)."""
    import re
    import types

    import jaxspin

    readme = (ROOT / "README.md").read_text()
    missing = []
    for mod, prefix in [(jaxspin, "jaxspin")] + [
        (getattr(jaxspin, k), f"jaxspin.{k}")
        for k in ("danon11", "smirnov24", "latta09", "deluca16", "gong11")
    ]:
        for name in dir(mod):
            if name.startswith("_") or isinstance(getattr(mod, name), types.ModuleType):
                continue
            if not re.search(r"`[^`]*\b" + re.escape(name) + r"\b[^`]*`", readme):
                missing.append(f"{prefix}.{name}")
    assert not missing, f"README.md does not mention: {missing}"
