"""Hostile input and faults in the engine (issue 16): the Lindblad steady state and linear
response, Lindbladians, spins, Overhauser averages and memory refusals.

Table-driven: each bad-input case names the entry point, the bad value, the exception and
message fragments; array arguments are refused eagerly AND under ``jax.jit``,
``eqx.filter_jit`` and ``jax.vmap``, and the same call with a good value runs in every mode
(so no check refuses everything). Then ``throw=False`` batches (one bad point comes back as
a result code and NaN, the other points exactly as with ``throw=True``), ``Iterative``'s
uniqueness check against ``DenseLU``, and memory refusals before any allocation.
"""

import dataclasses
import functools as ft
import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest

import jaxspin
from jaxspin import RESULTS
from jaxspin._batching import map_batched

from .helpers import random_lindblad


SX, SY, SZ, SP, SM = jaxspin.spin_operators(0.5)
C = [jnp.sqrt(0.3) * SM]
NAN = jnp.nan
# a cached executable re-raises the callback error as ValueError, a fresh one as JaxRuntimeError
TRACED_ERRORS = (eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError, ValueError)
KEY = jax.random.key(0)
G_RADIAL = lambda r, mu, sin2: r * sin2  # noqa: E731


def _raises(fn, exc, fragments):
    with pytest.raises(exc) as info:
        jax.block_until_ready(fn())
    text = str(info.value)
    for frag in fragments:
        assert frag in text, f"{frag!r} not in {text[:400]!r}"


# ------------------------------------------------------------------------------------------
# Array arguments: refused eagerly and in every traced mode; good values accepted.


@dataclasses.dataclass(frozen=True)
class Traced:
    name: str
    call: Callable[[Any], Any]  # one array argument -> arrays
    good: Any
    bad: Any
    fragments: tuple[str, ...]
    eager: type = ValueError  # exception for the concrete call
    modes: tuple[str, ...] = ("jit", "vmap")  # compile time: filter_jit where it is cheap
    slow: bool = False  # each steady-state compile costs ~2 s: the default run keeps a subset


ALL = ("jit", "filter_jit", "vmap")


def steady_h(h):
    return jaxspin.steadystate(h, C).rho


def steady_jump(c):
    return jaxspin.steadystate(SX, [c]).rho


def steady_rates(r):
    return jaxspin.steadystate(SX, rates=r).rho


def response_h(h):
    return jaxspin.linear_response(h, C, SZ[None])[1]


def response_src(s):
    return jaxspin.linear_response(SX, C, s)[1]


def response_src_herm(s):
    return jaxspin.linear_response(SX, C, s, hermitian=True)[1]


def fact_response(s):
    return jaxspin.factorize(jaxspin.Lindbladian(SX, C)).response(s)[0]


def lindblad_h(h):
    return jaxspin.Lindbladian(h, C).superop()


def lindblad_rates(r):
    return jaxspin.Lindbladian(SX, None, r).superop()


def field_omega_b(w):
    return jaxspin.overhauser_radial(G_RADIAL, jaxspin.OverhauserField(w, 0.0, 0.5)).value


def field_mean(m):
    return jaxspin.overhauser_quad(
        lambda z, p: z**2, jaxspin.OverhauserField(1.0, m, 0.5), rule=jaxspin.TanhSinh(level=3)
    ).value


def field_sigma(s):
    return jaxspin.OverhauserField(0.0, 0.0, s).sigma


def field_t2star(t):
    return jaxspin.OverhauserField.from_t2star(t).sigma


def mc_omega_b(w):
    field = jaxspin.OverhauserField(w, 0.0, 0.5)
    return jaxspin.overhauser_mc(lambda v: v[2], field, KEY, 64, chunk_size=32).value


def radial_breakpoint(b):
    return jaxspin.overhauser_radial(G_RADIAL, jaxspin.OverhauserField(), breakpoints=b).value


