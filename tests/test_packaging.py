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
