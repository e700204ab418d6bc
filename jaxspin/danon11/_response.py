"""Mean, susceptibility and fluctuations of electron spin operators [Danon11, Eq. (3), (10)].

For a stationary electron system ``dρ/dt = L(ρ)`` and Hermitian operators ``S^a`` (the
electron spin at one or several nuclear sites):

    S^a      = Tr(S^a ρ0),
    χ^{ab}   = -i ∫_0^∞ ⟨[S^a(τ), S^b(0)]⟩_c dτ,
    R^{ab}   =    ∫_0^∞ ⟨[S^a(τ), S^b(0)]_+⟩_c dτ,

(``c``: connected part). By the quantum regression theorem, ``⟨A(τ) B⟩ = Tr(A e^{Lτ}(B ρ0))``
and ``⟨B A(τ)⟩ = Tr(A e^{Lτ}(ρ0 B))``, so both integrals are ``Tr(S^a x^b)`` with
``L(x^b) = -s^b`` on the traceless subspace and the sources [Danon11, IMPLEMENTATION]

    s^b_χ = i[ρ0, S^b],        s^b_R = [ρ0, S^b]_+ - 2 Tr(S^b ρ0) ρ0.

Equivalently χ^{ab} is the static (Kubo) response ``∂⟨S^a⟩/∂Λ_b`` to a perturbation
``H' = +Λ_b S^b`` added to ``H`` (checked against finite differences of the steady state in
``tests/danon11/test_response.py``), and R the symmetrised noise at zero frequency.

One factorisation of the Liouvillian (:func:`jaxspin.factorize`) serves the steady state and
all ``2k`` sources (``k`` operators), so S, χ and R together cost one LU and ``2k + 1``
triangular solves. Sign and normalisation are checked against QuTiP time-domain correlation
functions integrated over τ (``tests/danon11/test_response.py::test_matches_qutip_...``).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from .._checks import jit
from .._inputs import as_operator, bad_input, check_finite, check_hermitian, is_concrete
from .._liouvillian import Lindbladian
from .._steady import (
    RESULTS,
    AbstractSteadyStateSolver,
    DenseLU,
    factorize,
    linear_response,
)


class SpinResponse(eqx.Module):
    """Steady state, mean spin ``S``, susceptibility ``chi`` and fluctuations ``R``.

    Shapes (``...`` = batch dimensions; ``p`` sites when several sites were given):

    - ``rho``: ``(..., n, n)`` steady state ``ρ0``.
    - ``S``: ``(..., 3)`` (one site) or ``(..., p, 3)``: ``S[n, a] = Tr(S^a_n ρ0)``.
    - ``chi``: ``(..., 3, 3)`` or ``(..., p, p, 3, 3)``: ``chi[n, m, a, b] = χ^{ab}_{nm}``,
      Eq. (3)/(10), in units of 1/(the Lindbladian's angular-frequency unit).
    - ``R``: same shapes and units as ``chi``, ``R[n, m, a, b] = R^{ab}_{nm}``.
    - ``result``: :class:`jaxspin.RESULTS` code of the steady-state and response solves.

    This is the electron spin, not yet multiplied by the hyperfine coupling: see
    :func:`jaxspin.danon11.nuclear_coefficients` for Eq. (2).
    """

    rho: Complex[Array, "... n n"]
    S: Float[Array, "..."]
    chi: Float[Array, "..."]
    R: Float[Array, "..."]
    result: RESULTS


def invalidate(resp: SpinResponse, bad) -> SpinResponse:
    """``resp`` with NaN arrays and ``result = RESULTS.nonfinite`` where ``bad`` (a boolean
    scalar, or ``None`` for nothing to mark): the ``throw=False`` form of a refused input."""
    if bad is None:
        return resp
    nan = lambda x: jnp.where(bad, jnp.asarray(jnp.nan, x.dtype), x)
    result = RESULTS.where(bad, RESULTS.nonfinite, resp.result)
    return SpinResponse(nan(resp.rho), nan(resp.S), nan(resp.chi), nan(resp.R), result)


def _spin_ops_shape(spin_ops, n: int | None = None) -> Array:
    ops = as_operator(spin_ops, "spin_ops")
    if ops.ndim not in (3, 4) or ops.shape[-3] != 3:
        raise ValueError(
            "`spin_ops` must have shape (3, n, n) (S^x, S^y, S^z of one site) or "
            f"(p, 3, n, n) (p sites); got {ops.shape}."
        )
    if n is not None and ops.shape[-1] != n:
        raise ValueError(f"`spin_ops` act on dimension {ops.shape[-1]}, the Hamiltonian on {n}.")
    return ops


def _check_spin_ops(ops: Array, throw: bool) -> tuple[Array, Array | None]:
    """Finite and Hermitian ``spin_ops``: refused (eagerly, or ``eqx.error_if`` when traced)
    with ``throw=True``; with ``throw=False`` a traced bad value is flagged instead (the
    caller marks the result), a concrete one is still refused."""
    if throw or is_concrete(ops):
        return check_hermitian(check_finite(ops, "spin_ops"), "spin_ops"), None
    bad = bad_input(ops, hermitian=True)
    return jnp.where(bad, jnp.zeros_like(ops), ops), bad


def spin_response_single(
    lindbladian: Lindbladian,
    spin_ops: Complex[Array, "*sites 3 n n"],
    *,
    solver: AbstractSteadyStateSolver = DenseLU(),
    throw: bool = True,
) -> SpinResponse:
    """S, χ, R of one Lindbladian (one parameter point; ``vmap``/``grad`` freely).

    ``spin_ops``: ``(3, n, n)`` Hermitian operators ``(S^x, S^y, S^z)`` of one site, or
    ``(p, 3, n, n)`` for ``p`` sites (then ``chi``/``R`` are the non-local
    ``χ^{ab}_{nm}`` of [Danon11, Eq. (10)]). The steady state and the ``6p`` responses
    use one factorisation ``jaxspin.factorize(lindbladian, solver)``.

    Checks: ``spin_ops`` shape (``ValueError``), finite and Hermitian (``ValueError``, or
    ``eqx.error_if`` when traced). With ``throw=False`` a failed solve or traced bad
    ``spin_ops`` is returned as data: ``result`` says why, the arrays are NaN for a bad
    ``spin_ops``.

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> from jaxspin.danon11 import spin_response_single
        >>> sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        >>> L = jaxspin.Lindbladian(-1.0 * sz, [jnp.sqrt(0.5) * sm])
        >>> r = spin_response_single(L, jnp.stack([sx, sy, sz]))
        >>> r.chi.shape
        (3, 3)
    """
    if not isinstance(lindbladian, Lindbladian):
        raise TypeError(
            f"`lindbladian` must be a jaxspin.Lindbladian; got {type(lindbladian).__name__}."
        )
    ops = _spin_ops_shape(spin_ops, lindbladian.dim)
    ops, bad = _check_spin_ops(ops, throw)
    return invalidate(response_kernel(lindbladian, ops, solver, throw), bad)


def response_sources(flat: Complex[Array, "k n n"], rho: Complex[Array, "n n"]) -> Array:
    """The ``2k`` sources ``s_χ = i[ρ0, S^b]`` (first ``k``) and
    ``s_R = [ρ0, S^b]_+ - 2 Tr(S^b ρ0) ρ0`` (last ``k``) of the ``k`` operators ``flat``."""
    mean = jnp.real(jnp.einsum("kij,ji->k", flat, rho))
    rho_s = jnp.einsum("ij,kjl->kil", rho, flat)
    s_rho = jnp.einsum("kij,jl->kil", flat, rho)
    chi_src = 1j * (rho_s - s_rho)
    r_src = rho_s + s_rho - 2 * mean[:, None, None].astype(rho.dtype) * rho[None]
    return jnp.concatenate([chi_src, r_src])


class _Sources(eqx.Module):
    """``rho -> response_sources(flat, rho)``: the callable ``sources`` handed to
    :func:`jaxspin.linear_response` (a Module, so ``flat`` is traced, not a jit constant)."""

    flat: Complex[Array, "k n n"]

    def __call__(self, rho):
        return response_sources(self.flat, rho)


def assemble(flat, rho, xs, site_shape, result) -> SpinResponse:
    """One point's :class:`SpinResponse` from ``ρ0`` and the responses ``xs`` (``2k``) to
    :func:`response_sources`: ``S^a = Tr(S^a ρ0)``, ``M[a, j] = Tr(S^a x_j)``."""
    k = flat.shape[0]
    mean = jnp.real(jnp.einsum("kij,ji->k", flat, rho))
    # M[a, j] = Tr(S^a x_j): columns 0..k-1 are χ^{·b}, k..2k-1 are R^{·b}.
    M = jnp.real(jnp.einsum("aij,bji->ab", flat, xs))
    chi, R = M[:, :k], M[:, k:]
    p = k // 3
    if site_shape:
        S = mean.reshape(p, 3)
        chi = chi.reshape(p, 3, p, 3).transpose(0, 2, 1, 3)
        R = R.reshape(p, 3, p, 3).transpose(0, 2, 1, 3)
    else:
        S = mean
    return SpinResponse(rho, S, chi, R, result)


def response_kernel(lindbladian, ops, solver, throw) -> SpinResponse:
    """One point: one :func:`jaxspin.factorize` for the steady state and all ``2k``
    responses (``ops`` already checked; the result is the first failure)."""
    n = lindbladian.dim
    flat = ops.reshape((-1, n, n)).astype(lindbladian.H.dtype)
    fact = factorize(lindbladian, solver)
    ss = fact.steadystate(throw=throw)
    sources = response_sources(flat, ss.rho)
    xs, results = jax.vmap(lambda s: fact.response(s, hermitian=True, throw=throw))(sources)
    result = ss.result
    for j in range(sources.shape[0]):
        r_j = jax.tree_util.tree_map(lambda v: v[j], results)
        result = RESULTS.where(result == RESULTS.successful, r_j, result)
    return assemble(flat, ss.rho, xs, ops.shape[:-3], result)


@jit
def _assemble_batched(flat, rho, xs, site_shape, result, bad) -> SpinResponse:
    """:func:`assemble` over the batch dimensions of ``rho`` (``(..., n, n)``) and ``xs``
    (``(..., 2k, n, n)``), then ``NaN`` where ``bad`` (:func:`invalidate`)."""
    n = flat.shape[-1]
    bshape = rho.shape[:-2]
    one = lambda rho, xs, res: assemble(flat, rho, xs, site_shape, res)
    flat_result = jax.tree_util.tree_map(lambda v: v.reshape(-1), result)
    out = jax.vmap(one)(rho.reshape(-1, n, n), xs.reshape(-1, *xs.shape[-3:]), flat_result)
    out = jax.tree_util.tree_map(lambda v: v.reshape(*bshape, *v.shape[1:]), out)
    return invalidate(out, bad)


def spin_response(
    H,
    jump_ops=None,
    spin_ops=None,
    *,
    rates=None,
    solver: AbstractSteadyStateSolver = DenseLU(),
    throw: bool = True,
) -> SpinResponse:
    """Mean spin, susceptibility and fluctuations of a Lindblad system [Danon11, Eq. (3)].

    Arguments (leading batch dimensions of ``H``, ``jump_ops`` and ``rates`` broadcast):

    - ``H``: ``(..., n, n)`` Hermitian Hamiltonian (angular-frequency units, ħ = 1).
    - ``jump_ops``: list of ``(..., n, n)`` or array ``(..., k, n, n)`` jump operators.
    - ``spin_ops``: ``(3, n, n)`` (one site) or ``(p, 3, n, n)`` (``p`` sites, non-local
      χ_nm of Eq. (10)); Hermitian; the same for every batch point.
    - ``rates``: ``(..., n, n)``, ``rates[j, i]`` = rate of ``|i⟩ → |j⟩`` (see
      :class:`jaxspin.Lindbladian`).
    - ``solver``, ``throw``: as in :func:`jaxspin.steadystate`.

    Returns a :class:`SpinResponse` (``rho``, ``S``, ``chi``, ``R``, ``result``), computed
    by the perturbed-steady-state recipe of [Danon11, IMPLEMENTATION]:
    :func:`jaxspin.linear_response` with the ``2k`` sources of each point's ``ρ0`` (one
    factorisation per point), then ``Tr(S^a x_j)``. ``χ`` is in units of 1/(the unit of
    ``H``). Differentiable (implicit gradients), jit- and vmap-safe.

    Checks: ``spin_ops`` shape (``ValueError``), finite and Hermitian (as in
    :func:`spin_response_single`); ``H``, ``jump_ops``, ``rates``, memory and ``throw=False``
    as in :func:`jaxspin.linear_response` (a bad point gets a non-successful ``result``
    and NaN arrays, the batch goes on).

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> from jaxspin.danon11 import spin_response
        >>> sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        >>> B = jnp.linspace(0.0, 2.0, 5)
        >>> r = spin_response(-B[:, None, None] * sz, [jnp.sqrt(0.5) * sm], jnp.stack([sx, sy, sz]))
        >>> r.chi.shape
        (5, 3, 3)
    """
    if spin_ops is None:
        raise ValueError("`spin_ops` is required: (3, n, n) or (p, 3, n, n).")
    H = as_operator(H, "H")
    ops, bad = _check_spin_ops(_spin_ops_shape(spin_ops, H.shape[-1]), throw)
    flat = ops.reshape((-1, *ops.shape[-2:]))
    ss, xs = linear_response(
        H, jump_ops, _Sources(flat), rates=rates, solver=solver, hermitian=True, throw=throw
    )
    return _assemble_batched(flat, ss.rho, xs, ops.shape[:-3], ss.result, bad)