TRACED = [
    Traced("steadystate H NaN", steady_h, SX, SX.at[0, 0].set(NAN), ("`H` contains NaN",)),
    Traced(
        "steadystate H inf",
        steady_h,
        SX,
        SX.at[0, 1].set(jnp.inf),
        ("`H` contains NaN",),
        modes=ALL,
        slow=True,
    ),
    Traced("steadystate H not Hermitian", steady_h, SX, SP, ("`H` is not Hermitian",)),
    Traced(
        "steadystate jump NaN", steady_jump, SM, SM * NAN, ("`jump_ops` contains NaN",), slow=True
    ),
    Traced(
        "steadystate rates < 0",
        steady_rates,
        jnp.ones((2, 2)),
        -jnp.ones((2, 2)),
        ("`rates` has negative entries",),
    ),
    Traced(
        "steadystate rates NaN",
        steady_rates,
        jnp.ones((2, 2)),
        jnp.full((2, 2), NAN),
        ("`rates` contains NaN",),
        slow=True,
    ),
    Traced("linear_response H NaN", response_h, SX, SX * NAN, ("`H` contains NaN",), slow=True),
    Traced(
        "linear_response source NaN",
        response_src,
        SZ[None],
        jnp.full((1, 2, 2), NAN),
        ("`sources`", "NaN"),
    ),
    Traced(
        "linear_response source not traceless",
        response_src,
        SZ[None],
        jnp.eye(2, dtype=complex)[None],
        ("must be traceless",),
        eager=eqx.EquinoxRuntimeError,
        slow=True,
    ),
    Traced(
        "linear_response hermitian=True broken",
        response_src_herm,
        SZ[None],
        (SX @ SZ)[None],
        ("`hermitian=True` was promised",),
        eager=eqx.EquinoxRuntimeError,
        slow=True,
    ),
    Traced(
        "factorization.response source NaN",
        fact_response,
        SZ,
        SZ * NAN,
        ("`source`", "NaN"),
        eager=eqx.EquinoxRuntimeError,
        slow=True,
    ),
    Traced("Lindbladian H NaN", lindblad_h, SX, SX * NAN, ("`H` contains NaN",), modes=ALL),
    Traced("Lindbladian H not Hermitian", lindblad_h, SX, SP, ("`H` is not Hermitian",), modes=ALL),
    Traced(
        "Lindbladian rates < 0",
        lindblad_rates,
        jnp.ones((2, 2)),
        jnp.ones((2, 2)).at[0, 1].set(-1.0),
        ("`rates` has negative entries",),
    ),
    Traced(
        "OverhauserField omega_b NaN",
        field_omega_b,
        0.3,
        NAN,
        ("`omega_b` contains NaN",),
        modes=ALL,
    ),
    Traced(
        "OverhauserField mean inf",
        field_mean,
        0.2,
        jnp.inf,
        ("`mean` contains NaN",),
    ),
    Traced(
        "OverhauserField sigma < 0", field_sigma, 0.5, -0.5, ("`sigma` must be finite and > 0",)
    ),
    Traced(
        "OverhauserField sigma = 0",
        field_sigma,
        0.5,
        0.0,
        ("`sigma` must be finite and > 0",),
        modes=ALL,
    ),
    Traced(
        "OverhauserField sigma NaN",
        field_sigma,
        0.5,
        NAN,
        ("`sigma` must be finite and > 0",),
        modes=ALL,
    ),
    Traced(
        "from_t2star t2star < 0",
        field_t2star,
        1.0,
        -1.0,
        ("`t2star` must be finite and > 0",),
        modes=ALL,
    ),
    Traced(
        "overhauser_mc omega_b NaN",
        mc_omega_b,
        0.3,
        NAN,
        ("`omega_b` contains NaN",),
    ),
    Traced(
        "overhauser_radial breakpoint NaN",
        radial_breakpoint,
        1.0,
        NAN,
        ("`breakpoints[0]` is NaN",),
    ),
]


@ft.cache
def _compiled(call, mode):
    if mode == "jit":
        return jax.jit(call)
    if mode == "filter_jit":
        return eqx.filter_jit(call)
    return jax.vmap(call)


def _finite(tree):
    return all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(tree))


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.slow else []) for c in TRACED],
)
def test_array_argument_refused_eagerly_and_traced(case):
    good, bad = jnp.asarray(case.good), jnp.asarray(case.bad)
    assert _finite(case.call(good))
    _raises(lambda: case.call(bad), case.eager, case.fragments)
    for mode in case.modes:
        fn = _compiled(case.call, mode)
        if mode == "vmap":
            assert _finite(fn(jnp.stack([good, good])))
            _raises(lambda: fn(jnp.stack([good, bad])), TRACED_ERRORS, case.fragments)
        else:
            assert _finite(fn(good))
            _raises(lambda: fn(bad), TRACED_ERRORS, case.fragments)


# ------------------------------------------------------------------------------------------
# Static arguments, shapes, sizes: eager refusals with a message naming the argument.


def _lind():
    return jaxspin.Lindbladian(SX, C)


