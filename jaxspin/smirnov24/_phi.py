r"""The heating coefficient Φ of the nuclear spin-spin reservoir [Smirnov24, Eqs. (5), (9),
(S31)-(S39)].

``q_SS = Φ N I(I+1)/3 (γ_N B_L)² a² τc² β/τR`` (Eq. (5)). Φ has two parts:

* the transverse electron spin, precessing about ``Ω_e``: ``Λ = <1/(1 + Ω_e²τc²)>``
  (1 at short, 0 at long ``τc``);
* the electron spin component along ``Ω_e``, which rotates all nuclear spins by the same
  angle ``φ(t)``; the spin-spin energy after a uniform rotation is
  ``E_SS(φ) = E_SS(0) χ₂(φ)/5`` with ``χ₂(φ) = 1 + 2cos φ + 2cos 2φ`` (Eq. (S34), the
  character of the rank-2 representation), averaged over the dwell time ``t`` (exponential,
  mean ``τc``):

  - small angles (``aτc/ħ ≪ 1``): ``1/2`` (Eq. (9));
  - ``φ = at/(2ħ)`` (rotation about the electron spin at ``B = 0``):
    ``(2/5)(ħ/aτc)² (2 - 1/(1+x²) - 4/(4+x²))``, ``x = aτc/ħ`` (Eqs. (S37), (S38)),
    written here as the equivalent ``(2/5)(1/(1+x²) + 1/(4+x²))`` (no cancellation);
  - the exact box-model rotation, Eq. (S39) [Shumilin & Smirnov, PRL 126, 216804]: our
    derivation (the smirnov24 section of README.md) — nuclear spins rotate at ``ω_e = a/(2ħ)`` about
    ``n = Ω_e/Ω_e`` while ``n`` precesses about z at ``ω_n = ω_e Ω_B/Ω_e`` — gives a net
    rotation ``R_z(ω_n t) R_m(Ω' t)`` with ``m = Ω_N/Ω_N``, ``Ω' = ω_e Ω_N/Ω_e``; its angle
    obeys ``cos(φ/2) = P cos(u t) + Q cos(v t)``, ``P, Q = (1 ∓ Ω_{N,z}/Ω_N)/2``,
    ``u, v = (ω_n ∓ Ω')/2``. Then ``cos φ`` and ``cos 2φ`` are trigonometric polynomials
    whose exponential time averages are sums of Lorentzians, computed exactly, and the
    Overhauser average is the engine's 2-D quadrature (:func:`jaxspin.overhauser_quad`).
    At ``B = 0`` it reduces to (S37) (test), and at ``aτc/ħ → 0`` to ``1/2`` at any field.

With times in ``T2e*``: ``aτc/ħ = τ/√N_I`` and ``ω_e T2e* = 1/(2√N_I)``.
"""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._inputs import as_real, check_value
from .._overhauser import OverhauserField, TanhSinh, overhauser_quad
from ._params import Parameters, entry_point, vectorize
from ._relaxation import DEFAULT_RULE, _check_rule, averages


def rotation_interpolated(tau_c, n_i):
    r"""Rotation part of Φ, Eq. (S38): ``(2/5)(1/(1+x²) + 1/(4+x²))`` with
    ``x² = (aτc/ħ)² = τ²/N_I`` (``1/2`` for ``N_I = inf``, Eq. (9); ``(4/5)/x²`` at large
    ``x``, Eq. (S35)). Broadcasts; refuses ``tau_c`` not finite and ``>= 0`` and
    ``n_i`` not ``> 0`` (``ValueError``, or ``eqx.error_if`` when traced)."""
    tau_c = check_value(
        as_real(tau_c, "tau_c"),
        lambda x: ~((x >= 0) & jnp.isfinite(x)),
        "`tau_c` must be >= 0 and finite.",
    )
    n_i = check_value(as_real(n_i, "n_i"), lambda x: ~(x > 0), "`n_i` must be > 0 (inf allowed).")
    return _rotation_interpolated(tau_c, n_i)


def _rotation_interpolated(tau_c, n_i):
    x2 = jnp.asarray(tau_c) ** 2 / jnp.asarray(n_i)
    return 0.4 * (1.0 / (1.0 + x2) + 1.0 / (4.0 + x2))


