import math

import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import jaxspin


SPINS = [0.5, 1.0, 1.5, 2.5, 4.5]


@pytest.mark.parametrize("s", SPINS)
def test_commutators_and_casimir(s):
    sx, sy, sz, sp, sm = jaxspin.spin_operators(s)
    comm = lambda a, b: a @ b - b @ a
    np.testing.assert_allclose(comm(sx, sy), 1j * sz, atol=1e-13)
    np.testing.assert_allclose(comm(sy, sz), 1j * sx, atol=1e-13)
    np.testing.assert_allclose(comm(sz, sp), sp, atol=1e-13)
    d = jaxspin.spin_dim(s)
    np.testing.assert_allclose(sx @ sx + sy @ sy + sz @ sz, s * (s + 1) * np.eye(d), atol=1e-12)
    np.testing.assert_allclose(sp, sx + 1j * sy, atol=1e-14)


@pytest.mark.parametrize("s", SPINS)
def test_matches_qutip_jmat(s):
    ours = jaxspin.spin_operators(s)
    for mine, name in [(ours.x, "x"), (ours.y, "y"), (ours.z, "z"), (ours.p, "+"), (ours.m, "-")]:
        np.testing.assert_allclose(mine, qutip.jmat(s, name).full(), atol=1e-14)


def test_bad_spin_rejected():
    with pytest.raises(ValueError, match="half-integer"):
        jaxspin.spin_operators(0.3)
    with pytest.raises(ValueError):
        jaxspin.spin_dim(-0.5)


def test_embed_and_collective():
    s1 = jaxspin.spin_operators(0.5)
    s2 = jaxspin.spin_operators(1.0)
    dims = (2, 3)
    z1 = jaxspin.embed(s1.z, 0, dims)
    z2 = jaxspin.embed(s2.z, 1, dims)
    np.testing.assert_allclose(z1, np.kron(s1.z, np.eye(3)), atol=0)
    np.testing.assert_allclose(z2, np.kron(np.eye(2), s2.z), atol=0)
    tot = jaxspin.collective_operators((0.5, 1.0))
    np.testing.assert_allclose(tot.z, z1 + z2, atol=1e-15)
    m = jaxspin.product_m_values((0.5, 1.0))
    np.testing.assert_allclose(np.diag(np.asarray(tot.z).real), m.sum(1), atol=1e-15)
    with pytest.raises(ValueError):
        jaxspin.embed(s1.z, 1, dims)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 11])
def test_dicke_multiplicities_count_all_states(n):
    total = sum(
        jaxspin.dicke_multiplicity(n, j) * (2 * j + 1) for j in jaxspin.total_spin_values(n)
    )
    assert int(round(total)) == 2**n
    # D(N/2) = 1 and D(N/2 - 1) = N - 1
    assert jaxspin.dicke_multiplicity(n, n / 2) == 1
    if n >= 2:
        assert jaxspin.dicke_multiplicity(n, n / 2 - 1) == n - 1


def test_sector_indices():
    m = jaxspin.product_m_values((0.5,) * 4).sum(1)
    sectors = jaxspin.sector_indices(m)
    assert sorted(sectors) == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert [len(sectors[k]) for k in sorted(sectors)] == [math.comb(4, k) for k in range(5)]
    assert jnp.asarray(m).shape == (16,)
