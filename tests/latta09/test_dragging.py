"""Dragging: the nuclear master equation under a stepped laser detuning [Latta09, Figs. S1-S2]."""

import jax
import jax.numpy as jnp
import numpy as np

import jaxspin
from jaxspin.latta09 import (
    DickeSpace,
    Latta09Params,
    detuning_scan,
    drag,
    dragging_width,
    ladder_generators,
    scan_detunings,
    stationary_ladders,
    thermal_ladders,
)


SOLVER = jaxspin.DenseLU(unroll_max=0)


def test_scan_is_exact_piecewise_constant_propagation():
    # Each dwell is expm(G_I(δ_k) T) applied to every ladder: compare with the engine's
    # jaxspin.propagate (dense expm) step by step (drag uses the ladders' relaxation modes).
    space = DickeSpace(12, tail=0.0)
    p = Latta09Params(hyperfine=6.0)
    dets = np.array([1.5, 0.9, 0.3, -0.3])
    dwell = 3e-4
    p0 = thermal_ladders(space)
    scan = drag(p, space, dets, jnp.array([dwell]), initial=p0, solver=SOLVER)
    t = dwell * jaxspin.latta09.RATE_UNIT_PER_SECOND

    @jax.jit
    def step(d, state):
        G = ladder_generators(p.replace(detuning=d), space)
        return jax.vmap(lambda g, y: jaxspin.propagate(g, y, jnp.array([0.0, t]))[-1])(G, state)

    state = jnp.asarray(p0)
    for k, d in enumerate(dets):
        state = step(d, state)
        pm = np.asarray(state.sum(axis=0))
        shift = float(p.hyperfine) / 12 * float(pm @ space.m)
        np.testing.assert_allclose(float(scan.overhauser_shift[0, k]), shift, rtol=1e-9, atol=1e-12)


SPACE = DickeSpace(60, tail=1e-4)
PARAMS = Latta09Params(hyperfine=8.0, kappa=0.002)  # a strongly locking dot, A/N = 0.13 µeV
DWELLS = jnp.array([1e-12, 1e-4, 1e3])


def test_short_and_long_dwell_limits():
    # T → 0: the nuclei never move, the scan reads the initial distribution; T → ∞: every
    # step reaches the stationary state (no memory of the sweep direction).
    dets = scan_detunings(3.0, -3.0, 0.2)
    scan = drag(PARAMS, SPACE, dets, DWELLS, solver=SOLVER)
    init = stationary_ladders(PARAMS.replace(detuning=dets[0]), SPACE, SOLVER).sum(axis=0)
    cond = detuning_scan(PARAMS, SPACE, dets, solver=SOLVER)
    frozen = np.asarray(cond.absorption_m) @ np.asarray(init)
    np.testing.assert_allclose(np.asarray(scan.absorption[0]), frozen, rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(scan.absorption[-1]), np.asarray(cond.absorption), rtol=1e-8
    )


def test_dragging_grows_with_dwell_and_collapses_for_large_steps():
    # Small steps: at an intermediate dwell the red-to-blue line (dragged by the Overhauser
    # process) is wider than with frozen nuclei, and the line follows the laser: the
    # Overhauser shift reaches far to the blue. With the same dwell, larger steps drag less
    # and beyond ~2 δ_lock (the basin of the stable point, δ_lock ≈ 1.7 µeV here) not at all.
    widths, dragged = [], []
    for step in (0.1, 0.4, 1.6, 3.2):
        dets = scan_detunings(6.0, -6.0, step)
        # pad with the last detuning (the line has passed): one scan length, one compile
        dets = np.concatenate([dets, np.full(121 - dets.size, dets[-1])])
        scan = drag(PARAMS, SPACE, dets, DWELLS, solver=SOLVER)
        widths.append([dragging_width(dets, np.asarray(a)) for a in scan.absorption])
        shift = np.asarray(scan.overhauser_shift)
        dragged.append(shift[0].min() - shift[1].min())
    assert widths[0][1] > widths[0][0] + 0.2  # dragging at T = 1e-4 s, small step
    assert dragged[0] > 0.5
    assert dragged[0] > dragged[1] > dragged[2] > dragged[3]
    assert dragged[3] < 0.15 * dragged[0]  # collapsed: Δ = 3.2 µeV > 2 δ_lock


def test_dragging_width_of_a_lorentzian():
    x = np.linspace(-10, 10, 2001)
    y = 1 / (1 + (2 * (x - 0.3) / 1.7) ** 2)
    assert abs(dragging_width(x, y) - 1.7) < 1e-4
