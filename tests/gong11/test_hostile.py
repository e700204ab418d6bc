"""[Gong11] hostile input: every public entry point refuses bad values with a message that
names the argument, eagerly and under ``jit``/``vmap`` (a :class:`QuantumDot` built inside
``jit`` from traced values is refused at run time); sizes that cannot fit are refused with
the number before anything is allocated. Tiny grids and lattices only."""

import functools
import math
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

import jaxspin
import jaxspin.gong11 as g
from jaxspin.gong11._fit import fit_effective_diffusion
from tests import hostile


TRACED_ERRORS = (eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError)
DOT = g.QuantumDot()
NB = g.default_neighbourhood()
GRID = g.DiskGrid(radius_nm=24.0, spacing_nm=6.0)  # 45 active cells
TS = jnp.array([0.0, 10.0, 100.0])
EIGEN = g.Eigen()
F = 2 * GRID.size - 1  # the fine sampling grid of GRID, F x F points
slow = pytest.mark.slow


def decay(**kw):
    """The continuum decay on the tiny grid (dense solver: quick to compile)."""
    kw.setdefault("solver", EIGEN)
    return g.overhauser_decay(kw.pop("dot", DOT), kw.pop("ts", TS), grid=GRID, **kw)


LD = g.lattice_diffusion(DOT, NB, 3.0)  # 89 sites


@functools.cache
def _hz():
    return decay()


