"""Run-time value checks, and how a failed one reaches the user.

A value check on a traced array (``error_if``) can be staged two ways:

- **callback** (``equinox.error_if``): a host callback raises while the program runs. It
  works anywhere (inside a user's ``jit``/``vmap``/``grad``), but JAX does not write a
  program with host callbacks to the persistent compilation cache, so every process
  compiles it again (issue 15: those programs were 11 of the 14.5 s of compile time of
  ``jaxspin figures --only smirnov24``, warm cache or not).
- **deferred** (``jax.experimental.checkify``): the check becomes part of the program's
  outputs and is raised on the host after the program returns. No callback, so the
  compiled program is cacheable. It needs the function to be wrapped by ``checkify`` at
  a boundary that returns to Python.

:func:`filter_jit` (jaxspin's replacement for ``equinox.filter_jit``) chooses: called
from Python with concrete arguments and no trace running, it runs the deferred form and
raises :class:`equinox.EquinoxRuntimeError` with the check's message, the exception the
callback form raises; called inside someone else's trace (``jit``, ``vmap``, ``grad``)
it is a plain ``equinox.filter_jit`` with callback checks, as before. The mode is a JAX
config state that is part of every jit/trace cache key, so a function traced in one mode
is never reused in the other.

What the deferred form changes for a failing call: the program runs to its end before
the error is raised (a callback stops it at the check). Every loop in jaxspin is bounded
(``max_steps``/``max_iter``), so a NaN that a failed check lets through cannot hang it.
``EQX_ON_ERROR=nan``/``off`` (equinox's switch) is honoured: checks then follow equinox
in both modes.
"""

import functools as ft
from collections.abc import Callable
from typing import Any

import equinox as eqx
import equinox._errors as _eqx_errors
import jax
import jax.numpy as jnp
from jax._src import checkify as _jax_checkify, config as _jax_config
from jax.experimental import checkify


def _while_rule(
    error, enabled_errors, *in_flat, cond_nconsts, cond_jaxpr, body_nconsts, body_jaxpr
):
    """checkify's rule for ``while_loop``, except that a loop with no check inside is left
    as it is when only user checks are enabled (checkify would change nothing in it). The
    stock rule refuses every *batched* loop ("checkify-of-vmap-of-while"), and jaxspin's
    kernels run lineax, optimistix, diffrax and eigenvalue loops under ``vmap``."""
    inner = (*cond_jaxpr.effects, *body_jaxpr.effects)
    if enabled_errors <= checkify.user_checks and not any(
        isinstance(e, _jax_checkify.ErrorEffect) for e in inner
    ):
        out = jax.lax.while_p.bind(
            *in_flat,
            cond_nconsts=cond_nconsts,
            cond_jaxpr=cond_jaxpr,
            body_nconsts=body_nconsts,
            body_jaxpr=body_jaxpr,
        )
        return error, out
    return _STOCK_WHILE_RULE(
        error,
        enabled_errors,
        *in_flat,
        cond_nconsts=cond_nconsts,
        cond_jaxpr=cond_jaxpr,
        body_nconsts=body_nconsts,
        body_jaxpr=body_jaxpr,
    )


_STOCK_WHILE_RULE = _jax_checkify.error_checks[jax.lax.while_p]
if getattr(_STOCK_WHILE_RULE, "__name__", "") != "_while_rule":  # not twice (reloads)
    _jax_checkify.error_checks[jax.lax.while_p] = _while_rule


def is_checkify_limit(err: Exception) -> bool:
    """Whether ``err`` is checkify refusing a program (a check inside a batched loop):
    the caller then stages that program's checks as callbacks instead."""
    return isinstance(err, ValueError) and "checkify" in str(err).lower()


# Part of the key of every jit and trace cache (see the module docstring). A private JAX
# API (jax is pinned); tests/test_checks.py fails if it stops keying the caches.
_DEFERRED = _jax_config.bool_state(
    "jaxspin_deferred_checks",
    False,
    help="jaxspin: stage value checks as checkify checks (raised after the program).",
    include_in_jit_key=True,
    include_in_trace_context=True,
)


def can_defer() -> bool:
    """Whether checks may be deferred at all (not when ``EQX_ON_ERROR`` asks equinox to
    return NaN, skip checks or open a debugger instead)."""
    # read at call time: tests switch equinox to its NaN mode by patching this attribute
    return _eqx_errors.EQX_ON_ERROR == "raise"


def deferred() -> bool:
    """Whether value checks are being staged in the deferred (checkify) form now."""
    return bool(_DEFERRED.value) and can_defer()


def _escape(msg: str) -> str:
    # checkify formats its message with str.format
    return msg.replace("{", "{{").replace("}", "}}")


def error_if(x: Any, pred: Any, msg: str) -> Any:
    """``x``, with a run-time error ``msg`` if any entry of ``pred`` is true: the one
    staging point of jaxspin's value checks (``equinox.error_if``, or a deferred check
    under :func:`jit`; see the module docstring). ``x`` is any PyTree, in any units;
    ``pred`` a boolean array."""
    if deferred():
        checkify.check(jnp.logical_not(jnp.any(pred)), _escape(msg))
        return x
    return eqx.error_if(x, pred, msg)


