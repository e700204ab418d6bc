"""The phenomenological rate model of [Latta09, Eq. (13)-(15)]: a fast companion.

    dP/dt = α_ROH W_abs(Δω̃) − α_OH W_abs(Δω̃)² − γ_dec P,        Δω̃ = Δω − A I_n P,
    W_abs(Δω̃) = Ω_L² Γ / (4 Δω̃² + 2 Ω_L² + Γ²),    W_peak = Ω_L² Γ / (Γ² + 2 Ω_L²),
    P⁻_max = (α_OH W_peak² − α_ROH W_peak) / γ_dec        (Eq. (14), a magnitude).

*Reading of the printed signs.* Eq. (13) prints ``+ α_OH W²`` while Eq. (14) prints
``α_OH W² − α_ROH W``: both hold with ``α_OH, α_ROH ≥ 0`` and the Overhauser term entering
Eq. (13) with a minus sign (it polarises along −z), which is the form used here.

*Calibration from the master equation* (:meth:`PhenomenologicalModel.from_params`).
The master equation's mean-field rate at ``P`` (spin ½) is ``(a − b) − (a + b) P`` with,
exactly, ``a − b = ε ρ_tt [Γ − γ_spin γ_hhlh/κ]`` (``ε = (A/(Nω_z))²``, ``γ_spin = c_spin
W_abs``; ``ρ_↓↓ − ρ_↑↑ = γ_hhlh ρ_tt/κ`` in the QD steady state). For weak driving and weak
optical pumping (``γ_hhlh W_abs ≪ κ Γ``) the symmetric co-tunnelling keeps half of the
population in |↓⟩, so ``Γ ρ_tt ≈ W_abs/2``: ``α_ROH = ε/2``, ``α_OH = ε c_spin γ_hhlh/(2κΓ)``.
The decay ``a + b = γ_dec + ε(Γ ρ_tt + γ_spin(ρ_↑↑ + ρ_↓↓))`` contains the electron-
mediated part, which the paper calls a detuning-independent offset: it is evaluated at the
P = 0 locking point (``W_abs = W_lock``). Consequences (``tests/latta09/test_phenomenological.py``):
the P = 0 locking points ``W_abs = α_ROH/α_OH = κΓ/(c_spin γ_hhlh)`` coincide *exactly*
with the master equation's; the rates agree where ``Γ ρ_tt ≈ W_abs/2`` (weak drive, weak
pumping) and deviate by the factor ``2Γρ_tt/W_abs`` otherwise.
"""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._inputs import check_value
from ._dicke import _check_spin
from ._dot import w_abs, w_peak
from ._parameters import Latta09Params


_NONNEGATIVE = (lambda x: ~((x >= 0) & jnp.isfinite(x)), "finite and >= 0")
_POSITIVE = (lambda x: ~((x > 0) & jnp.isfinite(x)), "finite and > 0")
_CHECKS = {
    "alpha_roh": _NONNEGATIVE,
    "alpha_oh": _NONNEGATIVE,
    "gamma_dec": _POSITIVE,
    "shift_per_p": (lambda x: ~jnp.isfinite(x), "finite"),
    "rabi": _NONNEGATIVE,
    "gamma": _POSITIVE,
}


