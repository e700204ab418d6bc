"""Least-squares fits of any subset of a model's parameters, with error bars.

:func:`fit` minimises ``chi2/2 = 1/2 sum(((model(params, x) - y) / sigma)**2)`` over the
free leaves of a parameter PyTree by gradient descent with optax (L-BFGS by default), on
unconstrained coordinates given by :class:`AbstractTransform` objects (positivity, bounds),
and then computes the covariance of the free parameters from the Hessian of ``chi2/2`` in
physical coordinates. The loss is differentiated by JAX end to end, so a model built on
``diffrax``/``lineax``/``optimistix`` solves has exact gradients.
"""

import functools
import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, ArrayLike, Float, Int, PyTree

from ._checks import error_if, filter_jit, result_error_if
from ._inputs import as_real, check_finite, check_positive, check_value, concretely, is_concrete
from ._memory import check_fits
from ._transform import AbstractTransform, Bounded, Identity


# ------------------------------------------------------------------------------------------
# Result.


class FitResults(eqx.Enumeration):
    """Outcome of :func:`fit` (``FitResult.result``); ``FitResults[code]`` is the text."""

    successful = ""
    nonfinite_loss = (
        "The loss or its gradient became NaN or inf (at the start or at an accepted step); "
        "the parameters are those of the last finite point. Check the model for parameter "
        "values it cannot handle, or constrain them with a transform."
    )
    at_bound = (
        "The best fit lies outside the domain of a parameter's transform: the parameter is "
        "pressed against a bound (Bounded) or towards zero (Positive), where the gradient "
        "of chi2 in physical coordinates does not vanish. The Hessian error bars do not "
        "apply; stderr and covariance are NaN."
    )
    max_steps_reached = (
        "The optimiser did not meet the convergence test within `max_steps` steps. "
        "Increase `max_steps`, start closer, or loosen `rtol`/`atol` (for example when the "
        "model is only accurate to an ODE tolerance)."
    )
    hessian_not_positive_definite = (
        "The Hessian of chi2/2 at the fit is not symmetric positive definite to working "
        "precision: some combination of free parameters is not determined by the data (or "
        "the point is not a minimum). stderr and covariance are NaN."
    )
    invalid_input = (
        "The input values are invalid (only with throw=False; otherwise they raise): `y` or "
        "`sigma` holds NaN or inf, `sigma` <= 0 somewhere, a Bounded transform has bounds "
        "that are not finite with lower < upper, or an initial value lies outside the domain "
        "of its transform. Nothing was fitted: params, stderr, covariance and chi2 are NaN."
    )