STATIC = [
    # steady state / response
    (
        "steadystate n = 0",
        lambda: jaxspin.steadystate(jnp.zeros((0, 0))),
        ValueError,
        "`H` has shape (0, 0)",
    ),
    (
        "steadystate empty batch",
        lambda: jaxspin.steadystate(jnp.zeros((0, 2, 2)), C),
        ValueError,
        "Empty batch: `H` (0, 2, 2)",
    ),
    (
        "steadystate empty jump batch",
        lambda: jaxspin.steadystate(SX, jnp.zeros((3, 0, 1, 2, 2))),
        ValueError,
        "`jump_ops`",
    ),
    (
        "steadystate jump of other dimension",
        lambda: jaxspin.steadystate(SX, [jnp.eye(3)]),
        ValueError,
        "`jump_ops[0]` acts on dimension 3",
    ),
    (
        "steadystate jump array of other dimension",
        lambda: jaxspin.steadystate(SX, jnp.zeros((1, 3, 3))),
        ValueError,
        "`jump_ops` acts on dimension 3",
    ),
    (
        "steadystate jump not square",
        lambda: jaxspin.steadystate(SX, [jnp.zeros((2, 3))]),
        ValueError,
        "`jump_ops[0]` must have shape",
    ),
    (
        "steadystate rates shape",
        lambda: jaxspin.steadystate(SX, rates=jnp.ones((3, 3))),
        ValueError,
        "`rates` must have shape",
    ),
    (
        "steadystate rates complex",
        lambda: jaxspin.steadystate(SX, rates=jnp.full((2, 2), 1j)),
        ValueError,
        "`rates` must be real",
    ),
    (
        "steadystate batches do not broadcast",
        lambda: jaxspin.steadystate(jnp.zeros((3, 2, 2)), jnp.zeros((4, 1, 2, 2))),
        ValueError,
        "do not broadcast",
    ),
    (
        "steadystate solver string",
        lambda: jaxspin.steadystate(SX, C, solver="dense"),
        TypeError,
        "`solver` must be",
    ),
    (
        "steadystate throw string",
        lambda: jaxspin.steadystate(SX, C, throw="no"),
        TypeError,
        "`throw` must be",
    ),
    (
        "linear_response no sources",
        lambda: jaxspin.linear_response(SX, C),
        ValueError,
        "`sources` is required",
    ),
    (
        "linear_response sources dimension",
        lambda: jaxspin.linear_response(SX, C, jnp.zeros((1, 3, 3))),
        ValueError,
        "`sources` must have shape",
    ),
    (
        "linear_response zero sources",
        lambda: jaxspin.linear_response(SX, C, jnp.zeros((0, 2, 2))),
        ValueError,
        "`sources` holds no source",
    ),
    (
        "linear_response callable of wrong shape",
        lambda: jaxspin.linear_response(SX, C, lambda rho: rho),
        ValueError,
        "`sources(rho)` must return",
    ),
    (
        "linear_response hermitian string",
        lambda: jaxspin.linear_response(SX, C, SZ[None], hermitian="yes"),
        TypeError,
        "`hermitian` must be",
    ),
    ("factorize a matrix", lambda: jaxspin.factorize(SX), TypeError, "`lindbladian` must be"),
    ("factorize solver int", lambda: jaxspin.factorize(_lind(), 3), TypeError, "`solver` must be"),
    (
        "response source shape",
        lambda: jaxspin.factorize(_lind()).response(jnp.zeros((3, 3))),
        ValueError,
        "`source` must have shape (2, 2)",
    ),
    (
        "expect op dimension",
        lambda: jaxspin.steadystate(SX, C).expect(jnp.eye(3)),
        ValueError,
        "`op` acts on dimension 3",
    ),
    ("DenseLU rcond < 0", lambda: jaxspin.DenseLU(rcond=-1.0), ValueError, "`DenseLU.rcond`"),
    ("DenseLU rcond NaN", lambda: jaxspin.DenseLU(rcond=math.nan), ValueError, "`DenseLU.rcond`"),
    (
        "DenseLU unroll_max float",
        lambda: jaxspin.DenseLU(unroll_max=2.5),
        ValueError,
        "`DenseLU.unroll_max`",
    ),
    ("Iterative rtol < 0", lambda: jaxspin.Iterative(rtol=-1e-3), ValueError, "`Iterative.rtol`"),
    (
        "Iterative max_steps 0",
        lambda: jaxspin.Iterative(max_steps=0),
        ValueError,
        "`Iterative.max_steps`",
    ),
    (
        "Iterative restart 0",
        lambda: jaxspin.Iterative(restart=0),
        ValueError,
        "`Iterative.restart`",
    ),
    (
        "Iterative check_rtol 0",
        lambda: jaxspin.Iterative(check_rtol=0.0),
        ValueError,
        "`Iterative.check_rtol`",
    ),
    (
        "Iterative check_unique string",
        lambda: jaxspin.Iterative(check_unique="yes"),
        TypeError,
        "`Iterative.check_unique`",
    ),
    (
        "Iterative linear_solver string",
        lambda: jaxspin.Iterative(linear_solver="gmres"),
        TypeError,
        "`Iterative.linear_solver`",
    ),
    # Lindbladian and real coordinates
    (
        "Lindbladian n = 0",
        lambda: jaxspin.Lindbladian(jnp.zeros((0, 0))),
        ValueError,
        "`H` has shape (0, 0)",
    ),
    (
        "Lindbladian H not square",
        lambda: jaxspin.Lindbladian(jnp.ones((2, 3))),
        ValueError,
        "`H` must have shape",
    ),
    (
        "Lindbladian batched H",
        lambda: jaxspin.Lindbladian(jnp.ones((3, 2, 2))),
        ValueError,
        "one parameter point",
    ),
    (
        "Lindbladian jump dimension",
        lambda: jaxspin.Lindbladian(SX, [jnp.eye(3)]),
        ValueError,
        "`jump_ops[0]` acts on dimension 3",
    ),
    (
        "Lindbladian rates shape",
        lambda: jaxspin.Lindbladian(SX, rates=jnp.ones((3, 3))),
        ValueError,
        "`rates` must have shape (2, 2)",
    ),
    (
        "Lindbladian validate string",
        lambda: jaxspin.Lindbladian(SX, validate="no"),
        TypeError,
        "`validate` must be a bool",
    ),
    (
        "Lindbladian applied to wrong shape",
        lambda: _lind()(jnp.eye(3)),
        ValueError,
        "`rho` must have shape (2, 2)",
    ),
    (
        "Lindbladian adjoint of wrong shape",
        lambda: _lind().adjoint(jnp.eye(3)),
        ValueError,
        "`op` must have shape (2, 2)",
    ),
    (
        "to_real not square",
        lambda: jaxspin.to_real(jnp.zeros((2, 3))),
        ValueError,
        "`rho` must have shape (n, n)",
    ),
    (
        "to_real batched",
        lambda: jaxspin.to_real(jnp.zeros((4, 2, 2))),
        ValueError,
        "`rho` must have shape (n, n)",
    ),
    (
        "from_real wrong length",
        lambda: jaxspin.from_real(jnp.zeros(5), 2),
        ValueError,
        "`x` must have shape (4,)",
    ),
    (
        "from_real n float",
        lambda: jaxspin.from_real(jnp.zeros(4), 2.0),
        ValueError,
        "`n` must be an int >= 1",
    ),
    (
        "from_real n = 0",
        lambda: jaxspin.from_real(jnp.zeros(0), 0),
        ValueError,
        "`n` must be an int >= 1",
    ),
    (
        "from_real complex",
        lambda: jaxspin.from_real(jnp.zeros(4, complex), 2),
        ValueError,
        "`x` must be real",
    ),
    # spins
    (
        "spin_operators negative",
        lambda: jaxspin.spin_operators(-1),
        ValueError,
        "`s` (spin quantum number) must be a non-negative half-integer",
    ),
    (
        "spin_operators 0.3",
        lambda: jaxspin.spin_operators(0.3),
        ValueError,
        "non-negative half-integer",
    ),
    (
        "spin_operators NaN",
        lambda: jaxspin.spin_operators(math.nan),
        ValueError,
        "`s` must be finite",
    ),
    (
        "spin_operators inf",
        lambda: jaxspin.spin_operators(math.inf),
        ValueError,
        "`s` must be finite",
    ),
    (
        "spin_operators string",
        lambda: jaxspin.spin_operators("1/2"),
        TypeError,
        "`s` must be a real number",
    ),
    (
        "spin_operators bool",
        lambda: jaxspin.spin_operators(True),
        TypeError,
        "`s` must be a real number",
    ),
    (
        "spin_operators traced",
        lambda: jax.jit(lambda s: jaxspin.spin_operators(s).x)(0.5),
        TypeError,
        "cannot be traced",
    ),
    ("spin_dim -1/2", lambda: jaxspin.spin_dim(-0.5), ValueError, "non-negative half-integer"),
    ("spin_m_values 1/4", lambda: jaxspin.spin_m_values(0.25), ValueError, "half-integer"),
    (
        "collective_operators ()",
        lambda: jaxspin.collective_operators(()),
        ValueError,
        "`spins` is empty",
    ),
    (
        "collective_operators number",
        lambda: jaxspin.collective_operators(0.5),
        TypeError,
        "`spins` must be a sequence",
    ),
    (
        "collective_operators bad spin",
        lambda: jaxspin.collective_operators((0.5, 0.3)),
        ValueError,
        "non-negative half-integer",
    ),
    (
        "embed index float",
        lambda: jaxspin.embed(SX, 1.0, (2, 2)),
        ValueError,
        "`index` must be an int",
    ),
    (
        "embed index negative",
        lambda: jaxspin.embed(SX, -1, (2, 2)),
        ValueError,
        "`index` -1 out of range",
    ),
    ("embed dims 0", lambda: jaxspin.embed(SX, 0, (2, 0)), ValueError, "`dims` must be ints >= 1"),
    (
        "embed op of other dimension",
        lambda: jaxspin.embed(jnp.eye(3), 0, (2, 2)),
        ValueError,
        "`op` has shape (3, 3)",
    ),
    ("kron of nothing", lambda: jaxspin.kron(), ValueError, "at least one operator"),
    ("product_m_values ()", lambda: jaxspin.product_m_values(()), ValueError, "`spins` is empty"),
    (
        "sector_indices NaN",
        lambda: jaxspin.sector_indices(np.array([0.5, np.nan])),
        ValueError,
        "`m_total` contains NaN",
    ),
    (
        "sector_indices 2-D",
        lambda: jaxspin.sector_indices(np.zeros((2, 2))),
        ValueError,
        "`m_total` must be 1-D",
    ),
    (
        "sector_indices off the grid",
        lambda: jaxspin.sector_indices(np.array([0.5, 0.3])),
        ValueError,
        "`m_total` must be half-integers",
    ),
    (
        "total_spin_values negative",
        lambda: jaxspin.total_spin_values(-2),
        ValueError,
        "`n_spins` must be an int >= 0",
    ),
    (
        "total_spin_values float",
        lambda: jaxspin.total_spin_values(2.5),
        ValueError,
        "`n_spins` must be an int >= 0",
    ),
    (
        "dicke_multiplicity j < 0",
        lambda: jaxspin.dicke_multiplicity(2, -1),
        ValueError,
        "`j` = -1 is not a total spin",
    ),
    (
        "dicke_multiplicity j off grid",
        lambda: jaxspin.dicke_multiplicity(2, 0.5),
        ValueError,
        "`j` = 0.5 is not a total spin",
    ),
    (
        "dicke_multiplicity N < 0",
        lambda: jaxspin.dicke_multiplicity(-2, 0),
        ValueError,
        "`n_spins` must be an int >= 0",
    ),
    (
        "dicke_multiplicity j NaN",
        lambda: jaxspin.dicke_multiplicity(2, math.nan),
        ValueError,
        "`j` must be finite",
    ),
    # Overhauser
    (
        "OverhauserField shapes",
        lambda: jaxspin.OverhauserField(jnp.zeros(3), 0.0, jnp.ones(2)),
        ValueError,
        "do not broadcast",
    ),
    (
        "OverhauserField complex",
        lambda: jaxspin.OverhauserField(1j),
        ValueError,
        "`omega_b` must be real",
    ),
    (
        "OverhauserField empty batch",
        lambda: jaxspin.overhauser_radial(G_RADIAL, jaxspin.OverhauserField(sigma=jnp.ones(0))),
        ValueError,
        "Empty batch: `field.sigma` (0,)",
    ),
    (
        "density of a 2-vector",
        lambda: jaxspin.OverhauserField().density(jnp.zeros(2)),
        ValueError,
        "`omega_n` must have shape (..., 3)",
    ),
    (
        "sample negative shape",
        lambda: jaxspin.OverhauserField().sample(KEY, (-1,)),
        ValueError,
        "`shape` must be a tuple of ints >= 0",
    ),
    (
        "sample int key",
        lambda: jaxspin.OverhauserField().sample(0),
        TypeError,
        "`key` must be a JAX PRNG key",
    ),
    (
        "sample batched field",
        lambda: jaxspin.OverhauserField(sigma=jnp.ones(2)).sample(KEY),
        ValueError,
        "`sample` needs a scalar field",
    ),
    (
        "overhauser_mc int key",
        lambda: jaxspin.overhauser_mc(lambda w: w[0], jaxspin.OverhauserField(), 0, 100),
        TypeError,
        "`key` must be a JAX PRNG key",
    ),
    (
        "overhauser_mc batch of keys",
        lambda: jaxspin.overhauser_mc(
            lambda w: w[0], jaxspin.OverhauserField(), jax.random.split(KEY, 2), 100
        ),
        ValueError,
        "`key` must be a single PRNG key",
    ),
    (
        "overhauser_mc num_samples float",
        lambda: jaxspin.overhauser_mc(lambda w: w[0], jaxspin.OverhauserField(), KEY, 100.0),
        ValueError,
        "`num_samples` must be an int >= 2",
    ),
    (
        "overhauser_mc num_samples 1",
        lambda: jaxspin.overhauser_mc(lambda w: w[0], jaxspin.OverhauserField(), KEY, 1),
        ValueError,
        "`num_samples` must be an int >= 2",
    ),
    (
        "overhauser_mc chunk_size 0",
        lambda: jaxspin.overhauser_mc(
            lambda w: w[0], jaxspin.OverhauserField(), KEY, 100, chunk_size=0
        ),
        ValueError,
        "`chunk_size` must be a positive int",
    ),
    (
        "overhauser_quad rule int",
        lambda: jaxspin.overhauser_quad(lambda z, p: z, jaxspin.OverhauserField(), rule=5),
        TypeError,
        "`rule` must be a jaxspin.TanhSinh",
    ),
    (
        "overhauser_quad angular_rule None",
        lambda: jaxspin.overhauser_quad(
            lambda z, p: z, jaxspin.OverhauserField(), angular_rule=None
        ),
        TypeError,
        "`angular_rule` must be",
    ),
    (
        "overhauser_radial g not callable",
        lambda: jaxspin.overhauser_radial(3.0, jaxspin.OverhauserField()),
        TypeError,
        "`g` must be callable",
    ),
    (
        "overhauser_radial field not a field",
        lambda: jaxspin.overhauser_radial(G_RADIAL, 1.0),
        TypeError,
        "`field` must be an OverhauserField",
    ),
    (
        "overhauser_radial 2-D breakpoints",
        lambda: jaxspin.overhauser_radial(
            G_RADIAL, jaxspin.OverhauserField(), breakpoints=jnp.ones((2, 2))
        ),
        ValueError,
        "`breakpoints[0]` must be a scalar",
    ),
    (
        "radial_density field not a field",
        lambda: jaxspin.radial_density(1.0, 1.0),
        TypeError,
        "`field` must be an OverhauserField",
    ),
    (
        "angular_moments field not a field",
        lambda: jaxspin.angular_moments(1.0, 2.0),
        TypeError,
        "`field` must be an OverhauserField",
    ),
    ("TanhSinh level 0", lambda: jaxspin.TanhSinh(level=0), ValueError, "`level` must be an int"),
    ("TanhSinh level 13", lambda: jaxspin.TanhSinh(level=13), ValueError, "`level` must be an int"),
    (
        "TanhSinh t_max string",
        lambda: jaxspin.TanhSinh(t_max="3"),
        ValueError,
        "`t_max` must be a number",
    ),
    (
        "TanhSinh t_max NaN",
        lambda: jaxspin.TanhSinh(t_max=math.nan),
        ValueError,
        "`t_max` must be a number",
    ),
    # batching and memory helpers
    (
        "map_batched block_size 0",
        lambda: map_batched(lambda x: x, [jnp.ones((3, 2))], [1], ["x"], block_size=0),
        ValueError,
        "`block_size` must be a positive int",
    ),
    (
        "check_fits NaN",
        lambda: jaxspin.check_fits(math.nan, "x"),
        ValueError,
        "`nbytes` must be a finite number",
    ),
    (
        "check_fits negative",
        lambda: jaxspin.check_fits(-1, "x"),
        ValueError,
        "`nbytes` must be a finite number",
    ),
    (
        "check_fits string",
        lambda: jaxspin.check_fits("lots", "x"),
        TypeError,
        "`nbytes` must be a number",
    ),
    (
        "check_fits fraction 0",
        lambda: jaxspin.check_fits(1, "x", fraction=0),
        ValueError,
        "`fraction` must be a number in (0, 1]",
    ),
    (
        "check_fits fraction 1.5",
        lambda: jaxspin.check_fits(1, "x", fraction=1.5),
        ValueError,
        "`fraction` must be a number in (0, 1]",
    ),
    (
        "available_memory_bytes device string",
        lambda: jaxspin.available_memory_bytes("cpu"),
        TypeError,
        "`device` must be a jax.Device",
    ),
]


