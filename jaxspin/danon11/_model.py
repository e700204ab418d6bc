"""Common interface of the quantum-dot models of [Danon11]: electrons plus nuclear feedback.

A model is an ``equinox.Module`` whose fields are its physical parameters (all traced, so
``jax.grad``/``jax.vmap`` act on any of them) and which supplies

- ``lindbladian(b_eff)``: the electron master equation at effective field ``B_eff``;
- ``spin_ops``: the ``(3, n, n)`` electron spin operators at the nuclei of interest.

Everything else is generic and written once here: the susceptibility/fluctuations
(:func:`jaxspin.danon11.spin_response_single`), Eq. (12) for ``d⟨K_z⟩/dt`` (the
z-component of Eq. (1) at ``⟨K⟩ = (0, 0, ⟨K_z⟩)``), and the feedback.

**Units and signs.** ħ = 1: fields, couplings and rates are angular frequencies in one
common unit (the examples use μeV/ħ, so times are in ħ/μeV ≈ 0.658 ns). ``B_ext`` is the
electron Zeeman splitting ``|g| μ_B B`` as a frequency. With a negative g-factor (GaAs) the
electron Zeeman term is ``-B_ext S_z`` (spin up lowest, Eq. (13): ``∂t ρ = i[B_eff S_z, ρ]``)
and the Overhauser field of the polarised nuclei adds ``+A ⟨K_z⟩ S_z`` (``A > 0``), so the
electrons see ``H = -B_eff S_z`` with

    B_eff = B_ext - A ⟨K_z⟩          [Danon11, text before Eq. (13), and Eq. (16), (23)],

``A`` the total hyperfine coupling (Overhauser shift of a fully polarised bath ``A K``) and
``A_n = A / N`` the coupling of one of the ``N`` nuclei (Eq. (11), uniform wave function).
``⟨K_z⟩`` is the mean nuclear spin per nucleus, in ``[-K, K]``.

``nuclear_relaxation`` (``γ_n ≥ 0``, default 0) adds ``-γ_n ⟨K_z⟩`` to ``d⟨K_z⟩/dt``: a
phenomenological relaxation of the nuclei toward zero polarisation by other mechanisms
(spin diffusion). It is *not* part of [Danon11]; without it the double dot always pumps to
full polarisation and there is no bistability.
"""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex, Float

from .._inputs import concretely
from .._liouvillian import Lindbladian
from .._spin import spin_dim
from .._steady import AbstractSteadyStateSolver, DenseLU
from ._nuclear import nuclear_coefficients
from ._response import SpinResponse, spin_response_single


Scalar = Float[ArrayLike, ""]


class AbstractDotModel(eqx.Module):
    """An electron model with hyperfine feedback on one nuclear spin species.

    Subclasses define the fields ``coupling`` (``A``), ``num_nuclei`` (``N``),
    ``nuclear_relaxation`` (``γ_n``), ``nuclear_spin`` (``K``, static) and the methods
    :meth:`lindbladian` and :attr:`spin_ops`.
    """

    coupling: eqx.AbstractVar[Float[Array, ""]]
    num_nuclei: eqx.AbstractVar[Float[Array, ""]]
    nuclear_relaxation: eqx.AbstractVar[Float[Array, ""]]
    nuclear_spin: eqx.AbstractVar[float]

    @abc.abstractmethod
    def lindbladian(self, b_eff: Scalar) -> Lindbladian:
        """The electron master equation at effective field ``b_eff``."""

    @property
    @abc.abstractmethod
    def spin_ops(self) -> Complex[Array, "3 n n"]:
        """``(S^x, S^y, S^z)`` of the electron at the nuclei considered."""

    @property
    def hyperfine_per_nucleus(self) -> Float[Array, ""]:
        """``A_n = A / N`` [Danon11, Eq. (11)]."""
        return self.coupling / self.num_nuclei

    def effective_field(self, b_ext: Scalar, k_z: Scalar) -> Float[Array, ""]:
        """``B_eff = B_ext - A ⟨K_z⟩`` (module docstring for the sign)."""
        return jnp.asarray(b_ext) - self.coupling * jnp.asarray(k_z)

    def response(
        self,
        b_eff: Scalar,
        *,
        solver: AbstractSteadyStateSolver = DenseLU(),
        throw: bool = True,
    ) -> SpinResponse:
        """S, χ, R of the electron spin at field ``b_eff`` [Danon11, Eq. (3)]."""
        return spin_response_single(
            self.lindbladian(b_eff), self.spin_ops, solver=solver, throw=throw
        )

    def pumping_rate(
        self,
        k_z: Scalar,
        b_eff: Scalar,
        *,
        solver: AbstractSteadyStateSolver = DenseLU(),
        throw: bool = True,
    ) -> Float[Array, ""]:
        """Hyperfine ``d⟨K_z⟩/dt`` at polarisation ``k_z`` and field ``b_eff`` (no feedback,
        no ``γ_n``): Eq. (12) = z-component of Eq. (1) with ``S^a``, ``P``, ``Q`` of Eq. (2),
        computed from the numerical χ and R."""
        resp = self.response(b_eff, solver=solver, throw=throw)
        coeffs = nuclear_coefficients(resp, self.hyperfine_per_nucleus, self.nuclear_spin)
        dtype = coeffs.S.dtype
        k = jnp.zeros(3, dtype).at[2].set(jnp.asarray(k_z, dtype))
        return coeffs.rate(k)[2]

    def polarization_rate(
        self,
        k_z: Scalar,
        b_ext: Scalar,
        *,
        solver: AbstractSteadyStateSolver = DenseLU(),
        throw: bool = True,
    ) -> Float[Array, ""]:
        """``d⟨K_z⟩/dt`` with feedback: ``pumping_rate(k_z, B_ext - A k_z) - γ_n k_z``."""
        b_eff = self.effective_field(b_ext, k_z)
        rate = self.pumping_rate(k_z, b_eff, solver=solver, throw=throw)
        return rate - self.nuclear_relaxation * jnp.asarray(k_z, rate.dtype)


def check_common_fields(model: AbstractDotModel) -> None:
    """Eager checks of the fields shared by the dot models (skipped for traced values)."""
    if spin_dim(model.nuclear_spin) < 2:
        raise ValueError(
            f"`nuclear_spin` must be a positive half-integer; got {model.nuclear_spin}."
        )
    for name, ok, what in (
        ("num_nuclei", lambda v: v > 0, "> 0"),
        ("nuclear_relaxation", lambda v: v >= 0, ">= 0"),
        ("coupling", lambda v: jnp.isfinite(v), "finite"),
    ):
        value = getattr(model, name)
        if concretely(value, lambda v, ok=ok: ~jnp.all(ok(v))):
            raise ValueError(f"`{name}` must be {what}; got {value}.")


def check_half(model: AbstractDotModel, what: str) -> None:
    """The paper's closed forms assume ``K = 1/2``."""
    if model.nuclear_spin != 0.5:
        raise ValueError(
            f"{what} is derived for nuclear spin K = 1/2 [Danon11]; this model has "
            f"K = {model.nuclear_spin}. Use pumping_rate (any K)."
        )