class FitResult(eqx.Module):
    """The outcome of :func:`fit`.

    **Attributes:**

    - ``params``: the fitted parameters, a PyTree like ``params0`` (physical values). Fixed
      leaves are the very objects of ``params0``; free leaves are JAX arrays.
    - ``stderr``: PyTree like ``params``: the standard error of each free leaf, ``0`` for
      fixed floating-point leaves (they are known exactly within the model), ``None`` for
      other leaves (integers, strings, ...). NaN when ``result`` says the error bars do not
      apply (``at_bound``, ``hessian_not_positive_definite``).
    - ``covariance``: ``(n, n)`` covariance of the free parameters, in physical units,
      rows in the order of ``names``; ``correlation`` is the same normalised to unit
      diagonal.
    - ``gauss_newton_covariance``: ``(J^T J)^{-1}`` from the Jacobian ``J`` of the
      weighted residuals (scaled like ``covariance``); equal to ``covariance`` for a model
      linear in its parameters, and what ``covariance`` is when ``hessian=False``; NaN
      where ``J^T J`` is singular or a parameter is at a bound.
    - ``hessian``: ``(n, n)`` matrix whose inverse is ``covariance`` (before scaling by
      ``residual_scale**2``): the exact Hessian of ``chi2/2`` or, with ``hessian=False``,
      ``J^T J``.
    - ``names``: the row labels, ``jax.tree_util.keystr`` paths of the free leaves with
      ``[i, ...]`` appended for elements of array leaves.
    - ``chi2``: ``sum(((model - y) / sigma)**2)`` at the fit (``sigma = 1`` when not given),
      ``dof = N - n`` (data points minus free parameters), ``reduced_chi2 = chi2 / dof``.
    - ``residual_scale``: ``sqrt(chi2 / dof)``. With ``sigma=None`` this is the estimated
      noise standard deviation per point (units of ``y``) and the covariance has been
      multiplied by its square. With ``sigma`` given it is not applied; it is about 1 when
      the model and ``sigma`` are right.
    - ``sigma_estimated``: whether ``residual_scale`` was applied (``sigma=None``).
    - ``n_steps``: optimiser steps taken; ``loss_history``: ``chi2/2`` at the start and
      after each step, shape ``(max_steps + 1,)``, NaN after ``n_steps``.
    - ``result``: a :class:`FitResults` item; ``converged`` is ``result == successful``.
    """

    params: PyTree
    stderr: PyTree
    covariance: Float[Array, "n n"]
    correlation: Float[Array, "n n"]
    gauss_newton_covariance: Float[Array, "n n"]
    hessian: Float[Array, "n n"]
    chi2: Float[Array, ""]
    reduced_chi2: Float[Array, ""]
    residual_scale: Float[Array, ""]
    n_steps: Int[Array, ""]
    loss_history: Float[Array, " steps"]
    result: FitResults
    names: tuple[str, ...] = eqx.field(static=True)
    dof: int = eqx.field(static=True)
    sigma_estimated: bool = eqx.field(static=True)

    @property
    def converged(self) -> jax.Array:
        return self.result == FitResults.successful

    def summary(self) -> str:
        """A readable table, one line ``name = value ± stderr`` per parameter element."""
        code = int(np.asarray(self.result._value))
        lines = [
            f"fit: {_result_name(code)} after {int(self.n_steps)} steps",
            f"chi2 = {float(self.chi2):.6g}, dof = {self.dof}, "
            f"reduced chi2 = {float(self.reduced_chi2):.4g}",
        ]
        if code:
            lines.insert(1, "  " + FitResults[self.result])
        if self.sigma_estimated:
            lines.append(
                f"sigma estimated from the residuals: {float(self.residual_scale):.4g} "
                "(covariance scaled by its square)"
            )
        free = set(self.names)
        width = max(len(n) for n in self.names)
        leaves, treedef = jax.tree_util.tree_flatten_with_path(self.params)
        errs = treedef.flatten_up_to(self.stderr)
        for (path, value), err in zip(leaves, errs, strict=True):
            arr = np.asarray(value) if eqx.is_array_like(value) else None
            if arr is None or not np.issubdtype(arr.dtype, np.number):
                lines.append(f"  {jax.tree_util.keystr(path)} = {value!r} (fixed)")
                continue
            err = np.broadcast_to(np.asarray(0.0 if err is None else err), arr.shape)
            for name, idx in zip(
                _element_names(path, arr.shape), np.ndindex(arr.shape), strict=True
            ):
                if name in free:
                    lines.append(f"  {name:<{width}} = {arr[idx]:.8g} ± {err[idx]:.3g}")
                else:
                    lines.append(f"  {name:<{width}} = {arr[idx]:.8g} (fixed)")
        return "\n".join(lines)


def _result_name(code: int) -> str:
    names = {int(np.asarray(item._value)): name for name, item in FitResults._name_to_item.items()}
    return names[code]


def _element_names(path, shape) -> list[str]:
    """Row labels of one leaf: its keystr path, with ``[i, j]`` for array elements."""
    base = jax.tree_util.keystr(path) or "params"
    if not shape:
        return [base]
    return [f"{base}[{', '.join(map(str, idx))}]" for idx in np.ndindex(shape)]


# ------------------------------------------------------------------------------------------
# The objective, shared by the driver, the optimiser loop and the tests.


class _Objective(eqx.Module):
    """Weighted residuals of ``model`` as a function of the free leaves.

    ``leaves`` holds the fixed leaves of ``params0`` and ``None`` where the free ones go
    (their values come in separately: a Python-float starting value kept here would be a
    static argument of the jitted loop and recompile it for every new value);
    ``mask``/``treedef`` are static. ``sigma`` is ``None`` (unit weights) or a list of
    arrays broadcastable to the leaves of ``y``.
    """

    model: Callable
    x: Any
    y: list[Array]
    sigma: list[Array] | None
    leaves: list[Any]
    transforms: list[AbstractTransform]
    mask: tuple[bool, ...] = eqx.field(static=True)
    treedef: Any = eqx.field(static=True)

    def params(self, free_leaves):
        it = iter(free_leaves)
        leaves = [next(it) if m else leaf for m, leaf in zip(self.mask, self.leaves, strict=True)]
        return jax.tree_util.tree_unflatten(self.treedef, leaves)

    def residuals(self, free_leaves) -> Float[Array, " N"]:
        pred = jax.tree_util.tree_leaves(self.model(self.params(free_leaves), self.x))
        sigma = self.sigma if self.sigma is not None else [None] * len(self.y)
        parts = [
            (p - y) if s is None else (p - y) / s
            for p, y, s in zip(pred, self.y, sigma, strict=True)
        ]
        return jnp.concatenate([jnp.ravel(r) for r in parts])

    def physical(self, u_leaves):
        return [t.to_physical(u) for t, u in zip(self.transforms, u_leaves, strict=True)]

    def unconstrained(self, p_leaves):
        return [t.to_unconstrained(p) for t, p in zip(self.transforms, p_leaves, strict=True)]


