"""Lindblad Liouvillians: the map, its superoperator, and a real parametrisation.

The master equation is [Danon11, Eq. (13), (21); Latta09, Eq. (11)]

    dρ/dt = L(ρ) = -i[H, ρ] + Σ_k D[c_k](ρ) + Σ_{i≠j or i=j} W_ji D[|j⟩⟨i|](ρ),
    D[c](ρ) = c ρ c† - ½ {c†c, ρ},

with ħ = 1 (``H`` in angular-frequency units, rates in the same units). The optional
*rate* terms are how a model written with incoherent rates (tunnelling, radiative decay,
spin flips) enters: ``rates[j, i]`` is the rate of the jump ``|i⟩ → |j⟩`` and is exactly
the jump operator ``sqrt(rates[j, i]) |j⟩⟨i|``; a diagonal entry ``rates[i, i]`` is pure
dephasing (it damps every coherence ``ρ_ik`` at ``rates[i, i] / 2``). They are built in
O(n²) instead of through n² dense jump operators.

**Vectorisation convention (one, everywhere).** ``vec(ρ)`` is row-major (C order):
``vec(ρ)[i*n + j] = ρ[i, j]``, so ``vec(A ρ B) = (A ⊗ Bᵀ) vec(ρ)``. :meth:`Lindbladian.superop`
returns the complex ``n² × n²`` matrix in this convention. (QuTiP stacks columns; its
superoperators are the transpose-conjugated index order of ours.)

**Real parametrisation.** A Hermitian ρ is stored as ``n²`` real coordinates
``x_a = Tr(G_a ρ)`` in the orthonormal Hermitian basis (``Tr(G_a G_b) = δ_ab``)

    G = [ |j⟩⟨j| (j < n) ;  (|j⟩⟨k| + |k⟩⟨j|)/√2 (j < k) ;  i(|j⟩⟨k| − |k⟩⟨j|)/√2 (j < k) ],

i.e. ``x = [ρ_jj ; √2 Re ρ_jk ; √2 Im ρ_jk]``. For a matrix that is not Hermitian,
:func:`to_real` returns ``Re Tr(G_a ρ)``, the coordinates of its Hermitian part
``(ρ + ρ†)/2`` (the orthogonal projection; identical for Hermitian ``ρ``). Because L
preserves Hermiticity its matrix in this basis, ``M_ab = Tr(G_a L(G_b))``, is real: a
real ``n² × n²`` solve replaces the complex one (about 4x fewer flops), the trace is the
sum of the first ``n`` coordinates, and ``Mᵀ`` is the matrix of the adjoint (Heisenberg) map ``L†``.
"""

import functools as ft
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from ._inputs import (
    as_operator,
    as_operators,
    as_real,
    check_finite,
    check_hermitian,
    check_nonnegative,
    complex_dtype,
    real_dtype,
)
from ._memory import check_fits


