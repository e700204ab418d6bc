"""Ladder propagators of :func:`drag`: the extrapolated implicit-Euler path (large baths)
against the exact relaxation modes, dense ``expm`` and the chain's stationary state."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import linalg

import jaxspin
from jaxspin.latta09 import (
    DickeSpace,
    ImplicitEuler,
    Latta09Params,
    RelaxationModes,
    drag,
    ladder_generators,
    nuclear_steady_state,
    scan_detunings,
    thermal_ladders,
)


SOLVER = jaxspin.DenseLU(unroll_max=0)
SPACE = DickeSpace(60, tail=1e-4)
PARAMS = Latta09Params(hyperfine=8.0, kappa=0.002)  # the small dragging configuration
DETS = scan_detunings(3.0, -3.0, 0.3)
DWELLS = jnp.array([1e-6, 1e-4, 1e-2, 1e2])  # [s]: frozen, dragging, relaxed, stiff


def _chains(key, batch, k):
    """Random reversible birth-death chains (rates ``(batch, k)``, up[-1] = down[0] = 0)."""
    k1, k2 = jax.random.split(key)
    up = jax.random.uniform(k1, (batch, k), minval=0.1, maxval=2.0).at[:, -1].set(0.0)
    down = jax.random.uniform(k2, (batch, k), minval=0.1, maxval=2.0).at[:, 0].set(0.0)
    return up, down


@pytest.fixture(scope="module")
def scans():
    p0 = thermal_ladders(SPACE)
    exact = drag(PARAMS, SPACE, DETS, DWELLS, initial=p0, solver=SOLVER)
    ie = drag(PARAMS, SPACE, DETS, DWELLS, initial=p0, solver=SOLVER, propagator=ImplicitEuler(4))
    return exact, ie


def test_implicit_euler_matches_exact_modes_in_a_scan(scans):
    exact, ie = scans
    diff = np.abs(np.asarray(ie.absorption - exact.absorption))
    assert diff.max() < 1e-5
    # the estimate (ℓ¹ of P(I, I_z), summed over the steps) bounds the absorption error
    bound = np.asarray(ie.propagation_error).sum(axis=1) * float(PARAMS.gamma)
    assert np.all(diff.max(axis=1) <= bound)
    assert np.all(np.asarray(ie.propagation_error)[1:3] > 0)
    np.testing.assert_array_equal(np.asarray(exact.propagation_error), 0.0)


@pytest.mark.slow
def test_implicit_euler_against_dense_expm(scans):
    # brute force: scipy's expm of each ladder's dense generator, first step of the scan
    _, ie = scans
    p0 = thermal_ladders(SPACE)
    G = np.asarray(ladder_generators(PARAMS.replace(detuning=DETS[0]), SPACE))
    scale = float(PARAMS.hyperfine) / SPACE.n_nuclei
    for j in (1, 2):  # the dwells where the nuclei move
        t = float(DWELLS[j]) * jaxspin.latta09.RATE_UNIT_PER_SECOND
        ref = np.stack([linalg.expm(g * t) @ y for g, y in zip(G, p0, strict=True)])
        shift = scale * float(ref.sum(axis=0) @ SPACE.m)
        got = float(ie.overhauser_shift[j, 0])
        bound = float(ie.propagation_error[j, 0]) * scale * SPACE.i_cut
        assert abs(got - shift) <= bound
        assert abs(got - shift) < 2e-3 * abs(shift) + 1e-8  # second-order error of 4n = 16 substeps


def test_evolve_is_second_order_conserves_and_reaches_stationary():
    up, down = _chains(jax.random.PRNGKey(1), 3, 30)
    p0 = jnp.zeros((2, 3, 30)).at[:, :, 0].set(1.0)  # all in the lowest state
    times = jnp.array([2.0, 1e6])  # one transient, one far beyond every relaxation time

    @jax.jit
    def run(up, down, p0, times):
        return (
            ImplicitEuler(4).evolve(up, down, p0, times),
            ImplicitEuler(8).evolve(up, down, p0, times),
            RelaxationModes().evolve(up, down, p0, times)[0],
        )

    (p4, err4), (p8, _), exact = run(up, down, p0, times)
    e4, e8 = (float(jnp.abs(p[0] - exact[0]).sum()) for p in (p4, p8))
    assert 3.0 < e4 / e8 < 5.0  # second order (first order would give 2)
    assert e4 <= float(err4[0])  # the ℓ¹ estimate is conservative
    np.testing.assert_allclose(np.asarray(p4.sum(axis=-1)), 1.0, rtol=1e-13)
    assert np.all(np.asarray(p4) >= 0)
    stat = jax.vmap(lambda u, d: jaxspin.birth_death_stationary(u[:-1], d[1:]))(up, down)
    np.testing.assert_allclose(np.asarray(p4[1]), np.asarray(stat), atol=1e-10)


def test_evolve_vmaps_and_differentiates():
    up, down = _chains(jax.random.PRNGKey(3), 2, 20)
    p0 = jnp.full((1, 2, 20), 1 / 20)
    times = jnp.array([0.5])
    m = jnp.arange(20.0)

    def mean(s):
        return jnp.sum(ImplicitEuler(2).evolve(s * up, down, p0, times)[0] * m)

    scales = jnp.array([0.5, 1.0, 2.0])
    batched = jax.jit(jax.vmap(jax.value_and_grad(mean)))
    values, grads = batched(scales)
    np.testing.assert_allclose(float(values[1]), float(jax.jit(mean)(1.0)), rtol=1e-13)
    h = 1e-5
    fd = (batched(scales + h)[0] - batched(scales - h)[0]) / (2 * h)
    np.testing.assert_allclose(np.asarray(grads), np.asarray(fd), rtol=1e-6)
    assert len(set(np.round(np.asarray(values), 8))) == 3  # the batch is not one point


def test_bad_propagators_and_sizes_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="substeps"):
        ImplicitEuler(0)
    with pytest.raises(ValueError, match="substeps"):
        ImplicitEuler(2.5)
    with pytest.raises(TypeError, match="propagator"):
        drag(PARAMS, SPACE, DETS, DWELLS, propagator="implicit")
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "1M")
    with pytest.raises(jaxspin.MemoryBudgetError, match="ImplicitEuler"):
        drag(PARAMS, DickeSpace(10_000, tail=1e-6), DETS, DWELLS, propagator=ImplicitEuler())


@pytest.mark.slow
def test_large_spin_three_halves_bath_decay_only_is_thermal():
    # N = 10⁴ spin-3/2 nuclei (FFT multiplicities): with decay alone the stationary state is
    # the fully mixed one, var(I_z) = N I_n (I_n + 1)/3 up to the truncated tail.
    space = DickeSpace(10_000, spin=1.5, tail=1e-10)
    assert space.tail_weight <= 1e-10
    ss = nuclear_steady_state(
        Latta09Params(detuning=0.5), space, include=("decay_up", "decay_down"), solver=SOLVER
    )
    assert abs(float(ss.mean_iz)) < 1e-8
    np.testing.assert_allclose(float(ss.fluctuation_ratio), 1.0, atol=1e-7)
