r"""Electron spin relaxation by nuclei, ``T1e^N``, and nuclear relaxation by electrons,
``T1N^e`` [Smirnov24, Eqs. (3), (S12)-(S16), (S27), Sec. S2].

All averages are over the Overhauser field distribution (S23) (``σ = 1/(2T2e*)``), with
``Ω_e = Ω_B ẑ + Ω_N``, ``Ω_B T2e* = B/Δ_B``; they are computed by the engine's radial
quadrature (:func:`jaxspin.overhauser_radial`): with ``r = |Ω_e|`` and ``μ = Ω_z/r`` the
integrands are ``r²(1 - μ²)/(1 + r²τ²)`` and ``1/(1 + r²τ²)``, whose angular parts are
exact, leaving one radial integral split at ``r = 1/τ``.

Two averages carry everything in this paper (times in ``T2e*``)::

    K = <Ω_⊥² / (1 + Ω_e² τ²)>,   Λ = <1 / (1 + Ω_e² τ²)>,

so that ``1/T1e^N = τ K`` (S12), ``Φ = Λ + 1/2`` (Eq. (9)) and the combination
``(T1e^N/τc)(τc/T2e*)² = 1/K`` of Eq. (6), finite at ``τ = 0`` (where ``K = 1/2``).
"""

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import constants
from .._inputs import as_real, check_finite, check_positive, check_value
from .._overhauser import OverhauserField, TanhSinh, overhauser_radial
from ._maximize import argmax_log
from ._params import Parameters, _leaves, entry_point, vectorize


DEFAULT_RULE = TanhSinh(level=4)
"""Radial rule used by this package: error below 1e-12 relative on (K, Λ) for
``τ ∈ [0, 1e5]``, ``|Ω_B| T2e* ≤ 1e3`` (``tests/smirnov24/test_relaxation.py``)."""


def overhauser_distribution(params: Parameters, field: ArrayLike) -> OverhauserField:
    """The Overhauser field distribution (S23) at field ``B`` in units of ``1/T2e*``:
    ``Ω_B = B/Δ_B``, mean ``params.mean_overhauser``, ``σ = 1/2`` (single point)."""
    return OverhauserField.from_t2star(
        1.0, omega_b=field / params.delta_b, mean=params.mean_overhauser
    )


def mean_overhauser_from_beta(
    beta: ArrayLike, field: ArrayLike, n_i: ArrayLike
) -> Float[Array, "..."]:
    r"""Mean Overhauser field ``<Ω_N> T2e*`` set by the spin temperature, Eqs. (S23)-(S24):
    ``<Ω_N> = a N <I_z>/ħ`` with ``<I_z> = I(I+1) ħγ_N B β/3`` gives
    ``<Ω_N> T2e* = √N_I ħγ_N β B / 4`` (``beta`` is ``ħγ_N β`` in inverse field units).
    Refuses non-finite ``beta``/``field`` and ``n_i`` not finite and ``> 0`` (``ValueError``,
    or ``eqx.error_if`` when traced)."""
    beta = check_finite(as_real(beta, "beta"), "beta")
    field = check_finite(as_real(field, "field"), "field")
    n_i = check_positive(as_real(n_i, "n_i"), "n_i")
    return jnp.sqrt(n_i) * beta * field / 4.0


def _lorentz_moments(tau):
    def g(r, mu, sin2):
        lor = 1.0 / (1.0 + (r * tau) ** 2)
        return r * r * sin2 * lor, lor

    return g


def averages(params: Parameters, field: ArrayLike, rule: TanhSinh = DEFAULT_RULE):
    """``(K, Λ)`` at one point (see the module docstring), in units of ``1/T2e*²`` and 1."""
    tau = params.tau_c
    dist = overhauser_distribution(params, field)
    # the Lorentzian's width 1/τ (inf at τ = 0: out of the radial window, clipped)
    est = overhauser_radial(_lorentz_moments(tau), dist, breakpoints=(1.0 / tau,), rule=rule)
    return est.value


def _check_rule(rule):
    if not isinstance(rule, TanhSinh):
        raise TypeError(f"`rule` must be a jaxspin.TanhSinh; got {type(rule).__name__}.")


@entry_point("field")
def electron_relaxation_time(
    params: Parameters, field: ArrayLike = 0.0, *, rule: TanhSinh = DEFAULT_RULE
) -> Float[Array, "..."]:
    r"""``T1e^N / T2e*`` for any ``τc`` and field, Eq. (3) = (S12):
    ``1/T1e^N = <Ω_⊥² τc / (1 + Ω_e² τc²)>``. ``inf`` at ``τc = 0``.

    Broadcasts over ``field`` (units of ``params``) and the leaves of ``params``.
    """
    _check_rule(rule)

    def kernel(p, b):
        k, _ = averages(p, b, rule)
        return 1.0 / (p.tau_c * k)

    return vectorize(kernel, params, field, names=("field",))


@entry_point("field")
def electron_relaxation_time_short(params: Parameters, field: ArrayLike = 0.0):
    r"""Short-τc limit, Eq. (S13): ``T1e^N = 2 T2e*² (1 + Ω_B² τc²)/τc`` (in ``T2e*``;
    a mean Overhauser field is added to ``Ω_B``)."""

    def kernel(p, b):
        c = b / p.delta_b + p.mean_overhauser
        return 2.0 * (1.0 + (c * p.tau_c) ** 2) / p.tau_c

    return vectorize(kernel, params, field, names=("field",))


