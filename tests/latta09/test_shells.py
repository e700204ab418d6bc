"""The multi-shell (inhomogeneous) bath: one shell is the homogeneous model, small baths
agree with the full product space, and more shells lift the √N bound on polarisation."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxspin.latta09 import (
    DickeSpace,
    Latta09Params,
    ShellBath,
    nuclear_steady_state,
    shell_steady_state,
)

from .test_full_space import (
    PARAMS,
    collective,
    dicke_basis,
    qd_ops,
    qd_steady,
    stationary_by_components,
    w_abs,
)


@pytest.mark.parametrize("n, spin", [(9, 0.5), pytest.param(3, 1.5, marks=pytest.mark.slow)])
def test_one_shell_is_the_homogeneous_model(n, spin):
    p = Latta09Params(**PARAMS)
    ss = shell_steady_state(p, ShellBath((n,), (1.0,), spin, tail=0.0))
    ref = nuclear_steady_state(p, DickeSpace(n, spin, tail=0.0))
    np.testing.assert_allclose(np.asarray(ss.m[:, 0]), np.asarray(ref.m))
    np.testing.assert_allclose(np.asarray(ss.p), np.asarray(ref.p), rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(float(ss.overhauser_shift), float(ref.overhauser_shift))


def _product_space(p, sizes, c):
    """Brute force: the diagonal rate equation over the 2^N product space in the basis of
    every shell's (I_s², I_z^s) eigenstates, with Σ_i A_i I_±^i = A Σ_s c_s I_±^s."""
    bases = [dicke_basis(*collective(n)) for n in sizes]
    dims = [2**n for n in sizes]
    eye = [np.eye(d) for d in dims]
    jp = []
    for s, (B, _, _) in enumerate(bases):
        ip, _ = collective(sizes[s])
        ops = [B.T @ ip @ B if t == s else eye[t] for t in range(len(sizes))]
        out = np.eye(1)
        for o in ops:
            out = np.kron(out, o)
        jp.append(c[s] * out)
    jp_total, jm_total = sum(jp), sum(jp).T
    mvals = np.array(list(itertools.product(*(b[2] for b in bases))))  # (dim, S)
    dim = mvals.shape[0]
    W = np.zeros((dim, dim))
    for b in range(dim):
        h = p["hyperfine"] * mvals[b] @ c
        H, cs, wz = qd_ops(p, h)
        pop = np.real(np.diag(qd_steady(H, cs)))
        eps = (p["hyperfine"] / wz) ** 2
        gdet = eps * p["spin_dephasing"] * w_abs(p["detuning"] - h, p["rabi"], p["gamma"])
        gdec = p["decay"] * eps * p["gamma"]
        up = eps * p["gamma"] * pop[2] + gdet * pop[0] + gdec / 2
        down = gdet * pop[1] + gdec / 2
        W[:, b] += up * np.abs(jp_total[:, b]) ** 2 + down * np.abs(jm_total[:, b]) ** 2
    W[W < 1e-12 * W.max()] = 0.0
    return mvals, stationary_by_components(W)[0]


def test_two_shells_equal_the_full_product_space():
    sizes, rel = (2, 3), np.array([2.0, 1.0])
    bath = ShellBath(sizes, rel, tail=0.0)
    c = np.array(bath.couplings)
    mvals, pstat = _product_space(PARAMS, sizes, c)
    # batched over the detuning (one vmap): the first point is the brute-force one
    p = Latta09Params(**PARAMS)
    dets = jnp.array([PARAMS["detuning"], -0.4])
    ss = jax.vmap(lambda d: shell_steady_state(p.replace(detuning=d), bath))(dets)
    for j, mj in enumerate(np.asarray(ss.m[0])):
        ref = pstat[np.all(np.isclose(mvals, mj), axis=1)].sum()
        np.testing.assert_allclose(float(ss.p[0, j]), ref, rtol=1e-8, atol=1e-13)
    np.testing.assert_allclose(np.asarray(ss.p.sum(axis=1)), 1.0, rtol=1e-12)
    assert abs(float(ss.overhauser_shift[0] - ss.overhauser_shift[1])) > 1e-6


@pytest.mark.slow
def test_more_shells_lift_the_ladder_bound():
    # Reverse Overhauser alone with a tiny decay pushes every ladder to its top, I_z = I:
    # ⟨I_z⟩ → Σ_s E[I_s] (closed form from the Dicke weights), which grows with the number
    # of shells at fixed N (√N per shell).
    p = Latta09Params(hyperfine=4.0, decay=1e-7, detuning=0.0)
    include = ("reverse_overhauser", "decay_up", "decay_down")
    pols = []
    for sizes in ((16,), (8, 8)):
        bath = ShellBath(sizes, [1.0] * len(sizes), tail=0.0)
        ss = shell_steady_state(p, bath, include=include)
        bound = sum(float(np.exp(sp.log_weights) @ sp.spins) for sp in bath.shells) / 8
        np.testing.assert_allclose(float(ss.polarization), bound, rtol=1e-3)
        pols.append(float(ss.polarization))
    assert pols[1] > 1.3 * pols[0]


def test_gaussian_shells_and_refusals(monkeypatch):
    bath = ShellBath.gaussian(10, 3, extent=3.0)
    assert bath.sizes == (4, 3, 3)
    c = np.array(bath.couplings)
    assert np.all(np.diff(c) < 0)  # inner shells couple more strongly
    np.testing.assert_allclose(np.dot(bath.sizes, c), 1.0)
    with pytest.raises(ValueError, match="couplings"):
        ShellBath((2, 2), (1.0, -1.0))
    with pytest.raises(ValueError, match="one length"):
        ShellBath((2, 2), (1.0,))
    with pytest.raises(ValueError, match="num_shells"):
        ShellBath.gaussian(10, 0)
    with pytest.raises(TypeError, match="ShellBath"):
        shell_steady_state(Latta09Params(), DickeSpace(4))
    import jaxspin

    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "1M")
    with pytest.raises(jaxspin.MemoryBudgetError, match="3-shell"):
        shell_steady_state(Latta09Params(), ShellBath.gaussian(30, 3))
