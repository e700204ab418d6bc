import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import jaxspin

from .helpers import random_lindblad


def test_mesolve_matches_qutip_and_relaxes_to_steady_state():
    rng = np.random.default_rng(0)
    H, jumps = random_lindblad(rng, 3, k=2)
    rho0 = np.diag([1.0, 0.0, 0.0]).astype(complex)
    ts = jnp.linspace(0.0, 4.0, 9)
    traj = jaxspin.mesolve(H, jumps, rho0, ts)
    ref = qutip.mesolve(
        qutip.Qobj(H),
        qutip.Qobj(rho0),
        np.asarray(ts),
        [qutip.Qobj(c) for c in jumps],
        options={"atol": 1e-12, "rtol": 1e-10},
    ).states
    for rho, r in zip(traj.ys, ref, strict=True):
        np.testing.assert_allclose(rho, r.full(), atol=1e-7)
    late = jaxspin.mesolve(H, jumps, rho0, jnp.array([0.0, 200.0])).ys[-1]
    np.testing.assert_allclose(late, jaxspin.steadystate(H, jumps).rho, atol=1e-8)
    # matrix-free path agrees with the dense one
    free = jaxspin.mesolve(H, jumps, rho0, ts, dense=False)
    np.testing.assert_allclose(free.ys, traj.ys, atol=1e-8)


def test_ratesolve_and_propagate_agree_with_expm():
    W = jnp.array([[0.0, 1.0, 0.2], [0.5, 0.0, 2.0], [0.1, 0.3, 0.0]])
    p0 = jnp.array([1.0, 0.0, 0.0])
    ts = jnp.linspace(0, 3, 7)
    exact = jaxspin.propagate(jaxspin.generator(W), p0, ts)
    traj = jaxspin.ratesolve(W, p0, ts, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(traj.ys, exact, atol=1e-9)
    np.testing.assert_allclose(jnp.sum(exact, axis=1), 1.0, atol=1e-13)


def test_odesolve_gradient_and_failure_code():
    def decay(k):
        traj = jaxspin.odesolve(lambda t, y, a: -a * y, jnp.array(2.0), jnp.array([0.0, 1.5]), k)
        return traj.ys[-1]

    np.testing.assert_allclose(decay(0.7), 2.0 * np.exp(-1.05), rtol=1e-7)
    np.testing.assert_allclose(jax.grad(decay)(0.7), -1.5 * 2.0 * np.exp(-1.05), rtol=1e-6)
    traj = jaxspin.odesolve(
        lambda t, y, a: -y, jnp.array(1.0), jnp.array([0.0, 10.0]), max_steps=2, throw=False
    )
    assert bool(traj.result != diffrax.RESULTS.successful)
    with pytest.raises(ValueError, match="1-D"):
        jaxspin.odesolve(lambda t, y, a: -y, 1.0, jnp.zeros((2, 2)))


# --- propagate: stepping with shared matrix exponentials (issue 17 item 4)


def _expm_reference(A, y0, ts):
    import scipy.linalg

    return np.stack([scipy.linalg.expm(np.asarray(A) * (t - ts[0])) @ y0 for t in ts])


GRIDS = {
    "linspace": np.linspace(0.0, 3.0, 31),
    "offset": np.linspace(0.7, 5.2, 40),
    "logspace": np.logspace(-3, 0.5, 20),
    "shuffled": np.random.default_rng(1).permutation(np.linspace(0.0, 2.0, 15)),
    "before_ts0": np.array([1.0, 0.2, 0.5, 1.5, 0.0, 2.0]),
    "piecewise": np.concatenate([np.linspace(0, 1, 11), np.linspace(1.5, 3, 4)]),
    "repeated": np.array([0.0, 0.0, 1.0, 1.0, 2.0]),
    "single": np.array([2.0]),
}


@pytest.mark.parametrize("grid", list(GRIDS))
def test_propagate_matches_expm_per_time(grid):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(12, 12)) - 3 * np.eye(12)
    y0 = rng.normal(size=12) + 1j * rng.normal(size=12)  # complex y0, real A
    ts = GRIDS[grid]
    out = jaxspin.propagate(A, y0, ts)
    ref = _expm_reference(A, y0, ts)
    assert out.shape == (len(ts), 12) and jnp.iscomplexobj(out)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-13 * np.max(np.abs(ref)))