@pytest.mark.parametrize("name, thunk, exc, fragment", STATIC, ids=[c[0] for c in STATIC])
def test_static_argument_refused(name, thunk, exc, fragment):
    _raises(thunk, exc, (fragment,))


@pytest.mark.parametrize("value", ["lots", "-1G", "nan", "inf"])
def test_memory_limit_variable_must_be_a_size(monkeypatch, value):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", value)
    _raises(jaxspin.available_memory_bytes, ValueError, ("JAXSPIN_MEMORY_LIMIT", "not a size"))


def test_valid_edge_cases_are_accepted():
    # spin 0 is a valid spin (I = 0 isotopes): 1 x 1 zero matrices
    assert jaxspin.spin_dim(0) == 1
    np.testing.assert_array_equal(jaxspin.spin_operators(0).z, np.zeros((1, 1)))
    assert jaxspin.spin_dim(np.float64(1.5)) == 4 and jaxspin.spin_dim(jnp.asarray(0.5)) == 2
    for a, b in zip(jaxspin.collective_operators((0.5,)), jaxspin.spin_operators(0.5), strict=True):
        np.testing.assert_array_equal(a, b)
    spins = (0.5, 1.0, 1.5)
    grids = np.meshgrid(*(jaxspin.spin_m_values(s) for s in spins), indexing="ij")
    ref = np.stack([g.reshape(-1) for g in grids], axis=-1)
    np.testing.assert_array_equal(jaxspin.product_m_values(spins), ref)
    assert jaxspin.product_m_values((0.0,) * 40).shape == (1, 40)  # beyond meshgrid's 32
    sectors = jaxspin.sector_indices(ref.sum(axis=1))
    assert sum(v.size for v in sectors.values()) == ref.shape[0]
    assert jaxspin.dicke_multiplicity(4, 0) == 2 and jaxspin.dicke_multiplicity(0, 0) == 1
    np.testing.assert_array_equal(jaxspin.total_spin_values(0), [0.0])
    np.testing.assert_array_equal(jaxspin.kron(SX), SX)
    # real coordinates: the Hermitian part of a non-Hermitian matrix, exact round trip
    rho = jaxspin.steadystate(SX, C).rho
    np.testing.assert_array_equal(jaxspin.from_real(jaxspin.to_real(rho), 2), rho)
    np.testing.assert_allclose(jaxspin.from_real(jaxspin.to_real(SP), 2), SX, atol=1e-16)
    jaxspin.check_fits(0, "nothing")
    # an infinite breakpoint (1/tau at tau = 0) lies outside the window: harmless
    inf_bp = jaxspin.overhauser_radial(G_RADIAL, jaxspin.OverhauserField(), breakpoints=math.inf)
    plain = jaxspin.overhauser_radial(G_RADIAL, jaxspin.OverhauserField())
    np.testing.assert_allclose(inf_bp.value, plain.value, rtol=1e-13)
    assert jaxspin.radial_density(-1.0, jaxspin.OverhauserField()) == 0.0


