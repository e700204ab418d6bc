r"""Conversions between the paper's dimensionless units and SI [Smirnov24].

The package works with times in ``T2e* = ħ/(a√N_I)`` (Eq. (S14)), fields in a unit of the
caller's choice, and ``ħγ_N β`` in the inverse field unit. These helpers bring in the
physical constants and isotope data of :mod:`jaxspin.constants` (CODATA 2018, IUPAC 2001).
All take and return Python floats or arrays (elementwise). Each refuses, with a
``ValueError`` naming the argument, values outside its physical range (NaN included):
sizes, times, energies and fields must be finite and ``> 0``, a nuclear ``spin`` a
positive half-integer, ``|s_z| ≤ 1/2``, ``g_e`` and ``gamma_n`` finite and non-zero.
"""

import jax.numpy as jnp
import numpy as np

from .. import constants
from .._inputs import check_finite, check_positive, check_value
from .._spin import check_half_integer


def _positive(x, name: str) -> np.ndarray:
    return np.asarray(check_positive(np.asarray(x, float), name))


def _nonzero(x, name: str) -> np.ndarray:
    return np.asarray(
        check_value(
            np.asarray(x, float),
            lambda v: ~jnp.isfinite(v) | (v == 0),
            f"`{name}` must be finite and non-zero.",
        )
    )


def _check_spin(spin) -> float:
    return check_half_integer(spin, "spin", what="(1/2, 1, ...)")


def effective_nuclei(n: float, spin: float) -> float:
    r"""``N_I = 4 N I(I+1)/3`` (text after Eq. (6)); equals ``N`` for ``I = 1/2``."""
    spin = _check_spin(spin)
    return 4.0 * _positive(n, "n") * spin * (spin + 1.0) / 3.0


def t2e_star(hyperfine_j: float, n_i: float) -> float:
    r"""``T2e* = ħ/(a√N_I)`` [s] for the hyperfine constant per nucleus ``a`` [J], Eq. (S14)."""
    return constants.HBAR / (_positive(hyperfine_j, "hyperfine_j") * np.sqrt(_positive(n_i, "n_i")))


def t2e_star_from_total(hyperfine_total_uev: float, n: float, spin: float) -> float:
    r"""``T2e*`` [s] from the total hyperfine energy ``A = aN`` [μeV] (e.g. ~100 μeV for
    GaAs, Sec. S2), ``N`` nuclei of spin ``I``."""
    a = _positive(hyperfine_total_uev, "hyperfine_total_uev") * constants.UEV / _positive(n, "n")
    return t2e_star(a, effective_nuclei(n, spin))


def electron_field(t2e_star_s: float, g_e: float) -> float:
    r"""``Δ_B = 1/(|γ_e| T2e*) = ħ/(|g_e| μ_B T2e*)`` [T]: the field unit in which
    ``Ω_B T2e* = B/Δ_B``."""
    if np.any(np.asarray(g_e) == 0):
        raise ValueError("`g_e` must be non-zero (use delta_b = inf for no electron Zeeman).")
    g = _nonzero(g_e, "g_e")
    return constants.HBAR / (np.abs(g) * constants.MU_B * _positive(t2e_star_s, "t2e_star_s"))


def inverse_temperature_si(beta_reduced, gamma_n: float, field_unit_tesla: float):
    r"""``β`` [1/J] from ``ħγ_N β`` in inverse field units (``field_unit_tesla`` tesla per
    field unit) and the nuclear gyromagnetic ratio ``γ_N`` [rad s⁻¹ T⁻¹]."""
    beta = np.asarray(check_finite(np.asarray(beta_reduced, float), "beta_reduced"))
    gamma = _nonzero(gamma_n, "gamma_n")
    return beta / (constants.HBAR * gamma * _positive(field_unit_tesla, "field_unit_tesla"))


def spin_temperature_kelvin(beta_reduced, isotope: str, field_unit_tesla: float):
    r"""Nuclear spin temperature ``θ_N = 1/(k_B β)`` [K] of ``isotope`` (e.g. ``"75As"``)
    from ``ħγ_N β`` in inverse field units (Eq. (1)); negative ``β`` gives negative
    temperatures."""
    gamma = constants.isotope(isotope).gamma
    return 1.0 / (constants.K_B * inverse_temperature_si(beta_reduced, gamma, field_unit_tesla))


def mean_nuclear_spin(polarization, spin: float, s_z: float):
    r"""``<I_z> = I0 · (<I_z>/I0)`` with ``I0 = (4/3) I(I+1) <S_z>`` (Fig. 2(a))."""
    spin = _check_spin(spin)
    s_z = np.asarray(
        check_value(
            np.asarray(s_z, float),
            lambda v: ~(jnp.abs(v) <= 0.5),
            "`s_z` must be in [-1/2, 1/2] (a mean electron spin).",
        )
    )
    pol = np.asarray(check_finite(np.asarray(polarization, float), "polarization"))
    return 4.0 / 3.0 * spin * (spin + 1.0) * s_z * pol


def heating_time_unit(t2e_star_s: float, tau_c: float, n_i: float, filling: float) -> float:
    r"""``T0 = 2 N_I T2e*²/(f τc)`` [s] (Fig. 3 normalisation), ``tau_c`` in ``T2e*``."""
    t2 = _positive(t2e_star_s, "t2e_star_s")
    return (
        2.0
        * _positive(n_i, "n_i")
        * t2
        / (_positive(filling, "filling") * _positive(tau_c, "tau_c"))
    )


__all__ = [
    "effective_nuclei",
    "t2e_star",
    "t2e_star_from_total",
    "electron_field",
    "inverse_temperature_si",
    "spin_temperature_kelvin",
    "mean_nuclear_spin",
    "heating_time_unit",
]