# --------------------------------------------------------------------------------------
# Real Hermitian basis bookkeeping (static, numpy)
# --------------------------------------------------------------------------------------
@ft.lru_cache(maxsize=64)
def _basis_layout(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-major flat indices of the diagonal, upper (j<k) and lower (k>j) entries."""
    diag = np.arange(n) * (n + 1)
    j, k = np.triu_indices(n, 1)
    upper = j * n + k
    lower = k * n + j
    return diag, upper, lower


def to_real(rho: Complex[Array, "n n"]) -> Float[Array, " n2"]:
    """Real coordinates ``x_a = Re Tr(G_a ρ)`` of one ``(n, n)`` matrix (see the module
    docstring): those of ``ρ`` when it is Hermitian, of its Hermitian part
    ``(ρ + ρ†)/2`` otherwise. ``ValueError`` unless ``rho`` is square and 2-D
    (``jax.vmap`` to batch)."""
    rho = jnp.asarray(rho)
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1] or rho.shape[0] == 0:
        raise ValueError(f"`rho` must have shape (n, n) with n >= 1; got {rho.shape}.")
    n = rho.shape[-1]
    diag, upper, lower = _basis_layout(n)
    flat = rho.reshape(n * n)
    # (ρ_jk + conj ρ_kj)/2: exactly ρ_jk for a Hermitian ρ.
    up = 0.5 * (flat[upper] + jnp.conj(flat[lower]))
    s2 = math.sqrt(2.0)
    return jnp.concatenate([jnp.real(flat[diag]), s2 * jnp.real(up), s2 * jnp.imag(up)])


def from_real(x: Float[Array, " n2"], n: int) -> Complex[Array, "n n"]:
    """Inverse of :func:`to_real`: the Hermitian ``n × n`` matrix with coordinates ``x``.

    ``ValueError`` unless ``n`` is an int ``>= 1`` and ``x`` is real with shape ``(n²,)``."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"`n` must be an int >= 1 (the matrix dimension); got {n!r}.")
    n = int(n)
    x = jnp.asarray(x)
    if x.shape != (n * n,):
        raise ValueError(f"`x` must have shape ({n * n},) for n = {n}; got {x.shape}.")
    if jnp.iscomplexobj(x):
        raise ValueError("`x` must be real (the coordinates of a Hermitian matrix).")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(real_dtype())
    diag, upper, lower = _basis_layout(n)
    npair = upper.size
    d, s, a = x[:n], x[n : n + npair], x[n + npair :]
    cdt = complex_dtype()
    up = jax.lax.complex(s, a) / math.sqrt(2.0)
    flat = jnp.zeros(n * n, cdt)
    # unique (disjoint) indices: the scatter is then transposable (reverse mode through
    # matrix-free solves, e.g. jaxspin.Iterative)
    put = lambda a, idx, v: a.at[idx].set(v, unique_indices=True)  # noqa: E731
    flat = put(put(put(flat, diag, d.astype(cdt)), upper, up), lower, jnp.conj(up))
    return flat.reshape(n, n)


def trace_functional(n: int, dtype=None) -> Float[Array, " n2"]:
    """The row vector ``t`` with ``t · to_real(ρ) = Tr ρ``."""
    t = np.zeros(n * n)
    t[:n] = 1.0
    return jnp.asarray(t, dtype)


def _real_from_complex_superop(lvec: Complex[Array, "n2 n2"], n: int) -> Float[Array, "n2 n2"]:
    """``M = Vᴴ Lvec V`` for the (block-sparse, unitary) basis change ``V``, in O(n⁴)."""
    diag, upper, lower = _basis_layout(n)
    d_, u_, l_ = diag, upper, lower
    blk = lambda rows, cols: lvec[rows][:, cols]
    Ldd, Ldu, Ldl = blk(d_, d_), blk(d_, u_), blk(d_, l_)
    Lud, Lld = blk(u_, d_), blk(l_, d_)
    Luu, Lul, Llu, Lll = blk(u_, u_), blk(u_, l_), blk(l_, u_), blk(l_, l_)
    r2 = 1 / math.sqrt(2.0)
    re = jnp.real
    top = [re(Ldd), r2 * re(Ldu + Ldl), r2 * re(1j * (Ldu - Ldl))]
    mid = [
        r2 * re(Lud + Lld),
        0.5 * re(Luu + Lul + Llu + Lll),
        0.5 * re(1j * (Luu - Lul + Llu - Lll)),
    ]
    bot = [
        r2 * re(1j * (Lld - Lud)),
        0.5 * re(-1j * (Luu + Lul - Llu - Lll)),
        0.5 * re(Luu - Lul - Llu + Lll),
    ]
    return jnp.block([top, mid, bot])


# --------------------------------------------------------------------------------------
# The Lindbladian
# --------------------------------------------------------------------------------------
class Lindbladian(eqx.Module):
    """A Lindblad generator ``L`` for one parameter point (batch with ``jax.vmap``).

    Fields (all traced, so ``jax.grad``/``jax.vmap`` act on any of them):

    - ``H``: Hamiltonian ``(n, n)``, Hermitian, angular-frequency units (ħ = 1).
    - ``jump_ops``: ``(k, n, n)`` jump operators ``c_k`` (rates absorbed: ``c = √γ a``).
    - ``rates``: ``(n, n)`` real, ``rates[j, i] ≥ 0`` is the rate of ``|i⟩ → |j⟩``
      (see the module docstring); zeros when not given.

    Construction validates: shapes (eagerly, ``ValueError``: ``n >= 1``, ``jump_ops``
    and ``rates`` of dimension ``n``), Hermiticity of ``H`` (to 1e-10 of its largest
    entry), finiteness of everything, non-negative rates (eagerly when values are
    concrete, as ``equinox.error_if`` checks when traced). Inputs may be JAX/NumPy arrays
    or QuTiP ``Qobj`` (converted with ``.full()``, QuTiP is not imported).
    ``validate=False`` skips the value checks (for callers that validated a whole batch
    already, or that turn a bad point into a result code, as ``throw=False`` does).

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        >>> L = jaxspin.Lindbladian(sz, [jnp.sqrt(0.1) * sm])
        >>> L.dim
        2
    """

    H: Complex[Array, "n n"]
    jump_ops: Complex[Array, "k n n"]
    rates: Float[Array, "n n"]

    def __init__(self, H, jump_ops=None, rates=None, *, validate: bool = True):
        if not isinstance(validate, bool | np.bool_):
            raise TypeError(f"`validate` must be a bool; got {type(validate).__name__}.")
        H = as_operator(H, "H")
        if H.ndim != 2:
            raise ValueError(
                f"`Lindbladian` holds one parameter point: `H` must have shape (n, n); got "
                f"{H.shape}. Use jaxspin.steadystate (which batches) or jax.vmap."
            )
        n = H.shape[-1]
        if n == 0:
            raise ValueError("`H` has shape (0, 0): the Hilbert-space dimension must be >= 1.")
        jumps = as_operators(jump_ops, "jump_ops", n)
        if jumps.ndim != 3:
            raise ValueError(f"`jump_ops` must have shape (k, n, n); got {jumps.shape}.")
        if rates is None:
            r = jnp.zeros((n, n), jnp.real(H).dtype)
        else:
            r = as_real(rates, "rates")
            if r.shape != (n, n):
                raise ValueError(f"`rates` must have shape ({n}, {n}); got {r.shape}.")
            if validate:
                r = check_nonnegative(check_finite(r, "rates"), "rates")
        if validate:
            H = check_hermitian(check_finite(H, "H"), "H")
            jumps = check_finite(jumps, "jump_ops")
        dtype = jnp.result_type(H.dtype, jumps.dtype)
        self.H = H.astype(dtype)
        self.jump_ops = jumps.astype(dtype)
        self.rates = r.astype(jnp.real(jnp.zeros((), dtype)).dtype)

    @property
    def dim(self) -> int:
        """Hilbert-space dimension ``n`` (static)."""
        return self.H.shape[-1]

    def _h_eff(self) -> Complex[Array, "n n"]:
        """``H_eff = H - (i/2) (Σ_k c_k†c_k + diag(Γ))`` with ``Γ_i = Σ_j rates[j, i]``."""
        cdc = jnp.einsum("kji,kjl->il", jnp.conj(self.jump_ops), self.jump_ops)
        gamma_out = jnp.sum(self.rates, axis=0)
        return self.H - 0.5j * (cdc + jnp.diag(gamma_out).astype(self.H.dtype))

    def _check_operand(self, x, name: str) -> Array:
        x = jnp.asarray(x)
        n = self.dim
        if x.shape != (n, n):
            raise ValueError(f"`{name}` must have shape ({n}, {n}); got {x.shape}.")
        return x

    def _check_superop_fits(self, per_entry: int, what: str) -> None:
        n = self.dim
        check_fits(per_entry * n**4, f"Lindbladian.{what} (n = {n}, {n * n} x {n * n})")

    def __call__(self, rho: Complex[Array, "n n"]) -> Complex[Array, "n n"]:
        """Apply the map: ``L(ρ)`` in O(k n³) (no superoperator is formed); ``rho`` must
        be ``(n, n)`` (``ValueError`` otherwise; ``jax.vmap`` to batch)."""
        rho = self._check_operand(rho, "rho")
        heff = self._h_eff()
        out = -1j * (heff @ rho - rho @ jnp.conj(heff.T))
        c = self.jump_ops
        out = out + jnp.einsum("kij,jl,kml->im", c, rho, jnp.conj(c))
        pops = jnp.real(jnp.diagonal(rho))
        out = out + jnp.diag(self.rates @ pops).astype(out.dtype)
        return out

    def adjoint(self, op: Complex[Array, "n n"]) -> Complex[Array, "n n"]:
        """Apply the adjoint (Heisenberg-picture) map ``L†(A)``, ``Tr(A L(ρ)) = Tr(L†(A) ρ)``;
        ``op`` must be ``(n, n)``."""
        op = self._check_operand(op, "op")
        heff = self._h_eff()
        out = 1j * (jnp.conj(heff.T) @ op - op @ heff)
        c = self.jump_ops
        out = out + jnp.einsum("kji,jl,klm->im", jnp.conj(c), op, c)
        diag_op = jnp.diagonal(op)
        out = out + jnp.diag(self.rates.T.astype(op.dtype) @ diag_op)
        return out

    def superop(self) -> Complex[Array, "n2 n2"]:
        """Complex ``n² × n²`` superoperator in the row-major convention (module docstring).

        Needs about ``64 n⁴`` bytes (the matrix and its build intermediates); larger than
        the memory available is refused first (:class:`jaxspin.MemoryBudgetError`)."""
        self._check_superop_fits(64, "superop")
        return self._superop()

    def _superop(self) -> Complex[Array, "n2 n2"]:
        n = self.dim
        heff = self._h_eff()
        eye = jnp.eye(n, dtype=heff.dtype)
        t = -1j * heff[:, None, :, None] * eye[None, :, None, :]
        t = t + 1j * eye[:, None, :, None] * jnp.conj(heff)[None, :, None, :]
        t = t + jnp.einsum("cik,cjl->ijkl", self.jump_ops, jnp.conj(self.jump_ops))
        lvec = t.reshape(n * n, n * n)
        diag = np.arange(n) * (n + 1)
        return lvec.at[diag[:, None], diag[None, :]].add(self.rates.astype(lvec.dtype))

    def real_superop(self) -> Float[Array, "n2 n2"]:
        """Real ``n² × n²`` matrix ``M_ab = Tr(G_a L(G_b))`` in the orthonormal Hermitian
        basis of the module docstring (``to_real(L(ρ)) = M @ to_real(ρ)``).

        Needs about ``96 n⁴`` bytes (the complex superoperator, its blocks and the
        result); refused first when that does not fit (:class:`jaxspin.MemoryBudgetError`)."""
        self._check_superop_fits(96, "real_superop")
        return _real_from_complex_superop(self._superop(), self.dim)