@pytest.mark.parametrize(
    "solver",
    [jaxspin.DenseLU(), pytest.param(jaxspin.Iterative(), marks=pytest.mark.slow)],
    ids=["DenseLU", "Iterative"],
)
def test_one_dimensional_hilbert_space(solver):
    ss = jaxspin.steadystate(jnp.zeros((1, 1)), solver=solver)
    np.testing.assert_allclose(ss.rho, [[1.0]], atol=1e-15)
    assert bool(ss.result == RESULTS.successful)


# ------------------------------------------------------------------------------------------
# throw=False: one bad point is a result code and NaN; the others are untouched.


def _codes(result):
    """The result codes of a batch as a list of RESULTS items' integer values."""
    return [int(v) for v in np.ravel(result._value)]


def _code(*items):
    return [int(item._value) for item in items]


def _assert_points(ss, ref, good, bad):
    """Good points bit-for-bit as in the all-good reference batch; bad points NaN."""
    for i in good:
        np.testing.assert_array_equal(ss.rho[i], ref.rho[i])
    for i in bad:
        assert bool(jnp.all(jnp.isnan(ss.rho[i]))), i


def test_throw_false_bad_points_in_vmap_and_batches():
    hs = jnp.stack([SX, SX.at[0, 0].set(NAN), SP, 0.4 * SX + 0.1 * SZ])
    fixed = hs.at[1].set(SX).at[2].set(SX)  # same layout, every point good
    codes = _code(RESULTS.successful, RESULTS.invalid_input, RESULTS.invalid_input)
    codes = codes + _code(RESULTS.successful)
    ref = jaxspin.steadystate(fixed, C)  # throw=True
    per_point = jax.vmap(lambda h: jaxspin.steadystate(h, C, throw=False))
    for fn in (
        per_point,
        lambda h: jaxspin.steadystate(h, C, throw=False),  # concrete leading batch axis
    ):
        ss = fn(hs)
        assert _codes(ss.result) == codes
        _assert_points(ss, ref, good=[0, 3], bad=[1, 2])
    # valid points are those of the single-point call, too (to rounding)
    np.testing.assert_allclose(per_point(hs).rho[3], jaxspin.steadystate(hs[3], C).rho, atol=1e-15)
    # throw=True refuses the same batch, eagerly and traced
    _raises(lambda: jaxspin.steadystate(hs, C), ValueError, ("`H` contains NaN",))
    _raises(lambda: jax.vmap(steady_h)(hs), TRACED_ERRORS, ("`H`",))


