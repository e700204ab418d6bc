"""Hyperfine-driven equation of motion of the mean nuclear spin [Danon11, Eq. (1), (2), (9)].

For a nucleus with spin ``K`` coupled as ``H_hf = a S·K`` to the electron spin ``S`` (``a``:
``A v0`` for spin density, ``A_n`` for a dot's electron spin, Eq. (5)/(11)):

    d⟨K^a⟩/dt = ε^{abc} S^b ⟨K^c⟩ - ½ Q^{ab} ⟨K^b⟩ + ⅓ P^a,                      (1)
    S^a = a ⟨S^a⟩,  Q^{ab} = a² (δ^{ab} R^{cc} - R^{ba}),  P^a = a² K(K+1) ε^{abc} χ^{bc}.  (2)

For ``K > 1/2`` Eq. (1) holds for small polarisations (``⟨K^c K^d⟩ ≈ δ^{cd} K(K+1)/3``,
the paper's assumption (ii)). With several nuclear sites ``n`` (couplings ``a_n``, site
operators ``S_n``) the electron-mediated nuclear-nuclear term of Eq. (9), after the paper's
mean-field replacement ``⟨K_m^d K_n^c⟩ → ⟨K_m^d⟩⟨K_n^c⟩``, shifts the precession vector
[Danon11, text after Eq. (10)]

    S_n^a → S_n^a + a_n Σ_{m≠n} a_m χ^{ab}_{nm} ⟨K_m^b⟩,

i.e. the first-order change of ``a_n ⟨S_n⟩`` when the Overhauser field of nucleus ``m``,
``a_m ⟨K_m⟩·S_m``, is added to the electron Hamiltonian (tested that way).
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._inputs import check_finite
from .._spin import check_half_integer
from ._response import SpinResponse


def check_nuclear_spin(nuclear_spin) -> float:
    """``K`` as a float; ``ValueError`` unless it is a positive half-integer (static)."""
    return check_half_integer(nuclear_spin, "nuclear_spin")


def _levi_civita(dtype) -> Float[Array, "3 3 3"]:
    eps = jnp.zeros((3, 3, 3), dtype)
    for a, b, c in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        eps = eps.at[a, b, c].set(1.0).at[a, c, b].set(-1.0)
    return eps


class NuclearCoefficients(eqx.Module):
    """The coefficients of Eq. (1)-(2) for one nucleus, or one per site.

    - ``S``: ``(3,)`` or ``(p, 3)`` precession vector ``a⟨S⟩`` [angular frequency].
    - ``P``: ``(3,)`` or ``(p, 3)`` pumping vector [angular frequency].
    - ``Q``: ``(3, 3)`` or ``(p, 3, 3)`` relaxation matrix [angular frequency].
    - ``J``: ``None`` (one site) or ``(p, p, 3, 3)``, ``J[n, m] = a_n a_m χ_nm`` for
      ``m ≠ n`` (zero blocks on the diagonal): the electron-mediated coupling of Eq. (9).
    """

    S: Float[Array, "*p 3"]
    P: Float[Array, "*p 3"]
    Q: Float[Array, "*p 3 3"]
    J: Float[Array, "p p 3 3"] | None = None

    def rate(self, k_mean: Float[ArrayLike, "*p 3"]) -> Float[Array, "*p 3"]:
        """``d⟨K⟩/dt`` of Eq. (1) (and the coupling of Eq. (9)) at mean spin(s) ``k_mean``."""
        k = jnp.asarray(k_mean, self.S.dtype)
        if k.shape != self.S.shape:
            raise ValueError(f"`k_mean` must have shape {self.S.shape}; got {k.shape}.")
        return self.rate_unchecked(check_finite(k, "k_mean"))

    def rate_unchecked(self, k: Float[Array, "*p 3"]) -> Float[Array, "*p 3"]:
        """:meth:`rate` for an already checked ``k`` of the right shape and dtype."""
        S = self.S
        if self.J is not None:
            S = S + jnp.einsum("nmab,mb->na", self.J, k)
        eps = _levi_civita(S.dtype)
        precession = jnp.einsum("abc,...b,...c->...a", eps, S, k)
        return precession - 0.5 * jnp.einsum("...ab,...b->...a", self.Q, k) + self.P / 3.0


def nuclear_coefficients(
    response: SpinResponse,
    coupling: Float[ArrayLike, "*p"],
    nuclear_spin: float = 0.5,
) -> NuclearCoefficients:
    """``S``, ``P``, ``Q`` of [Danon11, Eq. (2)] from an electron :class:`SpinResponse`.

    ``coupling``: the hyperfine coupling ``a`` of the nucleus (``A v0`` in Eq. (2), ``A_n``
    in Eq. (11)), angular frequency; one value per site when ``response`` has ``p`` sites.
    ``nuclear_spin``: ``K`` (static half-integer). Single parameter point (``vmap`` to batch).
    Refuses a non-finite ``coupling`` (``ValueError``, or ``eqx.error_if`` when traced) and
    a ``K`` that is not a positive half-integer; a NaN ``response`` (from ``throw=False``)
    propagates as NaN.
    """
    K = check_nuclear_spin(nuclear_spin)
    if not isinstance(response, SpinResponse):
        raise TypeError(f"`response` must be a SpinResponse; got {type(response).__name__}.")
    a = check_finite(jnp.asarray(coupling, response.S.dtype), "coupling")
    return coefficients_unchecked(response, a, K)


def coefficients_unchecked(response: SpinResponse, a: Array, K: float) -> NuclearCoefficients:
    """:func:`nuclear_coefficients` for a checked coupling ``a`` and spin ``K``."""
    S_el, chi, R = response.S, response.chi, response.R
    multi = chi.ndim == 4
    if S_el.ndim != (2 if multi else 1):
        raise ValueError(
            "`nuclear_coefficients` takes the response of one parameter point; got S of shape "
            f"{S_el.shape} (vmap over batches)."
        )
    if multi:
        p = S_el.shape[0]
        if a.shape != (p,):
            raise ValueError(f"`coupling` must have shape ({p},) for {p} sites; got {a.shape}.")
        idx = jnp.arange(p)
        chi_nn, R_nn = chi[idx, idx], R[idx, idx]
        off = (1.0 - jnp.eye(p, dtype=a.dtype))[:, :, None, None]
        J = (a[:, None] * a[None, :])[:, :, None, None] * chi * off
        a_site = a[:, None]
    else:
        if a.shape != ():
            raise ValueError(f"`coupling` must be a scalar for one site; got shape {a.shape}.")
        chi_nn, R_nn, J, a_site = chi, R, None, a
    eps = _levi_civita(S_el.dtype)
    trace_R = jnp.trace(R_nn, axis1=-2, axis2=-1)
    eye = jnp.eye(3, dtype=S_el.dtype)
    a2 = a_site**2
    Q = a2[..., None] * (trace_R[..., None, None] * eye - jnp.swapaxes(R_nn, -1, -2))
    P = a2 * K * (K + 1) * jnp.einsum("abc,...bc->...a", eps, chi_nn)
    return NuclearCoefficients(a_site * S_el, P, Q, J)


def nuclear_rate(
    response: SpinResponse,
    k_mean: Float[ArrayLike, "*p 3"],
    *,
    coupling: Float[ArrayLike, "*p"],
    nuclear_spin: float = 0.5,
) -> Float[Array, "*p 3"]:
    """``d⟨K⟩/dt`` of [Danon11, Eq. (1)] for any mean nuclear spin ``k_mean`` (``(3,)``).

    With a several-site ``response`` (``chi`` of shape ``(p, p, 3, 3)``), ``k_mean`` is
    ``(p, 3)``, ``coupling`` ``(p,)`` and the electron-mediated coupling of Eq. (9)-(10) is
    included. Units: ``coupling`` and the result's time in the electron model's units.

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> from jaxspin.danon11 import spin_response, nuclear_rate
        >>> sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        >>> r = spin_response(-1.0 * sz, [jnp.sqrt(0.5) * sm], jnp.stack([sx, sy, sz]))
        >>> nuclear_rate(r, jnp.zeros(3), coupling=0.01).shape
        (3,)
    """
    return nuclear_coefficients(response, coupling, nuclear_spin).rate(k_mean)
