"""Polarisation rate ``dP/dt`` and its locking points [Latta09, Sec. III, Figs. S3-S4].

The *mean-field* rate at a nuclear state with ``I_z = m`` averages the ladder rates over the
ladders that contain ``m`` with their fully-mixed-state weights (``P(I | m) ∝ D(I)``):

    d⟨I_z⟩/dt = Σ_k d_k γ_k⟨Q_k†Q_k⟩ (E[I(I+1) | m] − m(m + d_k)),    dP/dt = (d⟨I_z⟩/dt)/(N I_n),

with ``d_k = ±1`` the direction of process ``k``. For spin ½, ``E[I(I+1) | m] = N/2 + m²``
exactly, so ``dP/dt = (a − b) − (a + b) P``-type: a detuning-dependent pumping (reverse
Overhauser ``∝ W_abs``, Overhauser ``∝ W_abs × (ρ_↓↓ − ρ_↑↑)``) and decays ``∝ P``
(``γ_dec`` and the symmetric part of the flip-flops, the paper's "resident electron mediated
decay") — the structure of Eq. (13).

A zero of ``dP/dt`` as a function of ``P`` is a locking point; it is stable when
``d(dP/dt)/dP < 0``. At fixed ``P`` as a function of the effective detuning ``Δω̃ = Δω −
(A/N) I_z`` (Fig. S4b, d, e) the same points are stable when ``d(dP/dt)/dΔω̃ > 0``, because
a growing ``P`` lowers ``Δω̃`` (``dΔω̃/dP = −A I_n < 0``).
"""

from typing import NamedTuple

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import jit
from .._inputs import check_finite, check_value
from .._steady import AbstractSteadyStateSolver, DenseLU
from ._dicke import DickeSpace
from ._dot import absorption, steadystates
from ._parameters import Latta09Params, check_params
from ._rates import DIRECTIONS, GROUPS, PROCESSES, include_mask, process_coefficients
from ._stationary import check_space


class PolarizationRates(eqx.Module):
    """``dP/dt`` and its parts [µeV, i.e. per ħ/µeV] on a grid of states (shape ``(...)``):
    ``reverse_overhauser``, ``overhauser``, ``decay`` (γ_dec), ``total``; plus the conditional
    ``absorption`` [µeV] and the effective detuning ``effective_detuning`` [µeV]."""

    reverse_overhauser: Float[Array, "..."]
    overhauser: Float[Array, "..."]
    decay: Float[Array, "..."]
    total: Float[Array, "..."]
    absorption: Float[Array, "..."]
    effective_detuning: Float[Array, "..."]


def polarization_rates(
    params: Latta09Params,
    space: DickeSpace,
    polarization: Float[Array, "..."],
    effective_detuning: Float[Array, "..."] | None = None,
    *,
    include: tuple[str, ...] = PROCESSES,
    solver: AbstractSteadyStateSolver = DenseLU(),
) -> PolarizationRates:
    """Mean-field ``dP/dt`` at polarisations ``P`` (any shape) [Latta09, Eq. (13), Fig. S4].

    ``effective_detuning``: if given (broadcast with ``polarization``), the QD sees this
    ``Δω̃`` [µeV] instead of ``Δω − (A/N) P N I_n`` (Fig. S4's axes: ``dP/dt`` vs ``Δω̃`` at
    fixed ``P``). ``P`` enters the ladder factors ``E[I(I+1)|m] − m(m ± 1)`` with
    ``m = P N I_n`` (``E[I(I+1)|m]`` interpolated from :meth:`DickeSpace.thermal_i2_given_m`).

    Checks: ``polarization`` finite with ``|P| ≤ 1``, ``effective_detuning`` finite and
    broadcastable with it (``ValueError``, or ``eqx.error_if`` when traced); ``params``
    and ``space`` as in :func:`nuclear_steady_state`.
    """
    check_space(space)
    pol = check_value(
        jnp.asarray(polarization, float),
        lambda x: ~(jnp.abs(x) <= 1),
        "`polarization` must be finite with |P| <= 1.",
    )
    eff = None
    if effective_detuning is not None:
        eff = check_finite(jnp.asarray(effective_detuning, float), "effective_detuning")
        try:
            jnp.broadcast_shapes(pol.shape, eff.shape)
        except ValueError:
            raise ValueError(
                f"`polarization` {pol.shape} and `effective_detuning` {eff.shape} do not "
                "broadcast together."
            ) from None
    return _rates(params, space, pol, eff, include_mask(include), solver)