def result_error_if(x: Any, result: Any, pred: Any) -> Any:
    """``result.error_if(x, pred)`` for an ``equinox.Enumeration`` item ``result`` (the
    message is that of the result's value), staged as :func:`error_if` is. ``x`` any
    PyTree (any units), ``pred`` a boolean array; returns ``x``."""
    if not deferred():
        return result.error_if(x, pred)
    value = result._value
    for index, msg in enumerate(result._enumeration._index_to_message):
        if msg:
            checkify.check(jnp.logical_not(jnp.any(pred & (value == index))), _escape(msg))
    return x


def _tracing() -> bool:
    """True when a JAX trace is running (we are inside someone's jit/vmap/grad)."""
    try:
        return not jax._src.core.trace_state_clean()
    except AttributeError:  # pragma: no cover - a future JAX: stay on the safe side
        return True


def _has_tracer(tree: Any) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(tree))


def raise_deferred(err: checkify.Error) -> None:
    """Raise the first failed deferred check of ``err`` (concrete) as
    :class:`equinox.EquinoxRuntimeError`; nothing when every check passed."""
    exc = err.get_exception()
    if exc is None:
        return
    mapping = getattr(exc, "error_mapping", None)  # a batched error: the first point's
    if mapping:
        exc = mapping[min(mapping)]
    fmt = getattr(exc, "fmt_string", None)  # a failed checkify.check
    if fmt is not None:
        msg = fmt.format(*exc.args, **exc.kwargs)
    else:  # pragma: no cover - only user checks are enabled
        msg = str(exc)
    raise eqx.EquinoxRuntimeError(msg)


def checkified(fn: Callable[..., Any]) -> Callable[..., tuple[checkify.Error, Any]]:
    """``fn`` traced with deferred checks and wrapped by ``checkify``: returns
    ``(error, out)``. ``fn``'s arguments and outputs may be any PyTrees (non-array leaves
    are static). Call it under ``deferred_checks()``, inside a ``jit``."""

    def run(*args, **kwargs):
        dyn, static = eqx.partition((args, kwargs), eqx.is_array)
        out_static = []

        def inner(dyn):
            a, k = eqx.combine(dyn, static)
            out = fn(*a, **k)
            out_dyn, out_st = eqx.partition(out, eqx.is_array)
            out_static.append(out_st)
            return out_dyn

        err, out_dyn = checkify.checkify(inner, errors=checkify.user_checks)(dyn)
        return err, eqx.combine(out_dyn, out_static[0])

    return run


def unchecked(fn: Callable[..., Any]) -> Callable[..., tuple[checkify.Error, Any]]:
    """``fn`` with the output structure of :func:`checkified` and no deferred check (its
    checks, traced outside the deferred mode, are callbacks)."""

    def run(*args, **kwargs):
        return _jax_checkify.init_error, fn(*args, **kwargs)

    return run


def deferred_checks():
    """Context manager: trace (and look up compiled programs) in the deferred mode."""
    return _DEFERRED(True)


def filter_jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``equinox.filter_jit(fn)`` whose value checks, when it is called from Python with
    concrete arguments, are deferred (cacheable program; the failed check is raised as
    :class:`equinox.EquinoxRuntimeError` after the call). See the module docstring."""
    plain = eqx.filter_jit(fn)
    checked = eqx.filter_jit(checkified(fn))
    refused = []  # checkify refused this function once (is_checkify_limit): stay plain

    @ft.wraps(fn)
    def wrapper(*args, **kwargs):
        if refused or not can_defer() or _DEFERRED.value or _tracing():
            return plain(*args, **kwargs)
        if _has_tracer((args, kwargs)):  # pragma: no cover - _tracing() saw it already
            return plain(*args, **kwargs)
        try:
            with deferred_checks():
                err, out = checked(*args, **kwargs)
        except ValueError as e:
            if not is_checkify_limit(e):
                raise
            refused.append(True)
            return plain(*args, **kwargs)
        raise_deferred(err)
        return out

    return wrapper


def jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``fn`` (arrays traced, everything else static, as ``equinox.filter_jit``)
    with jaxspin's value checks inside it *deferred*: a failed check is raised after the
    call, as :class:`equinox.EquinoxRuntimeError` with the check's message, instead of by
    a host callback while the program runs.

    Use it instead of ``jax.jit`` around your own code that calls jaxspin (a ``vmap`` over
    parameters, a loss): the compiled program then has no host callback, so the
    persistent compilation cache (:func:`jaxspin.enable_compilation_cache`) keeps it and
    the next process skips its compilation. Your own ``equinox.error_if`` checks in
    ``fn`` stay host callbacks. Called inside another trace (``jit``, ``vmap``, ``grad``)
    it behaves as ``equinox.filter_jit``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxspin
        >>> sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        >>> pop0 = lambda w: jaxspin.steadystate(w * sx, [sm]).rho[0, 0].real
        >>> pops = jaxspin.jit(jax.vmap(pop0))
        >>> [round(float(p), 4) for p in pops(jnp.asarray([0.1, 1.0]))]
        [0.0098, 0.3333]
    """
    return filter_jit(fn)