_ROWS_PER_BATCH = 128


@filter_jit
def _residuals(obj: "_Objective", free_leaves) -> Float[Array, " N"]:
    # A jit boundary around the model: the optimiser loop, its line search and the
    # Jacobians all call it, and JAX traces the model once instead of at every call site.
    return obj.residuals(free_leaves)


def _value_and_jacobian(fun, x: Float[Array, " n"], forward: bool):
    """``fun(x)`` (shape ``(N,)``) and its ``(N, n)`` Jacobian, tracing ``fun`` once.

    Forward mode: ``n`` JVPs. Reverse mode (for models that only support it): ``N`` VJPs,
    ``_ROWS_PER_BATCH`` rows at a time, so no ``N x N`` identity is materialised.
    """
    if forward:
        y, lin = jax.linearize(fun, x)
        return y, jax.vmap(lin, out_axes=1)(jnp.eye(x.size, dtype=x.dtype))
    y, pullback = jax.vjp(fun, x)
    row = lambda i: pullback(jax.nn.one_hot(i, y.size, dtype=y.dtype))[0]
    return y, jax.lax.map(row, jnp.arange(y.size), batch_size=_ROWS_PER_BATCH)


def _inverse_spd(h: Float[Array, "n n"]) -> tuple[Float[Array, "n n"], jax.Array]:
    """``h^{-1}`` for a symmetric positive definite ``h``, and whether ``h`` is one.

    ``h`` is first equilibrated to unit diagonal (parameters in different units give
    diagonals many decades apart); it counts as positive definite when that matrix is
    symmetric to sqrt(eps), its smallest eigenvalue exceeds ``1e3 n eps`` times its largest
    (not singular to working precision) and its Cholesky factor is finite.
    """
    n = h.shape[0]
    eps = jnp.finfo(h.dtype).eps
    diag = jnp.diagonal(h)
    ok = jnp.all(jnp.isfinite(h)) & jnp.all(diag > 0)
    scale = jnp.sqrt(jnp.where(diag > 0, diag, 1))
    hn = h / jnp.outer(scale, scale)
    ok = ok & (jnp.max(jnp.abs(hn - hn.T)) <= jnp.sqrt(eps))
    eye = jnp.eye(n, dtype=h.dtype)
    hn = jnp.where(ok, 0.5 * (hn + hn.T), eye)
    lam = jnp.linalg.eigvalsh(hn)
    ok = ok & (lam[0] > 1e3 * n * eps * lam[-1])
    chol = jnp.linalg.cholesky(jnp.where(ok, hn, eye))
    ok = ok & jnp.all(jnp.isfinite(chol))
    inv = jax.scipy.linalg.cho_solve((chol, True), eye) / jnp.outer(scale, scale)
    return jnp.where(ok, inv, jnp.nan), ok


@functools.cache
def _default_optimizer() -> optax.GradientTransformationExtraArgs:
    # One instance, so that repeated fits reuse the compiled loop.
    return optax.lbfgs()


# ------------------------------------------------------------------------------------------
# The jitted core: optimise, then the curvature at the optimum.


