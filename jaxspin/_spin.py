"""Spin operators for any spin quantum number, and many-spin product bases.

Convention: operators are in units of hbar and act on the basis
``|s, m>`` with ``m = s, s-1, ..., -s`` (descending, as ``qutip.jmat``), so index 0 is
"spin up". Product bases are ordered as ``numpy.kron`` orders them: the first spin is the
most significant index.
"""

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float, Int

from ._inputs import complex_dtype
from ._memory import check_fits


class SpinOperators(NamedTuple):
    """The spin-``s`` matrices ``S_x, S_y, S_z, S_+, S_-`` (units of hbar)."""

    x: Complex[Array, "d d"]
    y: Complex[Array, "d d"]
    z: Complex[Array, "d d"]
    p: Complex[Array, "d d"]
    m: Complex[Array, "d d"]


def _number(x: Any, name: str) -> float:
    """A static real number (Python, NumPy or concrete 0-d JAX scalar) as a float."""
    scalar = isinstance(x, Real) or (hasattr(x, "shape") and np.ndim(x) == 0)
    if isinstance(x, bool | np.bool_ | str) or not scalar:
        raise TypeError(f"`{name}` must be a real number; got {x!r}.")
    try:
        value = float(x)
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be a concrete real number (it fixes shapes, so it cannot be "
            f"traced); got {type(x).__name__}."
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite; got {value}.")
    return value


def _count(x: Any, name: str) -> int:
    """A non-negative Python int (NumPy ints accepted; bools and floats refused)."""
    if isinstance(x, bool | np.bool_) or not isinstance(x, int | np.integer) or x < 0:
        raise ValueError(f"`{name}` must be an int >= 0; got {x!r}.")
    return int(x)


def _spins(spins: Any) -> tuple[float, ...]:
    if isinstance(spins, str) or not isinstance(spins, Sequence | np.ndarray):
        raise TypeError(
            f"`spins` must be a sequence of spin quantum numbers, e.g. (0.5, 1.5); got "
            f"{type(spins).__name__}."
        )
    spins = tuple(spins)
    if not spins:
        raise ValueError("`spins` is empty: give at least one spin quantum number.")
    return spins


def check_half_integer(x: Any, name: str, *, what: str = "(1/2, 1, 3/2, ...)") -> float:
    """``x`` as a float, a positive half-integer (a nuclear or electron spin ``>= 1/2``);
    ``ValueError`` naming ``name`` otherwise (also for NaN/inf or a non-number). Static:
    the spin fixes the Hilbert-space dimension. Units of ħ (dimensionless)."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        value = math.nan
    two = 2 * value
    if not math.isfinite(two) or two < 1 or abs(two - round(two)) > 1e-12:
        raise ValueError(f"`{name}` must be a positive half-integer {what}; got {x!r}.")
    return value


def spin_dim(s: float) -> int:
    """Hilbert-space dimension ``2s + 1``; raises ``ValueError`` unless ``s`` is a finite
    real number with ``2s`` a non-negative integer (``s = 0`` is allowed: a spinless
    particle, dimension 1), ``TypeError`` for a non-number."""
    value = _number(s, "s")
    two_s = 2 * value
    if two_s < 0 or abs(two_s - round(two_s)) > 1e-12:
        raise ValueError(
            f"`s` (spin quantum number) must be a non-negative half-integer "
            f"(0, 1/2, 1, 3/2, ...); got {s}."
        )
    return int(round(two_s)) + 1


def spin_m_values(s: float) -> Float[np.ndarray, " d"]:
    """The magnetic quantum numbers ``m = s, s-1, ..., -s`` of the basis."""
    d = spin_dim(s)
    return float(s) - np.arange(d, dtype=float)


def spin_operators(s: float) -> SpinOperators:
    """Spin matrices for spin quantum number ``s`` (any half-integer, static).

    ``<m+1|S_+|m> = sqrt(s(s+1) - m(m+1))``. ``s`` is checked by :func:`spin_dim`; five
    dense ``(2s+1)²`` matrices that would not fit in memory are refused first
    (:class:`jaxspin.MemoryBudgetError`).

    Example:
        >>> sx, sy, sz, sp, sm = spin_operators(0.5)
        >>> float(sz[0, 0].real)
        0.5
    """
    m = spin_m_values(s)
    s = float(s)
    d = m.size
    # five complex results plus the float64 NumPy intermediates
    check_fits(128 * d * d, f"spin_operators({s:g}) (5 dense {d} x {d} matrices)")
    # S_+ raises m: in the descending basis it maps index k+1 (m_k - 1) to index k (m_k).
    offdiag = np.sqrt(s * (s + 1) - m[1:] * (m[1:] + 1))
    sp = np.zeros((d, d))
    sp[np.arange(d - 1), np.arange(1, d)] = offdiag
    sm = sp.T
    cdt = complex_dtype()
    sx = 0.5 * (sp + sm)
    sy = -0.5j * (sp - sm)
    sz = np.diag(m)
    return SpinOperators(*(jnp.asarray(a, cdt) for a in (sx, sy, sz, sp, sm)))


def kron(*ops: Array) -> Array:
    """Kronecker product of operators, first factor most significant.

    Needs at least one operator (``ValueError``); a product that would not fit in memory
    is refused first (:class:`jaxspin.MemoryBudgetError`)."""
    if not ops:
        raise ValueError("`kron` needs at least one operator.")
    arrs = [jnp.asarray(op) for op in ops]
    ndim = max(a.ndim for a in arrs)
    shape = [1] * ndim
    for a in arrs:
        padded = (1,) * (ndim - a.ndim) + a.shape
        shape = [x * y for x, y in zip(shape, padded, strict=True)]
    itemsize = max(a.dtype.itemsize for a in arrs)
    check_fits(2 * math.prod(shape) * itemsize, f"kron (result of shape {tuple(shape)})")
    out = arrs[0]
    for op in arrs[1:]:
        out = jnp.kron(out, op)
    return out


def embed(op: Complex[Array, "d d"], index: int, dims: tuple[int, ...]) -> Array:
    """Embed a single-subsystem operator at position ``index`` of a product space with
    subsystem dimensions ``dims``: ``1 x ... x op x ... x 1``.

    Checks (``ValueError``): ``dims`` ints ``>= 1``, ``index`` an int in range, ``op`` of
    shape ``(dims[index], dims[index])``; a result that would not fit in memory is
    refused first (:class:`jaxspin.MemoryBudgetError`)."""
    if isinstance(dims, str) or not isinstance(dims, Sequence | np.ndarray):
        raise TypeError(f"`dims` must be a sequence of ints; got {type(dims).__name__}.")
    dims = tuple(dims)
    for d in dims:
        if isinstance(d, bool | np.bool_) or not isinstance(d, int | np.integer) or d < 1:
            raise ValueError(f"`dims` must be ints >= 1; got {dims!r}.")
    dims = tuple(int(d) for d in dims)
    if isinstance(index, bool | np.bool_) or not isinstance(index, int | np.integer):
        raise ValueError(f"`index` must be an int; got {index!r}.")
    if not 0 <= index < len(dims):
        raise ValueError(f"`index` {index} out of range for {len(dims)} subsystems.")
    op = jnp.asarray(op)
    if op.shape != (dims[index], dims[index]):
        raise ValueError(f"`op` has shape {op.shape}; subsystem {index} has dim {dims[index]}.")
    total = math.prod(dims)
    check_fits(2 * total * total * op.dtype.itemsize, f"embed ({total} x {total} result)")
    left = math.prod(dims[:index])
    right = math.prod(dims[index + 1 :])
    eye_l = jnp.eye(left, dtype=op.dtype)
    eye_r = jnp.eye(right, dtype=op.dtype)
    return jnp.kron(jnp.kron(eye_l, op), eye_r)


def product_m_values(spins: tuple[float, ...]) -> Float[np.ndarray, "D nspins"]:
    """``m`` quantum numbers of every product-basis state (rows) for each spin (columns).

    ``spins`` is a non-empty sequence of spin quantum numbers (checked as in
    :func:`spin_dim`); a table that would not fit in memory is refused first."""
    spins = _spins(spins)
    values = [spin_m_values(s) for s in spins]
    dims = [v.size for v in values]
    total = math.prod(dims)
    check_fits(16 * total * len(spins), f"product_m_values ({total} states x {len(spins)})")
    out = np.empty((total, len(spins)))
    idx = np.arange(total)
    for i in reversed(range(len(spins))):  # the first spin is the most significant digit
        out[:, i] = values[i][idx % dims[i]]
        idx = idx // dims[i]
    return out


def collective_operators(spins: tuple[float, ...]) -> SpinOperators:
    """Total spin ``sum_i S_i`` on the product space of ``spins`` (dense; small systems).

    ``spins`` is a non-empty sequence of spin quantum numbers (``TypeError``/``ValueError``
    otherwise); five dense ``D × D`` operators (``D = Π(2s_i + 1)``) that would not fit in
    memory are refused before anything is allocated (:class:`jaxspin.MemoryBudgetError`).
    """
    spins = _spins(spins)
    dims = tuple(spin_dim(s) for s in spins)
    total = math.prod(dims)
    check_fits(
        7 * 16 * total * total,
        f"collective_operators ({len(spins)} spins: 5 dense {total} x {total} matrices)",
    )
    ops = [spin_operators(s) for s in spins]
    result = [0, 0, 0, 0, 0]
    for i, op in enumerate(ops):
        result = [t + embed(o, i, dims) for t, o in zip(result, op, strict=True)]
    return SpinOperators(*result)


def dicke_multiplicity(n_spins: int, j: float) -> int:
    """Number of times total spin ``j`` occurs for ``n_spins`` spin-1/2 particles:
    ``C(N, N/2 - j) - C(N, N/2 - j - 1)`` (the Dicke degeneracy ``D(j)``).

    ``ValueError`` unless ``n_spins`` is an int ``>= 0`` and ``j`` one of
    :func:`total_spin_values` ``(n_spins)``."""
    n_spins = _count(n_spins, "n_spins")
    jv = _number(j, "j")
    k = n_spins / 2 - jv
    if jv < 0 or k < 0 or abs(k - round(k)) > 1e-12:
        raise ValueError(
            f"`j` = {j} is not a total spin of {n_spins} spin-1/2 particles "
            f"(N/2, N/2 - 1, ..., >= 0)."
        )
    k = int(round(k))
    return math.comb(n_spins, k) - (math.comb(n_spins, k - 1) if k >= 1 else 0)


def total_spin_values(n_spins: int) -> Float[np.ndarray, " J"]:
    """Total spins ``j = N/2, N/2 - 1, ..., (0 or 1/2)`` of ``n_spins`` spin-1/2
    (``n_spins`` an int ``>= 0``, ``ValueError`` otherwise)."""
    n_spins = _count(n_spins, "n_spins")
    return n_spins / 2 - np.arange(n_spins // 2 + 1, dtype=float)


def sector_indices(m_total: Float[np.ndarray, " D"]) -> dict[float, Int[np.ndarray, " d"]]:
    """Group basis indices by a conserved half-integer quantum number (e.g. total
    ``S_z``). ``m_total`` must be 1-D, finite and half-integer valued (to 1e-9)
    (``ValueError`` otherwise: a value off the half-integer grid would be dropped)."""
    m = np.asarray(m_total)
    if m.ndim != 1:
        raise ValueError(f"`m_total` must be 1-D (one value per basis state); got {m.shape}.")
    if not np.issubdtype(m.dtype, np.number) or np.iscomplexobj(m):
        raise ValueError(f"`m_total` must be real numbers; got dtype {m.dtype}.")
    m = m.astype(float)
    if not np.all(np.isfinite(m)):
        raise ValueError("`m_total` contains NaN or inf.")
    grid = np.round(m * 2) / 2
    off = np.abs(m - grid) > 1e-9
    if np.any(off):
        raise ValueError(
            f"`m_total` must be half-integers; got {m[off][0]!r} (index {int(np.argmax(off))})."
        )
    values = np.unique(grid)
    return {float(v): np.nonzero(np.isclose(m, v))[0] for v in values}
