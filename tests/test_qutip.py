"""QuTiP interoperability: dims carried, to_qutip, superoperators refused (issue 17 item 5)."""

import numpy as np
import pytest
import qutip

import jaxspin


def _jc():
    a = qutip.tensor(qutip.destroy(3), qutip.qeye(2))
    sm = qutip.tensor(qutip.qeye(3), qutip.destroy(2))
    H = a.dag() * a + 0.3 * (a + a.dag()) + 0.2 * (a.dag() * sm + a * sm.dag())
    return H, [0.5 * a, 0.3 * sm], a


def test_steady_state_keeps_dims_and_goes_back_to_qutip():
    H, c, a = _jc()
    ss = jaxspin.steadystate(H, c)
    assert ss.dims == ((3, 2), (3, 2))
    q = jaxspin.to_qutip(ss)
    assert q.dims == [[3, 2], [3, 2]]
    np.testing.assert_allclose(q.full(), qutip.steadystate(H, c).full(), atol=1e-10)
    # partial traces work on the returned Qobj as on QuTiP's own
    np.testing.assert_allclose(
        q.ptrace(1).full(), qutip.steadystate(H, c).ptrace(1).full(), atol=1e-10
    )
    src = np.stack([(a.dag() * a).full() - np.trace((a.dag() * a).full()) / 6 * np.eye(6)])
    ss2, _ = jaxspin.linear_response(H, c, src)
    assert ss2.dims == ss.dims
    plain = jaxspin.steadystate(H.full(), [x.full() for x in c])
    assert plain.dims is None
    assert jaxspin.to_qutip(plain).dims == [[6], [6]]


def test_trajectory_and_kets_to_qutip():
    H, c, a = _jc()
    psi0 = qutip.tensor(qutip.basis(3, 0), qutip.basis(2, 1))
    traj = jaxspin.mesolve(H, c, psi0, np.linspace(0, 1, 3))
    states = jaxspin.to_qutip(traj)
    assert len(states) == 3 and all(s.dims == [[3, 2], [3, 2]] for s in states)
    ref = qutip.mesolve(H, psi0, np.linspace(0, 1, 3), c, options={"atol": 1e-12, "rtol": 1e-10})
    for s, r in zip(states, ref.states, strict=True):
        np.testing.assert_allclose(s.full(), r.full(), atol=1e-7)
    ket = jaxspin.to_qutip(psi0.full()[:, 0], dims=traj.dims)
    assert ket.isket and ket.dims == psi0.dims
    with pytest.raises(ValueError, match="operator"):
        jaxspin.to_qutip(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "call",
    [
        lambda L, c: jaxspin.steadystate(L, c),
        lambda L, c: jaxspin.Lindbladian(L),
        lambda L, c: jaxspin.mesolve(L, None, np.eye(36) / 36, np.linspace(0, 1, 2)),
        lambda L, c: jaxspin.steadystate(np.eye(6), [L]),
    ],
    ids=["steadystate", "Lindbladian", "mesolve", "as-jump-op"],
)
def test_superoperator_is_refused_saying_so(call):
    H, c, _ = _jc()
    L = qutip.liouvillian(H, c)
    with pytest.raises(ValueError, match="QuTiP superoperator"):
        call(L, c)