class PhenomenologicalModel(eqx.Module):
    """Eq. (13)-(15) with coefficients ``alpha_roh``, ``alpha_oh`` (dimensionless, ≥ 0),
    ``gamma_dec`` [µeV, > 0], the transition shift per unit polarisation
    ``shift_per_p = A I_n`` [µeV], and the laser ``rabi`` (≥ 0), ``gamma`` (> 0) [µeV].

    Construction refuses values outside these ranges, or non-finite ones, naming the field
    (``ValueError``, or ``eqx.error_if`` when traced)."""

    alpha_roh: Float[Array, ""]
    alpha_oh: Float[Array, ""]
    gamma_dec: Float[Array, ""]
    shift_per_p: Float[Array, ""]
    rabi: Float[Array, ""]
    gamma: Float[Array, ""]

    def __init__(self, alpha_roh, alpha_oh, gamma_dec, shift_per_p, rabi, gamma):
        values = dict(
            alpha_roh=alpha_roh,
            alpha_oh=alpha_oh,
            gamma_dec=gamma_dec,
            shift_per_p=shift_per_p,
            rabi=rabi,
            gamma=gamma,
        )
        for name, value in values.items():
            bad, what = _CHECKS[name]
            x = jnp.asarray(value, float)
            msg = f"PhenomenologicalModel: `{name}` must be {what}."
            setattr(self, name, check_value(x, bad, msg))

    @classmethod
    def from_params(
        cls, params: Latta09Params, n_nuclei: int, spin: float = 0.5
    ) -> "PhenomenologicalModel":
        """Coefficients implied by the master-equation parameters (module docstring).

        Needs ``γ_hhlh > 0`` and ``c_spin > 0`` (else ``α_OH = 0``: no P = 0 locking point
        to calibrate at; ``ValueError``, or ``eqx.error_if`` when traced), ``n_nuclei`` a
        positive int and ``spin`` a positive half-integer."""
        if not isinstance(params, Latta09Params):
            raise TypeError(f"`params` must be a Latta09Params; got {type(params).__name__}.")
        _check_spin(n_nuclei, spin)
        eps = params.hyperfine_scale(n_nuclei)
        alpha_roh = eps / 2
        ratio = check_value(
            params.spin_dephasing * params.gamma_hhlh / (params.kappa * params.gamma),
            lambda r: ~(r > 0),
            "PhenomenologicalModel.from_params needs gamma_hhlh > 0 and spin_dephasing > 0 "
            "(otherwise alpha_OH = 0 and there is no locking point to calibrate at).",
        )
        alpha_oh = alpha_roh * ratio
        w_lock = alpha_roh / alpha_oh
        electron = eps * (0.5 + params.spin_dephasing) * w_lock
        return cls(
            alpha_roh=alpha_roh,
            alpha_oh=alpha_oh,
            gamma_dec=params.gamma_dec(n_nuclei) + electron,
            shift_per_p=params.hyperfine * spin,
            rabi=params.rabi,
            gamma=params.gamma,
        )

    def w_abs(self, effective_detuning: Float[Array, "..."]) -> Float[Array, "..."]:
        """``W_abs(Δω̃)`` [µeV], Eq. (15)'s line shape."""
        return w_abs(effective_detuning, self.rabi, self.gamma)

    @property
    def w_peak(self) -> Float[Array, ""]:
        """``W_peak`` [µeV], Eq. (15)."""
        return w_peak(self.rabi, self.gamma)

    def rate(
        self, polarization: Float[Array, "..."], detuning: Float[Array, "..."]
    ) -> Float[Array, "..."]:
        """``dP/dt`` [µeV] at polarisation ``P`` and *bare* laser detuning ``Δω``, Eq. (13)."""
        w = self.w_abs(detuning - self.shift_per_p * polarization)
        return self.alpha_roh * w - self.alpha_oh * w**2 - self.gamma_dec * polarization

    def rate_at_effective(
        self, polarization: Float[Array, "..."], effective_detuning: Float[Array, "..."]
    ) -> Float[Array, "..."]:
        """``dP/dt`` at fixed ``P`` as a function of ``Δω̃`` (Fig. S4b, d, e)."""
        w = self.w_abs(effective_detuning)
        return self.alpha_roh * w - self.alpha_oh * w**2 - self.gamma_dec * polarization

    @property
    def w_lock(self) -> Float[Array, ""]:
        """Absorption rate at the P = 0 locking points, ``α_ROH/α_OH`` [µeV]."""
        return self.alpha_roh / self.alpha_oh

    @property
    def locking_detuning(self) -> Float[Array, ""]:
        """``δ_locking ≥ 0`` with ``W_abs(±δ) = W_lock`` (NaN if ``W_peak < W_lock``: no lock)."""
        r, g = self.rabi, self.gamma
        arg = (r**2 * g / self.w_lock - 2 * r**2 - g**2) / 4
        return jnp.where(arg >= 0, jnp.sqrt(jnp.abs(arg)), jnp.nan)

    @property
    def p_max_negative(self) -> Float[Array, ""]:
        """``P⁻_max`` of Eq. (14) (magnitude of the largest Overhauser polarisation)."""
        wp = self.w_peak
        return (self.alpha_oh * wp**2 - self.alpha_roh * wp) / self.gamma_dec

    @property
    def p_max_positive(self) -> Float[Array, ""]:
        """Largest reverse-Overhauser polarisation ``max_W (α_ROH W − α_OH W²)/γ_dec``
        over ``0 ≤ W ≤ W_peak``."""
        w = jnp.minimum(self.alpha_roh / (2 * self.alpha_oh), self.w_peak)
        return (self.alpha_roh * w - self.alpha_oh * w**2) / self.gamma_dec

    def dragging_range(self, num: int = 4001) -> tuple[float, float]:
        """Laser detunings ``(Δω_blue, Δω_red)`` [µeV] up to which the stable locked branch
        (the fixed point near ``Δω̃ = +δ_locking``) exists: the maximum dragging to the blue
        (Overhauser, ``P < 0``) and to the red (reverse Overhauser, ``P > 0``). Host-side;
        from the branch ``Δω(P) = Δω̃_lock(P) + A I_n P``, ``Δω̃_lock(P) ≥ 0`` solving
        ``α_ROH W − α_OH W² = γ_dec P`` on the larger-``W`` root."""
        if isinstance(num, bool) or not isinstance(num, int | np.integer) or num < 2:
            raise ValueError(f"`num` must be an int >= 2; got {num!r}.")
        a, b, g = (float(self.alpha_roh), float(self.alpha_oh), float(self.gamma_dec))
        wp = float(self.w_peak)
        p_lo = -float(self.p_max_negative)
        p_hi = float(self.p_max_positive)
        if not np.isfinite(p_lo) or p_lo > 0 or p_hi < 0:
            return (float("nan"), float("nan"))
        ps = np.linspace(p_lo, p_hi, num)
        disc = a * a - 4 * b * g * ps
        w = (a + np.sqrt(np.clip(disc, 0, None))) / (2 * b)  # the larger root: near resonance
        w = np.clip(w, 1e-300, wp)
        r, gg = float(self.rabi), float(self.gamma)
        eff = np.sqrt(np.clip((r * r * gg / w - 2 * r * r - gg * gg) / 4, 0, None))
        det = eff + float(self.shift_per_p) * ps
        return float(det.min()), float(det.max())
