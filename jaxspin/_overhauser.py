r"""Averages over the Gaussian distribution of the nuclear (Overhauser) field.

An electron localised on many nuclear spins precesses about
$\boldsymbol\Omega_e = \boldsymbol\Omega_B + \boldsymbol\Omega_N$, the sum of the external
field's precession vector and the Overhauser field of the nuclei. For many nuclei in the
high-temperature spin-temperature state the Overhauser field is Gaussian
[Smirnov24, Eq. (S23)]:

$$\mathcal F(\boldsymbol\Omega_N) = (2\pi\sigma^2)^{-3/2}
  \exp\bigl[-(\boldsymbol\Omega_N - \langle\boldsymbol\Omega_N\rangle)^2 / 2\sigma^2\bigr],
  \qquad \sigma = \frac{1}{2T_{2,e}^*},$$

which is the paper's ``(√(2/π) T2e*)³ exp[-2 T2e*² (Ω_N - <Ω_N>)²]``: each Cartesian
component has variance ``σ² = 1/(4 T2e*²) = a² N_I / (4ħ²)``, the infinite-temperature
value ``(a/ħ)² N I(I+1)/3`` with ``N_I = 4NI(I+1)/3`` and ``T2e* = ħ/(a√N_I)`` (Eq. (S14));
so (S23) is consistent with (S14), see ``tests/test_overhauser.py``. Here both
``Ω_B`` and the mean ``<Ω_N>`` point along ``z`` (the field axis); all quantities are
angular frequencies in one unit of the caller's choice (e.g. ``1/T2e*``).

:class:`OverhauserField` holds ``(omega_b, mean, sigma)``. Three ways to average a function
of ``Ω_e`` over it:

* :func:`overhauser_mc`: Monte Carlo for any ``f(Ω_e)`` of the 3-vector; vmapped over
  samples and accumulated chunk by chunk (bounded memory for ``1e8`` samples), returning the
  estimate and its standard error.
* :func:`overhauser_quad`: deterministic quadrature for any axially symmetric
  ``f(Ω_z, Ω_⊥)``. In spherical coordinates ``(r = |Ω_e|, μ = Ω_z/r, φ)`` about the origin
  of ``Ω_e`` the azimuth integral is exact and the Gaussian factorises as a radial density
  times ``exp(k μ)``, ``k = r c/σ²`` (``c = Ω_B + <Ω_N>``); ``μ`` is mapped so that this
  weight becomes uniform, leaving a 2-D integral of a bounded integrand.
* :func:`overhauser_radial`: for ``f(Ω_e) = g₀(r) + g₁(r) μ + g₂(r) (1 - μ²)`` also the
  ``μ`` integral is exact (the conditional moments at fixed ``r`` are
  ``<μ>_r = L(k) = coth k - 1/k`` and ``<1 - μ²>_r = 2L(k)/k``; the latter is passed
  directly, as ``1 - <μ²>`` would lose all digits when ``|c| ≫ σ``), leaving one radial
  integral.
  This covers every average of [Smirnov24]: ``Ω_⊥²/(1+Ω_e²τ²)`` (S12), ``1/(1+Ω_e²τ²)``
  (Eq. (9)), ``Ω_⊥²/Ω_e²`` (S15).

Radial density (exact, in a form stable for ``c → 0`` and for ``|c| ≫ σ``)::

    p(r) = 2 r² / (σ³ √(2π)) · exp(-(r - |c|)² / 2σ²) · E(2 r |c| / σ²),
    E(x) = (1 - exp(-x)) / x,

the Maxwell distribution at ``c = 0``. The radial integral runs over
``[max(|c| - 9σ, 0), |c| + 9σ]`` (the rest carries a weight below ``3e-18``), split at its
midpoint and at user ``breakpoints`` (radii where the integrand changes on a scale much smaller than
``σ``, e.g. ``1/τ`` for a Lorentzian ``1/(1 + Ω_e²τ²)``), each piece by a tanh-sinh rule
(:class:`TanhSinh`). Tanh-sinh nodes cluster double-exponentially at the ends of each
piece, which resolves features at the breakpoints and integrable endpoint singularities.
The error estimate is the difference to the rule with every other node (step ``2h``);
because tanh-sinh converges like ``exp(-c/h)`` this bounds the error of the returned value
(in practice by many orders of magnitude). Breakpoints and interval ends only place nodes:
they are ``stop_gradient``-ed, so derivatives are those of the integral, not of the rule.
"""

import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, PyTree

from ._batching import DEFAULT_BLOCK_SIZE, map_batched
from ._checks import filter_jit
from ._inputs import as_real, check_finite, check_positive, check_value
from ._memory import check_fits


