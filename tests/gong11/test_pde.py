"""The discretised continuum equation Eq. (25): symmetry, conservation, analytic spreading,
grid convergence."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxspin.gong11 import ODE, DiskGrid, Eigen, Krylov, diffusion_operator


def _dense(op, n):
    return np.asarray(jax.vmap(op)(jnp.eye(n)).T)


def _rotated_tensor(grid, Dxx, Dyy, angle):
    R = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    D = R @ np.diag([Dxx, Dyy]) @ R.T
    f = 2 * grid.size - 1
    return jnp.broadcast_to(jnp.asarray(D), (f, f, 2, 2)), D


@pytest.mark.parametrize("form", ["tensor", "divergence"])
@pytest.mark.parametrize("boundary", ["dirichlet", "noflux"])
def test_operator_symmetric_negative_semidefinite_and_conservative(form, boundary):
    grid = DiskGrid(radius_nm=20.0, spacing_nm=2.0)
    # a smooth, strongly varying anisotropic tensor field
    pts = grid.fine_points
    r2 = np.sum(pts**2, axis=-1)
    a = 1.0 + 4.0 * np.exp(-r2 / 50.0)
    b = 0.3 + 0.5 * np.exp(-r2 / 80.0)
    phi = np.arctan2(pts[..., 1], pts[..., 0])
    c, s = np.cos(phi), np.sin(phi)
    D = np.empty(pts.shape[:2] + (2, 2))
    D[..., 0, 0] = b * c * c + a * s * s
    D[..., 1, 1] = b * s * s + a * c * c
    D[..., 0, 1] = D[..., 1, 0] = (b - a) * c * s  # radial b, tangential a
    op = diffusion_operator(grid, jnp.asarray(D), form=form, boundary=boundary)
    L = _dense(op, grid.num_active)
    np.testing.assert_allclose(L, L.T, atol=1e-13 * np.abs(L).max())
    lam = np.linalg.eigvalsh((L + L.T) / 2)
    assert lam.max() < 1e-10 * np.abs(lam).max()
    ones = np.ones(grid.num_active)
    if boundary == "noflux":
        np.testing.assert_allclose(ones @ L, 0.0, atol=1e-12 * np.abs(L).max())
        assert abs(lam.max()) < 1e-10 * np.abs(lam).max()  # the conserved mode
    else:
        assert lam.max() < -1e-6 * np.abs(lam).max()  # Dirichlet: strictly decaying


def test_noflux_evolution_conserves_total_polarisation():
    grid = DiskGrid(radius_nm=40.0, spacing_nm=2.0)
    pts = grid.fine_points
    D = 2.0 + 20.0 * np.exp(-np.sum(pts**2, -1) / 100.0)
    op = diffusion_operator(grid, jnp.asarray(D), form="divergence", boundary="noflux")
    c = grid.centres
    v = jnp.asarray(np.exp(-np.sum((c - [5.0, -3.0]) ** 2, 1) / 64.0))
    ones = jnp.ones_like(v)
    ts = jnp.array([0.0, 1.0, 100.0, 1e4])
    total = Krylov(400).quadratic_form(op, ones, v, ts)
    np.testing.assert_allclose(total, float(jnp.sum(v)), rtol=1e-10)
    # Dirichlet loses it through the edge
    op_d = diffusion_operator(grid, jnp.asarray(D), form="divergence")
    lost = Krylov(400).quadratic_form(op_d, ones, v, ts)
    assert float(lost[-1]) < 0.01 * float(jnp.sum(v))


def test_gaussian_spreading_with_constant_anisotropic_tensor():
    """Constant D: an initial Gaussian of covariance S0 stays Gaussian with S0 + 2 D t.
    Its overlap with a Gaussian weight of covariance S1 then gives
    h(t)/h(0) = sqrt(det(S0 + S1) / det(S0 + S1 + 2 D t)). Tests the D^xy terms;
    second-order convergence in the cell size."""
    S0, S1 = np.diag([25.0, 16.0]), np.diag([36.0, 36.0])  # v = exp(-x^T S0^-1 x / 2)
    ts = jnp.array([0.0, 5.0, 20.0])
    errors = []
    for h in (2.0, 1.0):
        grid = DiskGrid(radius_nm=45.0, spacing_nm=h)
        Dfine, D = _rotated_tensor(grid, 3.0, 0.5, 0.5)  # principal axes at 0.5 rad
        op = diffusion_operator(grid, Dfine, form="tensor", boundary="noflux")
        c = grid.centres
        quad = lambda S, c=c: np.einsum("ni,ij,nj->n", c, np.linalg.inv(S), c)
        v, u = jnp.asarray(np.exp(-quad(S0) / 2)), jnp.asarray(np.exp(-quad(S1) / 2))
        out = Krylov(256).quadratic_form(op, u, v, ts)
        expected = [
            math.sqrt(np.linalg.det(S0 + S1) / np.linalg.det(S0 + S1 + 2 * D * t)) for t in ts
        ]
        errors.append(np.max(np.abs(np.asarray(out / out[0]) / expected - 1)))
    assert errors[1] < 1.5e-3
    assert errors[0] / errors[1] > 3.5  # 4 for second order


def test_isotropic_gaussian_spreading_and_grid_convergence():
    """The paper's geometry with constant D: h(t)/h(0) = (r0² + l0²)/(r0² + l0² + 4 D t)
    on the infinite plane; the 300-nm disk edge is far. Second order in the cell size."""
    D, r0, l0 = 7.0, 20.0, 30.0
    ts = jnp.array([10.0, 100.0, 400.0])
    expected = (r0**2 + l0**2) / (r0**2 + l0**2 + 4 * D * np.asarray(ts))
    errors = []
    for h in (6.0, 3.0):
        grid = DiskGrid(radius_nm=300.0, spacing_nm=h)
        op = diffusion_operator(grid, D)
        r2 = np.sum(grid.centres**2, 1)
        u, v = jnp.asarray(np.exp(-r2 / l0**2)), jnp.asarray(np.exp(-r2 / r0**2))
        out = Krylov(256).quadratic_form(op, u, v, jnp.concatenate([jnp.zeros(1), ts]))
        errors.append(np.max(np.abs(np.asarray(out[1:] / out[0]) - expected)))
    assert errors[1] < 5e-4
    assert errors[0] / errors[1] > 3.0  # ~4 for second order


def test_laplacian_reading_is_the_symmetrised_nonconservative_equation():
    grid = DiskGrid(radius_nm=16.0, spacing_nm=2.0)
    pts = grid.fine_points
    D = jnp.asarray(1.0 + 3.0 * np.exp(-np.sum(pts**2, -1) / 40.0))
    lap = diffusion_operator(grid, D, form="laplacian")
    div = diffusion_operator(grid, D, form="divergence")
    n = grid.num_active
    L = _dense(lap, n)
    # D ∇²P: not symmetric, not conservative, but equal to diag(D) times the unit Laplacian
    assert np.abs(L - L.T).max() > 1e-3 * np.abs(L).max()
    unit = _dense(diffusion_operator(grid, 1.0, form="divergence"), n)
    np.testing.assert_allclose(L, np.asarray(lap.dcell)[:, None] * unit, rtol=1e-12, atol=1e-14)
    # symmetrised Krylov/Eigen vs time stepping of the non-symmetric equation
    c = grid.centres
    v = jnp.asarray(np.exp(-np.sum(c**2, 1) / 30.0))
    u = jnp.asarray(np.exp(-np.sum(c**2, 1) / 60.0))
    ts = jnp.array([0.1, 1.0, 10.0])
    matvec, left, right = lap.symmetric()
    sym = Eigen().quadratic_form(matvec, left * u, right * v, ts)
    ode = ODE().quadratic_form(lap, u, v, ts)
    np.testing.assert_allclose(sym, ode, rtol=1e-7)
    # and it differs from the conservative reading
    other = Eigen().quadratic_form(div, u, v, ts)
    assert np.max(np.abs(np.asarray(other - sym))) > 1e-3 * float(sym[0])


def test_bad_input():
    grid = DiskGrid(radius_nm=10.0, spacing_nm=2.0)
    with pytest.raises(ValueError, match="form"):
        diffusion_operator(grid, 1.0, form="divergent")
    with pytest.raises(ValueError, match="boundary"):
        diffusion_operator(grid, 1.0, boundary="periodic")
    with pytest.raises(ValueError, match="D_fine"):
        diffusion_operator(grid, jnp.ones((3, 3)))
    with pytest.raises(ValueError, match="spacing_nm"):
        DiskGrid(radius_nm=10.0, spacing_nm=-1.0)
