"""Stationary nuclear distribution and the physics claims of [Latta09, Sec. II-III]."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

import jaxspin
from jaxspin.latta09 import (
    PROCESSES,
    DickeSpace,
    Latta09Params,
    detuning_scan,
    nuclear_steady_state,
    polarization_rates,
    w_abs,
    zero_crossings,
)


SOLVER = jaxspin.DenseLU(unroll_max=0)  # compiles ~3x faster than the unrolled default
SPACE = DickeSpace(40, tail=0.0)
DETS = np.arange(-4.0, 4.01, 0.5)  # step commensurate with A/N (lattice path)
PARAMS = Latta09Params(hyperfine=10.0)  # A/N = 0.25 µeV per nuclear flip
DECAY_ONLY = ("decay_up", "decay_down")


def scan(params=PARAMS, include=PROCESSES, dets=DETS):
    return detuning_scan(params, SPACE, dets, include=include, solver=SOLVER)


def test_each_ladder_is_its_own_birth_death_chain():
    # P(I, m) from the common-shape shortcut against an independent NumPy null-space solve
    # of every ladder's own tridiagonal generator (rates a(m) M_+(I, m), b(m) M_-(I, m)).
    ss = nuclear_steady_state(PARAMS.replace(detuning=0.8), SPACE, solver=SOLVER)
    coef = np.asarray(ss.coefficients)
    d = np.array([1, 1, -1, 1, -1])
    a = coef[:, d > 0].sum(axis=1)
    b = coef[:, d < 0].sum(axis=1)
    full = np.asarray(ss.ladder_distribution())
    w = np.exp(SPACE.log_weights)
    m = SPACE.m
    for k, i_val in enumerate(SPACE.spins):
        idx = np.nonzero(np.abs(m) <= i_val + 1e-9)[0]
        mm = m[idx]
        up = a[idx] * (i_val * (i_val + 1) - mm * (mm + 1))
        down = b[idx] * (i_val * (i_val + 1) - mm * (mm - 1))
        G = np.diag(up[:-1], -1) + np.diag(down[1:], 1)
        G -= np.diag(G.sum(axis=0))
        A = np.vstack([G, np.ones(idx.size)])
        rhs = np.zeros(idx.size + 1)
        rhs[-1] = w[k]
        ref = np.linalg.lstsq(A, rhs, rcond=None)[0]
        np.testing.assert_allclose(full[k, idx], ref, rtol=1e-8, atol=1e-14 * w[k])
    np.testing.assert_allclose(full.sum(axis=0), np.asarray(ss.p), rtol=1e-10, atol=1e-300)


def test_no_hyperfine_terms_no_polarization():
    # Only the (symmetric) decay: every ladder uniform, the mixture is the fully mixed state:
    # P(I_z = m) = C(N, N/2 + m) / 2^N, <I_z> = 0, var = N/4.
    ss = scan(include=DECAY_ONLY)
    binom = (
        np.exp(special.gammaln(41) - special.gammaln(21 + SPACE.m) - special.gammaln(21 - SPACE.m))
        / 2.0**40
    )
    np.testing.assert_allclose(np.asarray(ss.p), np.broadcast_to(binom, ss.p.shape), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(ss.polarization), 0.0, atol=1e-14)
    np.testing.assert_allclose(np.asarray(ss.fluctuation_ratio), 1.0, rtol=1e-10)


def test_process_signs_are_the_papers():
    # Reverse Overhauser alone polarises along +z, Overhauser alone along -z [Fig. S3].
    roh = scan(include=("reverse_overhauser",) + DECAY_ONLY)
    oh = scan(include=("overhauser_up", "overhauser_down") + DECAY_ONLY)
    # The pumping (antisymmetric) part of each process has a definite sign in every state:
    # ROH: ε Γ ρ_tt > 0; OH: -ε γ_spin (ρ_↓↓ - ρ_↑↑) = -ε γ_spin γ_hhlh ρ_tt / κ < 0.
    up = np.asarray(oh.coefficients[..., PROCESSES.index("overhauser_up")])
    down = np.asarray(oh.coefficients[..., PROCESSES.index("overhauser_down")])
    assert np.all(up - down < 0)
    assert np.all(np.asarray(roh.coefficients[..., 0]) > 0)
    # Stationary polarisation: ROH alone > 0 at every detuning; OH alone < 0 wherever the
    # laser is near the line. (Far in the blue wing the OH-only stationary mean turns
    # slightly positive: the flip-flop rate, hence the nuclear random walk, is fastest at
    # resonance and the stationary density of a walk goes like 1/rate, so the distribution
    # is pushed away from the resonance - a fluctuation effect, not pumping.)
    assert np.all(np.asarray(roh.polarization) > 1e-4)
    near = np.abs(DETS) <= 1.5
    assert np.all(np.asarray(oh.polarization)[near] < -1e-3)


def test_stationarity_and_decomposition():
    ss = scan()
    groups = ss.rate_groups()
    total = np.asarray(groups["total"])
    scale = np.max(np.abs(np.asarray(groups["reverse_overhauser"])))
    assert np.max(np.abs(total)) < 1e-10 * scale
    # decay part is exactly -γ_dec P (per ladder d<I_z>/dt = -γ_dec <I_z>)
    gdec = float(PARAMS.gamma_dec(SPACE.n_nuclei))
    np.testing.assert_allclose(
        np.asarray(groups["decay"]), -gdec * np.asarray(ss.polarization), rtol=1e-9, atol=1e-30
    )
    # the lattice scan equals point-by-point solves, and a grid off the lattice too
    for k in (0, 7):
        one = nuclear_steady_state(PARAMS.replace(detuning=DETS[k]), SPACE, solver=SOLVER)
        np.testing.assert_allclose(np.asarray(ss.p[k]), np.asarray(one.p), atol=1e-14)
    off = scan(dets=DETS[[0, 7]] + np.array([0.0, 1e-3]))  # not uniform: direct path
    np.testing.assert_allclose(np.asarray(off.p[0]), np.asarray(ss.p[0]), atol=1e-14)


def test_locking_points_at_zero_polarization():
    # dP/dt(Δω̃) at P = 0 vanishes where W_abs(Δω̃) = κΓ/(c_spin γ_hhlh) (exactly, since
    # ρ_↓↓ - ρ_↑↑ = γ_hhlh ρ_tt / κ), at ±δ_lock; only +δ_lock (laser red-detuned from the
    # effective resonance) is stable [Latta09, Sec. III, Fig. S4b].
    p = PARAMS
    eff = np.linspace(-4, 4, 801)
    r = polarization_rates(p, SPACE, np.zeros_like(eff), eff, solver=SOLVER)
    pts = zero_crossings(eff, np.asarray(r.total), stable_if_slope="positive")
    assert len(pts) == 2
    w_lock = float(p.kappa * p.gamma / (p.spin_dephasing * p.gamma_hhlh))
    d_lock = 0.5 * np.sqrt(float(p.rabi**2 * p.gamma / w_lock - 2 * p.rabi**2 - p.gamma**2))
    np.testing.assert_allclose([q.x for q in pts], [-d_lock, d_lock], atol=1e-4)
    assert [q.stable for q in pts] == [False, True]
    # P > 0: two stable points, one slightly red of resonance and one far blue (Fig. S4d);
    # P < 0: one stable point (Fig. S4e).
    pos = polarization_rates(p, SPACE, np.full_like(eff, 0.05), eff, solver=SOLVER)
    neg = polarization_rates(p, SPACE, np.full_like(eff, -0.05), eff, solver=SOLVER)
    sp = [q for q in zero_crossings(eff, np.asarray(pos.total), stable_if_slope="positive")]
    sn = [q for q in zero_crossings(eff, np.asarray(neg.total), stable_if_slope="positive")]
    stable_pos = [q.x for q in sp if q.stable]
    assert len(stable_pos) == 2 and stable_pos[0] < -d_lock and 0 < stable_pos[1] < 2 * d_lock
    assert [q.stable for q in sn] == [False, True]
    # the W_abs formula really is what sets the lock
    assert abs(float(w_abs(d_lock, p.rabi, p.gamma)) - w_lock) < 1e-12


def test_fluctuations_suppressed_at_the_stable_lock():
    # Overhauser-field variance (relative to the thermal N/4) is suppressed when the laser
    # sits on the red side of the line, where the stable lock is, enhanced on the blue side
    # near the unstable point, and back near thermal far away [Latta09, Sec. III].
    ss = scan()
    ratio = np.asarray(ss.fluctuation_ratio)
    red = ratio[(DETS >= 0.5) & (DETS <= 2.0)]
    blue = ratio[(DETS >= -2.0) & (DETS <= -0.5)]
    assert red.min() < 0.85
    assert blue.max() > 1.1
    assert abs(ratio[-1] - 1) < 0.1  # Δω = +4 µeV


def test_gradients_match_finite_differences():
    # d/dθ of the stationary polarisation and absorption for θ = Ω_L, Γ, A (implicit QD
    # derivatives + log-space ladder sums) against central differences.
    base = PARAMS.replace(detuning=0.9)

    def obs(x):
        q = base.replace(rabi=x[0], gamma=x[1], hyperfine=x[2])
        ss = nuclear_steady_state(q, SPACE, solver=SOLVER)
        return jnp.stack([ss.polarization, ss.absorption])

    x0 = jnp.array([1.0, 1.0, 10.0])
    jac = np.asarray(jax.jacfwd(obs)(x0))
    h = np.array([1e-4, 1e-4, 1e-3])
    fd = np.stack(
        [
            (np.asarray(obs(x0.at[k].add(h[k]))) - np.asarray(obs(x0.at[k].add(-h[k]))))
            / (2 * h[k])
            for k in range(3)
        ],
        axis=1,
    )
    np.testing.assert_allclose(jac, fd, rtol=2e-5, atol=1e-10)


def test_vmap_of_grad_and_vmap_of_vmap():
    space = DickeSpace(8, tail=0.0)

    def pol(rabi, det):
        q = PARAMS.replace(detuning=det, rabi=rabi)
        return nuclear_steady_state(q, space, solver=SOLVER).polarization

    rabis = jnp.array([0.5, 1.0, 1.5])
    dets = jnp.array([-0.5, 0.7])
    grads = jax.vmap(jax.grad(pol), in_axes=(0, None))(rabis, 0.7)
    one = jax.grad(pol)(1.0, 0.7)
    np.testing.assert_allclose(float(grads[1]), float(one), rtol=1e-12)
    grid = jax.vmap(jax.vmap(pol, in_axes=(None, 0)), in_axes=(0, None))(rabis, dets)
    np.testing.assert_allclose(float(grid[2, 0]), float(pol(1.5, -0.5)), rtol=1e-12)
