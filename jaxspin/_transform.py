"""Parameter transforms for :func:`jaxspin.fit`: physical ``p`` <-> unconstrained ``u``.

The optimiser moves ``u`` freely; the model sees ``p = to_physical(u)``, which keeps a
parameter positive or inside bounds. Both directions act elementwise.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._inputs import as_real, concretely, is_concrete


class AbstractTransform(eqx.Module):
    """A bijection between a physical parameter ``p`` and an unconstrained ``u``.

    Both methods act elementwise on arrays. ``to_unconstrained`` must return a non-finite
    value (NaN or inf) where ``p`` lies outside the transform's domain: :func:`fit` uses
    this to reject initial values outside the bounds and to detect a best fit pressed
    against a bound.
    """

    @abc.abstractmethod
    def to_physical(self, u: Float[Array, "..."]) -> Float[Array, "..."]:
        """Physical value for the unconstrained coordinate ``u``."""

    @abc.abstractmethod
    def to_unconstrained(self, p: Float[Array, "..."]) -> Float[Array, "..."]:
        """Unconstrained coordinate for the physical value ``p`` (non-finite outside)."""


class Identity(AbstractTransform):
    """No constraint: ``p = u``."""

    def to_physical(self, u):
        return u

    def to_unconstrained(self, p):
        return p


class Positive(AbstractTransform):
    """``p > 0`` through ``p = exp(u)``.

    The exponential, not softplus: physical rates and couplings span decades, and in
    ``u = log p`` a step means the same relative change at every scale, which is what a
    quasi-Newton method wants; its inverse ``log`` is exact down to the smallest float
    (softplus's inverse ``log(expm1(p))`` is not), and ``log(p <= 0)`` is non-finite, so
    bad initial values are caught. Overflow of ``exp`` at a trial point of the line search
    gives an infinite loss, from which the line search backs off.
    """

    def to_physical(self, u):
        return jnp.exp(u)

    def to_unconstrained(self, p):
        return jnp.log(p)


class Bounded(AbstractTransform):
    """``lower < p < upper`` through ``p = lower + (upper - lower) * sigmoid(u)``.

    ``lower`` and ``upper`` are real arrays broadcastable against the parameter (traced,
    so a bound may itself be a traced value). The bounds are open: an initial value on a
    bound is rejected. They must be finite with ``lower < upper`` (for a one-sided bound use
    :class:`Positive`, shifted in the model): concrete bounds are checked here
    (``ValueError``), traced ones by :func:`jaxspin.fit`; where they are not,
    ``to_unconstrained`` is NaN (outside the domain) for every value.
    """

    lower: Float[Array, "..."] = eqx.field(converter=lambda v: as_real(v, "lower"))
    upper: Float[Array, "..."] = eqx.field(converter=lambda v: as_real(v, "upper"))

    def __check_init__(self):
        try:
            jnp.broadcast_shapes(jnp.shape(self.lower), jnp.shape(self.upper))
        except ValueError:
            raise ValueError(
                f"Bounded: `lower` of shape {jnp.shape(self.lower)} and `upper` of shape "
                f"{jnp.shape(self.upper)} do not broadcast together."
            ) from None
        if not (is_concrete(self.lower) and is_concrete(self.upper)):
            return  # traced bounds: checked by fit
        hi = self.upper
        bad = lambda lo: ~jnp.all(jnp.isfinite(lo) & jnp.isfinite(hi) & (lo < hi))
        if concretely(self.lower, bad):
            raise ValueError(
                "Bounded needs finite bounds with lower < upper; got "
                f"lower={self.lower}, upper={self.upper}."
            )

    def to_physical(self, u):
        return self.lower + (self.upper - self.lower) * jax.nn.sigmoid(u)

    def to_unconstrained(self, p):
        t = (p - self.lower) / (self.upper - self.lower)
        inside = (t > 0) & (t < 1) & (self.lower < self.upper)
        t = jnp.where(inside, t, 0.5)
        return jnp.where(inside, jnp.log(t) - jnp.log1p(-t), jnp.nan)
