"""The phenomenological rate model Eq. (13)-(15) and where it agrees with the master equation."""

import numpy as np

import jaxspin
from jaxspin.latta09 import (
    DickeSpace,
    Latta09Params,
    PhenomenologicalModel,
    polarization_rates,
    zero_crossings,
)


SOLVER = jaxspin.DenseLU(unroll_max=0)
SPACE = DickeSpace(40, tail=0.0)
EFF = np.linspace(-4, 4, 801)


def test_eq14_and_lock_are_fixed_points():
    p = Latta09Params(hyperfine=10.0)
    ph = PhenomenologicalModel.from_params(p, 40)
    # Eq. (14): P = -P⁻_max is a fixed point when the laser sits at the line centre (W_peak)
    pm = float(ph.p_max_negative)
    assert pm > 0
    assert abs(float(ph.rate_at_effective(-pm, 0.0))) < 1e-12 * float(ph.alpha_roh)
    # the largest reverse-Overhauser polarisation: at W = α_ROH / (2 α_OH) the rate vanishes
    pp = float(ph.p_max_positive)
    w_half = float(ph.alpha_roh / (2 * ph.alpha_oh))
    d_half = 0.5 * np.sqrt(float(ph.rabi**2 * ph.gamma) / w_half - 3.0)  # Ω = Γ = 1
    assert abs(float(ph.rate_at_effective(pp, d_half))) < 1e-12 * float(ph.alpha_roh)
    # P = 0 locking points of Eq. (13) coincide with the master equation's, exactly
    me = polarization_rates(p, SPACE, np.zeros_like(EFF), EFF, solver=SOLVER)
    pts = zero_crossings(EFF, np.asarray(me.total), stable_if_slope="positive")
    np.testing.assert_allclose(
        [q.x for q in pts], [-float(ph.locking_detuning), float(ph.locking_detuning)], atol=1e-4
    )
    blue, red = ph.dragging_range()
    assert blue < 0 < red


def test_agreement_with_master_equation_in_weak_pumping():
    # Eq. (13) at P = 0 vs the master-equation rate: close for weak drive and weak optical
    # pumping (Γ ρ_tt ≈ W_abs / 2), off by the factor 2 Γ ρ_tt / W_abs for strong drive.
    errs = []
    for rabi in (0.15, 2.0):
        p = Latta09Params(hyperfine=10.0, rabi=rabi)
        ph = PhenomenologicalModel.from_params(p, 40)
        me = np.asarray(polarization_rates(p, SPACE, np.zeros_like(EFF), EFF, solver=SOLVER).total)
        phen = np.asarray(ph.rate_at_effective(0.0, EFF))
        errs.append(np.max(np.abs(me - phen)) / np.max(np.abs(me)))
    assert errs[0] < 0.05
    assert errs[1] > 4 * errs[0]