@filter_jit
def _run(
    obj: _Objective, free0, optimizer, max_steps, rtol, atol, hessian, dof, sigma_given, invalid
):
    u0, unravel_u = ravel_pytree(obj.unconstrained(free0))

    def residuals_u(u):
        return _residuals(obj, obj.physical(unravel_u(u)))

    # Jacobi scaling from the Gauss-Newton diagonal at the start: the optimiser moves
    # z = (u - u0) * d on phi = (chi2/2) / (chi2_0/2), where d_i^2 = (J^T J)_ii / chi2_0 * 2,
    # so that phi(0) = 1 and each coordinate has unit curvature at the start, whatever the
    # units of the parameters and the data.
    r0, j0 = _value_and_jacobian(residuals_u, u0, forward=hessian)
    f0 = 0.5 * jnp.sum(r0**2)
    f_ref = jnp.where(jnp.isfinite(f0) & (f0 > 0), f0, 1)
    d = jnp.sqrt(jnp.sum(j0**2, axis=0) / f_ref)
    d = jnp.where(jnp.isfinite(d) & (d > 0), d, 1)

    def phi(z):
        r = residuals_u(u0 + z / d)
        return 0.5 * jnp.sum(r**2) / f_ref

    opt = optax.with_extra_args_support(optimizer)
    z0 = jnp.zeros_like(u0)
    # optax mixes int32 and int64 counters internally (lbfgs's memory index), which
    # jaxspin's strict-promotion test mode rejects; promotion is standard inside optax only.
    with jax.numpy_dtype_promotion("standard"):
        state0 = opt.init(z0)
    # A line search (lbfgs's zoom) stores the value and gradient at the point it accepted:
    # reuse them (as optax.value_and_grad_from_state does, without its fallback, which
    # would trace the model once more; a non-finite stored value ends the loop anyway).
    get = optax.tree_utils.tree_get
    if get(state0, "value") is not None and get(state0, "grad") is not None:
        value_and_grad = lambda z, state: (get(state, "value"), get(state, "grad"))
    else:
        value_and_grad = lambda z, state: jax.value_and_grad(phi)(z)

    phi0 = f0 / f_ref
    g0 = (j0.T @ r0) / (f_ref * d)
    finite0 = jnp.isfinite(phi0) & jnp.all(jnp.isfinite(g0))
    history0 = jnp.full(max_steps + 1, jnp.nan, dtype=u0.dtype).at[0].set(phi0 * f_ref)
    result0 = FitResults.where(finite0, FitResults.max_steps_reached, FitResults.nonfinite_loss)
    carry0 = (jnp.array(0), z0, state0, phi0, g0, history0, result0, ~finite0)

    def cond(carry):
        k, *_, done = carry
        return (k < max_steps) & ~done

    def body(carry):
        k, z, state, value, grad, history, result, _ = carry
        with jax.numpy_dtype_promotion("standard"):
            updates, new_state = opt.update(grad, state, z, value=value, grad=grad, value_fn=phi)
        new_z = optax.apply_updates(z, updates)
        new_value, new_grad = value_and_grad(new_z, new_state)
        finite = jnp.isfinite(new_value) & jnp.all(jnp.isfinite(new_grad))
        # rtol per degree of freedom: chi2/2/dof is 1/2 per standard error squared;
        # 64 eps is the floor set by rounding in the sum of squares.
        tol = (rtol / dof + 64 * jnp.finfo(u0.dtype).eps) * new_value + atol
        small_grad = 0.5 * jnp.sum(new_grad**2) <= tol
        small_change = jnp.abs(new_value - value) <= tol
        converged = finite & small_grad & small_change
        keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(finite, a, b), new, old)
        z, state, value, grad = keep(
            (new_z, new_state, new_value, new_grad), (z, state, value, grad)
        )
        history = history.at[k + 1].set(jnp.where(finite, new_value * f_ref, jnp.nan))
        result = FitResults.where(converged, FitResults.successful, result)
        result = FitResults.where(finite, result, FitResults.nonfinite_loss)
        return (k + 1, z, state, value, grad, history, result, converged | ~finite)

    k, z, _, _, _, history, result, _ = jax.lax.while_loop(cond, body, carry0)

    # Curvature at the optimum, in physical coordinates.
    free = obj.physical(unravel_u(u0 + z / d))
    p, unravel_p = ravel_pytree(free)
    residuals_p = lambda q: _residuals(obj, unravel_p(q))
    r, jac = _value_and_jacobian(residuals_p, p, forward=hessian)
    chi2 = jnp.sum(r**2)
    jtj = jac.T @ jac
    if hessian:
        h = jax.hessian(lambda q: 0.5 * jnp.sum(residuals_p(q) ** 2))(p)
    else:
        h = jtj
    s2 = chi2 / dof if not sigma_given else jnp.ones_like(chi2)
    h_inv, pd = _inverse_spd(h)
    gn_inv, _ = _inverse_spd(jtj)

    # A bound is active when the Newton step of the local quadratic model (in physical
    # coordinates, where the gradient does not vanish at a bound) leaves the domain.
    newton = unravel_p(p - h_inv @ (jac.T @ r))
    at_bound = ~jnp.all(jnp.isfinite(ravel_pytree(obj.unconstrained(newton))[0]))
    at_bound = pd & at_bound & (result != FitResults.nonfinite_loss)
    result = FitResults.where(at_bound, FitResults.at_bound, result)
    bad_hessian = ~pd & (result == FitResults.successful)
    result = FitResults.where(bad_hessian, FitResults.hessian_not_positive_definite, result)
    usable = pd & ~at_bound
    cov = jnp.where(usable, h_inv * s2, jnp.nan)
    out = dict(
        free=free,
        covariance=cov,
        gauss_newton_covariance=jnp.where(at_bound, jnp.nan, gn_inv * s2),
        hessian=h,
        chi2=chi2,
        n_steps=k,
        loss_history=history,
        result=result,
    )
    if invalid is not None:  # throw=False: bad input values are a result code, not an error
        nan = lambda a: jnp.where(invalid, jnp.nan, a)
        result = FitResults.where(invalid, FitResults.invalid_input, result)
        out = jax.tree.map(nan, out | dict(n_steps=None, result=None))
        out |= dict(n_steps=k, result=result)
    return out


