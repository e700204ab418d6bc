"""Differentiable maximisation of a smooth scalar function of ``x = log(variable)``.

A log-spaced grid brackets the maximum (``argmax``, no gradient), then Newton's method on
``d fn/dx = 0`` (optimistix, second derivative by forward-over-reverse autodiff) polishes
it to ``rtol = 1e-12``. The root is differentiated implicitly (``optx.ImplicitAdjoint``):
``dx*/dθ = -(∂²fn/∂x∂θ)/(∂²fn/∂x²)``, so ``B0(τc)`` and friends have exact gradients
whatever the grid.
"""

import jax
import jax.numpy as jnp
import optimistix as optx


def argmax_log(fn, x_lo, x_hi, num_grid: int, args, *, rtol: float = 1e-12, max_steps: int = 64):
    """Maximise ``fn(x, args)`` over ``x ∈ [x_lo, x_hi]`` (single problem; vmap it).

    Returns ``(x_star, fn(x_star, args), result)`` with ``result`` an ``optx.RESULTS``.
    A maximum on the grid's edge is still polished by Newton (it may then leave the
    interval, which the caller sees in ``x_star``).
    """
    if not isinstance(num_grid, int) or num_grid < 3:
        raise ValueError(f"`num_grid` must be an int >= 3; got {num_grid!r}.")
    grid = jnp.linspace(x_lo, x_hi, num_grid)
    values = jax.vmap(lambda x: fn(x, args))(jax.lax.stop_gradient(grid))
    x0 = jax.lax.stop_gradient(grid[jnp.argmax(jnp.where(jnp.isnan(values), -jnp.inf, values))])
    dfn = jax.grad(fn)
    solver = optx.Newton(rtol=rtol, atol=rtol)
    sol = optx.root_find(lambda x, a: dfn(x, a), solver, x0, args, max_steps=max_steps, throw=False)
    x_star = sol.value
    return x_star, fn(x_star, args), sol.result


__all__ = ["argmax_log"]