@entry_point("field")
def electron_relaxation_time_long(
    params: Parameters, field: ArrayLike = 0.0, *, rule: TanhSinh = DEFAULT_RULE
):
    r"""Long-τc limit, Eq. (S15): ``T1e^N = τc / <Ω_⊥²/Ω_e²>`` (in ``T2e*``)."""
    _check_rule(rule)

    def kernel(p, b):
        dist = overhauser_distribution(p, b)
        ratio = overhauser_radial(lambda r, mu, sin2: sin2, dist, rule=rule).value
        return p.tau_c / ratio

    return vectorize(kernel, params, field, names=("field",))


@entry_point("field")
def electron_relaxation_time_lorentzian(params: Parameters, field: ArrayLike = 0.0):
    r"""Lorentzian approximation of (S15), Eq. (S16):
    ``1/T1e^N = (2/(3τc)) / (1 + Ω_B² T2e*²)`` (in ``T2e*``).

    It is exact at ``B = 0`` (``3τc/2``) and within 2.8 % of ``1/T1e^N(B = 0)`` at every
    field, but its tail is 4/3 of the exact one (``<Ω_⊥²/Ω_e²> → 1/(2 Ω_B² T2e*²)``), so
    the relative error of ``T1e^N`` itself is 19 % at ``Ω_B T2e* = 3`` and tends to 25 %
    (``tests/smirnov24/test_relaxation.py``)."""

    def kernel(p, b):
        c = b / p.delta_b + p.mean_overhauser
        return 1.5 * p.tau_c * (1.0 + c * c)

    return vectorize(kernel, params, field, names=("field",))


def nuclear_relaxation_time(
    params: Parameters,
    field: ArrayLike = 0.0,
    filling: ArrayLike = 1.0,
    *,
    rule: TanhSinh = DEFAULT_RULE,
) -> Float[Array, "..."]:
    r"""``T1N^e / T2e*``, Eq. (S27): ``T1N^e = N_I T1e^N / f`` with the filling factor
    ``f = τc/τR`` of the dots. Refuses ``filling`` not finite and ``> 0`` and an infinite
    ``params.n_i`` (``ValueError``, or ``eqx.error_if`` when traced)."""
    _leaves(params)
    filling = check_positive(as_real(filling, "filling"), "filling")
    n_i = check_value(
        params.n_i,
        lambda x: ~jnp.isfinite(x),
        "nuclear_relaxation_time needs a finite `params.n_i` (T1N^e = N_I T1e^N / f).",
    )
    t1e = electron_relaxation_time(params, field, rule=rule)
    return n_i * t1e / filling


@entry_point("field")
def nuclear_relaxation_minimum(
    params: Parameters,
    field: ArrayLike = 0.0,
    *,
    num_grid: int = 48,
    rule: TanhSinh = DEFAULT_RULE,
):
    r"""Minimum over ``τc`` of ``T1N^e``, Sec. S2, in units of ``N_I T2e*/f``.

    ``T1N^e f/(N_I T2e*) = T1e^N/T2e*`` decreases as ``2/τ`` at short and grows as
    ``3τ/2`` at long ``τ``; the minimum is found by Newton's method on
    ``d log(1/T1e^N)/d log τ = 0`` from a log grid (``τ ∈ [1e-2, 1e2]``), differentiable
    by implicit differentiation. ``params.tau_c`` is ignored.

    Returns ``(tau_min, t1_min, result)`` (``τc/T2e*``, ``T1e^N/T2e*`` at the minimum,
    optimistix result code). The paper quotes ``≈ 4.9 N_I T2e*/f`` at ``τc ≈ 0.88 T2e*``;
    this function gives 4.02 at 1.12 at ``B = 0`` (see the smirnov24 section of README.md).
    """
    _check_rule(rule)

    def kernel(p, b):
        def log_rate(x, p):
            tau = jnp.exp(x)
            k, _ = averages(_with_tau(p, tau), b, rule)
            return x + jnp.log(k)

        x, value, result = argmax_log(log_rate, math.log(1e-2), math.log(1e2), num_grid, p)
        return jnp.exp(x), jnp.exp(-value), result

    return vectorize(kernel, params, field, names=("field",))


def _with_tau(params: Parameters, tau) -> Parameters:
    return eqx.tree_at(lambda p: p.tau_c, params, tau)


def spin_temperature_threshold(
    hyperfine_total_uev: float = 100.0,
    spin: float = 1.5,
    t2n: float = 1e-4,
    t1_min: float | None = None,
) -> float:
    r"""The constant ``C`` of the condition ``N^{3/2}/f > C`` for a nuclear spin temperature
    to establish (``T2,N < min T1N^e``), Sec. S2.

    With ``a = A/N`` (``A = aN`` the total hyperfine constant), ``N_I = 4NI(I+1)/3`` and
    ``T2e* = ħ/(a√N_I)``: ``min T1N^e = m N_I T2e*/f = m √(4I(I+1)/3) ħ N^{3/2}/(A f)``
    with ``m`` the minimum of :func:`nuclear_relaxation_minimum` (computed at ``B = 0``
    unless ``t1_min`` is given), so ``C = T2,N A / (m √(4I(I+1)/3) ħ)``.

    Defaults are the paper's GaAs numbers (Sec. S2): ``aN ≈ 100 μeV``, ``T2,N ≈ 0.1 ms``,
    ``I = 3/2``. They give ``C ≈ 1.7e6`` (the paper states ``1e7``).
    """
    given = dict(hyperfine_total_uev=hyperfine_total_uev, spin=spin, t2n=t2n)
    if t1_min is not None:
        given["t1_min"] = t1_min
    for name, value in given.items():
        check_positive(np.asarray(value, float), name)
    if t1_min is None:
        _, t1, _ = nuclear_relaxation_minimum(Parameters(1.0))
        t1_min = float(t1)
    c = 4.0 * spin * (spin + 1.0) / 3.0
    a_energy = hyperfine_total_uev * constants.UEV
    return t2n * a_energy / (t1_min * math.sqrt(c) * constants.HBAR)