@pytest.mark.slow
def test_throw_false_linear_response_in_vmap():
    hs = jnp.stack([SX, SX * NAN, 0.7 * SX])
    srcs = jnp.stack([SZ[None], SZ[None], jnp.full((1, 2, 2), NAN)])
    res = jax.vmap(lambda h, s: jaxspin.linear_response(h, C, s, throw=False)[0].result)(hs, srcs)
    codes = _code(RESULTS.successful, RESULTS.invalid_input, RESULTS.source_nonfinite)
    assert _codes(res) == codes


@pytest.mark.slow
def test_throw_false_bad_rates_and_jumps():
    rates = jnp.stack([jnp.ones((2, 2)), -jnp.ones((2, 2)), jnp.full((2, 2), NAN)])
    ss = jax.vmap(lambda r: jaxspin.steadystate(SX, rates=r, throw=False))(rates)
    assert _codes(ss.result) == _code(
        RESULTS.successful, RESULTS.invalid_input, RESULTS.invalid_input
    )
    ref = jax.vmap(lambda r: jaxspin.steadystate(SX, rates=r))(jnp.ones((3, 2, 2)))
    _assert_points(ss, ref, good=[0], bad=[1, 2])
    jumps = jnp.stack([SM, SM * jnp.inf])[:, None]  # (2, k=1, 2, 2)
    ss = jaxspin.steadystate(SX, jumps, throw=False)
    assert _codes(ss.result) == _code(RESULTS.successful, RESULTS.invalid_input)
    _assert_points(ss, jaxspin.steadystate(SX, jnp.stack([SM, SM])[:, None]), [0], [1])
    # the Iterative solver takes the same path
    ss = jaxspin.steadystate(SX, jumps, throw=False, solver=jaxspin.Iterative())
    assert _codes(ss.result) == _code(RESULTS.successful, RESULTS.invalid_input)