# --------------------------------------------------------------------------------------
# The table: (id, call(x), good x, bad x, exception, message fragment, traced modes)
# "jit": jax.jit(call)(bad); "vmap": jax.vmap(call)(stack([good, bad])); both must raise at
# run time with the same message fragment.
# --------------------------------------------------------------------------------------
CASES = [
    # the dot: construction checks every field, also when traced
    (
        "dot l0 nan",
        lambda x: g.QuantumDot(l0_nm=x).l0_nm,
        30.0,
        math.nan,
        ValueError,
        "`l0_nm`",
        ("jit", "vmap"),
    ),
    (
        "dot l0 = 0",
        lambda x: g.QuantumDot(l0_nm=x).l0_nm,
        30.0,
        0.0,
        ValueError,
        "`l0_nm` must be finite and > 0",
        ("jit",),
    ),
    (
        "dot z0 < 0",
        lambda x: g.QuantumDot(z0_nm=x).z0_nm,
        10.0,
        -1.0,
        ValueError,
        "`z0_nm`",
        ("jit",),
    ),
    (
        "dot A0 < 0",
        lambda x: g.QuantumDot(A0_neV=x).A0_neV,
        1.0,
        -1.0,
        ValueError,
        "`A0_neV`",
        ("jit", "vmap"),
    ),
    ("dot s_z = 0.7", lambda x: g.QuantumDot(s_z=x).s_z, 0.5, 0.7, ValueError, "`s_z`", ("jit",)),
    (
        "dot gamma inf",
        lambda x: g.QuantumDot(gamma=x).gamma,
        4.6e7,
        math.inf,
        ValueError,
        "`gamma`",
        ("jit",),
    ),
    (
        "dot B0 nan",
        lambda x: g.QuantumDot(B0_T=x).B0_T,
        0.2,
        math.nan,
        ValueError,
        "`B0_T`",
        ("jit",),
    ),
    (
        "dot B0 = 0 with s_z",
        lambda x: g.QuantumDot(B0_T=x).B0_T,
        0.2,
        0.0,
        ValueError,
        "`B0_T` and `g_e` must be nonzero",
        ("jit", "vmap"),
    ),
    (
        "dot g_e = 0 with s_z",
        lambda x: g.QuantumDot(g_e=x).g_e,
        0.44,
        0.0,
        ValueError,
        "`B0_T` and `g_e`",
        ("jit",),
    ),
    (
        "dot s_z traced, B0 = 0",
        lambda s: g.QuantumDot(B0_T=0.0, s_z=s).s_z,
        0.0,
        0.5,
        ValueError,
        "`B0_T` and `g_e`",
        ("jit",),
    ),
    (
        "dot spin 1.2",
        lambda x: g.QuantumDot(spin=x, prefactors=(1.0,)),
        0.5,
        1.2,
        ValueError,
        "`spin`",
        (),
    ),
    (
        "dot prefactors < 0",
        lambda p: g.QuantumDot(prefactors=p),
        (3.4,),
        (-1.0,),
        ValueError,
        "`prefactors`",
        (),
    ),
    ("dot planck", lambda p: g.QuantumDot(planck=p), "hbar", "x", ValueError, "`planck`", ()),
    ("flipflop_prefactors 0", g.flipflop_prefactors, 1.5, 0.0, ValueError, "`spin`", ()),
    # lattices and neighbourhoods
    (
        "square spacing inf",
        lambda a: g.SquareLattice(spacing_nm=a),
        0.563,
        math.inf,
        ValueError,
        "`spacing_nm`",
        (),
    ),
    ("fcc a < 0", lambda a: g.FCCLattice(a_nm=a), 0.563, -1.0, ValueError, "`a_nm`", ()),
    (
        "cutoff nan",
        lambda c: g.neighbourhood(g.SquareLattice(), c),
        1.0,
        math.nan,
        ValueError,
        "`cutoff_nm`",
        (),
    ),
    (
        "cutoff inf",
        lambda c: g.neighbourhood(g.SquareLattice(), c),
        1.0,
        math.inf,
        ValueError,
        "`cutoff_nm`",
        (),
    ),
    (
        "cutoff below nn",
        lambda c: g.neighbourhood(g.SquareLattice(), c),
        0.6,
        0.5,
        ValueError,
        "`cutoff_nm`",
        (),
    ),
    (
        "neighbourhood lattice",
        g.neighbourhood,
        g.SquareLattice(),
        "square",
        TypeError,
        "`lattice`",
        (),
    ),
    (
        "offsets cutoff nan",
        lambda c: g.SquareLattice().offsets(c),
        1.0,
        math.nan,
        ValueError,
        "`cutoff_nm`",
        (),
    ),
    (
        "plane_sites r < 0",
        lambda r: g.SquareLattice().plane_sites(r),
        2.0,
        -1.0,
        ValueError,
        "`radius_nm`",
        (),
    ),
    (
        "neighbour_list other lattice",
        lambda lat: g.neighbour_list(lat, NB, 3.0),
        g.SquareLattice(),
        g.SquareLattice(1.0),
        ValueError,
        "`nb` was built for",
        (),
    ),
    (
        "neighbour_list r nan",
        lambda r: g.neighbour_list(g.SquareLattice(), NB, r),
        3.0,
        math.nan,
        ValueError,
        "`radius_nm`",
        (),
    ),
    # the lattice equation
    (
        "lattice_diffusion r = 0",
        lambda r: g.lattice_diffusion(DOT, NB, r),
        3.0,
        0.0,
        ValueError,
        "`radius_nm`",
        (),
    ),
    (
        "lattice_diffusion boundary",
        lambda b: g.lattice_diffusion(DOT, NB, 3.0, boundary=b),
        "noflux",
        "open",
        ValueError,
        "`boundary`",
        (),
    ),
    (
        "lattice_diffusion dot",
        lambda d: g.lattice_diffusion(d, NB, 3.0),
        DOT,
        "dot",
        TypeError,
        "`dot`",
        (),
    ),
    (
        "lattice_diffusion block 0",
        lambda b: g.lattice_diffusion(DOT, NB, 3.0, block_size=b),
        None,
        0,
        ValueError,
        "`block_size`",
        (),
    ),
    ("LatticeDiffusion P shape", LD, jnp.zeros(LD.num_sites), jnp.zeros(3), ValueError, "`P`", ()),
    (
        "lattice_decay r nan",
        lambda r: g.lattice_decay(DOT, TS, radius_nm=r, solver=EIGEN),
        3.0,
        math.nan,
        ValueError,
        "`radius_nm`",
        (),
    ),
    (
        "lattice_decay ts < 0",
        lambda t: g.lattice_decay(DOT, t, radius_nm=3.0, solver=EIGEN),
        TS,
        -TS,
        ValueError,
        "`ts` must be finite and >= 0",
        (),
    ),
    # the continuum equation and the decay
    (
        "decay ts empty",
        lambda t: decay(ts=t),
        TS,
        jnp.zeros(0),
        ValueError,
        "`ts` must be 1-D and non-empty",
        (),
    ),
    ("decay ts 2-D", lambda t: decay(ts=t), TS, TS[None], ValueError, "`ts`", ()),
    (
        "decay ts < 0",
        lambda t: decay(ts=TS * t),
        1.0,
        -1.0,
        ValueError,
        "`ts` must be finite and >= 0",
        ("jit", "vmap"),
    ),
    (
        "decay ts nan",
        lambda t: decay(ts=TS + t),
        0.0,
        math.nan,
        ValueError,
        "`ts` must be finite",
        ("jit",),
    ),
    (
        "decay r0 = 0",
        lambda r: decay(r0_nm=r),
        20.0,
        0.0,
        ValueError,
        "`r0_nm` must be finite and > 0",
        ("jit", "vmap"),
    ),
    ("decay iz0 nan", lambda i: decay(iz0=i), 0.5, math.nan, ValueError, "`iz0`", ("jit",)),
    (
        "decay l0 < 0 traced",
        lambda x: decay(dot=g.QuantumDot(l0_nm=x)),
        30.0,
        -30.0,
        ValueError,
        "`l0_nm`",
        ("jit", "vmap"),
    ),
    ("decay form", lambda f: decay(form=f), "tensor", "scalar", ValueError, "`form`", ()),
    (
        "decay boundary",
        lambda b: decay(boundary=b),
        "dirichlet",
        "open",
        ValueError,
        "`boundary`",
        (),
    ),
    ("decay solver", lambda s: decay(solver=s), EIGEN, "krylov", TypeError, "`solver`", ()),
    (
        "decay grid",
        lambda gr: g.overhauser_decay(DOT, TS, grid=gr, solver=EIGEN),
        GRID,
        24.0,
        TypeError,
        "`grid`",
        (),
    ),
    (
        "decay nb",
        lambda nb: g.overhauser_decay(DOT, TS, nb=nb, grid=GRID, solver=EIGEN),
        NB,
        1.0,
        TypeError,
        "`nb`",
        (),
    ),
    (
        "decay dot",
        lambda d: g.overhauser_decay(d, TS, grid=GRID, solver=EIGEN),
        DOT,
        None,
        TypeError,
        "`dot`",
        (),
    ),
    (
        "vectors r0 < 0",
        lambda r: g.overhauser_vectors(DOT, NB, GRID, r0_nm=r),
        20.0,
        -20.0,
        ValueError,
        "`r0_nm`",
        ("jit",),
    ),
    (
        "continuum form",
        lambda f: g.continuum_problem(DOT, NB, GRID, form=f),
        "laplacian",
        "x",
        ValueError,
        "`form`",
        (),
    ),
    (
        "grid radius inf",
        lambda r: g.DiskGrid(radius_nm=r),
        30.0,
        math.inf,
        ValueError,
        "`radius_nm`",
        (),
    ),
    (
        "grid too coarse",
        lambda h: g.DiskGrid(radius_nm=24.0, spacing_nm=h),
        6.0,
        20.0,
        ValueError,
        "`spacing_nm`",
        (),
    ),
    (
        "diffop D < 0",
        lambda d: g.diffusion_operator(GRID, d).dxx,
        7.0,
        -7.0,
        ValueError,
        "`D_fine` must be finite and positive semidefinite",
        ("jit", "vmap"),
    ),
    (
        "diffop D nan",
        lambda d: g.diffusion_operator(GRID, jnp.full((F, F), d)).dxx,
        7.0,
        math.nan,
        ValueError,
        "`D_fine`",
        ("jit",),
    ),
    (
        "diffop not PSD",
        lambda c: (
            g.diffusion_operator(
                GRID, jnp.broadcast_to(jnp.array([[1.0, c], [c, 1.0]]), (F, F, 2, 2))
            ).dxx
        ),
        0.5,
        2.0,
        ValueError,
        "positive semidefinite",
        ("jit",),
    ),
    (
        "diffop laplacian D = 0",
        lambda d: g.diffusion_operator(GRID, d, form="laplacian").dcell,
        7.0,
        0.0,
        ValueError,
        'form="laplacian"',
        ("jit",),
    ),
    (
        "diffop shape",
        lambda d: g.diffusion_operator(GRID, d),
        7.0,
        jnp.ones((3, 3)),
        ValueError,
        "`D_fine`",
        (),
    ),
    (
        "DiffusionOperator p shape",
        g.diffusion_operator(GRID, 7.0),
        jnp.ones(GRID.num_active),
        jnp.ones(3),
        ValueError,
        "`p`",
        (),
    ),
    # couplings and rates
    (
        "hyperfine xyz shape",
        lambda x: g.hyperfine(DOT, x),
        jnp.zeros((4, 3)),
        jnp.zeros((4, 2)),
        ValueError,
        "`xyz`",
        (),
    ),
    (
        "dipolar shape",
        lambda d: g.dipolar(DOT, d),
        jnp.ones(3),
        jnp.ones(2),
        ValueError,
        "`displacement`",
        (),
    ),
    (
        "effective_coupling shape",
        lambda x: g.effective_coupling(DOT, x, jnp.zeros(3)),
        jnp.ones(3),
        jnp.ones(2),
        ValueError,
        "`x_i`",
        (),
    ),
    (
        "flipflop_rate g < 0",
        lambda v: g.flipflop_rate(DOT, 1e3, 0.0, v),
        1e6,
        -1e6,
        ValueError,
        "`g` must be >= 0",
        ("jit", "vmap"),
    ),
    (
        "bond_rates x_k shape",
        lambda x: g.bond_rates(DOT, NB, x),
        jnp.zeros(3),
        jnp.zeros(2),
        ValueError,
        "`x_k`",
        (),
    ),
    (
        "bond_rates nb",
        lambda nb: g.bond_rates(DOT, nb, jnp.zeros(3)),
        NB,
        "nb",
        TypeError,
        "`nb`",
        (),
    ),
    (
        "diffusion_tensor xy shape",
        lambda x: g.diffusion_tensor(DOT, NB, x),
        jnp.zeros(2),
        jnp.zeros(3),
        ValueError,
        "`xy`",
        (),
    ),
    (
        "diffusion_coefficient xy",
        lambda x: g.diffusion_coefficient(DOT, NB, x),
        jnp.zeros(2),
        jnp.zeros((1, 2)),
        ValueError,
        "`xy`",
        (),
    ),
    (
        "diffusion_map shape",
        lambda p: g.diffusion_map(DOT, NB, p),
        jnp.zeros((3, 2)),
        jnp.zeros((3, 3)),
        ValueError,
        "`points`",
        (),
    ),
    (
        "diffusion_map block 0",
        lambda b: g.diffusion_map(DOT, NB, jnp.zeros((3, 2)), block_size=b),
        2,
        0,
        ValueError,
        "`block_size`",
        (),
    ),
    (
        "bond_rates_at block -1",
        lambda b: g.bond_rates_at(DOT, NB, jnp.zeros((3, 3)), block_size=b),
        2,
        -1,
        ValueError,
        "`block_size`",
        (),
    ),
    # the propagators
    ("Krylov steps 0", lambda n: g.Krylov(num_steps=n), 16, 0, ValueError, "`num_steps`", ()),
    ("Krylov rtol < 0", lambda r: g.Krylov(rtol=r), 1e-6, -1e-6, ValueError, "`rtol`", ()),
    ("ODE atol nan", lambda a: g.ODE(atol=a), 1e-12, math.nan, ValueError, "`atol`", ()),
    ("ODE max_steps 0", lambda n: g.ODE(max_steps=n), 10, 0, ValueError, "`max_steps`", ()),
    (
        "lanczos steps 0",
        lambda n: g.lanczos(lambda x: -x, jnp.ones(3), jnp.ones(3), n),
        2,
        0,
        ValueError,
        "`num_steps`",
        (),
    ),
    (
        "lanczos shapes",
        lambda u: g.lanczos(lambda x: -x, jnp.ones(3), u, 2),
        jnp.ones(3),
        jnp.ones(4),
        ValueError,
        "`u` and `v`",
        (),
    ),
    (
        "ODE ts decreasing",
        lambda s: g.ODE().quadratic_form(
            lambda x: -x, jnp.ones(2), jnp.ones(2), jnp.array([0.0, 1.0]) * s
        ),
        1.0,
        -1.0,
        ValueError,
        "`ts` must be non-decreasing",
        ("jit",),
    ),
    # the fits
    (
        "fit ts nan",
        lambda t: fit_effective_diffusion(TS + t, _hz(), DOT, grid=GRID),
        0.0,
        math.nan,
        ValueError,
        "`ts`",
        (),
    ),
    (
        "fit D0 = 0",
        lambda d: fit_effective_diffusion(TS, _hz(), DOT, grid=GRID, D0=d),
        1.0,
        0.0,
        ValueError,
        "`D0`",
        (),
    ),
]
IDS = [c[0] for c in CASES]