_TRUNCATION_SIGMAS = 9.0  # radial window |c| ± 9σ: neglected weight < exp(-40.5) ~ 3e-18
_SERIES_K = 0.05  # |k| below which the angular moments use their Taylor series


# ------------------------------------------------------------------------------------------
# The distribution.


class OverhauserField(eqx.Module):
    r"""The Gaussian distribution of ``Ω_e = Ω_B ẑ + Ω_N`` [Smirnov24, Eq. (S23)].

    **Fields** (angular frequencies, any one unit, e.g. ``1/T2e*``; scalars, traced, so
    ``jax.grad``/``jax.vmap`` act on them; leading batch dimensions broadcast in the
    averaging functions):

    - ``omega_b``: precession frequency in the external field, ``Ω_B = γ_e B``, along z.
    - ``mean``: the mean Overhauser field ``<Ω_N> = a<J_z>/ħ`` along z (Eq. (S24) relates
      it to the nuclear spin temperature); 0 for unpolarised nuclei.
    - ``sigma``: standard deviation of each Cartesian component of ``Ω_N``,
      ``σ = 1/(2 T2e*)`` (use :meth:`from_t2star`).

    **Checks** (once, here): real values (``ValueError``), shapes that broadcast
    (``ValueError``), finite ``omega_b``/``mean`` and finite ``sigma > 0``: eagerly
    (``ValueError``) for concrete values, as ``equinox.error_if`` under ``jit``/``vmap``.
    ``validate=False`` skips the value checks (for inner code re-assembling checked
    leaves).

    Example:
        >>> field = OverhauserField.from_t2star(1.0, omega_b=2.0)   # units of 1/T2e*
        >>> float(field.sigma)
        0.5
    """

    omega_b: Float[Array, "..."]
    mean: Float[Array, "..."]
    sigma: Float[Array, "..."]

    def __init__(
        self,
        omega_b: ArrayLike = 0.0,
        mean: ArrayLike = 0.0,
        sigma: ArrayLike = 1.0,
        *,
        validate: bool = True,
    ):
        omega_b = as_real(omega_b, "omega_b")
        mean = as_real(mean, "mean")
        sigma = as_real(sigma, "sigma")
        try:
            jnp.broadcast_shapes(omega_b.shape, mean.shape, sigma.shape)
        except ValueError:
            raise ValueError(
                f"OverhauserField: shapes of `omega_b` {omega_b.shape}, `mean` {mean.shape} "
                f"and `sigma` {sigma.shape} do not broadcast."
            ) from None
        if validate:
            omega_b = check_finite(omega_b, "omega_b")
            mean = check_finite(mean, "mean")
            sigma = check_positive(sigma, "sigma")
        self.omega_b = omega_b
        self.mean = mean
        self.sigma = sigma

    @classmethod
    def from_t2star(
        cls, t2star: ArrayLike, omega_b: ArrayLike = 0.0, mean: ArrayLike = 0.0
    ) -> "OverhauserField":
        """The distribution for dephasing time ``T2e* = ħ/(a√N_I)`` (Eq. (S14)):
        ``σ = 1/(2 T2e*)``. Frequencies come out in the inverse unit of ``t2star``, which
        must be finite and ``> 0`` (checked eagerly or under ``jit``, as the fields)."""
        t2star = check_positive(as_real(t2star, "t2star"), "t2star")
        return cls(omega_b, mean, 0.5 / t2star)

    @property
    def center(self) -> Float[Array, "..."]:
        """``c = Ω_B + <Ω_N>``: the mean of ``Ω_e`` along z."""
        return self.omega_b + self.mean

    def density(self, omega_n: Float[ArrayLike, "... 3"]) -> Float[Array, "..."]:
        """Probability density of the Overhauser field ``Ω_N`` (3-vector, last axis),
        Eq. (S23)."""
        omega_n = jnp.asarray(omega_n)
        if omega_n.ndim < 1 or omega_n.shape[-1] != 3:
            raise ValueError(f"`omega_n` must have shape (..., 3); got {omega_n.shape}.")
        d = omega_n - jnp.stack(
            [jnp.zeros_like(self.mean), jnp.zeros_like(self.mean), self.mean], -1
        )
        s2 = self.sigma**2
        return jnp.exp(-jnp.sum(d**2, -1) / (2 * s2)) / (2 * math.pi * s2) ** 1.5

    def sample(self, key: PRNGKeyArray, shape: Sequence[int] = ()) -> Float[Array, "... 3"]:
        """Samples of ``Ω_e = Ω_B ẑ + Ω_N`` (not of ``Ω_N``), shape ``shape + (3,)``
        (``key`` a single JAX PRNG key, ``shape`` ints ``>= 0``; unbatched field)."""
        _check_key(key)
        shape = _check_shape(shape, "shape")
        if self.sigma.ndim or self.center.ndim:
            raise ValueError(
                "`sample` needs a scalar field; got batch shape "
                f"{jnp.broadcast_shapes(self.sigma.shape, jnp.shape(self.center))} "
                "(use jax.vmap)."
            )
        z = jax.random.normal(key, tuple(shape) + (3,), dtype=self.sigma.dtype)
        zero = jnp.zeros((), self.sigma.dtype)
        return self.sigma * z + jnp.stack([zero, zero, self.center])


