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


def argmax_log(
    fn,
    x_lo,
    x_hi,
    num_grid: int,
    args,
    *,
    fn_grid=None,
    rtol: float = 1e-12,
    max_steps: int = 32,
    grid_batch: int = 16,
):
    """Maximise ``fn(x, args)`` over ``x ∈ [x_lo, x_hi]`` (single problem; vmap it).

    ``fn_grid`` (default ``fn``) evaluates the bracketing grid: a cheaper approximation of
    ``fn`` suffices there. The grid is evaluated ``grid_batch`` points at a time
    (``lax.map``), so that under an outer ``vmap`` the intermediates of one block stay in
    cache (measured 3-10x faster than one vmap over the grid on CPU).

    Returns ``(x_star, fn(x_star, args), result)`` with ``result`` an ``optx.RESULTS``.
    Newton stays within two grid cells of the grid maximum; a maximum beyond the grid's
    ends is not found (``x_star`` then sits at a bound and ``result`` reports failure).
    """
    if not isinstance(num_grid, int) or num_grid < 3:
        raise ValueError(f"`num_grid` must be an int >= 3; got {num_grid!r}.")
    grid = jnp.linspace(x_lo, x_hi, num_grid)
    fn_grid = fn if fn_grid is None else fn_grid
    grid = jax.lax.stop_gradient(grid)
    values = jax.lax.map(lambda x: fn_grid(x, args), grid, batch_size=grid_batch)
    x0 = jax.lax.stop_gradient(grid[jnp.argmax(jnp.where(jnp.isnan(values), -jnp.inf, values))])
    # forward mode: for one scalar x, d/dx and (inside Newton) d²/dx² by jvp-of-jvp need
    # no stored intermediates (reverse mode through a 2-D quadrature would store them all)
    dfn = jax.jacfwd(fn)
    # Newton is confined to two grid cells on either side of the grid maximum, so a noisy
    # second derivative (2-D quadratures) cannot throw it out of the bracket.
    step = (x_hi - x_lo) / (num_grid - 1)
    bounds = jax.lax.stop_gradient({"lower": x0 - 2 * step, "upper": x0 + 2 * step})
    solver = optx.Newton(rtol=rtol, atol=rtol)
    sol = optx.root_find(
        lambda x, a: dfn(x, a),
        solver,
        x0,
        args,
        options=bounds,
        max_steps=max_steps,
        throw=False,
    )
    x_star = sol.value
    return x_star, fn(x_star, args), sol.result


__all__ = ["argmax_log"]
