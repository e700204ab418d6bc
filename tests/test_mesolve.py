"""mesolve: e_ops, kets, time-dependent H and jump operators, default solver, QuTiP dims.

QuTiP 5 (``qutip.mesolve``) is the oracle for every new path."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import jaxspin
from jaxspin._mesolve import _default_solver

from .test_recompiles import compiles


SX, SY, SZ, SP, SM = (np.asarray(a) for a in jaxspin.spin_operators(0.5))
TS = np.linspace(0.0, 6.0, 25)
OPTS = {"atol": 1e-12, "rtol": 1e-11}


def _qt(a):
    return qutip.Qobj(np.asarray(a))


def test_e_ops_kets_and_labels_match_qutip():
    H, c = 1.3 * SX + 0.4 * SZ, np.sqrt(0.3) * SM
    psi0 = np.array([1.0, 0.0], complex)
    e_ops = {"sz": SZ, "sp": SP, "purity": lambda t, rho: jnp.trace(rho @ rho).real}
    traj = jaxspin.mesolve(H, [c], psi0, TS, e_ops=e_ops)
    ref = qutip.mesolve(
        _qt(H), qutip.Qobj(psi0), TS, [_qt(c)], e_ops=[_qt(SZ), _qt(SP)], options=OPTS
    )
    assert set(traj.expects) == {"sz", "sp", "purity"}
    assert not jnp.iscomplexobj(traj.expects["sz"])  # Hermitian operator: real
    assert jnp.iscomplexobj(traj.expects["sp"])
    np.testing.assert_allclose(traj.expects["sz"], ref.expect[0], atol=1e-7)
    np.testing.assert_allclose(traj.expects["sp"], ref.expect[1], atol=1e-7)
    purity = np.einsum("tij,tji->t", traj.ys, traj.ys).real
    np.testing.assert_allclose(traj.expects["purity"], purity, rtol=1e-12)
    # the method on the trajectory agrees with the saved values; kets == density matrices
    np.testing.assert_allclose(traj.expect(SZ).real, traj.expects["sz"], rtol=1e-12)
    rho0 = np.outer(psi0, psi0.conj())
    dm = jaxspin.mesolve(H, [c], rho0, TS, e_ops=[SZ])
    assert set(dm.expects) == {"e0"}
    np.testing.assert_allclose(dm.ys, traj.ys, atol=1e-13)
    col = jaxspin.mesolve(H, [c], psi0[:, None], TS)  # (n, 1) ket, as Qobj.full() gives
    np.testing.assert_allclose(col.ys, traj.ys, atol=1e-13)


def test_qobj_inputs_carry_dims():
    a = qutip.tensor(qutip.destroy(3), qutip.qeye(2))
    H = a.dag() * a + 0.2 * (a + a.dag())
    psi0 = qutip.tensor(qutip.basis(3, 0), qutip.basis(2, 1))
    traj = jaxspin.mesolve(H, [0.5 * a], psi0, TS[:5])
    assert traj.dims == ((3, 2), (3, 2))
    assert traj.ys.shape == (5, 6, 6)
    plain = jaxspin.mesolve(H.full(), [0.5 * a.full()], psi0.full(), TS[:5])
    assert plain.dims is None


def _drive(t):
    return jnp.cos(2.0 * t)


def _cx(x):
    return jnp.asarray(x).astype(complex)  # the tests run with strict dtype promotion


def test_time_dependent_hamiltonian_matches_qutip():
    H0, H1, c = 0.5 * SZ * 2.0, 0.8 * SX, np.sqrt(0.1) * SM
    rho0 = np.diag([0.0, 1.0]).astype(complex)
    ref = qutip.mesolve(
        [_qt(H0), [_qt(H1), lambda t: np.cos(2.0 * t)]],
        _qt(rho0),
        TS,
        [_qt(c)],
        e_ops=[_qt(SZ), _qt(SX)],
        options=OPTS,
    )
    for dense in (True, False):
        traj = jaxspin.mesolve([H0, (H1, _drive)], [c], rho0, TS, e_ops=[SZ, SX], dense=dense)
        np.testing.assert_allclose(traj.expects["e0"], ref.expect[0], atol=1e-7)
        np.testing.assert_allclose(traj.expects["e1"], ref.expect[1], atol=1e-7)
    # a callable H(t) is the same evolution
    fn = jaxspin.mesolve(lambda t: H0 + _cx(_drive(t)) * H1, [c], rho0, TS, e_ops=[SZ])
    np.testing.assert_allclose(fn.expects["e0"], ref.expect[0], atol=1e-7)


def test_time_dependent_jump_operators_match_qutip():
    H, c = 0.7 * SX, SM
    rho0 = np.diag([1.0, 0.0]).astype(complex)
    g = lambda t: jnp.sqrt(0.2) * (1.0 + 0.5 * jnp.sin(t))  # noqa: E731
    ref = qutip.mesolve(
        _qt(H),
        _qt(rho0),
        TS,
        [[_qt(c), lambda t: np.sqrt(0.2) * (1.0 + 0.5 * np.sin(t))]],
        e_ops=[_qt(SZ)],
        options=OPTS,
    )
    pair = jaxspin.mesolve(H, [(c, g)], rho0, TS, e_ops=[SZ])
    np.testing.assert_allclose(pair.expects["e0"], ref.expect[0], atol=1e-7)
    fn = jaxspin.mesolve(H, [lambda t: _cx(g(t)) * c], rho0, TS, e_ops=[SZ])
    np.testing.assert_allclose(fn.expects["e0"], ref.expect[0], atol=1e-7)
    # trace preserved, Hermitian
    np.testing.assert_allclose(np.trace(pair.ys, axis1=1, axis2=2), 1.0, atol=1e-9)
    np.testing.assert_allclose(pair.ys, np.conj(np.swapaxes(pair.ys, 1, 2)), atol=1e-12)


def _scaled_drive(a, t):
    return a * jnp.cos(1.5 * t)


def test_gradient_through_time_dependent_drive():
    H0, H1 = SZ, SX
    rho0 = np.diag([1.0, 0.0]).astype(complex)
    ts = jnp.linspace(0.0, 3.0, 4)

    def final_sz(amp):
        # a module-level function and an array parameter: traced, so cached across values
        f = jax.tree_util.Partial(_scaled_drive, jnp.asarray(amp))
        traj = jaxspin.mesolve(
            [H0, (H1, f)],
            [0.3 * SM],
            rho0,
            ts,
            e_ops=[SZ],
            solver=diffrax.Tsit5(),
            rtol=1e-11,
            atol=1e-12,
        )
        return traj.expects["e0"][-1]

    amp, h = 0.9, 1e-5
    fd = (final_sz(amp + h) - final_sz(amp - h)) / (2 * h)
    np.testing.assert_allclose(jax.grad(final_sz)(amp), fd, rtol=1e-6)
    # a Partial coefficient with new values compiles nothing
    final_sz(0.5)
    assert compiles(lambda: final_sz(0.7)) == 0


def test_default_solver_rule():
    lind = jaxspin.Lindbladian(SX, [np.sqrt(0.1) * SM])
    assert isinstance(_default_solver(lind, 10.0, 2), diffrax.Dopri8)  # rtol 1e-8: tight
    assert isinstance(_default_solver(lind, 10.0, 2, rtol=1e-5), diffrax.Tsit5)
    stiff = jaxspin.Lindbladian(SX, [np.sqrt(1e4) * SM])
    assert isinstance(_default_solver(stiff, 10.0, 2), diffrax.Kvaerno5)
    assert isinstance(_default_solver(stiff, 10.0, 32), diffrax.Dopri8)  # Jacobian too big
    # the stiff problem still comes out right with the chosen solver
    traj = jaxspin.mesolve(SX, [np.sqrt(1e4) * SM], np.array([1.0, 0.0]), jnp.array([0.0, 10.0]))
    ss = jaxspin.steadystate(SX, [np.sqrt(1e4) * SM]).rho
    np.testing.assert_allclose(traj.ys[-1], ss, atol=1e-8)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: jaxspin.mesolve(SX, [SM], np.ones(3), TS), "rho0"),
        (lambda: jaxspin.mesolve([SX, (np.eye(3), _drive)], [SM], np.ones(2), TS), "terms"),
        (lambda: jaxspin.mesolve(lambda t: jnp.eye(3), [SM], np.ones(2), TS), r"H\(t\)"),
        (lambda: jaxspin.mesolve(SX, [SM], np.ones(2), TS, e_ops={"x": np.eye(3)}), "e_ops"),
    ],
    ids=["ket-size", "term-shape", "callable-shape", "e-op-shape"],
)
def test_bad_shapes_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_matrix_free_diagonal_jumps_agree_with_dense():
    """The matrix-free path applies diagonal jump operators (dephasing) as W ⊙ ρ and folds
    every c†c into H_eff; it must agree with the dense superoperator, also with rates."""
    rng = np.random.default_rng(7)
    n = 4
    A = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    H = A + A.conj().T
    jumps = [
        np.diag(rng.normal(size=n) + 1j * rng.normal(size=n)),  # diagonal
        0.5 * (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))),  # general
        np.diag(rng.normal(size=n)),
    ]
    rates = np.abs(rng.normal(size=(n, n)))
    psi = rng.normal(size=n) + 1j * rng.normal(size=n)
    psi /= np.linalg.norm(psi)
    ts = np.linspace(0.0, 2.0, 5)
    dense = jaxspin.mesolve(H, jumps, psi, ts, rates=rates, dense=True)
    free = jaxspin.mesolve(H, jumps, psi, ts, rates=rates, dense=False)
    np.testing.assert_allclose(free.ys, dense.ys, atol=1e-8)