def _check_key(key, name: str = "key") -> None:
    """A single JAX PRNG key: a typed key (``jax.random.key``) of shape ``()`` or a raw
    ``uint32[2]`` (``jax.random.PRNGKey``)."""
    dtype = getattr(key, "dtype", None)
    shape = getattr(key, "shape", None)
    typed = dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
    raw = dtype is not None and dtype == jnp.uint32 and shape == (2,)
    if typed and shape == ():
        return
    if raw:
        return
    if typed:
        raise ValueError(f"`{name}` must be a single PRNG key; got a key array of shape {shape}.")
    raise TypeError(
        f"`{name}` must be a JAX PRNG key, e.g. jax.random.key(0); got "
        f"{type(key).__name__}" + (f" of dtype {dtype} and shape {shape}." if dtype else ".")
    )


def _check_shape(shape, name: str) -> tuple[int, ...]:
    if isinstance(shape, int | np.integer) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"`{name}` must be a tuple of ints; got {shape!r}.") from None
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 0:
            raise ValueError(f"`{name}` must be a tuple of ints >= 0; got {shape!r}.")
    return tuple(int(d) for d in shape)


# ------------------------------------------------------------------------------------------
# Results.


class MonteCarloEstimate(eqx.Module):
    """Result of :func:`overhauser_mc`: ``value`` (the sample mean, a PyTree like the
    output of ``f``), ``stderr`` (its standard error ``s/√n``, same structure) and
    ``num_samples`` (``n``)."""

    value: PyTree[Array]
    stderr: PyTree[Array]
    num_samples: int = eqx.field(static=True)


class QuadratureEstimate(eqx.Module):
    """Result of :func:`overhauser_quad` / :func:`overhauser_radial`: ``value`` (PyTree like
    the output of ``f``) and ``error``, the difference to the same rule at twice the step,
    an upper bound on the error of ``value`` for integrands analytic inside each piece."""

    value: PyTree[Array]
    error: PyTree[Array]


# ------------------------------------------------------------------------------------------
# The tanh-sinh rule.


