"""Which conclusions survive the parameters the paper leaves open (κ, γ_hhlh, γ_spin, decay,
A, N, Ω_L), and spin I_n > ½ nuclei."""

import numpy as np
import pytest

import jaxspin
from jaxspin.latta09 import (
    DickeSpace,
    Latta09Params,
    detuning_scan,
    multiplicities_exact,
    polarization_rates,
    zero_crossings,
)


SOLVER = jaxspin.DenseLU(unroll_max=0)
DECAY = ("decay_up", "decay_down")
VARIATIONS = [
    {},
    {"kappa": 0.0025},
    {"kappa": 0.0075},
    {"gamma_hhlh": 0.02},
    {"spin_dephasing": 10.0},
    {"decay": 0.02},
    {"decay": 1.0},
    {"rabi": 2.0},
]


def check_conclusions(p, space, dets):
    eff = np.linspace(-6, 6, 1201)
    r = polarization_rates(p, space, np.zeros_like(eff), eff, solver=SOLVER)
    pts = zero_crossings(eff, np.asarray(r.total), stable_if_slope="positive")
    # 1. two locking points at P = 0, the stable one on the red side (Δω̃ > 0)
    assert [q.stable for q in pts] == [False, True] and pts[1].x > 0
    # 2. fluctuations suppressed somewhere on the red side of the line
    ss = detuning_scan(p, space, dets, solver=SOLVER)
    assert np.min(np.asarray(ss.fluctuation_ratio)[dets > 0]) < 0.9
    # 3. ROH alone polarises +z everywhere, OH alone -z near the line
    roh = detuning_scan(p, space, dets, include=("reverse_overhauser",) + DECAY, solver=SOLVER)
    only_oh = ("overhauser_up", "overhauser_down") + DECAY
    oh = detuning_scan(p, space, dets, include=only_oh, solver=SOLVER)
    assert np.all(np.asarray(roh.polarization) > 0)
    assert np.all(np.asarray(oh.polarization)[np.abs(dets) <= 1.0] < 0)


@pytest.mark.parametrize("change", VARIATIONS, ids=lambda c: ",".join(c) or "defaults")
def test_conclusions_are_robust(change):
    space = DickeSpace(100)
    p = Latta09Params(hyperfine=25.0).replace(**change) if change else Latta09Params(hyperfine=25.0)
    check_conclusions(p, space, np.arange(-12, 13) * 0.25)


@pytest.mark.slow
@pytest.mark.parametrize("n, a", [(300, 50.0), (1000, 100.0), (1000, 200.0), (3000, 100.0)])
def test_conclusions_are_robust_in_bath_size_and_coupling(n, a):
    space = DickeSpace(n)
    step = a / n
    dets = np.arange(-round(6 / step), round(6 / step) + 1, max(1, round(0.25 / step))) * step
    check_conclusions(Latta09Params(hyperfine=a), space, dets)


def test_spin_three_halves_nuclei():
    # I_n = 3/2: same SU(2) ladders, other multiplicities. Decay alone gives the fully mixed
    # state: P(I_z = m) = c(m) / 4^N with c(m) the number of product states with Σ m_i = m.
    n = 12
    space = DickeSpace(n, 1.5, tail=0.0)
    dets = np.arange(-8, 9) * 0.25
    p = Latta09Params(hyperfine=6.0)  # A/N = 0.5 µeV: on the lattice
    mixed = detuning_scan(p, space, dets, include=DECAY, solver=SOLVER)
    d = multiplicities_exact(n, 1.5)
    counts = np.array([sum(v for i, v in d.items() if i >= abs(m)) for m in space.m], float)
    np.testing.assert_allclose(np.asarray(mixed.p[0]), counts / 4.0**n, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(mixed.fluctuation_ratio), 1.0, rtol=1e-10)
    roh = detuning_scan(p, space, dets, include=("reverse_overhauser",) + DECAY, solver=SOLVER)
    assert np.all(np.asarray(roh.polarization) > 0)
