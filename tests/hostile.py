"""The table-driven harness of the hostile-input tests (tests/test_hostile_*.py).

A bad-input case is one :class:`Case`: the call, its array arguments, the exception and a
fragment of its message. :func:`expect` runs it eagerly or under ``jax.jit``,
``eqx.filter_jit`` or ``jax.vmap`` (the array arguments traced; value errors then surface at
run time as ``EquinoxRuntimeError``/``JaxRuntimeError``); :func:`split_modes` chooses which
modes run by default and which only with ``-m slow``.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest


NAN, INF = float("nan"), float("inf")
TRACED = (eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError)
MODES = ("eager", "jit", "filter_jit", "vmap")


class Case(NamedTuple):
    name: str
    fn: Callable[..., Any]  # fn(*arrays)
    arrays: tuple  # the array arguments (traced under jit, batched under vmap)
    error: type | None  # eager exception; None for a valid call
    match: str = ""  # fragment of the message
    static: bool = False  # a shape/int/type problem: the same error under jit, no vmap
    check: Callable[[Any], None] | None = None  # for a valid call: asserts the result


def call(mode: str, fn, arrays):
    """``fn(*arrays)`` in ``mode``. Each traced call wraps ``fn`` afresh: a second call of a
    cached ``jax.jit`` takes JAX's C++ fast path, which reports the same run-time error as a
    ``ValueError`` instead of a ``JaxRuntimeError``."""
    arrays = tuple(jnp.asarray(a) for a in arrays)
    if mode == "eager":
        out = fn(*arrays)
    elif mode == "jit":
        out = jax.jit(lambda *a: fn(*a))(*arrays)
    elif mode == "filter_jit":
        out = eqx.filter_jit(lambda *a: fn(*a))(*arrays)
    else:
        out = jax.vmap(fn)(*(jnp.stack([a, a]) for a in arrays))
        out = jax.tree_util.tree_map(lambda o: o[1], out)
    return jax.block_until_ready(out)


def expect(case: Case, mode: str) -> None:
    if case.error is None:
        case.check(call(mode, case.fn, case.arrays))
        return
    want = case.error if (mode == "eager" or case.static) else TRACED
    with pytest.raises(want) as info:
        call(mode, case.fn, case.arrays)
    assert case.match in str(info.value), str(info.value)[:2000]


def split_modes(cases, traced_by_default, slow_rows=()):
    """The default run: every row eagerly (except ``slow_rows``), static rows under
    ``jax.jit`` too (refused while tracing: cheap), and the traced modes named in
    ``traced_by_default`` (a traced value check means compiling the whole solve); the
    other modes run with ``-m slow``."""
    fast, slow = [], []
    for c in cases:
        modes = ("eager", "jit") if c.static else MODES
        pick = ("jit",) if c.static else traced_by_default.get(c.name, ())
        for m in modes:
            default = (m == "eager" and c.name not in slow_rows) or m in pick
            (fast if default else slow).append(pytest.param(c, m, id=f"{c.name}-{m}"))
    return fast, slow


# --------------------------------------------------------------------------------------
# The one-argument tables of the paper packages (tests/<paper>/test_hostile.py): a call
# ``fn(x)`` of one array, a good and a bad value of ``x``, a message fragment.
# --------------------------------------------------------------------------------------
def refused(fn, error, match: str, *args) -> None:
    """``fn(*args)`` raises ``error`` (a type or a tuple) whose message holds ``match``."""
    with pytest.raises(error) as info:
        jax.block_until_ready(fn(*args))
    assert match in str(info.value), str(info.value)[:2000]


def refused_eagerly(fn, bad, match: str, error=ValueError) -> None:
    refused(fn, error, match, jnp.asarray(bad))


def refused_traced(fn, good, bad, match: str, mode: str) -> None:
    """The bad value traced: ``"jit"`` (``jax.jit``), ``"filter_jit"``, ``"vmap"`` (a batch
    ``[good, bad]``) or ``"jit_vmap"``: a run-time error with the same message."""
    f = lambda x: fn(x)  # noqa: E731  (a fresh function: no cached fast path, see call())
    wrap = {"jit": jax.jit, "filter_jit": eqx.filter_jit, "vmap": jax.vmap}.get(mode)
    wrap = jax.jit(jax.vmap(f)) if mode == "jit_vmap" else wrap(f)
    x = jnp.asarray(bad) if mode in ("jit", "filter_jit") else jnp.array([good, bad])
    refused(wrap, TRACED, match, x)


def jit_unchanged(fn, good, *, rtol: float = 1e-14, jit=jax.jit) -> None:
    """The valid value gives the same number compiled as eagerly (the checks change nothing)."""
    eager = fn(jnp.asarray(good))
    np.testing.assert_allclose(jit(fn)(jnp.asarray(good)), eager, rtol=rtol, atol=1e-300)


def value_table_tests(cases, slow_good=(), slow_traced=()):
    """The three tests of a paper's value table, rows ``(id, call(x), good x, bad x, error,
    message fragment, traced modes)``: the bad value refused eagerly, the good one accepted
    (rows in ``slow_good`` only with ``-m slow``), the bad one refused in each traced mode
    (``(id, mode)`` pairs in ``slow_traced`` only with ``-m slow``). Assign the returned
    functions to ``test_*`` names in the test module."""
    ids = [c[0] for c in cases]
    slow = pytest.mark.slow
    good_rows = [pytest.param(c, marks=slow) if c[0] in slow_good else c for c in cases]
    traced = [
        pytest.param(c, m, id=f"{c[0]}-{m}", marks=slow if (c[0], m) in slow_traced else ())
        for c in cases
        for m in c[6]
    ]

    @pytest.mark.parametrize("case", cases, ids=ids)
    def test_refused_eagerly(case):
        _, fn, _, bad, error, match, _ = case
        refused(fn, error, match, bad)

    @pytest.mark.parametrize("case", good_rows, ids=ids)
    def test_good_value_accepted(case):
        """The same call with the good value goes through (the checks refuse only bad input)."""
        _, fn, good, *_ = case
        jax.block_until_ready(fn(good))

    @pytest.mark.parametrize("case,mode", traced)
    def test_refused_when_traced(case, mode):
        """Bad values traced inside jit (or one bad point of a vmap) raise at run time with
        the same message."""
        _, fn, good, bad, _, match, _ = case
        refused_traced(fn, good, bad, match, mode)

    return test_refused_eagerly, test_good_value_accepted, test_refused_when_traced
