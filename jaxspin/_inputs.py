"""Conversion and validation of user input, done once at the public boundary.

Shape errors are raised eagerly as ``ValueError`` naming the argument and its shape.
Value checks (Hermiticity, finiteness, signs) are eager when the value is concrete and
become ``equinox.error_if`` checks inside ``jit``/``vmap`` when it is traced, so bad
input is reported instead of silently producing NaNs.
"""

import contextlib
import operator
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ._checks import error_if
from ._qutip import check_not_superoperator


def _to_dense(x: Any) -> Any:
    """Unwrap foreign operator objects by duck typing (QuTiP ``Qobj``: ``.full()``)."""
    if hasattr(x, "full") and callable(x.full) and not isinstance(x, np.ndarray | jax.Array):
        return x.full()
    return x


def complex_dtype():
    """jaxspin's complex dtype: ``complex128`` in x64 mode (the default), else ``complex64``
    (``jnp.result_type(complex)``; dimensionless, no units). Never hard-code a dtype.

    Example:
        >>> import jaxspin
        >>> str(jaxspin.extend.complex_dtype())
        'complex128'
    """
    return jnp.result_type(complex)


def real_dtype():
    """jaxspin's real dtype: ``float64`` in x64 mode (the default), else ``float32``
    (``jnp.result_type(float)``; dimensionless, no units).

    Example:
        >>> import jaxspin
        >>> str(jaxspin.extend.real_dtype())
        'float64'
    """
    return jnp.result_type(float)


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds a value now (not a tracer inside jit/vmap/grad). ``x`` is any
    object (an array in any units); a non-array is concrete."""
    return not isinstance(x, jax.core.Tracer)


def concretely(x: Any, predicate: Callable[[Array], Any]) -> bool:
    """``bool(predicate(x))`` evaluated now when ``x`` holds a value, also inside a jit trace
    (where a plain ``jnp`` call on a constant would be staged); ``False`` for a tracer.
    ``predicate`` sees ``x`` in its own units."""
    if not is_concrete(x):
        return False
    with jax.ensure_compile_time_eval():
        return bool(predicate(x))


def as_operator(x: Any, name: str) -> Array:
    """A complex ``(..., n, n)`` JAX array (:func:`complex_dtype`) from an array-like or a
    QuTiP ``Qobj`` (not a superoperator: ``ValueError``); units unchanged (an operator,
    e.g. a Hamiltonian in angular-frequency units). Other shapes: ``ValueError`` naming
    ``name``."""
    check_not_superoperator(x, name)
    arr = jnp.asarray(_to_dense(x))
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"`{name}` must have shape (..., n, n); got shape {arr.shape}.")
    return arr.astype(complex_dtype())


def as_operators(xs: Any, name: str, n: int) -> Array:
    """Stack jump operators into a complex ``(..., k, n, n)`` array.

    ``xs`` is ``None`` (no operators), a sequence of operators (each ``(..., n, n)``,
    broadcast together) or an array whose third-to-last axis indexes the operators.
    """
    if xs is None:
        return jnp.zeros((0, n, n), complex_dtype())
    if isinstance(xs, Sequence) and not isinstance(xs, str):
        if len(xs) == 0:
            return jnp.zeros((0, n, n), complex_dtype())
        ops = [as_operator(x, f"{name}[{i}]") for i, x in enumerate(xs)]
        for i, op in enumerate(ops):
            if op.shape[-1] != n:
                raise ValueError(f"`{name}[{i}]` acts on dimension {op.shape[-1]}, expected {n}.")
        shape = jnp.broadcast_shapes(*(op.shape for op in ops))
        return jnp.stack([jnp.broadcast_to(op, shape) for op in ops], axis=-3)
    arr = as_operator(xs, name)
    if arr.ndim < 3:
        raise ValueError(
            f"`{name}` given as an array must have shape (..., k, n, n); got {arr.shape}. "
            "Pass a list to give a single operator."
        )
    if arr.shape[-1] != n:
        raise ValueError(f"`{name}` acts on dimension {arr.shape[-1]}, expected {n}.")
    return arr


def as_real(x: Any, name: str, *, ndim_min: int = 0) -> Array:
    """``x`` as a real JAX array (:func:`real_dtype`), units unchanged: a complex input with
    a (concretely) nonzero imaginary part, or fewer than ``ndim_min`` dimensions, is a
    ``ValueError`` naming ``name``; a zero imaginary part is dropped."""
    arr = jnp.asarray(_to_dense(x))
    if jnp.iscomplexobj(arr):
        if concretely(arr, lambda a: jnp.any(jnp.imag(a) != 0)):
            raise ValueError(f"`{name}` must be real; got complex values.")
        arr = jnp.real(arr)
    if arr.ndim < ndim_min:
        raise ValueError(f"`{name}` must have at least {ndim_min} dimensions; got {arr.shape}.")
    return arr.astype(real_dtype())


def check_finite(x: Array, name: str) -> Array:
    """``x``, refused if it holds NaN or inf: ``ValueError`` naming ``name`` when ``x`` is
    concrete, a staged run-time check (:func:`error_if`) when traced. Any units."""
    msg = f"`{name}` contains NaN or inf."
    if is_concrete(x):
        # a concrete array inside a jit trace: evaluate now instead of staging the check
        with jax.ensure_compile_time_eval():
            if not bool(jnp.all(jnp.isfinite(x))):
                raise ValueError(msg)
        return x
    return error_if(x, ~jnp.all(jnp.isfinite(x)), msg)


def check_hermitian(x: Array, name: str, rtol: float = 1e-10) -> Array:
    """``x`` (``(..., n, n)``, any units), refused (``ValueError`` naming ``name``, or a
    staged check when traced) unless Hermitian to ``rtol`` (dimensionless) of its largest
    entry."""
    concrete = is_concrete(x)
    with jax.ensure_compile_time_eval() if concrete else contextlib.nullcontext():
        dev = jnp.max(jnp.abs(x - jnp.conj(jnp.swapaxes(x, -1, -2))), initial=0.0)
        scale = jnp.maximum(jnp.max(jnp.abs(x), initial=0.0), jnp.finfo(real_dtype()).tiny)
        bad = dev > rtol * scale
    msg = f"`{name}` is not Hermitian (max |{name} - {name}^dagger| above {rtol:g} x max|{name}|)."
    if concrete:
        if bool(bad):
            raise ValueError(msg + f" Deviation {float(dev):.3g}, scale {float(scale):.3g}.")
        return x
    return error_if(x, bad, msg)


def check_nonnegative(x: Array, name: str) -> Array:
    """Raise if any entry of the real array ``x`` is negative (rates must not be)."""
    msg = f"`{name}` has negative entries; rates must be >= 0."
    if is_concrete(x):
        with jax.ensure_compile_time_eval():
            if bool(jnp.any(x < 0)):
                raise ValueError(msg + f" Smallest entry {float(jnp.min(x)):.3g}.")
        return x
    return error_if(x, jnp.any(x < 0), msg)


def check_value(x: Array, bad: Callable[[Array], Array], msg: str) -> Array:
    """The one pattern for a value check: raise ``ValueError(msg)`` now if ``bad(x)`` is true
    for a concrete ``x`` (also inside a jit trace), else stage ``eqx.error_if`` so the same
    call is refused inside ``jit``/``vmap``. ``bad`` maps ``x`` (in its own units) to a
    boolean (any shape; reduced with ``any``). Returns ``x``.

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> jaxspin.extend.check_value(jnp.asarray(2.0), lambda t: t <= 0, "`T_K` must be > 0.")
        Array(2., dtype=float64, weak_type=True)
    """
    if is_concrete(x):
        with jax.ensure_compile_time_eval():
            if bool(jnp.any(bad(x))):
                raise ValueError(msg)
        return x
    return error_if(x, jnp.any(bad(x)), msg)


def check_positive(x: Array, name: str, *, strict: bool = True) -> Array:
    """``x`` (any units), refused (eagerly or at run time, as :func:`check_value`) unless
    every entry is finite and ``> 0`` (``strict``) or ``>= 0``."""
    rel = "> 0" if strict else ">= 0"
    return check_value(
        x,
        lambda a: ~jnp.isfinite(a) | ((a <= 0) if strict else (a < 0)),
        f"`{name}` must be finite and {rel}.",
    )


def bad_input(x: Array, *, hermitian: bool = False, nonnegative: bool = False) -> Array:
    """Boolean scalar: ``x`` has NaN/inf, or (optionally) is not Hermitian to 1e-10 of its
    largest entry, or has negative entries (``x`` in any units). For ``throw=False`` paths
    that must turn a bad point into a result code instead of raising."""
    bad = ~jnp.all(jnp.isfinite(x))
    if hermitian:
        dev = jnp.max(jnp.abs(x - jnp.conj(jnp.swapaxes(x, -1, -2))), initial=0.0)
        scale = jnp.maximum(jnp.max(jnp.abs(x), initial=0.0), jnp.finfo(real_dtype()).tiny)
        bad = bad | (dev > 1e-10 * scale)
    if nonnegative:
        bad = bad | jnp.any(x < 0)
    return bad


def check_int(x: Any, name: str, low: int = 0, high: int | None = None, why: str = "") -> int:
    """``x`` as a Python int in ``[low, high]``: an eager check (the value fixes a shape, a
    loop count or a block size, so it cannot be traced; a count, no units). ``ValueError``
    naming ``name`` (``why`` appended) for a bool, a float, a traced value or one out of
    range."""
    if isinstance(x, bool | np.bool_):
        raise ValueError(f"`{name}` must be an integer; got {x!r}.")
    try:
        v = operator.index(x)
    except TypeError:
        raise ValueError(f"`{name}` must be a Python integer; got {x!r}.") from None
    if v < low or (high is not None and v > high):
        span = f">= {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"`{name}` must be {span}{why}; got {v}.")
    return v


def check_flag(x: Any, name: str) -> bool:
    """``x`` as a Python bool (NumPy bools accepted); ``ValueError`` otherwise."""
    if not isinstance(x, bool | np.bool_):
        raise ValueError(f"`{name}` must be True or False; got {x!r}.")
    return bool(x)