# ------------------------------------------------------------------------------------------
# Input handling (outside jit).


_NOT_FREE = object()


def _is_transform(t) -> bool:
    return isinstance(t, AbstractTransform) or t is None


def _leaf_transforms(transforms, params0, n_leaves: int) -> list[AbstractTransform]:
    if transforms is None:
        return [Identity()] * n_leaves
    try:
        full = jax.tree.map(
            lambda t, sub: jax.tree.map(lambda _: Identity() if t is None else t, sub),
            transforms,
            params0,
            is_leaf=_is_transform,
        )
    except ValueError as e:
        raise ValueError(
            "`transforms` must be a PyTree prefix of `params0` whose leaves are "
            f"AbstractTransform objects (or None for Identity): {e}"
        ) from e
    out = jax.tree.leaves(full, is_leaf=lambda t: isinstance(t, AbstractTransform))
    if len(out) != n_leaves or not all(isinstance(t, AbstractTransform) for t in out):
        raise ValueError("`transforms` must hold AbstractTransform objects (or None).")
    return out


class _Checks:
    """Value checks of :func:`fit`'s inputs. ``throw=True``: raise now for a concrete value,
    ``eqx.error_if`` for a traced one. ``throw=False``: collect them into one boolean,
    ``invalid``, which becomes the result ``invalid_input``."""

    def __init__(self, throw: bool):
        self.throw = throw
        self.invalid = jnp.array(False) if not throw else None

    def __call__(self, x, bad: Callable[[Any], Any], msg: str, *, on=None):
        """``x`` checked for ``bad(x)``; ``on``: the array to attach a traced check to, when
        ``x`` itself does not flow into the fit (default ``x``)."""
        if not self.throw:
            self.invalid = self.invalid | jnp.any(bad(x))
            return x if on is None else on
        if on is None:
            return check_value(x, bad, msg)
        if concretely(x, lambda v: jnp.any(bad(v))):
            raise ValueError(msg)
        return on if is_concrete(x) else error_if(on, jnp.any(bad(x)), msg)