@jit
def _rates(params, space, pol, effective_detuning, mask, solver) -> PolarizationRates:
    params = check_params(params)
    n = space.n_nuclei
    m = pol * space.max_polarization_spin
    if effective_detuning is None:
        shift = params.hyperfine / n * m
    else:
        m, eff = jnp.broadcast_arrays(m, effective_detuning)
        shift = params.detuning - eff
    shift = jnp.broadcast_to(shift, m.shape)
    rho, _ = steadystates(params, shift, solver)
    coeffs = process_coefficients(params, n, rho, shift, mask)
    i2 = jnp.interp(m, space.m, space.thermal_i2_given_m())
    d = jnp.asarray(DIRECTIONS, float)
    per = d * coeffs * (i2[..., None] - m[..., None] * (m[..., None] + d))
    per = per / space.max_polarization_spin
    group = {g: sum(per[..., PROCESSES.index(k)] for k in names) for g, names in GROUPS.items()}
    return PolarizationRates(
        reverse_overhauser=group["reverse_overhauser"],
        overhauser=group["overhauser"],
        decay=group["decay"],
        total=jnp.sum(per, axis=-1),
        absorption=absorption(params, rho),
        effective_detuning=params.detuning - shift,
    )


class LockingPoint(NamedTuple):
    """A zero of ``dP/dt`` on a sampled axis: position ``x``, slope there, and ``stable``."""

    x: float
    slope: float
    stable: bool


def zero_crossings(
    x: Float[np.ndarray, " n"], rate: Float[np.ndarray, " n"], *, stable_if_slope: str
) -> list[LockingPoint]:
    """Sign changes of ``rate(x)`` (linear interpolation between samples; host-side).

    ``stable_if_slope``: ``"negative"`` for ``x = P`` (stable when ``d(dP/dt)/dP < 0``),
    ``"positive"`` for ``x = Δω̃`` at fixed ``P`` (see the module docstring).
    """
    if stable_if_slope not in ("negative", "positive"):
        raise ValueError("`stable_if_slope` must be 'negative' or 'positive'.")
    x = np.asarray(x, float)
    y = np.asarray(rate, float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"`x` and `rate` must be 1-D of one shape; got {x.shape}, {y.shape}.")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("`x` and `rate` must be finite (a NaN would hide a sign change).")
    out = []
    s = np.sign(y)
    for i in np.nonzero(s[:-1] * s[1:] < 0)[0]:
        x0 = x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i])
        slope = (y[i + 1] - y[i]) / (x[i + 1] - x[i])
        stable = slope < 0 if stable_if_slope == "negative" else slope > 0
        out.append(LockingPoint(float(x0), float(slope), bool(stable)))
    return out


def locking_points(
    params: Latta09Params,
    space: DickeSpace,
    polarizations: Float[np.ndarray, " n"] | None = None,
    *,
    solver: AbstractSteadyStateSolver = DenseLU(),
) -> list[LockingPoint]:
    """Fixed points of the mean-field polarisation dynamics at the laser detuning
    ``params.detuning``: zeros of ``dP/dt(P)``, stable where ``d(dP/dt)/dP < 0``.

    ``polarizations``: the sampled ``P`` axis (default: 2001 points over the kept range
    ``|I_z| ≤ I_cut``); a given one must be 1-D with at least 2 points (``ValueError``).
    """
    check_space(space)
    if polarizations is None:
        pmax = space.i_cut / space.max_polarization_spin
        polarizations = np.linspace(-pmax, pmax, 2001)
    polarizations = np.asarray(polarizations, float)
    if polarizations.ndim != 1 or polarizations.size < 2:
        raise ValueError(
            f"`polarizations` must be 1-D with >= 2 points; got shape {polarizations.shape}."
        )
    r = polarization_rates(params, space, jnp.asarray(polarizations), solver=solver)
    return zero_crossings(polarizations, np.asarray(r.total), stable_if_slope="negative")