def test_propagate_lindbladian_superoperator_keeps_trace_and_matches_mesolve():
    rng = np.random.default_rng(3)
    H, jumps = random_lindblad(rng, 4, k=2)
    lind = jaxspin.Lindbladian(H, jumps)
    rho0 = np.diag([0.4, 0.3, 0.2, 0.1]).astype(complex)
    ts = np.linspace(0.0, 5.0, 26)
    ys = jaxspin.propagate(lind.superop(), rho0.reshape(-1), ts)
    rhos = ys.reshape(len(ts), 4, 4)  # row-major vec, the module's convention
    np.testing.assert_allclose(np.trace(rhos, axis1=1, axis2=2), 1.0, atol=1e-13)
    traj = jaxspin.mesolve(H, jumps, rho0, ts, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(rhos, traj.ys, atol=1e-9)


def test_propagate_shares_one_exponential_per_run_of_equal_steps():
    from jaxspin._evolve import _equal_step_runs

    def starts(taus):
        new, used = _equal_step_runs(jnp.asarray(taus))
        return np.flatnonzero(np.asarray(new)).tolist(), np.asarray(used)

    lin = np.linspace(0.0, 3.0, 301)
    s, used = starts(lin)
    assert s == [0, 1]  # the zero first step, then one run: one expm for 300 steps
    np.testing.assert_allclose(used[1:], 0.01, rtol=1e-13)
    assert starts(np.concatenate([np.linspace(0, 1, 11), np.linspace(1.5, 3, 4)]))[0] == [0, 1, 11]
    assert starts(np.logspace(-3, 0, 10))[0] == list(range(10))
    # steps equal pairwise to rounding but drifting: every step is its own exponential
    drift = np.cumsum(np.full(200, 1.0) * (1 + 3e-15 * np.arange(200)))
    assert starts(drift)[0] == list(range(200))


def test_propagate_derivatives_are_exact():
    rng = np.random.default_rng(2)
    A = jnp.asarray(rng.normal(size=(5, 5)) - 2 * np.eye(5))
    y0 = jnp.asarray(rng.normal(size=5))
    ts = jnp.array([0.1, 0.4, 0.7, 1.0, 1.6, 0.3])  # a run of equal steps, unsorted

    def f(A, y0, ts):
        return jnp.sum(jnp.sin(jaxspin.propagate(A, y0, ts)))

    grads = jax.grad(f, argnums=(0, 1, 2))(A, y0, ts)
    eps = 1e-6
    for k, x in enumerate((A, y0, ts)):
        flat = np.asarray(x).ravel()
        fd = []
        for i in range(flat.size):
            e = np.zeros_like(flat)
            e[i] = eps
            args = [A, y0, ts]
            args[k] = jnp.asarray((flat + e).reshape(x.shape))
            up = f(*args)
            args[k] = jnp.asarray((flat - e).reshape(x.shape))
            fd.append((up - f(*args)) / (2 * eps))
        np.testing.assert_allclose(np.asarray(grads[k]).ravel(), fd, atol=1e-7)
    # second derivatives in the times (the Taylor terms of each step)
    hess = jax.hessian(lambda t: f(A, y0, t))(ts)
    g = jax.grad(lambda t: f(A, y0, t))
    fd2 = np.stack([(g(ts.at[i].add(eps)) - g(ts.at[i].add(-eps))) / (2 * eps) for i in range(6)])
    np.testing.assert_allclose(hess, fd2, atol=1e-6)


def test_propagate_vmaps_over_generators_and_grids():
    rng = np.random.default_rng(4)
    As = rng.normal(size=(3, 6, 6)) - 2 * np.eye(6)
    y0 = rng.normal(size=6)
    grids = np.stack([np.linspace(0, 1, 8), np.linspace(0, 2, 8), np.logspace(-2, 0, 8)])
    out = jax.vmap(jaxspin.propagate, in_axes=(0, None, 0))(As, y0, grids)
    for A, ts, o in zip(As, grids, out, strict=True):
        np.testing.assert_allclose(o, _expm_reference(A, y0, ts), atol=1e-13)