def _setup(model, params0, x, y, sigma, free, transforms, check: "_Checks | None" = None):
    """Validate the inputs of :func:`fit`; return the objective, the free leaves and names,
    and the degrees of freedom. Value checks go through ``check`` (default: raise)."""
    check = _Checks(throw=True) if check is None else check
    throw = check.throw
    # --- data and weights
    y_leaves, y_def = jax.tree_util.tree_flatten(y)
    if not y_leaves:
        raise ValueError("`y` holds no data.")
    y_arrays = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(y)[0]:
        name = f"y{jax.tree_util.keystr(path)}"
        if jnp.iscomplexobj(jnp.asarray(leaf)):
            raise ValueError(f"`{name}` is complex; fit real and imaginary parts as two sets.")
        arr = as_real(leaf, name)
        y_arrays.append(
            check_finite(arr, name) if throw else check(arr, lambda a: ~jnp.isfinite(a), "")
        )
    n_data = sum(int(np.prod(a.shape)) for a in y_arrays)

    sigma_arrays = None
    if sigma is not None:
        try:
            full = jax.tree.map(
                lambda s, sub: jax.tree.map(lambda _: s, sub), sigma, y, is_leaf=lambda s: s is None
            )
            s_leaves = y_def.flatten_up_to(full)
        except ValueError as e:
            raise ValueError(f"`sigma` must be a scalar or a PyTree prefix of `y`: {e}") from e
        sigma_arrays = []
        for s, arr in zip(s_leaves, y_arrays, strict=True):
            s = as_real(s, "sigma")
            try:
                jnp.broadcast_shapes(s.shape, arr.shape)
            except ValueError:
                raise ValueError(
                    f"`sigma` of shape {s.shape} does not broadcast to data of shape {arr.shape}."
                ) from None
            if throw:
                s = check_positive(s, "sigma")
            else:
                s = check(s, lambda a: ~jnp.isfinite(a) | (a <= 0), "")
            sigma_arrays.append(s)

    # --- which leaves are free, their transforms and names
    leaves_with_path, treedef = jax.tree_util.tree_flatten_with_path(params0)
    leaves = [leaf for _, leaf in leaves_with_path]
    spec = eqx.is_inexact_array_like if free is None else free
    marked = jax.tree.leaves(eqx.filter(params0, spec, replace=_NOT_FREE))
    if len(marked) != len(leaves):
        raise ValueError("`free` must be a filter: a PyTree prefix of `params0` or a callable.")
    mask = tuple(m is not _NOT_FREE for m in marked)
    if not any(mask):
        raise ValueError("No free parameters: `free` selects no floating-point leaf.")
    leaf_tx = _leaf_transforms(transforms, params0, len(leaves))
    free0, tx, names = [], [], []
    for m, (path, leaf), t in zip(mask, leaves_with_path, leaf_tx, strict=True):
        if not m:
            continue
        arr = jnp.asarray(leaf)
        if not jnp.issubdtype(arr.dtype, jnp.floating):
            raise ValueError(
                f"Free parameter {jax.tree_util.keystr(path)} has dtype {arr.dtype}; only real "
                "floating-point leaves can be fitted (mark it fixed with `free`)."
            )
        where = jax.tree_util.keystr(path) or "params0"
        if isinstance(t, Bounded):
            bounds = jnp.stack(jnp.broadcast_arrays(t.lower, t.upper))
            msg = (
                f"The Bounded transform of {where} needs finite bounds with lower < upper "
                "(for a one-sided bound use Positive)."
            )
            arr = check(bounds, lambda b: ~jnp.isfinite(b).all(0) | (b[0] >= b[1]), msg, on=arr)
        u = jax.eval_shape(t.to_unconstrained, arr)
        if u.shape != arr.shape:
            raise ValueError(
                f"The transform {type(t).__name__} of {where} maps a parameter of shape "
                f"{arr.shape} to shape {u.shape}; its arrays must broadcast to the parameter."
            )
        msg = (
            f"Initial value of {where} is NaN or inf, or lies outside the domain of its "
            f"transform {t!r}."
        )
        arr = check(t.to_unconstrained(arr), lambda v: ~jnp.isfinite(v), msg, on=arr)
        free0.append(arr)
        tx.append(t)
        names.extend(_element_names(path, arr.shape))
    n_free = len(names)
    dof = n_data - n_free
    if dof < 1:
        raise ValueError(
            f"{n_data} data points cannot determine {n_free} free parameters with an error "
            "estimate; need more data points than free parameters."
        )

    # --- the model's output must match y
    out = eqx.filter_eval_shape(model, params0, x)
    out_leaves, out_def = jax.tree_util.tree_flatten(out)
    if out_def != y_def:
        raise ValueError(f"`model(params0, x)` returns a PyTree {out_def}, but `y` is {y_def}.")
    for o, arr in zip(out_leaves, y_arrays, strict=True):
        if o.shape != arr.shape:
            raise ValueError(
                f"`model(params0, x)` returns shape {o.shape} where `y` has shape {arr.shape}."
            )
        if not jnp.issubdtype(o.dtype, jnp.floating):
            raise ValueError(f"`model(params0, x)` returns dtype {o.dtype}; it must be real.")

    obj = _Objective(
        model=model,
        x=x,
        y=y_arrays,
        sigma=sigma_arrays,
        leaves=[None if m else leaf for m, leaf in zip(mask, leaves, strict=True)],
        transforms=tx,
        mask=mask,
        treedef=treedef,
    )
    return obj, free0, tuple(names), dof


def _check_options(model, optimizer, max_steps, rtol, atol, hessian, throw) -> tuple:
    """The options of :func:`fit`, checked now (a traced tolerance at run time); returns
    ``(rtol, atol)``, Python numbers unchanged (they stay compile-time constants)."""
    if not callable(model):
        raise ValueError(f"`model` must be callable; got {type(model).__name__}.")
    if optimizer is not None and not (
        callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))
    ):
        raise ValueError(
            f"`optimizer` must be an optax GradientTransformation; got {type(optimizer).__name__}."
        )
    ok = isinstance(max_steps, int | np.integer) and not isinstance(max_steps, bool)
    if not ok or max_steps < 1:
        raise ValueError(f"`max_steps` must be a positive int; got {max_steps!r}.")
    for flag, name in ((hessian, "hessian"), (throw, "throw")):
        if not isinstance(flag, bool | np.bool_):
            raise ValueError(f"`{name}` must be a bool; got {flag!r}.")
    tols = []
    for tol, name in ((rtol, "rtol"), (atol, "atol")):
        if isinstance(tol, bool) or not eqx.is_array_like(tol) or jnp.ndim(tol) != 0:
            raise ValueError(f"`{name}` must be a real scalar; got {tol!r}.")
        if isinstance(tol, int | float | np.number):
            if not (math.isfinite(tol) and tol >= 0):
                raise ValueError(f"`{name}` must be finite and >= 0; got {tol!r}.")
            tols.append(tol)
        else:
            tols.append(check_positive(as_real(tol, name), name, strict=False))
    return tuple(tols)


