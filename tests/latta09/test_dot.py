"""The three-level quantum dot [Latta09, Eq. (1)-(10), (15)] against a closed form and QuTiP.

Closed form (derived by hand; independent of the engine): with only the ↑-t
coherence driven, c = ρ_t↑ obeys dc/dt = -i(δ c + (Ω/2)(x - z)) - γ_c c, γ_c = (Γ + γ_hhlh
+ κ)/2; so z = R x/(Γ + γ_hhlh + R) with R = Ω² γ_c / (2(γ_c² + δ²)), y = x + γ_hhlh z/κ
(balance of |↓⟩), and 2x + (1 + γ_hhlh/κ) z = 1.
"""

import numpy as np
import pytest
import qutip

import jaxspin
from jaxspin.latta09 import (
    Latta09Params,
    absorption,
    dot_hamiltonian,
    dot_rates,
    dot_steadystate,
    populations,
    w_abs,
)


SOLVER = jaxspin.DenseLU(unroll_max=0)  # compiles ~3x faster than the unrolled default


def closed_form(delta, rabi, gamma, ghh, kappa):
    gc = (gamma + ghh + kappa) / 2
    R = rabi**2 * gc / (2 * (gc**2 + delta**2))
    s = R / (gamma + ghh + R)  # z / x
    x = 1 / (2 + s + s * ghh / kappa)
    z = s * x
    return np.array([x, x + ghh * z / kappa, z])


def test_populations_match_closed_form():
    rng = np.random.default_rng(3)
    p = Latta09Params(
        detuning=0.4, rabi=1.7, gamma=1.1, gamma_hhlh=0.03, kappa=0.004, hyperfine=80.0
    )
    shifts = rng.uniform(-3, 3, 16)
    pops = np.asarray(populations(dot_steadystate(p, shifts, solver=SOLVER)))
    ref = np.array([closed_form(0.4 - h, 1.7, 1.1, 0.03, 0.004) for h in shifts])
    np.testing.assert_allclose(pops, ref, rtol=1e-10, atol=1e-13)


def test_steady_state_matches_qutip():
    p = Latta09Params(detuning=-0.8, rabi=0.9, kappa=0.02, gamma_hhlh=0.05)
    for h in (0.0, 0.37):
        H = np.asarray(dot_hamiltonian(p, h))
        W = np.asarray(dot_rates(p))
        cs = [
            qutip.Qobj(np.sqrt(W[j, i]) * np.outer(np.eye(3)[j], np.eye(3)[i]))
            for i in range(3)
            for j in range(3)
            if W[j, i] > 0
        ]
        ref = qutip.steadystate(qutip.Qobj(H), cs).full()
        got = np.asarray(dot_steadystate(p, np.array([h]), solver=SOLVER))[0]
        np.testing.assert_allclose(got, ref, atol=1e-10)


def test_two_level_limit_is_eq15():
    # γ_hhlh = 0, κ → 0: |↓⟩ holds half the weight (κ symmetric) and the ↑-t pair is a
    # driven two-level atom. Its absorption per population, Γ ρ_tt / (ρ_↑↑ + ρ_tt), is the
    # paper's W_abs = Ω²Γ/(4Δ² + 2Ω² + Γ²) only with H_laser = (Ω_L/2)(σ_t↑ + σ_↑t): this
    # decides the factor ½ that Eq. (2) does not print.
    dets = np.linspace(-3, 3, 16)
    p = Latta09Params(rabi=1.3, gamma=0.9, gamma_hhlh=0.0, kappa=1e-9, hyperfine=10.0)
    pops = np.asarray(populations(dot_steadystate(p, -dets, solver=SOLVER)))  # Δω̃ = 0 + det
    got = 0.9 * pops[:, 2] / (pops[:, 0] + pops[:, 2])
    np.testing.assert_allclose(got, np.asarray(w_abs(dets, 1.3, 0.9)), rtol=1e-7)
    # with Ω (no ½) in H it would be 4Ω²Γ/(4Δ² + 8Ω² + Γ²): clearly different
    alt = 4 * 1.3**2 * 0.9 / (4 * dets**2 + 8 * 1.3**2 + 0.9**2)
    assert np.max(np.abs(got - alt)) > 0.1


def test_depends_on_iz_only_through_effective_detuning():
    # Populations and the driven coherence at (Δω, h) equal those at (Δω - h, 0): the
    # |↓⟩ energy ω_z - 2h carries no driven coherence.
    p = Latta09Params(detuning=1.2)
    h = np.array([-0.7, 0.0, 0.3, 1.9])
    a = np.asarray(dot_steadystate(p, h, solver=SOLVER))
    b = np.stack(
        [
            np.asarray(dot_steadystate(p.replace(detuning=1.2 - hh), np.zeros(1), solver=SOLVER))[0]
            for hh in h
        ]
    )
    np.testing.assert_allclose(a, b, atol=1e-12)
    # absorption = emission (Γ + γ_hhlh) ρ_tt = Ω Im ρ_t↑ (steady state)
    np.testing.assert_allclose(
        np.asarray(absorption(p, a)), p.rabi * np.imag(a[:, 2, 0]) * -1, rtol=1e-9
    )


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="no field"):
        Latta09Params().replace(foo=1.0)
