r"""Inverse nuclear spin temperature under optical pumping, nuclear polarization, and the
heating rate in the dark [Smirnov24, Eqs. (1)-(7), (11)-(13), Fig. 2(a,b), Fig. 3].

Energy balance, Eq. (2) with (4), (5) and (1), gives Eq. (6)::

    ħγ_N β = 4 <S_z> B / (B² + Φ (T1e^N/τc) (τc/T2e*)² B_L²) = 4 <S_z> B / (B² + Φ B_L²/K)

with ``K = <Ω_⊥²/(1 + Ω_e²τc²)>`` T2e*². **Reading of B_L.** Eq. (6) holds with the local
field ``B_L`` of Eq. (S33): (S31) written with ``B̃_L = √3 B_L`` equals Eq. (5) with
``B_L`` (``B̃_L²/12 = B_L²/4``), and at short ``τc`` Eq. (6) then gives
``β = 4<S_z>B/(ħγ_N(B² + 3B_L²))``, maximal at ``B0 = √3 B_L = B̃_L`` with the value
``β0 = 2<S_z>/(ħγ_N √3 B_L)`` — exactly the text's "B0 → B̃_L" and Fig. 2's normalisation.
At long ``τc`` (``Φ = 1/2``, ``T1e^N = 3τc/2``) Eq. (6) becomes
``B² + (3/4)(τc/T2e*)² B_L² = B² + (τc/T2e*)² B̃_L²/4``: the printed Eq. (7) has ``B_L``
where it must mean ``B̃_L`` (literally it is 3 times smaller in the B_L² term). With
``B̃_L``, (7) also agrees with Eq. (10), which the paper writes with ``B̃_L``. The tests
``test_temperature.py::test_reading_of_b_local_*`` decide this.

Heating in the dark, Eqs. (11)-(13), with the heat capacity (12)
``N_I (ħγ_N/2)² (B² + B_L²)`` (consistent with ``E_Z`` from Eq. (1) and ``E_SS`` from
(S33), both with ``B_L``)::

    1/T_E = f/(N_I (B² + B_L²)) (B²/T1e^N + Φ τc B_L²/T2e*²),
    T0/T_E = 2 (B² K + Φ B_L²)/(B² + B_L²),   1/T0 = f τc/(2 N_I T2e*²).
"""

from jaxtyping import Array, ArrayLike, Float

from .._overhauser import TanhSinh
from ._params import SQRT3, Parameters, entry_point, vectorize
from ._phi import AbstractPhi, PhiInterpolation
from ._relaxation import DEFAULT_RULE, _check_rule, averages


def _check(method, rule):
    _check_rule(rule)
    if not isinstance(method, AbstractPhi):
        raise TypeError(f"`phi` must be an AbstractPhi; got {type(method).__name__}.")


def denominator_term(params: Parameters, field, phi: AbstractPhi, rule: TanhSinh):
    """``(Φ B_L²/K, K, Φ)`` at one point: the heating term of Eq. (6)'s denominator."""
    k, lam = averages(params, field, rule)
    big_phi = lam + phi.rotation(params, field, rule)
    return big_phi * params.b_local**2 / k, k, big_phi


@entry_point("field")
def inverse_spin_temperature(
    params: Parameters,
    field: ArrayLike,
    *,
    phi: AbstractPhi = PhiInterpolation(),
    rule: TanhSinh = DEFAULT_RULE,
) -> Float[Array, "..."]:
    r"""``ħγ_N β`` (inverse field unit) from Eq. (6), for any ``τc`` and field.

    Divide by :func:`beta0` for the normalisation of Fig. 2(b). Broadcasts over ``field``
    and ``params``; ``phi`` selects Eq. (9)/(S38) (default) or the exact rotation.
    """
    _check(phi, rule)

    def kernel(p, b):
        d, _, _ = denominator_term(p, b, phi, rule)
        return 4.0 * p.s_z * b / (b * b + d)

    return vectorize(kernel, params, field, names=("field",))