def fit(
    model: Callable[[PyTree, Any], PyTree],
    params0: PyTree,
    x: Any,
    y: PyTree[ArrayLike],
    *,
    sigma: PyTree[ArrayLike] | None = None,
    free: PyTree[bool] | Callable[[Any], bool] | None = None,
    transforms: PyTree[AbstractTransform] | None = None,
    optimizer: optax.GradientTransformation | None = None,
    max_steps: int = 1000,
    rtol: float = 1e-10,
    atol: float = 1e-20,
    hessian: bool = True,
    throw: bool = True,
) -> FitResult:
    r"""Fit the free parameters of ``model`` to data ``y`` by weighted least squares.

    Minimises $\chi^2/2 = \frac12\sum_i ((\mathrm{model}(p, x)_i - y_i)/\sigma_i)^2$ over the
    free leaves of ``p``, then estimates their covariance as the inverse Hessian of
    $\chi^2/2$ in physical coordinates at the minimum (the Laplace/Cramér-Rao estimate,
    exact for a linear model with Gaussian noise of known ``sigma``).

    **Arguments:**

    - ``model``: ``model(params, x) -> y_pred``, a PyTree with the structure and shapes of
      ``y`` (several data sets at once: return a tuple of curves; parameters shared between
      curves are then fitted jointly). It must be differentiable by ``jax.grad``.
    - ``params0``: initial parameters, any PyTree (typically an ``equinox.Module``).
    - ``x``: anything ``model`` needs besides the parameters (arrays are traced).
    - ``y``: data, an array or a PyTree of real arrays; no NaN or inf.
    - ``sigma``: standard deviation of each data point, a PyTree prefix of ``y`` broadcast
      to it (a scalar for all points, one per data set, or arrays like ``y``), all ``> 0``.
      ``None``: unit weights, and the noise is estimated from the residuals as
      ``s^2 = chi2 / (N - n)``, by which the covariance is multiplied.
    - ``free``: which leaves are fitted: an ``equinox.partition`` filter (a PyTree prefix of
      ``params0`` of bools, or a callable on leaves). Default: every floating array or
      Python float leaf. Fixed leaves are returned unchanged (the same objects).
    - ``transforms``: PyTree prefix of ``params0`` of :class:`AbstractTransform` (``None``
      leaves mean :class:`Identity`); default all :class:`Identity`.
    - ``optimizer``: an optax ``GradientTransformation``; default ``optax.lbfgs()`` with its
      zoom line search. The optimiser works on dimensionless coordinates
      ``z = (u - u0) * d`` (``u`` unconstrained, ``d`` the square root of the
      Gauss-Newton diagonal at the start) and on the loss divided by its initial value, so
      each coordinate starts with unit curvature: for ``optax.adam`` a learning rate of
      ``1e-2`` to ``1e-1`` is a reasonable start.
    - ``max_steps``: at most this many optimiser steps.
    - ``rtol``, ``atol``: convergence test. The optimiser stops at the first step where
      both the change of ``chi2/2`` and the estimate ``|grad_z phi|^2 / 2`` of its remaining
      decrease are ``<= rtol * (chi2/2) / dof + atol * (chi2_0/2)`` (``chi2_0`` at the
      start; ``dof = N - n``). Near a quadratic minimum this puts the parameters within
      about ``sqrt(rtol)`` standard errors of it (``1e-5`` by default), independent of the
      number of points. ``atol`` serves noise-free data, where ``chi2`` tends to 0. A model
      that is only accurate to a solver tolerance makes ``chi2`` noisy at that level: then
      loosen ``rtol`` (else the result is ``max_steps_reached``).
    - ``hessian``: ``True``: the exact Hessian by forward-over-reverse autodiff
      (``jax.hessian``). ``False``: the Gauss-Newton matrix ``J^T J`` (first derivatives
      only, ``J`` by reverse mode), needed for models that only support reverse mode,
      such as ``diffrax.diffeqsolve`` with its default ``RecursiveCheckpointAdjoint``
      (or pass ``adjoint=diffrax.DirectAdjoint()`` there to keep the exact Hessian).
    - ``throw``: raise a ``RuntimeError`` if ``result`` is not ``successful``; with
      ``False`` the result code is returned and nothing is raised.

    **Returns:** a :class:`FitResult`.

    **Checks.** Structure is checked eagerly, always (``ValueError`` naming the argument):
    ``model`` callable, ``y`` real and shaped like ``model(params0, x)``, ``sigma``
    broadcastable to it, more data points than free parameters, free leaves floating,
    transforms' arrays broadcastable to their parameters, ``max_steps`` a positive int,
    ``rtol``/``atol`` finite and ``>= 0``, ``optimizer`` an optax transformation.
    Values are checked for NaN/inf in ``y`` and ``sigma``, ``sigma <= 0``, Bounded
    transforms without finite ``lower < upper``, and initial values outside their
    transform's domain: with ``throw=True`` as a ``ValueError`` now for concrete values
    and an ``eqx.error_if`` for traced ones (so a ``jit``/``vmap`` call is refused too);
    with ``throw=False`` as the result ``FitResults.invalid_input`` with NaN outputs, for
    that fit only (one bad data set in a ``vmap`` of fits does not stop the others).

    The error bars are meaningful when the model is right, the noise is Gaussian with the
    given ``sigma`` (or one common unknown ``sigma``), and chi2 is close to quadratic
    within the error bars (small relative errors, no parameter at a bound). Otherwise use
    them as a local curvature only.

    ```python
    class Decay(eqx.Module):
        amplitude: jax.Array
        rate: jax.Array

    model = lambda p, t: p.amplitude * jnp.exp(-p.rate * t)
    res = fit(model, Decay(1.0, 0.5), t, data, sigma=0.01,
              transforms=Decay(Identity(), Positive()))
    print(res.summary())
    ```
    """
    rtol, atol = _check_options(model, optimizer, max_steps, rtol, atol, hessian, throw)
    check = _Checks(throw=bool(throw))
    obj, free0, names, dof = _setup(model, params0, x, y, sigma, free, transforms, check)
    n_data, n_free = dof + len(names), len(names)
    rows = 0 if hessian else min(n_data, _ROWS_PER_BATCH)  # one-hot cotangents per batch
    itemsize = obj.y[0].dtype.itemsize
    check_fits(itemsize * n_data * (3 * n_free + rows), "the fit's Jacobian")
    check_fits(itemsize * (int(max_steps) + 1), f"the fit's loss history (max_steps={max_steps})")
    optimizer = _default_optimizer() if optimizer is None else optimizer
    try:
        out = _run(
            obj,
            free0,
            optimizer,
            int(max_steps),
            rtol,
            atol,
            bool(hessian),
            dof,
            sigma is not None,
            check.invalid,
        )
    except TypeError as e:
        if hessian and "forward-mode" in str(e):
            raise ValueError(
                "fit(hessian=True) differentiates the model twice (forward over reverse), "
                "which this model does not support (e.g. diffrax.diffeqsolve with its default "
                "RecursiveCheckpointAdjoint). Pass hessian=False for the Gauss-Newton "
                "covariance, or adjoint=diffrax.DirectAdjoint() to diffeqsolve."
            ) from e
        raise

    # --- assemble
    mask, leaves, treedef = obj.mask, obj.leaves, obj.treedef
    it = iter(out["free"])
    params = jax.tree_util.tree_unflatten(
        treedef, [next(it) if m else leaf for m, leaf in zip(mask, leaves, strict=True)]
    )
    cov = out["covariance"]
    err = jnp.sqrt(jnp.diagonal(cov))
    _, unravel = ravel_pytree(out["free"])
    it = iter(unravel(err))
    stderr = jax.tree_util.tree_unflatten(
        treedef,
        [
            next(it) if m else (jnp.zeros_like(leaf) if eqx.is_inexact_array_like(leaf) else None)
            for m, leaf in zip(mask, leaves, strict=True)
        ],
    )
    chi2 = out["chi2"]
    result = FitResult(
        params=params,
        stderr=stderr,
        covariance=cov,
        correlation=cov / jnp.outer(err, err),
        gauss_newton_covariance=out["gauss_newton_covariance"],
        hessian=out["hessian"],
        chi2=chi2,
        reduced_chi2=chi2 / dof,
        residual_scale=jnp.sqrt(chi2 / dof),
        n_steps=out["n_steps"],
        loss_history=out["loss_history"],
        result=out["result"],
        names=tuple(names),
        dof=dof,
        sigma_estimated=sigma is None,
    )
    if throw:
        code = result.result._value
        if is_concrete(code):
            if int(code) != 0:
                raise RuntimeError(f"fit failed: {FitResults[result.result]}\n{result.summary()}")
        else:
            failed = result.result != FitResults.successful
            result = eqx.tree_at(
                lambda r: r.chi2, result, result_error_if(result.chi2, result.result, failed)
            )
    return result