class TanhSinh(eqx.Module):
    r"""Tanh-sinh (double-exponential) quadrature on each integration piece.

    Nodes ``x = a + (b - a) s(t)``, ``s(t) = 1/(1 + exp(-π sinh t))``, at
    ``t = j h``, ``h = 2^-level``, ``|t| ≤ t_max``; weights
    ``(b - a) h π cosh(t) s (1 - s)``. Distances to both ends are computed without
    cancellation, so endpoint singularities and features ``10^-30`` of the width away from
    an end are integrated. ``level=5`` (225 nodes per piece) reaches ~1e-13 on the
    averages of [Smirnov24]; each level up doubles the nodes and roughly squares the error.
    """

    level: int = eqx.field(static=True, default=5)
    t_max: float = eqx.field(static=True, default=3.5)

    def __check_init__(self):
        level, t_max = self.level, self.t_max
        if isinstance(level, bool) or not (isinstance(level, int) and 1 <= level <= 12):
            raise ValueError(f"TanhSinh: `level` must be an int in 1..12; got {level!r}.")
        number = isinstance(t_max, int | float) and not isinstance(t_max, bool)
        if not (number and 1.0 <= t_max <= 5.0):
            raise ValueError(f"TanhSinh: `t_max` must be a number in [1, 5]; got {t_max!r}.")

    @property
    def num_nodes(self) -> int:
        return 2 * int(self.t_max * 2**self.level) + 1

    def unit_rule(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(s, 1 - s, w, w_coarse)`` on ``[0, 1]`` as NumPy float64 arrays (static);
        ``w_coarse`` is the rule with step ``2h`` on the same nodes (zero off it)."""
        h = 2.0**-self.level
        m = int(self.t_max / h)
        j = np.arange(-m, m + 1)
        t = j * h
        u = 0.5 * math.pi * np.sinh(t)
        s = 0.5 * (1.0 + np.tanh(u))  # = 1/(1 + exp(-2u)), fine away from s -> 1
        s = np.where(u < 0, np.exp(2 * u) / (1 + np.exp(2 * u)), s)
        sc = np.where(u > 0, np.exp(-2 * u) / (1 + np.exp(-2 * u)), 1.0 - s)
        w = h * math.pi * np.cosh(t) * s * sc
        w_coarse = np.where(j % 2 == 0, 2.0 * w, 0.0)
        return s, sc, w, w_coarse


def _piece_nodes(a, b, rule: TanhSinh):
    """Nodes and (fine, coarse) weights of ``rule`` on ``[a, b]`` (``a <= b``, traced)."""
    s, sc, w, wc = (jnp.asarray(v) for v in rule.unit_rule())
    width = b - a
    x = jnp.where(s < 0.5, a + width * s, b - width * sc)
    return x, width * w, width * wc


# ------------------------------------------------------------------------------------------
# Radial density and conditional angular moments.


def _expm1_ratio(x):
    """``(1 - exp(-x))/x`` for ``x >= 0``, ``1`` at ``x = 0``, safe for gradients."""
    small = x < 1e-8
    xs = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 - 0.5 * x, -jnp.expm1(-xs) / xs)


def radial_density(r: Float[Array, "..."], field: OverhauserField) -> Float[Array, "..."]:
    """Probability density of ``r = |Ω_e|`` (normalised on ``r ≥ 0``, zero for ``r < 0``);
    see module docs. ``field`` must be an :class:`OverhauserField` (``TypeError``)."""
    _field_leaves(field)
    r = jnp.asarray(r)
    c = jnp.abs(field.center)
    s = field.sigma
    pref = 2.0 / (s**3 * math.sqrt(2.0 * math.pi))
    rr = jnp.maximum(r, 0.0)
    p = pref * rr**2 * jnp.exp(-((rr - c) ** 2) / (2 * s**2)) * _expm1_ratio(2 * rr * c / s**2)
    return jnp.where(r < 0, 0.0, p)


def _langevin_over_k(k):
    """``L(k)/k = (coth k - 1/k)/k`` for any real ``k`` (even, ``1/3`` at 0)."""
    small = jnp.abs(k) < _SERIES_K
    ks = jnp.where(small, 1.0, k)
    k2 = k * k
    series = 1.0 / 3.0 + k2 * (-1.0 / 45.0 + k2 * (2.0 / 945.0 + k2 * (-1.0 / 4725.0)))
    return jnp.where(small, series, (1.0 / jnp.tanh(ks) - 1.0 / ks) / ks)


def angular_moments(r, field: OverhauserField):
    """Conditional moments ``(<μ>, <1 - μ²>)`` of ``μ = Ω_z/|Ω_e|`` at fixed
    ``|Ω_e| = r``: the density of ``μ`` is ``∝ exp(k μ)`` on ``[-1, 1]`` with
    ``k = r c/σ²``, so ``<μ> = L(k)`` (Langevin function) and ``<1 - μ²> = 2 L(k)/k``
    (to full relative precision also when it is tiny, ``k ≫ 1``). ``field`` must be an
    :class:`OverhauserField` (``TypeError``)."""
    _field_leaves(field)
    k = r * field.center / field.sigma**2
    lk = _langevin_over_k(k)
    return k * lk, 2.0 * lk


def _radial_nodes(field: OverhauserField, breakpoints, rule: TanhSinh):
    """Radial nodes ``r`` and weights ``(w, w_coarse)`` including the density ``p(r)``."""
    c = jax.lax.stop_gradient(jnp.abs(field.center))
    s = jax.lax.stop_gradient(field.sigma)
    lo = jnp.maximum(c - _TRUNCATION_SIGMAS * s, 0.0)
    hi = c + _TRUNCATION_SIGMAS * s
    # the window is always split at its midpoint (pieces of at most 9σ keep the rule's
    # node spacing well below σ), and at the user's breakpoints.
    points = [0.5 * (lo + hi)] + [jnp.asarray(b, dtype=lo.dtype) for b in breakpoints]
    bp = jnp.sort(jnp.clip(jax.lax.stop_gradient(jnp.stack(points)), lo, hi))
    ends = jnp.concatenate([lo[None], bp, hi[None]])
    r, w, wc = jax.vmap(lambda a, b: _piece_nodes(a, b, rule))(ends[:-1], ends[1:])
    r, w, wc = r.reshape(-1), w.reshape(-1), wc.reshape(-1)
    # nodes of empty pieces (a breakpoint on an end, lo = 0) carry zero weight; move them
    # off r = 0 so that integrands singular there cannot turn 0 * inf into NaN.
    r = jnp.where(w > 0, r, hi)
    p = radial_density(r, field)
    return r, w * p, wc * p


def _weighted_sums(values, w, wc):
    """``(Σ w f, |Σ w f - Σ w_c f|)`` for every leaf of a PyTree of ``(M, ...)`` arrays."""

    value = jax.tree.map(lambda v: jnp.tensordot(w, v, axes=1), values)
    coarse = jax.tree.map(lambda v: jnp.tensordot(wc, v, axes=1), values)
    return value, jax.tree.map(lambda a, b: jnp.abs(a - b), value, coarse)


# ------------------------------------------------------------------------------------------
# Deterministic averages.


def _check_callable(f, name):
    if not callable(f):
        raise TypeError(f"`{name}` must be callable; got {type(f).__name__}.")


def _check_breakpoints(breakpoints) -> tuple:
    """A tuple of real scalars, none NaN (checked eagerly, or ``error_if`` when traced);
    ``±inf`` is allowed (e.g. ``1/τ`` at ``τ = 0``): out-of-window values are clipped."""
    if breakpoints is None:
        return ()
    if isinstance(breakpoints, (int, float)) or (
        hasattr(breakpoints, "ndim") and breakpoints.ndim == 0
    ):
        breakpoints = (breakpoints,)
    try:
        items = tuple(breakpoints)
    except TypeError:
        raise TypeError(
            f"`breakpoints` must be a number or a sequence of numbers; got {breakpoints!r}."
        ) from None
    out = []
    for i, b in enumerate(items):
        b = as_real(b, f"breakpoints[{i}]")
        if b.ndim != 0:
            raise ValueError(f"`breakpoints[{i}]` must be a scalar radius; got shape {b.shape}.")
        msg = f"`breakpoints[{i}]` is NaN (a radius, or +-inf for none)."
        out.append(check_value(b, jnp.isnan, msg))
    return tuple(out)


def _check_rule(rule, name: str) -> None:
    if not isinstance(rule, TanhSinh):
        raise TypeError(f"`{name}` must be a jaxspin.TanhSinh rule; got {type(rule).__name__}.")


def _output_size(fn, *args) -> int:
    """Number of output scalars of ``fn`` on the given abstract arguments."""
    out = jax.eval_shape(fn, *args)
    return sum(math.prod(o.shape) for o in jax.tree.leaves(out))


def _quadrature_fits(what: str, field, nodes_per_point: int, bytes_per_node: int, outputs: int):
    """Refuse a quadrature whose nodes (one block of field points) would not fit.
    ``bytes_per_node``: measured with XLA's memory analysis (radial ~48 B per node and
    output-free integrand, the 2-D rule ~8 B), estimated here with a 1.5-2x margin."""
    leaves = _field_leaves(field)
    size = math.prod(jnp.broadcast_shapes(*(jnp.shape(x) for x in leaves)))
    block = min(size, DEFAULT_BLOCK_SIZE)
    need = block * nodes_per_point * bytes_per_node + 16 * size * outputs
    check_fits(need, f"{what} ({nodes_per_point} nodes per field point, {block} at once)")


def _field_leaves(field: OverhauserField):
    if not isinstance(field, OverhauserField):
        raise TypeError(f"`field` must be an OverhauserField; got {type(field).__name__}.")
    return [field.omega_b, field.mean, field.sigma]


def _radial_kernel(g, breakpoints, rule, omega_b, mean, sigma):
    field = OverhauserField(omega_b, mean, sigma, validate=False)  # checked at construction
    r, w, wc = _radial_nodes(field, breakpoints, rule)
    m1, s2 = angular_moments(r, field)
    values = jax.vmap(g)(r, m1, s2)
    return _weighted_sums(values, w, wc)


@filter_jit
def _radial_jit(g, field, breakpoints, rule):
    kernel = lambda *a: _radial_kernel(g, breakpoints, rule, *a)
    names = ["field.omega_b", "field.mean", "field.sigma"]
    value, error = map_batched(kernel, _field_leaves(field), [0, 0, 0], names)
    return QuadratureEstimate(value, error)


def overhauser_radial(
    g: Callable[[Array, Array, Array], PyTree[Array]],
    field: OverhauserField,
    *,
    breakpoints: Sequence[ArrayLike] | ArrayLike = (),
    rule: TanhSinh = TanhSinh(),
) -> QuadratureEstimate:
    r"""``<f(Ω_e)>`` for ``f = g₀(r) + g₁(r) μ + g₂(r) (1 - μ²)`` (``r = |Ω_e|``,
    ``μ = Ω_z/r``) as one radial integral; the angular integrals are exact.

    **Arguments:**

    - ``g``: ``g(r, mu, sin2) -> PyTree`` for scalar ``r``, where ``mu = <μ>_r`` and
      ``sin2 = <1 - μ²>_r`` are the conditional moments at that radius; write
      ``g₀(r) + g₁(r) * mu + g₂(r) * sin2`` (``μ² = 1 - sin2``). Examples:
      ``Ω_⊥²/Ω_e² = 1 - μ²`` is ``lambda r, mu, sin2: sin2``; ``Ω_⊥² τ/(1 + Ω_e² τ²)``
      [Smirnov24, Eq. (S12)] is
      ``lambda r, mu, sin2: r**2 * sin2 * tau / (1 + r**2 * tau**2)``. Several averages
      at once: return a tuple. ``g`` must be finite on ``r ∈ (0, ∞)`` and bounded by a
      polynomial (``r²`` from the volume element tames ``r⁻²``-singularities at 0).
    - ``field``: an :class:`OverhauserField`; batch dimensions of its leaves broadcast
      (the result gets them as leading dimensions).
    - ``breakpoints``: radii (same unit) where ``g`` varies on a scale much below ``σ``,
      e.g. ``1/τ`` for ``1/(1 + r²τ²)``; out-of-window values are harmless.
    - ``rule``: the :class:`TanhSinh` rule for each radial piece.

    **Checks:** ``g`` callable and ``rule`` a :class:`TanhSinh` (``TypeError``);
    ``breakpoints`` real scalars, not NaN (``ValueError``, or ``equinox.error_if`` when
    traced; ``±inf`` is out of the window, hence harmless); ``field`` an
    :class:`OverhauserField` with a non-empty batch; nodes that would not fit in memory
    are refused first (:class:`jaxspin.MemoryBudgetError`).

    **Returns:** :class:`QuadratureEstimate` ``(value, error)``.

    Example:
        >>> field = OverhauserField(omega_b=0.0, sigma=0.5)
        >>> est = overhauser_radial(lambda r, mu, sin2: r**2 * sin2, field)
        >>> round(float(est.value), 12)   # <Ω_x² + Ω_y²> = 2σ²
        0.5
    """
    _check_callable(g, "g")
    _check_rule(rule, "rule")
    breakpoints = _check_breakpoints(breakpoints)
    scalar = jax.ShapeDtypeStruct((), jnp.result_type(float))
    nodes = (len(breakpoints) + 2) * rule.num_nodes
    outputs = _output_size(g, scalar, scalar, scalar)
    _quadrature_fits("overhauser_radial", field, nodes, 8 * (outputs + 8), outputs)
    return _radial_jit(g, field, breakpoints, rule)


def _mu_nodes(k, rule: TanhSinh):
    """Nodes ``(1 - μ, 1 + μ)`` and weights mapping ``∫ e^{kμ} f dμ / ∫ e^{kμ} dμ`` to a
    uniform-weight integral over ``u ∈ [0, 1]`` (inverse CDF), for any real ``k``."""
    u, uc, w, wc = rule.unit_rule()  # u in (0,1), uc = 1 - u (accurate)
    u, uc = jnp.asarray(u), jnp.asarray(uc)
    ka = jnp.abs(k)
    tiny = ka < 1e-12
    ks = jnp.where(tiny, 1.0, ka)
    # for k > 0: 1 - μ = -log(1 + (1-u) expm1(-2k))/k, 1 + μ = log1p(u expm1(2k))/k; the
    # argument of the first log is u + (1-u) exp(-2k), formed directly where it is small.
    arg = uc * jnp.expm1(-2.0 * ks)
    near_one = arg > -0.5
    log_small = jnp.log(jnp.where(near_one, 1.0, u + uc * jnp.exp(-2.0 * ks)))
    log_arg = jnp.where(near_one, jnp.log1p(jnp.where(near_one, arg, 0.0)), log_small)
    om = jnp.where(tiny, 2.0 * uc, -log_arg / ks)
    small_k = ka < 30.0
    ksm = jnp.where(small_k & ~tiny, ks, 1.0)
    op_direct = jnp.log1p(u * jnp.expm1(2.0 * ksm)) / ksm
    op = jnp.where(tiny, 2.0 * u, jnp.where(small_k, op_direct, 2.0 - om))
    # for k < 0 the density is mirrored: swap the roles of 1 - μ and 1 + μ.
    neg = k < 0
    one_minus = jnp.where(neg, op, om)
    one_plus = jnp.where(neg, om, op)
    return one_minus, one_plus, jnp.asarray(w), jnp.asarray(wc)


def _quad_kernel(f, breakpoints, rule, angular_rule, omega_b, mean, sigma):
    field = OverhauserField(omega_b, mean, sigma, validate=False)  # checked at construction
    r, w, wc = _radial_nodes(field, breakpoints, rule)

    def at_radius(r):
        k = r * field.center / field.sigma**2
        om, op, wu, wuc = _mu_nodes(k, angular_rule)
        omega_z = jnp.where(om < 1.0, r * (1.0 - om), r * (op - 1.0))
        omega_perp = r * jnp.sqrt(om * op)
        vals = jax.vmap(f)(omega_z, omega_perp)
        return _weighted_sums(vals, wu, wuc)

    inner, inner_err = jax.vmap(at_radius)(r)
    value, err_r = _weighted_sums(inner, w, wc)
    err_mu = jax.tree.map(lambda e: jnp.tensordot(w, e, axes=1), inner_err)
    return value, jax.tree.map(jnp.add, err_r, err_mu)


@filter_jit
def _quad_jit(f, field, breakpoints, rule, angular_rule):
    kernel = lambda *a: _quad_kernel(f, breakpoints, rule, angular_rule, *a)
    names = ["field.omega_b", "field.mean", "field.sigma"]
    value, error = map_batched(kernel, _field_leaves(field), [0, 0, 0], names)
    return QuadratureEstimate(value, error)


def overhauser_quad(
    f: Callable[[Array, Array], PyTree[Array]],
    field: OverhauserField,
    *,
    breakpoints: Sequence[ArrayLike] | ArrayLike = (),
    rule: TanhSinh = TanhSinh(),
    angular_rule: TanhSinh = TanhSinh(level=4),
) -> QuadratureEstimate:
    r"""``<f(Ω_z, Ω_⊥)>`` over :class:`OverhauserField` for any axially symmetric ``f``.

    The azimuth is integrated exactly; the remaining 2-D integral over ``r = |Ω_e|``
    (radial density and ``breakpoints`` as in :func:`overhauser_radial`) and
    ``μ = Ω_z / r`` (weight ``∝ exp(k μ)``, ``k = r c/σ²``, mapped to a uniform weight by
    its inverse distribution function, then ``angular_rule``) uses tanh-sinh rules in both
    directions. The error is the sum of the radial and angular step-doubling differences.

    **Arguments:**

    - ``f``: ``f(omega_z, omega_perp) -> PyTree`` for scalars ``Ω_{e,z}`` and
      ``Ω_{e,⊥} = (Ω_{e,x}² + Ω_{e,y}²)^{1/2} ≥ 0``.
    - ``field``, ``breakpoints``, ``rule``: as in :func:`overhauser_radial`.
    - ``angular_rule``: :class:`TanhSinh` rule for the ``μ`` integral.

    **Checks** as in :func:`overhauser_radial` (also ``f`` callable, ``angular_rule`` a
    :class:`TanhSinh`); the memory estimate counts radial × angular nodes.

    Example:
        >>> field = OverhauserField(omega_b=1.0, sigma=0.5)
        >>> round(float(overhauser_quad(lambda z, p: z**2, field).value), 10)  # c² + σ²
        1.25
    """
    _check_callable(f, "f")
    _check_rule(rule, "rule")
    _check_rule(angular_rule, "angular_rule")
    breakpoints = _check_breakpoints(breakpoints)
    scalar = jax.ShapeDtypeStruct((), jnp.result_type(float))
    nodes = (len(breakpoints) + 2) * rule.num_nodes * angular_rule.num_nodes
    outputs = _output_size(f, scalar, scalar)
    _quadrature_fits("overhauser_quad", field, nodes, 8 * (outputs + 1), outputs)
    return _quad_jit(f, field, breakpoints, rule, angular_rule)


# ------------------------------------------------------------------------------------------
# Monte Carlo.


def _mc_kernel(f, key, num_samples, chunk_size, omega_b, mean, sigma):
    field = OverhauserField(omega_b, mean, sigma, validate=False)  # checked at construction
    num_chunks = -(-num_samples // chunk_size)
    out_shape = jax.eval_shape(f, jnp.zeros(3, sigma.dtype))
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, sigma.dtype), out_shape)

    def chunk(i, carry):
        n_a, mean_a, m2_a = carry
        omega = field.sample(jax.random.fold_in(key, i), (chunk_size,))
        ys = jax.vmap(f)(omega)
        idx = i * chunk_size + jnp.arange(chunk_size)
        valid = idx < num_samples
        n_b = jnp.sum(valid).astype(sigma.dtype)

        def masked(y):
            return valid.reshape(valid.shape + (1,) * (y.ndim - 1))

        mean_b = jax.tree.map(lambda y: jnp.sum(jnp.where(masked(y), y, 0.0), axis=0) / n_b, ys)
        m2_b = jax.tree.map(
            lambda y, mb: jnp.sum(jnp.where(masked(y), (y - mb) ** 2, 0.0), axis=0),
            ys,
            mean_b,
        )
        n = n_a + n_b
        # Chan et al.'s pairwise update of mean and sum of squared deviations.
        delta = jax.tree.map(jnp.subtract, mean_b, mean_a)
        new_mean = jax.tree.map(lambda ma, d: ma + d * (n_b / n), mean_a, delta)
        new_m2 = jax.tree.map(lambda a, b, d: a + b + d**2 * (n_a * n_b / n), m2_a, m2_b, delta)
        return n, new_mean, new_m2

    init = (jnp.zeros((), sigma.dtype), zeros, zeros)
    n, mean_, m2 = jax.lax.fori_loop(0, num_chunks, chunk, init)
    stderr = jax.tree.map(lambda m: jnp.sqrt(m / ((n - 1.0) * n)), m2)
    return mean_, stderr


@filter_jit
def _mc_jit(f, field, key, num_samples, chunk_size):
    kernel = lambda *a: _mc_kernel(f, key, num_samples, chunk_size, *a)
    names = ["field.omega_b", "field.mean", "field.sigma"]
    value, stderr = map_batched(kernel, _field_leaves(field), [0, 0, 0], names, block_size=None)
    return MonteCarloEstimate(value, stderr, num_samples)


def overhauser_mc(
    f: Callable[[Float[Array, "3"]], PyTree[Array]],
    field: OverhauserField,
    key: PRNGKeyArray,
    num_samples: int,
    *,
    chunk_size: int = 2**18,
) -> MonteCarloEstimate:
    r"""Monte Carlo estimate of ``<f(Ω_e)>`` with its standard error.

    Draws ``num_samples`` vectors ``Ω_e = Ω_B ẑ + Ω_N`` from ``field`` in chunks of
    ``chunk_size`` (one ``jax.vmap`` of ``f`` per chunk inside a ``lax.fori_loop``, so
    memory is bounded by one chunk whatever ``num_samples``), and merges the chunk means
    and sums of squared deviations exactly (Chan-Golub-LeVeque), so ``1e8`` samples keep
    full float64 accuracy. Chunk ``i`` uses ``jax.random.fold_in(key, i)``: the result
    depends on ``chunk_size``, and batch dimensions of ``field`` share the random numbers
    (common random numbers: smooth curves, correlated errors).

    **Arguments:**

    - ``f``: ``f(omega_e) -> PyTree`` of arrays, for one 3-vector ``Ω_e``.
    - ``field``: an :class:`OverhauserField` (batch dimensions broadcast).
    - ``key``: a single JAX PRNG key (e.g. ``jax.random.key(0)``; ``TypeError`` for a
      seed integer, ``ValueError`` for a batch of keys).
    - ``num_samples``: number of samples ``n ≥ 2`` (static).
    - ``chunk_size``: samples per chunk (static); on a GPU ``2**20`` or more.

    **Returns:** :class:`MonteCarloEstimate` ``(value, stderr, num_samples)``,
    ``stderr = s/√n`` with ``s²`` the unbiased sample variance.

    Example:
        >>> field = OverhauserField(sigma=0.5)
        >>> est = overhauser_mc(lambda w: w[0]**2 + w[1]**2, field, jax.random.key(0), 10**5)
        >>> abs(float(est.value) - 0.5) < 5 * float(est.stderr)
        True
    """
    _check_callable(f, "f")
    _check_key(key)
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise ValueError(f"`num_samples` must be an int >= 2; got {num_samples!r}.")
    if num_samples < 2:
        raise ValueError(f"`num_samples` must be an int >= 2; got {num_samples!r}.")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise ValueError(f"`chunk_size` must be a positive int; got {chunk_size!r}.")
    if chunk_size < 1:
        raise ValueError(f"`chunk_size` must be a positive int; got {chunk_size!r}.")
    num_samples, chunk_size = int(num_samples), int(min(chunk_size, num_samples))
    leaves = _field_leaves(field)
    batch = math.prod(jnp.broadcast_shapes(*(jnp.shape(x) for x in leaves)))
    out = jax.eval_shape(f, jax.ShapeDtypeStruct((3,), jnp.result_type(float)))
    per_sample = 8 * (3 + sum(math.prod(o.shape) for o in jax.tree.leaves(out)))
    check_fits(4 * per_sample * chunk_size * batch, "overhauser_mc (one chunk of samples)")
    return _mc_jit(f, field, key, num_samples, chunk_size)


__all__ = [
    "OverhauserField",
    "MonteCarloEstimate",
    "QuadratureEstimate",
    "TanhSinh",
    "overhauser_mc",
    "overhauser_quad",
    "overhauser_radial",
    "radial_density",
    "angular_moments",
]