def test_throw_false_linear_response_bad_point_and_bad_source():
    hs = jnp.stack([SX, SX * NAN, 0.7 * SX])
    srcs = jnp.stack([SZ[None], SZ[None], jnp.full((1, 2, 2), NAN)])  # point 2: NaN source
    ss, xs = jaxspin.linear_response(hs, C, srcs, throw=False)
    codes = _code(RESULTS.successful, RESULTS.invalid_input, RESULTS.source_nonfinite)
    assert _codes(ss.result) == codes
    assert bool(jnp.all(jnp.isnan(xs[1]))) and bool(jnp.all(jnp.isnan(xs[2])))
    ref_ss, ref_xs = jaxspin.linear_response(hs.at[1].set(SX), C, jnp.stack([SZ[None]] * 3))
    np.testing.assert_array_equal(xs[0], ref_xs[0])
    _assert_points(ss, ref_ss, good=[0, 2], bad=[1])  # point 2: rho fine, response NaN
    # a NaN source no longer reports "not traceless"
    _, code = jaxspin.factorize(_lind()).response(jnp.full((2, 2), NAN + 0j), throw=False)
    assert bool(code == RESULTS.source_nonfinite)
    x, code = jaxspin.factorize(_lind()).response(jnp.eye(2, dtype=complex), throw=False)
    assert bool(code == RESULTS.source_not_traceless) and bool(jnp.all(jnp.isnan(x)))


# ------------------------------------------------------------------------------------------
# Iterative: non-unique steady states are flagged, unique ones unchanged.


def _blocks(*blocks):
    """Block-diagonal (H, jumps) from decoupled blocks ``(H_b, [c_b])``."""
    n = sum(h.shape[0] for h, _ in blocks)
    H = jnp.zeros((n, n), complex)
    jumps = []
    i = 0
    for h, cs in blocks:
        d = h.shape[0]
        H = H.at[i : i + d, i : i + d].set(jnp.asarray(h, complex))
        for c in cs:
            jumps.append(jnp.zeros((n, n), complex).at[i : i + d, i : i + d].set(c))
        i += d
    return H, jumps


_RNG = np.random.default_rng(16)
_H3, _C3 = random_lindblad(_RNG, 3, k=1)
SX1, _, SZ1, _, SM1 = jaxspin.spin_operators(1.0)
EYE2 = jnp.eye(2, dtype=complex)


def _zero_jump(n):
    return jnp.zeros((n, n), complex)


# (H, jumps) per case; the n = 2 ones run as one batch.
NON_UNIQUE_2 = {
    "no dissipation": (SX, _zero_jump(2)),
    "H = 0, nothing": (jnp.zeros((2, 2), complex), _zero_jump(2)),
    "pure dephasing": (SZ, SZ),
}


def test_iterative_flags_non_unique_steady_states_n2():
    H = jnp.stack([h for h, _ in NON_UNIQUE_2.values()])
    jumps = jnp.stack([c for _, c in NON_UNIQUE_2.values()])[:, None]
    ss = jaxspin.steadystate(H, jumps, solver=jaxspin.Iterative(), throw=False)
    assert _codes(ss.result) == _code(RESULTS.singular) * len(NON_UNIQUE_2)
    # throw=True: refused with the RESULTS text, not silently "successful" as before; every
    # response of that factorisation inherits the verdict
    fact = jaxspin.factorize(jaxspin.Lindbladian(SX), jaxspin.Iterative())
    assert bool(fact.result == RESULTS.singular)
    _raises(lambda: fact.steadystate().rho, eqx.EquinoxRuntimeError, ("not unique", "Iterative"))
    _, code = fact.response(SZ, hermitian=True, throw=False)
    assert bool(code == RESULTS.singular)


def _batch(systems, k):
    """Stack single-point systems of one dimension, padding jumps to ``k`` with zeros."""
    n = systems[0][0].shape[0]
    H = jnp.stack([jnp.asarray(h, complex) for h, _ in systems])
    pad = lambda cs: list(cs) + [_zero_jump(n)] * (k - len(cs))  # noqa: E731
    jumps = jnp.stack([jnp.stack([jnp.asarray(c, complex) for c in pad(cs)]) for _, cs in systems])
    return H, jumps


def _compare_with_dense(systems, k, expected, unchanged=False):
    """Iterative's verdicts per point equal ``expected`` and DenseLU's; unique points agree
    with DenseLU and (``unchanged``), to rounding, with the unchecked Iterative solve (the
    solve of before the check: numbers of valid calls unchanged)."""
    H, jumps = _batch(systems, k)
    checked = jaxspin.steadystate(H, jumps, solver=jaxspin.Iterative(), throw=False)
    dense = jaxspin.steadystate(H, jumps, throw=False)
    assert _codes(checked.result) == _code(*expected)
    assert _codes(dense.result) == _code(*expected)
    if unchanged:
        plain = jaxspin.Iterative(check_unique=False)
        plain = jaxspin.steadystate(H, jumps, solver=plain, throw=False)
    for i, code in enumerate(expected):
        if code == RESULTS.successful:
            np.testing.assert_allclose(checked.rho[i], dense.rho[i], atol=1e-9, rtol=0)
            if unchanged:
                np.testing.assert_allclose(checked.rho[i], plain.rho[i], atol=1e-14, rtol=0)


