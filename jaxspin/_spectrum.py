"""Frequency-resolved response of a Lindblad steady state: spectra, susceptibilities and
two-operator correlation functions.

By the quantum regression theorem ``⟨A(τ) B(0)⟩ = Tr(A e^{Lτ}(B ρ0))`` for ``τ ≥ 0``, so
every one-sided Fourier transform of a correlation function is a resolvent,

    ∫_0^∞ e^{-στ} Tr(A e^{Lτ} s) dτ = -Tr(A (L - σ)^{-1} s),    Re σ ≥ 0,  Tr s = 0,

evaluated on the traceless subspace (where ``L - σ`` is invertible for a unique steady
state and real-frequency ``σ = ±iω``, also at ``ω = 0``). ħ = 1: ``ω`` is in the
angular-frequency units of ``H`` (and of the rates).

**From one reduction.** With ``M`` the real matrix of ``L`` (:meth:`Lindbladian.real_superop`,
``m = n²``) the zero mode is lifted as in :mod:`jaxspin._steady`: ``A = M + c e tᵀ``
(``t·x = Tr ρ``, ``e = t/n``, ``c = max|M|``) equals ``M`` on traceless vectors and keeps
them traceless, and ``A - σ`` is nonsingular for every real ``ω`` (its extra eigenvalue is
``c > 0``). ``A`` is reduced once to upper-Hessenberg form ``A = Q Hh Qᵀ`` (orthogonal
``Q``, Householder, O(m³), pure JAX: no LAPACK or host call, so it runs on a GPU). Each
frequency then costs one O(m²) elimination of ``Hh - σ`` with adjacent-row partial
pivoting; the transposed triangular solve is accumulated in the same pass, so a
frequency needs O(m) memory (``vmap`` over ω holds ``len(omegas) × m`` numbers, not
``len(omegas) × m²``).

**Derivatives** are not taken through the Householder steps (for a derogatory ``L``,
common with symmetries, a sub-column vanishes at the primal point but not along a
symmetry-breaking tangent, and autodiff through it is wrong by orders of magnitude). A
custom JVP uses the resolvent identity ``d(wᵀR s) = dwᵀR s + wᵀR ds - wᵀR dA R s +
wᵀR² s dσ``, ``R = (A - σ)⁻¹``, with ``R s`` and ``Rᵀ w`` from the same Hessenberg form
(O(m²) memory per frequency while differentiating); forward and reverse mode.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from ._batching import batch_shape, batched_nbytes, map_batched
from ._checks import filter_jit
from ._evolve import propagate
from ._inputs import as_operator, as_real, check_finite, check_value
from ._liouvillian import Lindbladian, to_real, trace_functional
from ._memory import check_fits
from ._steady import DenseLU, _convert, _validate, factorize


# the steady state of one point: LAPACK/cuSOLVER LU (the unrolled LU's compile time grows
# fast with n², and one O(n⁶) factorisation is not the bottleneck here)
_STEADY = DenseLU(unroll_max=0)


_NAMES = ["H", "jump_ops", "rates"]
_CORE = [2, 3, 2]


# --------------------------------------------------------------------------------------
# Linear algebra: Householder-Hessenberg reduction and shifted Hessenberg functionals
# --------------------------------------------------------------------------------------
def hessenberg(a: Float[Array, "m m"]) -> tuple[Float[Array, "m m"], Float[Array, "m m"]]:
    """``(Hh, Q)`` with ``a = Q Hh Qᵀ``, ``Q`` orthogonal and ``Hh`` upper Hessenberg
    (Householder reflections in a ``lax.fori_loop``; one real square matrix)."""
    m = a.shape[-1]
    idx = jnp.arange(m)

    def step(k, carry):
        h, q = carry
        x = jnp.where(idx > k, h[:, k], 0.0)
        s2 = jnp.sum(x * x)
        nz = s2 > 0
        norm = jnp.where(nz, jnp.sqrt(jnp.where(nz, s2, 1.0)), 0.0)  # NaN-free gradient at 0
        alpha = -jnp.where(h[k + 1, k] >= 0, 1.0, -1.0) * norm
        v = x - alpha * (idx == k + 1).astype(x.dtype)
        vv = jnp.sum(v * v)
        beta = jnp.where(vv > 0, 2.0 / jnp.where(vv > 0, vv, 1.0), 0.0)
        h = h - beta * jnp.outer(v, v @ h)
        h = h - beta * jnp.outer(h @ v, v)
        q = q - beta * jnp.outer(q @ v, v)
        return h, q

    h, q = jax.lax.fori_loop(0, max(m - 2, 0), step, (a, jnp.eye(m, dtype=a.dtype)))
    return jnp.where(idx[:, None] <= idx[None, :] + 1, h, 0.0), q


def _shifted_functional(hh, c, r, sigma) -> Complex[Array, ""]:
    """``c · (hh - σ I)⁻¹ r`` for an upper-Hessenberg ``hh`` in O(m²) time, O(m) memory.

    Gaussian elimination with adjacent-row partial pivoting gives ``U`` row by row; the
    solve ``Uᵀ z = c`` is accumulated alongside (``z_k = (c_k - Σ_{j<k} U_jk z_j)/U_kk``)
    so that ``c · U⁻¹ g = z · g`` needs no stored ``U``."""
    m = hh.shape[-1]
    idx = jnp.arange(m)
    cdt = r.dtype
    hh = hh.astype(cdt)

    def row(k):
        return hh[k] - sigma * (idx == k).astype(cdt)

    def step(carry, k):
        cur, rc, acc, total = carry
        nxt, rn = row(k + 1), r[k + 1]
        swap = jnp.abs(nxt[k]) > jnp.abs(cur[k])
        p, q = jnp.where(swap, nxt, cur), jnp.where(swap, cur, nxt)
        rp, rq = jnp.where(swap, rn, rc), jnp.where(swap, rc, rn)
        pk = p[k]
        f = q[k] / jnp.where(pk == 0, jnp.ones_like(pk), pk)
        z = (c[k] - acc[k]) / pk
        return (q - f * p, rq - f * rp, acc + z * p, total + z * rp), None

    init = (row(0), r[0], jnp.zeros(m, cdt), jnp.zeros((), cdt))
    (cur, rc, acc, total), _ = jax.lax.scan(step, init, jnp.arange(m - 1))
    return total + (c[m - 1] - acc[m - 1]) / cur[m - 1] * rc


def _solve_hessenberg(hh, r, sigma) -> Complex[Array, " m"]:
    """``y = (hh - σ I)⁻¹ r`` (the same elimination, with ``U`` stored: O(m²) memory)."""
    m = hh.shape[-1]
    idx = jnp.arange(m)
    cdt = r.dtype
    hh = hh.astype(cdt)

    def row(k):
        return hh[k] - sigma * (idx == k).astype(cdt)

    def step(carry, k):
        cur, rc = carry
        nxt, rn = row(k + 1), r[k + 1]
        swap = jnp.abs(nxt[k]) > jnp.abs(cur[k])
        p, q = jnp.where(swap, nxt, cur), jnp.where(swap, cur, nxt)
        rp, rq = jnp.where(swap, rn, rc), jnp.where(swap, rc, rn)
        f = q[k] / jnp.where(p[k] == 0, jnp.ones_like(p[k]), p[k])
        return (q - f * p, rq - f * rp), (p, rp)

    (cur, rc), (u, g) = jax.lax.scan(step, (row(0), r[0]), jnp.arange(m - 1))
    u, g = jnp.concatenate([u, cur[None]]), jnp.concatenate([g, rc[None]])

    def back(y, k):  # y_j = 0 for j <= k here, so u[k] @ y = Σ_{j>k} u_kj y_j
        return y.at[k].set((g[k] - u[k] @ y) / u[k, k]), None

    y, _ = jax.lax.scan(back, jnp.zeros(m, cdt), jnp.arange(m - 1, -1, -1))
    return y


@jax.custom_jvp
def _resolvent(aug, w, s, sigmas) -> Complex[Array, " W"]:
    """``f(σ) = w · (aug - σ)⁻¹ s`` for every ``σ`` in ``sigmas`` (complex ``w``, ``s``)."""
    hh, q = hessenberg(aug)
    qt = q.T.astype(s.dtype)
    c, r = qt @ w, qt @ s
    return jax.vmap(lambda x: _shifted_functional(hh, c, r, x))(sigmas)


@_resolvent.defjvp
def _resolvent_jvp(primals, tangents):
    """``df = dw·y + z·ds - z·(d aug)·y + (z·y) dσ`` with ``y = R s``, ``z = Rᵀ w``,
    ``R = (aug - σ)⁻¹``: exact whatever the Householder vectors do (they are not
    differentiated; a derogatory ``aug`` makes them discontinuous)."""
    aug, w, s, sigmas = primals
    daug, dw, ds, dsig = tangents
    hh, q = hessenberg(aug)
    qc = q.astype(s.dtype)
    c, r = qc.T @ w, qc.T @ s
    f = jax.vmap(lambda x: _shifted_functional(hh, c, r, x))(sigmas)
    # (hhᵀ - σ) = J (hh[::-1, ::-1]ᵀ - σ) J, J the reversal: upper Hessenberg again
    hrev = hh[::-1, ::-1].T
    ys = jax.vmap(lambda x: _solve_hessenberg(hh, r, x))(sigmas) @ qc.T
    zs = jax.vmap(lambda x: _solve_hessenberg(hrev, c[::-1], x)[::-1])(sigmas) @ qc.T
    df = ys @ dw + zs @ ds - jnp.einsum("wi,ij,wj->w", zs, daug.astype(s.dtype), ys)
    return f, df + jnp.sum(zs * ys, axis=1) * dsig


def _coords(x: Complex[Array, "n n"]) -> Complex[Array, " m"]:
    """Complex coordinates ``x = Σ_a u_a G_a`` (``u = to_real(x) + i to_real(-i x)``), so
    that ``Tr(X Y) = _coords(X) · _coords(Y)`` (no conjugation)."""
    return jax.lax.complex(to_real(x), to_real(-1j * x))


class _Reduced(eqx.Module):
    """One parameter point: steady state and the augmented matrix ``A`` (reduced to
    Hessenberg form inside :func:`_resolvent`)."""

    rho: Complex[Array, "n n"]
    aug: Float[Array, "m m"]

    def resolvent(self, a_op, source, sigmas) -> Complex[Array, " w"]:
        """``a_op · (A - σ)⁻¹ source`` for every ``σ`` (``source`` traceless)."""
        return _resolvent(self.aug, _coords(a_op), _coords(source), sigmas)


def _reduce(H, c, r, validate: bool) -> _Reduced:
    lind = Lindbladian(H, c, r, validate=validate)
    rho = factorize(lind, _STEADY).steadystate().rho
    n = lind.dim
    M = lind.real_superop()
    t = trace_functional(n, M.dtype)
    scale = jax.lax.stop_gradient(jnp.maximum(jnp.max(jnp.abs(M)), jnp.finfo(M.dtype).tiny))
    return _Reduced(rho, M + scale * jnp.outer(t / n, t))


# --------------------------------------------------------------------------------------
# Input checks (once, at the public boundary)
# --------------------------------------------------------------------------------------
def _system(H, jump_ops, rates):
    H, jumps, r, n = _convert(H, jump_ops, rates)
    args = [H, jumps, r]
    bshape = batch_shape(args, _CORE, _NAMES)
    concrete = _validate(H, jumps, r)
    return args, n, bshape, not concrete


def _operator(x, name: str, n: int) -> Array:
    x = as_operator(x, name)
    if x.shape != (n, n):
        raise ValueError(f"`{name}` must have shape ({n}, {n}); got {x.shape}.")
    return check_finite(x, name)


def _axis(x, name: str, *, nonnegative: bool = False) -> Array:
    x = as_real(x, name)
    if x.ndim != 1 or x.shape[0] == 0:
        raise ValueError(f"`{name}` must be a non-empty 1-D array; got shape {x.shape}.")
    if nonnegative:
        return check_value(
            x, lambda a: ~jnp.isfinite(a) | (a < 0), f"`{name}` must be finite >= 0."
        )
    return check_finite(x, name)


def _check_memory(n: int, bshape, args, num: int, what: str) -> None:
    m = n * n
    size = math.prod(bshape)
    count = min(size, 256)
    per_point = 8 * 8 * m * m + 3 * 16 * num * m + 16 * num
    need = per_point * count + 16 * num * size + batched_nbytes(args, _CORE, bshape)
    check_fits(need, f"{what} (n = {n}, {num} frequencies or times, {size} point(s))")


# --------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------
@filter_jit
def _spectrum_jit(H, jumps, r, A, B, omegas, validate):
    def kernel(H, c, r):
        red = _reduce(H, c, r, validate)
        rho = red.rho
        s = B @ rho - rho * jnp.trace(B @ rho)
        return -2 * jnp.real(red.resolvent(A, s, 1j * omegas.astype(rho.dtype)))

    return map_batched(kernel, [H, jumps, r], _CORE, _NAMES)


def spectrum(H, jump_ops, A, B, omegas, *, rates=None) -> Float[Array, "... w"]:
    """Power spectrum of the steady state, as ``qutip.spectrum(H, omegas, c_ops, A, B)``:

        S(ω) = ∫_{-∞}^{∞} e^{-iωτ} [lim_t ⟨A(t+τ) B(t)⟩ - ⟨A⟩⟨B⟩] dτ
             = 2 Re ∫_0^∞ e^{-iωτ} [⟨A(τ) B(0)⟩ - ⟨A⟩⟨B⟩] dτ
             = -2 Re Tr(A (L - iω)⁻¹ (B ρ - ⟨B⟩ ρ)).

    The second line is what is computed (and what QuTiP returns for any ``A``, ``B``); it
    equals the first for ``A = B†`` (then ``S`` is real and ``≥ 0``). The coherent part
    ``2π ⟨A⟩⟨B⟩ δ(ω)`` is subtracted (as QuTiP does), so ``S`` is finite at ``ω = 0``.

    Arguments: ``H`` ``(..., n, n)`` Hermitian (angular-frequency units, ħ = 1),
    ``jump_ops`` a list of ``(..., n, n)`` or an array ``(..., k, n, n)``, ``rates`` as in
    :func:`jaxspin.steadystate`; ``A``, ``B`` ``(n, n)``; ``omegas`` a real finite 1-D
    array of angular frequencies (units of ``H``). Returns ``(..., len(omegas))`` floats.

    One Hessenberg reduction per point serves every ω (O(n⁶) once, O(n⁴) per ω; see
    :mod:`jaxspin._spectrum`). Shapes are checked (``ValueError`` naming the argument),
    values as in :func:`jaxspin.steadystate` (``throw=True``), memory before any work.

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        >>> S = jaxspin.spectrum(2.5 * sx, [sm], sp, sm, jnp.linspace(-10, 10, 5))
        >>> S.shape
        (5,)
    """
    args, n, bshape, validate = _system(H, jump_ops, rates)
    A, B = _operator(A, "A", n), _operator(B, "B", n)
    omegas = _axis(omegas, "omegas")
    _check_memory(n, bshape, args, omegas.shape[0], "spectrum")
    return _spectrum_jit(*args, A, B, omegas, validate)


@filter_jit
def _susceptibility_jit(H, jumps, r, A, B, omegas, validate):
    def kernel(H, c, r):
        red = _reduce(H, c, r, validate)
        rho = red.rho
        return -1j * red.resolvent(A, B @ rho - rho @ B, -1j * omegas.astype(rho.dtype))

    return map_batched(kernel, [H, jumps, r], _CORE, _NAMES)


def susceptibility(H, jump_ops, A, B, omegas, *, rates=None) -> Complex[Array, "... w"]:
    """Kubo susceptibility of the steady state (ħ = 1):

        χ_AB(ω) = i ∫_0^∞ e^{iωτ} ⟨[A(τ), B(0)]⟩ dτ = -i Tr(A (L + iω)⁻¹ [B, ρ]).

    **Sign convention** (the textbook one): for ``H(t) = H - h(t) B`` the linear response
    is ``δ⟨A⟩(ω) = χ_AB(ω) h(ω)`` (``h(t) = ∫ h(ω) e^{-iωt} dω/2π``). So ``χ_AB(0) =
    d⟨A⟩/dh`` for the static perturbation ``H → H - h B``, i.e. ``-d⟨A⟩/dh`` for
    ``H → H + h B``, and ``χ_AB(0) = -χ^{AB}`` of :func:`jaxspin.danon11.spin_response`
    (whose perturbation is ``+Λ S^b``). For Hermitian ``A``, ``B``:
    ``χ(-ω) = conj χ(ω)``. The correlation functions follow the quantum regression
    theorem, as in :func:`correlation_2op_1t`.

    Arguments and checks as in :func:`spectrum`; returns complex ``(..., len(omegas))``,
    units of 1/(units of ``H``) times those of ``A B``.
    """
    args, n, bshape, validate = _system(H, jump_ops, rates)
    A, B = _operator(A, "A", n), _operator(B, "B", n)
    omegas = _axis(omegas, "omegas")
    _check_memory(n, bshape, args, omegas.shape[0], "susceptibility")
    return _susceptibility_jit(*args, A, B, omegas, validate)


@filter_jit
def _correlation_jit(H, jumps, r, rho0, A, B, taus, validate):
    def kernel(H, c, r, rho):
        lind = Lindbladian(H, c, r, validate=validate)
        if rho is None:
            rho = factorize(lind, _STEADY).steadystate().rho
        ts = jnp.concatenate([jnp.zeros(1, taus.dtype), taus])
        ys = propagate(lind.real_superop(), _coords(B @ rho), ts)[1:]
        return ys @ _coords(A)

    return map_batched(kernel, [H, jumps, r, rho0], _CORE + [2], _NAMES + ["rho0"])


def correlation_2op_1t(
    H, jump_ops, A, B, taus, *, rho0=None, rates=None
) -> Complex[Array, "... T"]:
    """``⟨A(τ) B(0)⟩ = Tr(A e^{Lτ}(B ρ0))`` at ``τ = taus`` (quantum regression theorem),
    as ``qutip.correlation_2op_1t(H, rho0, taus, c_ops, A, B)``.

    ``rho0``: ``(..., n, n)`` initial density matrix (default: the steady state, then this
    is ``lim_t ⟨A(t+τ) B(t)⟩``). ``taus``: real, finite, ``≥ 0``, 1-D, any order (units
    1/(units of ``H``)). ``B ρ0`` is split into Hermitian parts, each propagated exactly
    (matrix exponential of the real superoperator, :func:`jaxspin.propagate`). Other
    arguments and checks as in :func:`spectrum`; returns complex ``(..., len(taus))``.
    """
    args, n, bshape, validate = _system(H, jump_ops, rates)
    A, B = _operator(A, "A", n), _operator(B, "B", n)
    taus = _axis(taus, "taus", nonnegative=True)
    if rho0 is not None:
        rho0 = as_operator(rho0, "rho0")
        if rho0.shape[-1] != n:
            raise ValueError(f"`rho0` must have shape (..., {n}, {n}); got {rho0.shape}.")
        rho0 = check_finite(rho0, "rho0")
    bshape = batch_shape(args + [rho0], _CORE + [2], _NAMES + ["rho0"])
    num = taus.shape[0] + 1
    _check_memory(n, bshape, args, 12 * n * n * num // 3 + num, "correlation_2op_1t")
    return _correlation_jit(*args, rho0, A, B, taus, validate)