# Each compiles a Krylov/ODE/lattice problem of its own (seconds): run with -m slow.
SLOW_GOOD = {
    "fit ts nan", "fit D0 = 0", "ODE ts decreasing", "lattice_decay r nan",
    "lattice_decay ts < 0", "decay r0 = 0", "DiffusionOperator p shape", "continuum form",
    "vectors r0 < 0", "diffusion_coefficient xy", "diffusion_tensor xy shape",
    "bond_rates_at block -1", "hyperfine xyz shape", "diffusion_map shape",
    "diffusion_map block 0", "effective_coupling shape", "dipolar shape", "lanczos steps 0",
    "LatticeDiffusion P shape",
}  # fmt: skip
SLOW_TRACED = {
    ("decay l0 < 0 traced", "jit"), ("decay l0 < 0 traced", "vmap"), ("decay r0 = 0", "jit"),
    ("decay r0 = 0", "vmap"), ("decay ts < 0", "vmap"), ("decay iz0 nan", "jit"),
    ("decay ts nan", "jit"), ("ODE ts decreasing", "jit"), ("diffop D < 0", "vmap"),
}  # fmt: skip


test_refused_eagerly, test_good_value_accepted, test_refused_when_traced = (
    hostile.value_table_tests(CASES, SLOW_GOOD, SLOW_TRACED)
)