DARK = _blocks((SX, [SM]), (jnp.zeros((1, 1)), []))  # n = 3: level 2 untouched
BLOCKS = _blocks((SX, [SM]), (SZ1, [SM1]))  # n = 5 (lineax LU): two decoupled blocks


def test_iterative_against_dense_n3():
    systems = [DARK, random_lindblad(np.random.default_rng(10), 3, k=2)]
    _compare_with_dense(systems, 2, [RESULTS.singular, RESULTS.successful])


@pytest.mark.slow
def test_iterative_against_dense_n5_and_weak_dissipation():
    systems = [BLOCKS, random_lindblad(np.random.default_rng(13), 5, k=2)]
    _compare_with_dense(systems, 2, [RESULTS.singular, RESULTS.successful], unchanged=True)
    # weak (rate 1e-8) but unique dissipation; and a random n = 6
    _compare_with_dense([(SX, [1e-4 * SM])], 1, [RESULTS.successful], unchanged=True)
    system = random_lindblad(np.random.default_rng(6), 6, k=2)
    _compare_with_dense([system], 2, [RESULTS.successful], unchanged=True)


@pytest.mark.slow
def test_iterative_flags_an_untouched_spin():
    """n = 4 (DenseLU's unrolled elimination compiles slowly at n = 4: Iterative only)."""
    H = jaxspin.kron(SX, EYE2) + jaxspin.kron(EYE2, SZ)
    ss = jaxspin.steadystate(H, [jaxspin.kron(SM, EYE2)], solver=jaxspin.Iterative(), throw=False)
    assert bool(ss.result == RESULTS.singular)


def test_iterative_residual_check_catches_a_loose_solver():
    """A solver that stops early but reports success: the residual check refuses it."""
    loose = lx.GMRES(rtol=0.3, atol=0.3, restart=1, max_steps=100)
    ss = jaxspin.steadystate(_H3, _C3, solver=jaxspin.Iterative(linear_solver=loose), throw=False)
    assert _codes(ss.result) == _code(RESULTS.not_converged)


@pytest.mark.slow
def test_iterative_gradients_match_dense():
    """Forward and reverse mode through the checked matrix-free solve (both failed before)."""

    def f(g, solver):
        return jaxspin.steadystate(SX, [g * SM], solver=solver).rho[0, 0].real

    dense = jax.grad(f)(0.6, jaxspin.DenseLU())
    np.testing.assert_allclose(jax.grad(f)(0.6, jaxspin.Iterative()), dense, rtol=1e-8)
    _, tangent = jax.jvp(lambda g: f(g, jaxspin.Iterative()), (0.6,), (1.0,))
    np.testing.assert_allclose(tangent, dense, rtol=1e-8)


# ------------------------------------------------------------------------------------------
# Memory: refused with the number, before allocation.


MEMORY = [
    (
        "steadystate broadcast batch",
        lambda: jaxspin.steadystate(SX[None], jnp.broadcast_to(SM, (20_000, 1, 2, 2))),
    ),
    (
        "linear_response broadcast batch",
        lambda: jaxspin.linear_response(
            SX[None], jnp.broadcast_to(SM, (20_000, 1, 2, 2)), SZ[None]
        ),
    ),
    (
        "DenseLU factorize n = 40",
        lambda: jaxspin.factorize(jaxspin.Lindbladian(jnp.eye(40), [jnp.eye(40)])),
    ),
    ("Lindbladian.superop n = 40", lambda: jaxspin.Lindbladian(jnp.eye(40)).superop()),
    ("Lindbladian.real_superop n = 40", lambda: jaxspin.Lindbladian(jnp.eye(40)).real_superop()),
    ("spin_operators(2000)", lambda: jaxspin.spin_operators(2000)),
    ("collective_operators 24 spins", lambda: jaxspin.collective_operators((0.5,) * 24)),
    ("product_m_values 40 spins", lambda: jaxspin.product_m_values((0.5,) * 40)),
    ("embed into 2^20", lambda: jaxspin.embed(SX, 0, (2, 2**20))),
    ("kron 2^12 x 2^12", lambda: jaxspin.kron(jnp.eye(2**6), jnp.eye(2**6))),
    (
        "overhauser_quad level 12",
        lambda: jaxspin.overhauser_quad(
            lambda z, p: z,
            jaxspin.OverhauserField(),
            rule=jaxspin.TanhSinh(level=12),
            angular_rule=jaxspin.TanhSinh(level=12),
        ),
    ),
    (
        "overhauser_mc chunk",
        lambda: jaxspin.overhauser_mc(
            lambda w: w, jaxspin.OverhauserField(), KEY, 10**7, chunk_size=10**6
        ),
    ),
]


@pytest.mark.parametrize("name, thunk", MEMORY, ids=[c[0] for c in MEMORY])
def test_memory_refused_before_allocation(monkeypatch, name, thunk):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "2M")
    _raises(thunk, jaxspin.MemoryBudgetError, ("needs about", "2 MiB available"))


def test_memory_refusal_also_inside_jit(monkeypatch):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "2M")
    _raises(
        lambda: jax.jit(lambda h: jaxspin.Lindbladian(h).real_superop())(jnp.eye(40)),
        jaxspin.MemoryBudgetError,
        ("Lindbladian.real_superop (n = 40",),
    )
