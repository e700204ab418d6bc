"""Spin operators for any spin quantum number, and many-spin product bases.

Convention: operators are in units of hbar and act on the basis
``|s, m>`` with ``m = s, s-1, ..., -s`` (descending, as ``qutip.jmat``), so index 0 is
"spin up". Product bases are ordered as ``numpy.kron`` orders them: the first spin is the
most significant index.
"""

import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float, Int

from ._inputs import complex_dtype


class SpinOperators(NamedTuple):
    """The spin-``s`` matrices ``S_x, S_y, S_z, S_+, S_-`` (units of hbar)."""

    x: Complex[Array, "d d"]
    y: Complex[Array, "d d"]
    z: Complex[Array, "d d"]
    p: Complex[Array, "d d"]
    m: Complex[Array, "d d"]


def spin_dim(s: float) -> int:
    """Hilbert-space dimension ``2s + 1``; raises ``ValueError`` unless ``2s`` is a
    non-negative integer."""
    two_s = 2 * s
    if two_s < 0 or abs(two_s - round(two_s)) > 1e-12:
        raise ValueError(f"Spin quantum number must be a non-negative half-integer; got {s}.")
    return int(round(two_s)) + 1


def spin_m_values(s: float) -> Float[np.ndarray, " d"]:
    """The magnetic quantum numbers ``m = s, s-1, ..., -s`` of the basis."""
    d = spin_dim(s)
    return s - np.arange(d, dtype=float)


def spin_operators(s: float) -> SpinOperators:
    """Spin matrices for spin quantum number ``s`` (any half-integer, static).

    ``<m+1|S_+|m> = sqrt(s(s+1) - m(m+1))``.

    Example:
        >>> sx, sy, sz, sp, sm = spin_operators(0.5)
        >>> float(sz[0, 0].real)
        0.5
    """
    m = spin_m_values(s)
    d = m.size
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
    """Kronecker product of operators, first factor most significant."""
    out = ops[0]
    for op in ops[1:]:
        out = jnp.kron(out, op)
    return out


def embed(op: Complex[Array, "d d"], index: int, dims: tuple[int, ...]) -> Array:
    """Embed a single-subsystem operator at position ``index`` of a product space with
    subsystem dimensions ``dims``: ``1 x ... x op x ... x 1``."""
    dims = tuple(int(d) for d in dims)
    if not 0 <= index < len(dims):
        raise ValueError(f"`index` {index} out of range for {len(dims)} subsystems.")
    if op.shape != (dims[index], dims[index]):
        raise ValueError(f"`op` has shape {op.shape}; subsystem {index} has dim {dims[index]}.")
    left = math.prod(dims[:index])
    right = math.prod(dims[index + 1 :])
    eye_l = jnp.eye(left, dtype=op.dtype)
    eye_r = jnp.eye(right, dtype=op.dtype)
    return jnp.kron(jnp.kron(eye_l, op), eye_r)


def product_m_values(spins: tuple[float, ...]) -> Float[np.ndarray, "D nspins"]:
    """``m`` quantum numbers of every product-basis state (rows) for each spin (columns)."""
    grids = np.meshgrid(*(spin_m_values(s) for s in spins), indexing="ij")
    return np.stack([g.reshape(-1) for g in grids], axis=-1)


def collective_operators(spins: tuple[float, ...]) -> SpinOperators:
    """Total spin ``sum_i S_i`` on the product space of ``spins`` (dense; small systems)."""
    dims = tuple(spin_dim(s) for s in spins)
    total = [0, 0, 0, 0, 0]
    for i, s in enumerate(spins):
        ops = spin_operators(s)
        total = [t + embed(o, i, dims) for t, o in zip(total, ops, strict=True)]
    return SpinOperators(*total)


def dicke_multiplicity(n_spins: int, j: float) -> int:
    """Number of times total spin ``j`` occurs for ``n_spins`` spin-1/2 particles:
    ``C(N, N/2 - j) - C(N, N/2 - j - 1)`` (the Dicke degeneracy ``D(j)``)."""
    k = n_spins / 2 - j
    if k < 0 or abs(k - round(k)) > 1e-12:
        raise ValueError(f"j={j} is not a total spin of {n_spins} spin-1/2 particles.")
    k = int(round(k))
    return math.comb(n_spins, k) - (math.comb(n_spins, k - 1) if k >= 1 else 0)


def total_spin_values(n_spins: int) -> Float[np.ndarray, " J"]:
    """Total spins ``j = N/2, N/2 - 1, ..., (0 or 1/2)`` of ``n_spins`` spin-1/2."""
    return n_spins / 2 - np.arange(n_spins // 2 + 1, dtype=float)


def sector_indices(m_total: Float[np.ndarray, " D"]) -> dict[float, Int[np.ndarray, " d"]]:
    """Group basis indices by a conserved quantum number (e.g. total ``S_z``)."""
    values = np.unique(np.round(m_total * 2) / 2)
    return {float(v): np.nonzero(np.isclose(m_total, v))[0] for v in values}
