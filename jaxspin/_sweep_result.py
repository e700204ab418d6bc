"""The labelled result of a parameter sweep, and its file format.

A :class:`SweepResult` holds host NumPy arrays: the coordinates that label each axis of the
grid, the outputs (shaped ``grid shape + output shape``), their units, the name of the
swept function and a status code per point. ``save`` writes one self-describing ``.npz``
file; ``load_sweep`` reads it (and refuses, naming the file, one that is damaged or not a
sweep file).
"""

import dataclasses
import json
import os
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from jaxtyping import PyTree


_FORMAT = "jaxspin.sweep.result"
_VERSION = 1
# Name of a single-array output (the whole output is one leaf, with an empty tree path).
VALUE_NAME = "value"
# Per-point status codes of a sweep (SweepResult.status).
POINT_OK = 0
POINT_NONFINITE = 1
POINT_RAISED = 2


def output_names(tree: PyTree) -> tuple[str, ...]:
    """Dotted names of the leaves of an output tree, in ``jax.tree.leaves`` order.

    ``{"a": x, "b": [y, z]}`` gives ``("a", "b.0", "b.1")``; an equinox Module's fields are
    named by attribute; a single array is named ``"value"``.
    """
    paths = jax.tree_util.tree_flatten_with_path(tree)[0]
    names = tuple(
        jax.tree_util.keystr(p, simple=True, separator=".") or VALUE_NAME for p, _ in paths
    )
    if len(set(names)) != len(names):
        raise ValueError(f"The output of `fn` has leaves with clashing names {names}.")
    return names


