r"""The optimal field ``B0`` and the maximal inverse spin temperature ``β_max`` vs ``τc``
[Smirnov24, Fig. 2(c,d), Eq. (10), Fig. S1].

``β(B) ∝ B/(B² + D(B))`` with ``D = Φ B_L²/K`` (Eq. (6)). ``B0`` maximises ``log β`` over
``x = log B``: a log grid brackets it and Newton's method on ``d log β/dx = 0`` polishes it
(``_maximize.argmax_log``), differentiable in every parameter by implicit
differentiation.

Asymptotes (our readings, decided by ``tests/smirnov24/test_optimum.py``):

* short ``τc``: ``B0 = √3 B_L = B̃_L``, ``β_max = β0``;
* Eq. (10), long ``τc`` and ``N_I ≫ (Δ_B/B_L)²``:
  ``B0 = Δ_B / √(1 + 4Δ_B²/(τc B̃_L)²)`` (``τc`` in ``T2e*``), exact for Eq. (6) with
  ``Φ = 1/2`` and the Lorentzian (S16); with the exact (S15) ``B0`` saturates at
  ``0.920 Δ_B`` instead of ``Δ_B`` (the maximum of ``b <Ω_⊥²/Ω_e²>(b)``);
* small ``N_I`` (``aτc/ħ ≫ 1``, ``B0 ≪ Δ_B``): ``Φ → (4/5) N_I (T2e*/τc)²``,
  ``T1e^N → 3τc/2``, so ``B0 → √(6N_I/5) B_L = √(2N_I/5) B̃_L``; the text prints
  ``√(2N_I/5) B_L``, which is consistent only with ``B̃_L`` (like Eq. (7)).
"""

import equinox as eqx
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array, Float

from .._checks import error_if
from .._overhauser import TanhSinh
from ._maximize import argmax_log
from ._params import SQRT3, Parameters, entry_point, vectorize
from ._phi import AbstractPhi, PhiInterpolation
from ._relaxation import DEFAULT_RULE, _check_rule
from ._temperature import denominator_term


class OptimalField(eqx.Module):
    """Result of :func:`optimal_field`: ``field`` (``B0``, field unit), ``beta_max``
    (``ħγ_N β(B0)``, inverse field unit) and ``result`` (``optimistix.RESULTS``; with
    ``throw=True`` a failure raises)."""

    field: Float[Array, "..."]
    beta_max: Float[Array, "..."]
    result: optx.RESULTS


def _log_beta(phi, rule):
    def fn(x, p):
        b = jnp.exp(x)
        d, _, _ = denominator_term(p, b, phi, rule)
        return x - jnp.log(b * b + d)

    return fn


def field_bracket(params: Parameters):
    """``(log B_lo, log B_hi)`` of the search grid: from ``B_L/10`` to
    ``10 B̃_L (1 + τc)`` capped at ``30 Δ_B`` (``β ∝ 1/B`` far above ``Δ_B``), but never
    below ``10 B̃_L``."""
    bt = SQRT3 * params.b_local
    hi = jnp.maximum(
        jnp.minimum(10.0 * bt * (1.0 + params.tau_c), 30.0 * params.delta_b), 10.0 * bt
    )
    return jnp.log(0.1 * params.b_local), jnp.log(hi)


@entry_point()
def optimal_field(
    params: Parameters,
    *,
    num_grid: int = 64,
    phi: AbstractPhi = PhiInterpolation(),
    rule: TanhSinh = DEFAULT_RULE,
    throw: bool = True,
) -> OptimalField:
    r"""``B0`` and ``β_max`` (Fig. 2(c,d)) for every point of ``params`` (leaves broadcast).

    ``num_grid`` log-spaced fields bracket the maximum (evaluated with the rule two levels
    coarser than ``rule``, accurate to ~1e-4, plenty to bracket; Fig. 2(c,d) with
    ``num_grid ≥ 400`` is the benchmark of ``benchmarks/bench_smirnov24.py``); Newton's
    method with ``rule`` then
    converges to ``rtol = 1e-12`` in ``log B``. Gradients with respect to any
    parameter are exact (implicit function theorem at ``dβ/dB = 0``).

    ``num_grid`` must be an int >= 3 (``ValueError``). ``throw=True``: a point where Newton
    fails raises (``eqx.error_if``); ``throw=False``: that point has ``field`` and
    ``beta_max`` NaN and its ``result`` code, the others are unaffected.

    Example:
        >>> res = optimal_field(Parameters.paper(tau_c=1e-3))   # fields in B̃_L
        >>> round(float(res.field), 4)    # -> B̃_L at short τc
        1.0
    """
    _check_rule(rule)
    if not isinstance(phi, AbstractPhi):
        raise TypeError(f"`phi` must be an AbstractPhi; got {type(phi).__name__}.")
    fn = _log_beta(phi, rule)
    fn_grid = _log_beta(phi, TanhSinh(level=max(rule.level - 2, 1), t_max=rule.t_max))

    def kernel(p):
        lo, hi = field_bracket(p)
        x, logb, result = argmax_log(fn, lo, hi, num_grid, p, fn_grid=fn_grid)
        return jnp.exp(x), 4.0 * p.s_z * jnp.exp(logb), result

    b0, beta_max, result = vectorize(kernel, params)
    failed = result != optx.RESULTS.successful
    if throw:
        b0 = error_if(
            b0,
            failed,
            "optimal_field: Newton's method on dβ/dB = 0 did not converge (pass throw=False "
            "to keep failures as data in `result`).",
        )
    else:  # a point that failed is NaN, not the bracket's edge
        b0 = jnp.where(failed, jnp.nan, b0)
        beta_max = jnp.where(failed, jnp.nan, beta_max)
    return OptimalField(b0, beta_max, result)


def optimal_field_long(params: Parameters) -> Float[Array, "..."]:
    r"""Eq. (10): ``B0 = (1/T2e*)/√(γ_e² + 4/(τc B̃_L)²) = Δ_B/√(1 + 4Δ_B²/(τ B̃_L)²)``
    (long ``τc``, ``N_I ≫ (Δ_B/B_L)²``); linear ``τ B̃_L/2`` at first, ``Δ_B`` at last."""
    bt = SQRT3 * params.b_local
    return params.delta_b / jnp.sqrt(1.0 + (2.0 * params.delta_b / (params.tau_c * bt)) ** 2)


def optimal_field_small_n(params: Parameters) -> Float[Array, "..."]:
    r"""Saturation of ``B0`` for a small number of nuclei, ``√(2N_I/5) B̃_L`` (text after
    Eq. (10), read with ``B̃_L``; see the module docstring)."""
    return jnp.sqrt(0.4 * params.n_i) * SQRT3 * params.b_local


__all__ = ["OptimalField", "optimal_field", "optimal_field_long", "optimal_field_small_n"]