def _rotation_integrand(omega_b, s):
    """``(4 - 2<cos φ>_t - 2<cos 2φ>_t) / (20 ω_e² τc²)`` as a function of
    ``(Ω_{N,z}, Ω_{N,⊥})`` of the Overhauser field, with frequencies in units of ``ω_e``
    and ``s = ω_e τc``.

    ``cos φ = Σ_j c_j cos(ν_j ω_e t)`` with ``Σ c_j = 1``, so
    ``1 - <cos φ> = Σ c_j q(ν_j)`` and ``1 - <cos 2φ> = 2(1 - <cos² φ>) =
    Σ_jk c_j c_k [q(ν_j - ν_k) + q(ν_j + ν_k)]``, ``q(ν) = ν²s²/(1 + ν²s²)`` (divided by
    ``s²`` here, so ``s = 0`` is the small-angle limit). Every frequency is an integer
    combination of ``ν_n = Ω_B/Ω_e`` and ``ν' = Ω_N/Ω_e``, so the resonances (zeros of a
    combination, where ``q`` has a dip of width ``1/s``) lie on the spheres
    ``|Ω_N| = |Ω_B|/2, |Ω_B|, 2|Ω_B|`` about ``Ω_N = 0``.
    """

    def q(nu):
        return nu * nu / (1.0 + (nu * s) ** 2)

    def f(nz, p):
        z = nz + omega_b
        oe = jnp.sqrt(z * z + p * p)
        on = jnp.sqrt(nz * nz + p * p)
        nu_n = omega_b / oe
        nu_p = on / oe
        zeta = jnp.where(on > 0, nz / jnp.where(on > 0, on, 1.0), 1.0)
        pp, qq = 0.5 * (1.0 - zeta), 0.5 * (1.0 + zeta)
        u, v = 0.5 * (nu_n - nu_p), 0.5 * (nu_n + nu_p)
        c = jnp.stack([pp * pp, qq * qq, 2 * pp * qq, 2 * pp * qq, -2 * pp * qq])
        nu = jnp.stack([2 * u, 2 * v, u - v, u + v, jnp.zeros_like(u)])
        first = jnp.sum(c * q(nu))
        cc = c[:, None] * c[None, :]
        second = jnp.sum(cc * (q(nu[:, None] - nu[None, :]) + q(nu[:, None] + nu[None, :])))
        return (first + second) / 10.0

    return f


class AbstractPhi(eqx.Module):
    """How the rotation part of Φ (beyond ``Λ = <1/(1 + Ω_e²τc²)>``) is computed."""

    @abc.abstractmethod
    def rotation(self, params: Parameters, field, rule: TanhSinh) -> Float[Array, ""]:
        """Rotation part of Φ at one point."""


class PhiInterpolation(AbstractPhi):
    """Eq. (9) for ``n_i = inf``, the interpolation (S38) otherwise (the paper's Fig. 2)."""

    def rotation(self, params, field, rule):
        return _rotation_interpolated(params.tau_c, params.n_i)  # checked by Parameters


class PhiExact(AbstractPhi):
    """The exact uniform rotation of the box model, Eqs. (S34) + (S39) (Fig. S1 dots):
    a 2-D Overhauser average (``angular_rule`` for the polar angle, never finer than the
    radial rule passed in).

    The average runs over ``Ω_N`` in spherical coordinates about ``Ω_N = 0`` (the
    engine's 2-D quadrature with ``omega_b = 0``), where the resonances of the time
    average (``|Ω_N| = |Ω_B|/2, |Ω_B|, 2|Ω_B|``, width ``∝ 1/(ω_e τc)``) are radial
    breakpoints; ``tests/smirnov24/test_phi.py`` checks it against Monte Carlo."""

    angular_rule: TanhSinh = TanhSinh(level=4)

    def rotation(self, params, field, rule):
        omega_b = field / params.delta_b
        s = 0.5 * params.tau_c / jnp.sqrt(params.n_i)  # ω_e τc
        f = _rotation_integrand(omega_b, s)
        dist_n = OverhauserField(0.0, params.mean_overhauser, 0.5)  # Ω_N itself
        bps = tuple(k * jnp.abs(omega_b) for k in (0.5, 1.0, 2.0))
        level = min(self.angular_rule.level, rule.level)  # coarse radial => coarse angular
        angular = TanhSinh(level=level, t_max=self.angular_rule.t_max)
        est = overhauser_quad(f, dist_n, breakpoints=bps, rule=rule, angular_rule=angular)
        return est.value


@entry_point("field")
def phi(
    params: Parameters,
    field: ArrayLike = 0.0,
    *,
    method: AbstractPhi = PhiInterpolation(),
    rule: TanhSinh = DEFAULT_RULE,
) -> Float[Array, "..."]:
    r"""Φ of Eq. (9) (``n_i = inf``), Eq. (S38) (finite ``n_i``) or the exact rotation
    (``method=PhiExact()``): ``Φ = <1/(1 + Ω_e²τc²)> + rotation part``.

    3/2 at short ``τc`` (B ≪ Δ_B), 1/2 at long ``τc`` (``aτc/ħ ≪ 1``), ``(4/5)(ħ/aτc)²``
    when also ``aτc/ħ ≫ 1``. Broadcasts over ``field`` and ``params``.
    """
    _check_rule(rule)
    if not isinstance(method, AbstractPhi):
        raise TypeError(f"`method` must be an AbstractPhi; got {type(method).__name__}.")

    def kernel(p, b):
        _, lam = averages(p, b, rule)
        return lam + method.rotation(p, b, rule)

    return vectorize(kernel, params, field, names=("field",))
