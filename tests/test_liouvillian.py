import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import jaxspin
from jaxspin._liouvillian import trace_functional

from .helpers import random_hermitian, random_lindblad, row_to_column_superop


@pytest.mark.parametrize("n", [2, 3, 5])
def test_superop_matches_qutip(n):
    rng = np.random.default_rng(n)
    H, jumps = random_lindblad(rng, n, k=3)
    lind = jaxspin.Lindbladian(H, jumps)
    ref = qutip.liouvillian(qutip.Qobj(H), [qutip.Qobj(c) for c in jumps]).full()
    np.testing.assert_allclose(lind.superop(), row_to_column_superop(ref, n), atol=1e-12)


@pytest.mark.parametrize("n", [2, 4])
def test_map_superop_and_real_matrix_agree(n):
    rng = np.random.default_rng(10 + n)
    H, jumps = random_lindblad(rng, n, k=2)
    W = rng.uniform(0, 1, size=(n, n))
    lind = jaxspin.Lindbladian(H, jumps, rates=W)
    rho = random_hermitian(rng, n)
    out = lind(rho)
    np.testing.assert_allclose(lind.superop() @ rho.reshape(-1), out.reshape(-1), atol=1e-12)
    M = lind.real_superop()
    assert M.dtype == jnp.float64
    np.testing.assert_allclose(M @ jaxspin.to_real(rho), jaxspin.to_real(out), atol=1e-12)
    # trace preservation: t^T M = 0
    np.testing.assert_allclose(trace_functional(n) @ M, 0.0, atol=1e-12)
    # adjoint: Tr(A L(rho)) = Tr(L^dag(A) rho), and M^T is the real matrix of L^dag
    A = random_hermitian(rng, n)
    lhs = jnp.trace(A @ out)
    rhs = jnp.trace(lind.adjoint(A) @ rho)
    np.testing.assert_allclose(lhs, rhs, atol=1e-12)
    np.testing.assert_allclose(
        M.T @ jaxspin.to_real(A), jaxspin.to_real(lind.adjoint(A)), atol=1e-12
    )


def test_rates_equal_their_jump_operators():
    rng = np.random.default_rng(3)
    n = 4
    H = random_hermitian(rng, n)
    W = rng.uniform(0, 2, size=(n, n))  # includes diagonal (pure dephasing) entries
    jumps = []
    for j in range(n):
        for i in range(n):
            c = np.zeros((n, n))
            c[j, i] = np.sqrt(W[j, i])
            jumps.append(c)
    a = jaxspin.Lindbladian(H, rates=W).superop()
    b = jaxspin.Lindbladian(H, jumps).superop()
    np.testing.assert_allclose(a, b, atol=1e-13)


def test_real_coordinates_are_orthonormal():
    rng = np.random.default_rng(4)
    n = 5
    r, s = random_hermitian(rng, n), random_hermitian(rng, n)
    x, y = jaxspin.to_real(r), jaxspin.to_real(s)
    np.testing.assert_allclose(jnp.dot(x, y), jnp.trace(r @ s).real, atol=1e-12)
    np.testing.assert_allclose(jaxspin.from_real(x, n), r, atol=1e-14)


def test_qutip_objects_are_accepted():
    H = qutip.sigmax()
    lind = jaxspin.Lindbladian(H, [qutip.destroy(2)])
    np.testing.assert_allclose(lind.H, H.full())
    assert lind.jump_ops.shape == (1, 2, 2)


class TestBadInput:
    def test_non_hermitian_h(self):
        with pytest.raises(ValueError, match="not Hermitian"):
            jaxspin.Lindbladian(jnp.array([[0.0, 1.0], [0.0, 0.0]]))

    def test_negative_rate(self):
        with pytest.raises(ValueError, match="negative"):
            jaxspin.Lindbladian(jnp.eye(2), rates=jnp.array([[0.0, -1.0], [1.0, 0.0]]))

    def test_nan(self):
        with pytest.raises(ValueError, match="NaN"):
            jaxspin.Lindbladian(jnp.array([[jnp.nan, 0.0], [0.0, 1.0]]))

    def test_shapes(self):
        with pytest.raises(ValueError, match="shape"):
            jaxspin.Lindbladian(jnp.ones((2, 3)))
        with pytest.raises(ValueError, match="dimension"):
            jaxspin.Lindbladian(jnp.eye(2), [jnp.eye(3)])
        with pytest.raises(ValueError, match="rates"):
            jaxspin.Lindbladian(jnp.eye(2), rates=jnp.ones((3, 3)))

    def test_traced_non_hermitian_raises_at_run_time(self):
        @jax.jit
        def f(h01):
            H = jnp.array([[0.0, 1.0], [0.0, 0.0]]) * h01
            return jaxspin.Lindbladian(H).H

        with pytest.raises(Exception, match="not Hermitian"):
            jax.block_until_ready(f(1.0))

    def test_concrete_operands_inside_jit_are_checked_eagerly(self):
        """A concrete H (a constant closed over) next to traced rates inside jit: the value
        checks run at trace time instead of staging a bool() on a tracer."""
        sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        f = jax.jit(lambda g: jaxspin.Lindbladian(sz, [sm], g * jnp.ones((2, 2))).rates)
        np.testing.assert_allclose(f(0.5), 0.5)
        bad = jnp.array([[0.0, 1.0], [0.0, 0.0]], dtype=complex)
        with pytest.raises(ValueError, match="not Hermitian"):
            jax.jit(lambda g: jaxspin.Lindbladian(bad, None, g * jnp.ones((2, 2))).rates)(1.0)