def beta0(params: Parameters) -> Float[Array, "..."]:
    r"""Fig. 2 normalisation ``ħγ_N β0 = 2<S_z>/(√3 B_L)``: the maximum of the
    Dyakonov-Perel ``β`` (short ``τc``)."""
    return 2.0 * params.s_z / (SQRT3 * params.b_local)


@entry_point("field")
def inverse_spin_temperature_short(params: Parameters, field: ArrayLike) -> Float[Array, "..."]:
    r"""Dyakonov-Perel limit ``τc → 0`` [DP74]: ``ħγ_N β = 4<S_z>B/(B² + 3B_L²)``."""
    return vectorize(
        lambda p, b: 4.0 * p.s_z * b / (b * b + 3.0 * p.b_local**2), params, field, names=("field",)
    )


@entry_point("field")
def inverse_spin_temperature_long(params: Parameters, field: ArrayLike) -> Float[Array, "..."]:
    r"""Long-τc limit, Eq. (7), read with ``B̃_L = √3 B_L`` (see module docstring):
    ``ħγ_N β = 4<S_z>B/(B² + (τc/T2e*)² B̃_L²/4)``; valid for ``B ≪ Δ_B``,
    ``aτc/ħ ≪ 1``."""

    def kernel(p, b):
        return 4.0 * p.s_z * b / (b * b + (p.tau_c * SQRT3 * p.b_local) ** 2 / 4.0)

    return vectorize(kernel, params, field, names=("field",))


@entry_point("field")
def nuclear_polarization(
    params: Parameters,
    field: ArrayLike,
    *,
    phi: AbstractPhi = PhiInterpolation(),
    rule: TanhSinh = DEFAULT_RULE,
) -> Float[Array, "..."]:
    r"""``<I_z>/I0`` with ``I0 = (4/3) I(I+1) <S_z>`` (Fig. 2(a)).

    From Eq. (1), ``<I_z> = I(I+1) ħγ_N B β/3``, so ``<I_z>/I0 = B²/(B² + Φ B_L²/K)``;
    it tends to 1 at strong fields for every ``τc``.
    """
    _check(phi, rule)

    def kernel(p, b):
        d, _, _ = denominator_term(p, b, phi, rule)
        return b * b / (b * b + d)

    return vectorize(kernel, params, field, names=("field",))


@entry_point("field")
def heating_rate(
    params: Parameters,
    field: ArrayLike,
    *,
    phi: AbstractPhi = PhiInterpolation(),
    rule: TanhSinh = DEFAULT_RULE,
) -> Float[Array, "..."]:
    r"""Electron-induced nuclear spin-lattice relaxation rate in the dark, Eq. (13),
    normalised as in Fig. 3: ``T0/T_E = 2(B²K + ΦB_L²)/(B² + B_L²)`` with
    ``1/T0 = fτc/(2N_I T2e*²)``. At short ``τc`` it is ``(B² + 3B_L²)/(B² + B_L²)``."""
    _check(phi, rule)

    def kernel(p, b):
        k, lam = averages(p, b, rule)
        big_phi = lam + phi.rotation(p, b, rule)
        return 2.0 * (b * b * k + big_phi * p.b_local**2) / (b * b + p.b_local**2)

    return vectorize(kernel, params, field, names=("field",))


@entry_point("field")
def heat_capacity(params: Parameters, field: ArrayLike) -> Float[Array, "..."]:
    r"""``-∂E_NSS/∂β / (N_I (ħγ_N)²) = (B² + B_L²)/4``, Eq. (12) (field unit squared)."""
    return vectorize(lambda p, b: (b * b + p.b_local**2) / 4.0, params, field, names=("field",))


__all__ = [
    "inverse_spin_temperature",
    "beta0",
    "inverse_spin_temperature_short",
    "inverse_spin_temperature_long",
    "nuclear_polarization",
    "heating_rate",
    "heat_capacity",
]
