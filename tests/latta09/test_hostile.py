"""Hostile input for latta09 (issue 16): every refusal names the argument and holds
eagerly and under ``jit``/``vmap``; sizes that cannot fit are refused with the number;
``throw=False`` turns a bad point into NaN plus a result code for that point only. Valid
calls in the same tables prove the checks refuse nothing good."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspin
from jaxspin.latta09 import (
    DickeSpace,
    Latta09Params,
    PhenomenologicalModel,
    detuning_scan,
    dot_steadystate,
    drag,
    dragging_width,
    ladder_generators,
    locking_points,
    matrix_elements,
    multiplicities_exact,
    nuclear_steady_state,
    polarization_map,
    polarization_rates,
    scan_detunings,
    zero_crossings,
)
from tests import hostile


# A staged check raises at run time: EquinoxRuntimeError (eager vmap, filter_jit),
# JaxRuntimeError (first call of a jax.jit) or, on jax 0.9.2, a plain ValueError from the
# C++ fast path of a cached jax.jit executable. The message fragment is checked in all.
TRACED_ERRORS = (eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError, ValueError)
SOLVER = jaxspin.DenseLU(unroll_max=0)
P = Latta09Params(hyperfine=6.0)  # A/N = 1 µeV on SPACE
SPACE = DickeSpace(6, tail=0.0)
DETS = jnp.array([0.0, 0.5])
ONE_DWELL = jnp.array([1e-6])


def field_of(name):
    return lambda x: getattr(Latta09Params(**{name: x}), name)


# ---- value checks on one array argument: (id, f(x), bad x, good x, message fragment) ----
VALUE_CASES = [
    ("Latta09Params.kappa<0", field_of("kappa"), -1.0, 0.002, "`kappa`"),
    ("Latta09Params.gamma=0", field_of("gamma"), 0.0, 1.0, "`gamma`"),
    ("Latta09Params.hyperfine=nan", field_of("hyperfine"), np.nan, 6.0, "`hyperfine`"),
    ("Latta09Params.field=0", field_of("field"), 0.0, 4.5, "`field`"),
    ("Latta09Params.g_e=0", field_of("g_e"), 0.0, -0.67, "`g_e`"),
    ("Latta09Params.decay=0", field_of("decay"), 0.0, 0.1, "`decay`"),
    ("Latta09Params.rabi<0", field_of("rabi"), -1.0, 0.0, "`rabi`"),
    ("Latta09Params.gamma_hhlh<0", field_of("gamma_hhlh"), -0.01, 0.0, "`gamma_hhlh`"),
    (
        "Latta09Params.spin_dephasing=inf",
        field_of("spin_dephasing"),
        np.inf,
        0.0,
        "`spin_dephasing`",
    ),
    ("Latta09Params.detuning=nan", field_of("detuning"), np.nan, -3.0, "`detuning`"),
    ("replace(rabi=nan)", lambda x: P.replace(rabi=x).rabi, np.nan, 2.0, "`rabi`"),
    (
        "PhenomenologicalModel.gamma_dec=0",
        lambda x: PhenomenologicalModel(0.1, 0.1, x, 1.0, 1.0, 1.0).gamma_dec,
        0.0,
        1e-3,
        "`gamma_dec`",
    ),
    (
        "PhenomenologicalModel.from_params gamma_hhlh=0",
        lambda x: PhenomenologicalModel.from_params(P.replace(gamma_hhlh=x), 40).alpha_oh,
        0.0,
        0.01,
        "gamma_hhlh > 0",
    ),
    (
        "dot_steadystate shift=nan",
        lambda x: dot_steadystate(P, jnp.stack([0.0, x]), solver=SOLVER),
        np.nan,
        0.3,
        "`shift`",
    ),
    (
        "matrix_elements spins<0",
        lambda x: matrix_elements(jnp.stack([x, 1.0]), jnp.arange(-1.0, 2.0))[0],
        -1.0,
        0.0,
        "`spins`",
    ),
    (
        "polarization_rates |P|>1",
        lambda x: polarization_rates(P, SPACE, jnp.stack([0.0, x]), solver=SOLVER).total,
        1.5,
        1.0,
        "`polarization`",
    ),
    (
        "polarization_rates effective_detuning=inf",
        lambda x: polarization_rates(P, SPACE, 0.0, x, solver=SOLVER).total,
        np.inf,
        0.3,
        "`effective_detuning`",
    ),
    # the case: a negative dwell time gave silent NaN
    (
        "drag dwell<0",
        lambda x: drag(P, SPACE, DETS, jnp.stack([x]), solver=SOLVER).absorption,
        -1e-6,
        1e-6,
        "`dwells`",
    ),
    (
        "drag detunings=nan",
        lambda x: drag(P, SPACE, jnp.stack([0.0, x]), ONE_DWELL, solver=SOLVER).absorption,
        np.nan,
        0.5,
        "`detunings`",
    ),
    (
        "drag initial<0",
        lambda x: (
            drag(
                P,
                SPACE,
                DETS,
                ONE_DWELL,
                jnp.full((SPACE.num_ladders, SPACE.num_m), x),
                solver=SOLVER,
            ).absorption
        ),
        -0.1,
        0.1,
        "`initial`",
    ),
]
IDS = [c[0] for c in VALUE_CASES]


@pytest.mark.parametrize("name, fn, bad, good, match", VALUE_CASES, ids=IDS)
def test_refused_eagerly(name, fn, bad, good, match):
    hostile.refused_eagerly(fn, bad, match)


# cheap to compile: refused under jax.jit and jit(vmap), and the valid call is unchanged
JIT_IDS = [
    "Latta09Params.kappa<0",
    "Latta09Params.g_e=0",
    "Latta09Params.detuning=nan",
    "replace(rabi=nan)",
    "PhenomenologicalModel.from_params gamma_hhlh=0",
    "matrix_elements spins<0",
]
# a solve per call: refused under (eager) vmap here, under jit in the slow test below
HEAVY_IDS = [
    "dot_steadystate shift=nan",
    "polarization_rates |P|>1",
    "polarization_rates effective_detuning=inf",
    "drag dwell<0",
    "drag detunings=nan",
    "drag initial<0",
]
JIT_CASES = [c for c in VALUE_CASES if c[0] in JIT_IDS]
HEAVY_CASES = [c for c in VALUE_CASES if c[0] in HEAVY_IDS]


@pytest.mark.parametrize("name, fn, bad, good, match", JIT_CASES, ids=JIT_IDS)
def test_refused_under_jit_and_vmap_valid_call_unchanged(name, fn, bad, good, match):
    hostile.jit_unchanged(fn, good, rtol=1e-13, jit=eqx.filter_jit)
    hostile.refused_traced(fn, good, bad, match, "filter_jit")
    hostile.refused_traced(fn, good, bad, match, "jit_vmap")


@pytest.mark.parametrize("name, fn, bad, good, match", HEAVY_CASES, ids=HEAVY_IDS)
def test_refused_under_vmap(name, fn, bad, good, match):
    hostile.refused_traced(fn, good, bad, match, "vmap")


@pytest.mark.slow
@pytest.mark.parametrize("name, fn, bad, good, match", HEAVY_CASES, ids=HEAVY_IDS)
def test_heavy_refused_under_jit_valid_call_unchanged(name, fn, bad, good, match):
    hostile.jit_unchanged(fn, good, rtol=1e-13, jit=eqx.filter_jit)
    hostile.refused_traced(fn, good, bad, match, "filter_jit")


# ---- sizes, shapes, Python arguments: plain eager errors --------------------------------
STATIC_CASES = [
    # the case: a raw allocator error; now refused with the number before allocating
    ("DickeSpace(10**9)", lambda: DickeSpace(10**9), jaxspin.MemoryBudgetError, "needs about"),
    ("DickeSpace(0)", lambda: DickeSpace(0), ValueError, "`n_nuclei`"),
    ("DickeSpace(2.5)", lambda: DickeSpace(2.5), ValueError, "`n_nuclei`"),
    ("DickeSpace spin=nan", lambda: DickeSpace(10, float("nan")), ValueError, "`spin`"),
    ("DickeSpace spin=inf", lambda: DickeSpace(10, float("inf")), ValueError, "`spin`"),
    ("DickeSpace spin=0.7", lambda: DickeSpace(10, 0.7), ValueError, "`spin`"),
    ("DickeSpace tail=nan", lambda: DickeSpace(10, tail=float("nan")), ValueError, "`tail`"),
    ("detuning_scan empty", lambda: detuning_scan(P, SPACE, []), ValueError, "`detunings`"),
    (
        "detuning_scan nan",
        lambda: detuning_scan(P, SPACE, [0.0, np.nan]),
        ValueError,
        "`detunings`",
    ),
    ("detuning_scan space", lambda: detuning_scan(P, 6, [0.0]), TypeError, "`space`"),
    (
        "nuclear_steady_state batched params",
        lambda: nuclear_steady_state(Latta09Params(rabi=jnp.ones(3)), SPACE),
        ValueError,
        "one parameter point",
    ),
    (
        "nuclear_steady_state params",
        lambda: nuclear_steady_state({"rabi": 1.0}, SPACE),
        TypeError,
        "`params`",
    ),
    (
        "drag empty detunings",
        lambda: drag(P, SPACE, jnp.zeros(0), ONE_DWELL),
        ValueError,
        "non-empty",
    ),
    ("drag empty dwells", lambda: drag(P, SPACE, DETS, jnp.zeros(0)), ValueError, "non-empty"),
    (
        "drag 2-D dwells",
        lambda: drag(P, SPACE, DETS, jnp.ones((1, 1))),
        ValueError,
        "`detunings` and `dwells`",
    ),
    (
        "drag initial shape",
        lambda: drag(P, SPACE, DETS, ONE_DWELL, jnp.ones((2, 2))),
        ValueError,
        "`initial` must have shape",
    ),
    (
        "polarization_map rabi<0",
        lambda: polarization_map(P, SPACE, [0.0, 0.5], [1.0, -1.0]),
        ValueError,
        "`rabis`",
    ),
    (
        "polarization_map empty rabis",
        lambda: polarization_map(P, SPACE, [0.0], []),
        ValueError,
        "`rabis`",
    ),
    (
        "polarization_map outputs=()",
        lambda: polarization_map(P, SPACE, [0.0], [1.0], outputs=()),
        ValueError,
        "`outputs` is empty",
    ),
    (
        "polarization_map outputs str",
        lambda: polarization_map(P, SPACE, [0.0], [1.0], outputs="absorption"),
        ValueError,
        "not the string",
    ),
    (
        "scan_detunings step=nan",
        lambda: scan_detunings(0.0, 1.0, float("nan")),
        ValueError,
        "`step`",
    ),
    (
        "scan_detunings stop=inf",
        lambda: scan_detunings(0.0, float("inf"), 0.1),
        ValueError,
        "`stop`",
    ),
    (
        "scan_detunings 1e30 steps",
        lambda: scan_detunings(0.0, 1e20, 1e-10),
        jaxspin.MemoryBudgetError,
        "needs about",
    ),
    ("scan_detunings overflow", lambda: scan_detunings(0.0, 1e300, 1e-10), ValueError, "overflows"),
    (
        "dragging_width threshold=0",
        lambda: dragging_width([0.0, 1.0], [1.0, 2.0], 0.0),
        ValueError,
        "`threshold`",
    ),
    ("dragging_width nan", lambda: dragging_width([0.0, 1.0], [1.0, np.nan]), ValueError, "finite"),
    (
        "zero_crossings nan",
        lambda: zero_crossings([0.0, 1.0], [1.0, np.nan], stable_if_slope="negative"),
        ValueError,
        "finite",
    ),
    (
        "locking_points one point",
        lambda: locking_points(P, SPACE, [0.0]),
        ValueError,
        "`polarizations`",
    ),
    (
        "dragging_range num=1",
        lambda: PhenomenologicalModel.from_params(P, 40).dragging_range(1),
        ValueError,
        "`num`",
    ),
    (
        "from_params n_nuclei=0",
        lambda: PhenomenologicalModel.from_params(P, 0),
        ValueError,
        "`n_nuclei`",
    ),
    (
        "matrix_elements 2-D",
        lambda: matrix_elements(jnp.ones((2, 2)), jnp.ones(3)),
        ValueError,
        "1-D",
    ),
]


@pytest.mark.parametrize("name, call, exc, match", STATIC_CASES, ids=[c[0] for c in STATIC_CASES])
def test_static_arguments_refused(name, call, exc, match):
    hostile.refused(call, exc, match)


@pytest.mark.parametrize(
    "call",
    [
        lambda: multiplicities_exact(3000),
        lambda: ladder_generators(P, DickeSpace(400)),
        lambda: drag(P, DickeSpace(400), DETS, ONE_DWELL),
        lambda: DickeSpace(200_000),
    ],
    ids=["multiplicities_exact", "ladder_generators", "drag", "DickeSpace"],
)
def test_sizes_refused_with_the_number_under_a_memory_limit(monkeypatch, call):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "1M")
    with pytest.raises(jaxspin.MemoryBudgetError, match=r"needs about [0-9.]+ [KMGT]?i?B"):
        call()


def test_valid_sizes_and_boundary_values_accepted():
    assert DickeSpace(10**6).n_nuclei == 10**6  # construction alone is cheap and fits
    p = Latta09Params(hyperfine=6.0, rabi=0.0, gamma_hhlh=0.0, spin_dephasing=0.0)
    ss = nuclear_steady_state(p, SPACE, solver=SOLVER)
    assert np.isfinite(float(ss.polarization)) and bool(ss.result == jaxspin.RESULTS.successful)
    # a dwell of zero time is valid: the state does not move
    scan = drag(P, SPACE, DETS, jnp.array([0.0]), solver=SOLVER)
    assert np.all(np.isfinite(np.asarray(scan.absorption)))
    np.testing.assert_allclose(scan.polarization[0, 0], scan.polarization[0, 1], rtol=1e-12)


def test_throw_false_marks_only_the_bad_point():
    """vmap over rabi with one negative value (a point built with tree_at, bypassing the
    constructor): NaN and RESULTS.nonfinite there, the other point unchanged."""

    def pol(rabi):
        q = eqx.tree_at(lambda p: p.rabi, P, rabi)
        ss = nuclear_steady_state(q, SPACE, solver=SOLVER, throw=False)
        return ss.polarization, ss.result._value

    pols, codes = jax.jit(jax.vmap(pol))(jnp.array([1.0, -1.0, np.nan]))
    ok, bad = int(jaxspin.RESULTS.successful._value), int(jaxspin.RESULTS.nonfinite._value)
    np.testing.assert_array_equal(np.asarray(codes), [ok, bad, bad])
    assert np.isfinite(float(pols[0])) and np.all(np.isnan(np.asarray(pols[1:])))
    ref = nuclear_steady_state(P, SPACE, solver=SOLVER)
    np.testing.assert_allclose(pols[0], ref.polarization, rtol=1e-13)
    # throw=True refuses the same batch, naming the field
    with pytest.raises(TRACED_ERRORS, match="rabi"):
        jax.block_until_ready(
            jax.jit(
                jax.vmap(
                    lambda r: (
                        nuclear_steady_state(
                            eqx.tree_at(lambda p: p.rabi, P, r), SPACE, solver=SOLVER
                        ).polarization
                    )
                )
            )(jnp.array([1.0, -1.0]))
        )
    # dot_steadystate(throw=False): a non-finite shift is a NaN state for that entry only
    rho = dot_steadystate(P, jnp.array([0.3, np.inf]), solver=SOLVER, throw=False)
    assert np.all(np.isfinite(np.asarray(rho[0]))) and np.all(np.isnan(np.asarray(rho[1])))


def test_polarization_map_keeps_the_sweep_status():
    """throw=False: the map carries the sweep's per-point codes, one per (detuning, rabi)."""
    r = polarization_map(P, SPACE, [0.0, 0.5, 1.0], [1.0, 2.0], throw=False, progress=False)
    assert r.status is not None and r.status.shape == (3, 2)
    assert not r.failed.any()
    assert np.all(np.isfinite(r.values["polarization"]))
