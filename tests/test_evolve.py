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