# --------------------------------------------------------------------------------------
# Memory: impossible sizes are refused with the number, before anything is allocated
# --------------------------------------------------------------------------------------
MEMORY_CASES = [
    (
        "lattice_decay radius 1e5 nm",
        lambda: g.lattice_decay(DOT, TS, radius_nm=1e5),
        "lattice problem",
    ),
    (
        "lattice_diffusion radius 1e5 nm",
        lambda: g.lattice_diffusion(DOT, NB, 1e5),
        "lattice problem",
    ),
    ("plane_sites 1e5 nm", lambda: g.SquareLattice().plane_sites(1e5), "disk of radius"),
    ("fcc cut-off 1e3 nm", lambda: g.neighbourhood(g.FCCLattice(), 1e3), "cut-off"),
    (
        "decay on a 1e6 nm grid",
        lambda: g.overhauser_decay(DOT, TS, grid=g.DiskGrid(1e6, 1.0)),
        "diffusion grid",
    ),
    (
        "vectors on a 1e6 nm grid",
        lambda: g.overhauser_vectors(DOT, NB, g.DiskGrid(1e6, 1.0)),
        "diffusion grid",
    ),
    (
        "operator on a 1e6 nm grid",
        lambda: g.diffusion_operator(g.DiskGrid(1e6, 1.0), 7.0),
        "diffusion grid",
    ),
    (
        "Eigen on 1e5 cells",
        lambda: EIGEN.quadratic_form(lambda x: -x, jnp.ones(10**5), jnp.ones(10**5), TS),
        "dense 100000",
    ),
    (
        "ODE on 1e5 cells",
        lambda: g.ODE().quadratic_form(lambda x: -x, jnp.ones(10**5), jnp.ones(10**5), TS),
        "Jacobian",
    ),
    ("dense rate matrix", lambda: LD.rate_matrix(), "rate matrix"),
]


@pytest.mark.parametrize("name,call,match", MEMORY_CASES, ids=[c[0] for c in MEMORY_CASES])
def test_memory_refused_with_the_number(monkeypatch, name, call, match):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "64K")
    with pytest.raises(jaxspin.MemoryBudgetError) as err:
        call()
    assert re.search(match, str(err.value)) and "needs about" in str(err.value)


def test_valid_decay_unchanged_by_the_checks():
    """A traced valid dot (the checks are staged) gives the eager numbers."""
    eager = decay(dot=g.QuantumDot(B0_T=0.5))
    traced = jax.jit(lambda b: decay(dot=g.QuantumDot(B0_T=b)))(0.5)
    assert bool(jnp.all(jnp.isfinite(eager)))
    assert jnp.allclose(traced, eager, rtol=1e-12, atol=0)