@dataclasses.dataclass(frozen=True, eq=False)
class SweepResult:
    """Outputs of :func:`jaxspin.sweep` over a parameter grid, with their labels.

    Attributes:
        dims: names of the grid axes. A Cartesian-product sweep has one axis per
            coordinate, named like it; a zipped sweep (``product=False``) has the single
            axis ``"point"``.
        coords: coordinate name -> 1-D array. In a product sweep ``coords[d]`` labels
            axis ``d``; in a zipped sweep every coordinate runs along ``"point"``.
        values: the output PyTree of the swept function (same structure: a single array,
            a dict, an equinox Module, ...) with NumPy leaves of shape
            ``shape + leaf_shape``; the trailing axes are the function's own output axes.
        units: units of coordinates and outputs, by name (outputs named as in
            :attr:`output_names`); names without units are absent.
        name: the swept function's name (for humans; from ``fn.__qualname__``).
        status: ``int8`` array of the grid's shape, a code per point: ``0`` fine, ``1`` a
            floating output holds NaN or inf (the values are the kernel's), ``2`` the kernel
            raised there (its floating outputs are NaN). Nonzero codes only come from
            ``sweep(..., throw=False)``.
            ``None`` (a result built by hand): every point counts as fine.

    ``result["name"]`` returns the output or coordinate of that name; ``failed`` is
    ``status != 0``.

    Checked when built: ``dims`` are distinct names, each a coordinate or (zipped grid)
    ``"point"``; every coordinate is 1-D and non-empty; every output leaf is an array whose
    leading axes are the grid's shape; ``units`` name coordinates or outputs; ``status``
    has the grid's shape. A violation raises ``ValueError`` naming the field.

    Example:
        >>> import numpy as np, jaxspin
        >>> r = jaxspin.sweep(lambda x: {"y": x**2}, {"x": np.arange(3.0)}, progress=False)
        >>> r["y"]
        array([0., 1., 4.])
    """

    dims: tuple[str, ...]
    coords: dict[str, np.ndarray]
    values: PyTree[np.ndarray]
    units: dict[str, str]
    name: str = ""
    status: np.ndarray | None = None

    def __post_init__(self):
        dims, coords = self.dims, self.coords
        if isinstance(dims, str) or not dims or not all(isinstance(d, str) for d in dims):
            raise ValueError(f"`dims` must be a non-empty sequence of str; got {dims!r}.")
        object.__setattr__(self, "dims", dims := tuple(dims))
        if len(set(dims)) != len(dims):
            raise ValueError(f"`dims` names an axis twice: {dims}.")
        if not isinstance(coords, Mapping) or not coords:
            raise ValueError("`coords` must be a non-empty mapping name -> 1-D array.")
        for n, c in coords.items():
            if np.ndim(c) != 1 or len(c) == 0:
                raise ValueError(f"`coords[{n!r}]` must be a non-empty 1-D array; got {c!r}.")
        zipped = dims == ("point",) and "point" not in coords
        if zipped:
            lengths = {n: len(c) for n, c in coords.items()}
            if len(set(lengths.values())) > 1:
                raise ValueError(f"Zipped coordinates need equal lengths; got {lengths}.")
        else:
            unlabelled = [d for d in dims if d not in coords]
            if unlabelled:
                raise ValueError(f"`dims` {unlabelled} have no coordinate in `coords`.")
        shape = self.shape
        for path, leaf in jax.tree_util.tree_flatten_with_path(self.values)[0]:
            where = jax.tree_util.keystr(path) or "`values`"
            lead = tuple(np.shape(leaf))[: len(shape)]
            if not hasattr(leaf, "shape") or lead != shape:
                raise ValueError(
                    f"Output {where} must be an array of shape {shape} + its own axes; got "
                    f"{type(leaf).__name__} of shape {tuple(np.shape(leaf))}."
                )
        check_units(self.units, tuple(coords), self.output_names)
        if self.status is not None:
            if np.shape(self.status) != shape:
                raise ValueError(
                    f"`status` must have the grid's shape {shape}; got {np.shape(self.status)}."
                )
            object.__setattr__(self, "status", np.asarray(self.status, np.int8))

    @property
    def failed(self) -> np.ndarray:
        """Boolean array of the grid's shape: the points with a nonzero ``status``."""
        if self.status is None:
            return np.zeros(self.shape, bool)
        return np.asarray(self.status) != POINT_OK

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the grid (leading axes of every output)."""
        any_coord = next(iter(self.coords.values()))
        return tuple(len(self.coords[d]) if d in self.coords else len(any_coord) for d in self.dims)

    @property
    def output_names(self) -> tuple[str, ...]:
        return output_names(self.values)

    @property
    def outputs(self) -> dict[str, np.ndarray]:
        """The output leaves, flat, by dotted name."""
        return dict(zip(self.output_names, jax.tree.leaves(self.values), strict=True))

    def coord_dim(self, name: str) -> str:
        """The axis along which coordinate ``name`` runs."""
        return name if name in self.dims else self.dims[0]

    def __getitem__(self, key: str) -> np.ndarray:
        outputs = self.outputs
        if key in outputs:
            return outputs[key]
        if key in self.coords:
            return self.coords[key]
        raise KeyError(
            f"{key!r} is neither an output {list(outputs)} nor a coordinate {list(self.coords)}."
        )

    def __repr__(self) -> str:
        def unit(n):
            return f"  [{self.units[n]}]" if n in self.units else ""

        size = int(np.prod(self.shape))
        axes = " x ".join(f"{d} {n}" for d, n in zip(self.dims, self.shape, strict=True))
        lines = [f"SweepResult {self.name!r}: {axes} ({size} points)", "  coords:"]
        for n, c in self.coords.items():
            span = f" {c.min():.6g} .. {c.max():.6g}" if c.dtype.kind in "biuf" else ""
            along = "" if self.coord_dim(n) == n else f" (along {self.coord_dim(n)})"
            lines.append(f"    {n}{along}: {c.dtype}{span}{unit(n)}")
        lines.append("  outputs:")
        for n, v in self.outputs.items():
            lines.append(f"    {n}: {v.dtype}{list(v.shape)}{unit(n)}")
        n_failed = int(np.count_nonzero(self.failed))
        if n_failed:
            lines.append(f"  failed points: {n_failed} (see .status)")
        return "\n".join(lines)

    def save(self, path: str | os.PathLike) -> None:
        """Write one ``.npz`` file: arrays ``coords/<name>`` and ``values/<name>``, and a
        JSON string ``meta`` that names every axis and unit (readable with plain NumPy:
        ``json.loads(str(np.load(path)["meta"]))``). The file is replaced atomically."""
        outputs = self.outputs
        is_leaf = jax.tree_util.treedef_is_leaf(jax.tree.structure(self.values))
        meta = {
            "format": _FORMAT,
            "version": _VERSION,
            "name": self.name,
            "dims": list(self.dims),
            "shape": list(self.shape),
            "coords": {
                n: {"dim": self.coord_dim(n), "units": self.units.get(n)} for n in self.coords
            },
            "outputs": {
                n: {
                    "axes": [
                        *self.dims,
                        *(f"({n} axis {k})" for k in range(v.ndim - len(self.dims))),
                    ],
                    "units": self.units.get(n),
                }
                for n, v in outputs.items()
            },
            "single_array": bool(is_leaf),
        }
        arrays = {f"coords/{n}": np.asarray(c) for n, c in self.coords.items()}
        arrays |= {f"values/{n}": np.asarray(v) for n, v in outputs.items()}
        if self.status is not None:
            arrays["status"] = np.asarray(self.status, np.int8)
        path = os.fspath(path)
        tmp = f"{path}.tmp.{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                np.savez(f, meta=np.array(json.dumps(meta, indent=1)), **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SweepResult":
        """Read a file written by :meth:`save`.

        A single-array output comes back as one array; any other output tree comes back as
        a flat dict ``{dotted name: array}`` (a flat dict of arrays round-trips exactly).
        A file that cannot be read, is not a sweep file, or whose arrays do not fit its
        description raises ``ValueError`` naming it; a missing file ``FileNotFoundError``.
        """
        where = repr(os.fspath(path))
        try:
            with np.load(os.fspath(path), allow_pickle=False) as f:
                if "meta" not in f.files:
                    raise ValueError(f"{where} is not a jaxspin sweep file (no 'meta').")
                meta = json.loads(str(f["meta"]))
                if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
                    raise ValueError(f"{where} is not a jaxspin sweep file.")
                if meta.get("version") != _VERSION:
                    raise ValueError(
                        f"{where} is a jaxspin sweep file of version {meta.get('version')!r}; "
                        f"this jaxspin reads version {_VERSION}."
                    )
                coords = {n: f[f"coords/{n}"] for n in meta["coords"]}
                outputs = {n: f[f"values/{n}"] for n in meta["outputs"]}
                status = f["status"] if "status" in f.files else None
            values: Any = outputs[VALUE_NAME] if meta["single_array"] else outputs
            units = {
                n: u
                for group in ("coords", "outputs")
                for n, entry in meta[group].items()
                if (u := entry["units"]) is not None
            }
            return cls(tuple(meta["dims"]), coords, values, units, meta["name"], status)
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError, KeyError, TypeError, AttributeError,
                zipfile.BadZipFile, zlib.error) as e:  # fmt: skip
            if str(e).startswith(where):
                raise
            raise ValueError(
                f"{where} cannot be read as a jaxspin sweep file ({type(e).__name__}: {e})."
            ) from e


def load_sweep(path: str | os.PathLike) -> SweepResult:
    """Read a sweep saved with :meth:`SweepResult.save` (same as ``SweepResult.load``)."""
    return SweepResult.load(path)


def check_units(
    units: Mapping[str, str] | None, coords: tuple[str, ...], outputs: tuple[str, ...]
) -> dict[str, str]:
    """Validate the ``units`` argument of a sweep: keys are coordinate or output names."""
    if units is None:
        return {}
    if not isinstance(units, Mapping):
        raise ValueError(f"`units` must be a mapping name -> str; got {type(units).__name__}.")
    known = set(coords) | set(outputs)
    for k, v in units.items():
        if k not in known:
            raise ValueError(
                f"`units` names {k!r}, which is neither a coordinate {list(coords)} nor an "
                f"output {list(outputs)}."
            )
        if not isinstance(v, str):
            raise ValueError(f"`units[{k!r}]` must be a str; got {v!r}.")
    return dict(units)
