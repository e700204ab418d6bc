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
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Complex, Float

from .._inputs import check_finite, check_positive, check_value, real_dtype
from .._liouvillian import Lindbladian
from .._steady import RESULTS, AbstractSteadyStateSolver, DenseLU
from ._nuclear import coefficients_unchecked
from ._response import SpinResponse, invalidate, response_kernel


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

    def _check_point(
        self,
        k_z: Scalar,
        field: Scalar,
        field_name: str,
        *,
        k_name: str = "k_z",
        throw: bool = True,
    ) -> tuple[Float[Array, ""], Float[Array, ""], Bool[Array, ""] | None]:
        """Validate a polarisation ``k_z`` (finite, ``|k_z| ≤ K``) and a field (finite).

        ``throw=True``: refuse (``ValueError`` now, ``eqx.error_if`` when traced) and return
        ``(k_z, field, None)``. ``throw=False``: return ``(k_z, field, bad)`` with a bad
        point replaced by 0 and ``bad`` flagging it (the caller returns NaN there)."""
        k = jnp.asarray(k_z, real_dtype())
        b = jnp.asarray(field, real_dtype())
        K = self.nuclear_spin
        k_bad = lambda v: ~(jnp.abs(v) <= K)
        if throw:
            msg = (
                f"`{k_name}` (mean nuclear spin per nucleus) must be finite and in [-K, K] = "
                f"[{-K:g}, {K:g}]."
            )
            return check_value(k, k_bad, msg), check_finite(b, field_name), None
        bad = k_bad(k) | ~jnp.isfinite(b)
        return jnp.where(bad, 0.0, k), jnp.where(bad, 0.0, b), bad

    def response(
        self,
        b_eff: Scalar,
        *,
        solver: AbstractSteadyStateSolver = DenseLU(),
        throw: bool = True,
    ) -> SpinResponse:
        """S, χ, R of the electron spin at field ``b_eff`` [Danon11, Eq. (3)].

        ``b_eff`` must be finite: refused with ``throw=True`` (also under ``jit``/``vmap``);
        with ``throw=False`` a non-finite ``b_eff`` gives NaN arrays and
        ``result = RESULTS.nonfinite`` for that point."""
        if throw:
            return self._response(check_finite(jnp.asarray(b_eff), "b_eff"), solver, True)
        b = jnp.asarray(b_eff, real_dtype())
        bad = ~jnp.isfinite(b)
        resp = self._response(jnp.where(bad, 0.0, b), solver, False)
        return invalidate(resp, bad)

    def _response(self, b_eff, solver, throw) -> SpinResponse:
        # the model's own spin operators are Hermitian by construction: no re-check
        return response_kernel(self.lindbladian(b_eff), self.spin_ops, solver, throw)

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
        computed from the numerical χ and R.

        Checks: ``k_z`` finite with ``|k_z| ≤ K``, ``b_eff`` finite (refused with
        ``throw=True``, also under ``jit``/``vmap``; ``throw=False``: NaN for that point,
        as for a failed electron solve)."""
        k, b, bad = self._check_point(k_z, b_eff, "b_eff", throw=throw)
        return _nan_where(bad, self._pumping_rate(k, b, solver, throw))

    def _pumping_rate(self, k_z, b_eff, solver, throw) -> Float[Array, ""]:
        resp = self._response(b_eff, solver, throw)
        a = jnp.asarray(self.hyperfine_per_nucleus, resp.S.dtype)
        coeffs = coefficients_unchecked(resp, a, self.nuclear_spin)
        dtype = coeffs.S.dtype
        k = jnp.zeros(3, dtype).at[2].set(jnp.asarray(k_z, dtype))
        rate = coeffs.rate_unchecked(k)[2]
        if not throw:  # a failed electron solve is NaN, not a number
            rate = jnp.where(resp.result == RESULTS.successful, rate, jnp.nan)
        return rate

    def polarization_rate(
        self,
        k_z: Scalar,
        b_ext: Scalar,
        *,
        solver: AbstractSteadyStateSolver = DenseLU(),
        throw: bool = True,
    ) -> Float[Array, ""]:
        """``d⟨K_z⟩/dt`` with feedback: ``pumping_rate(k_z, B_ext - A k_z) - γ_n k_z``.

        Checks as :meth:`pumping_rate` (``k_z`` in ``[-K, K]``, ``b_ext`` finite)."""
        k, b, bad = self._check_point(k_z, b_ext, "b_ext", throw=throw)
        return _nan_where(bad, self._polarization_rate(k, b, solver, throw))

    def _polarization_rate(self, k_z, b_ext, solver, throw=True) -> Float[Array, ""]:
        """:meth:`polarization_rate` without the input checks (the feedback loops call it
        with checked or internally generated ``k_z``, e.g. ODE stages that may overshoot
        ``K`` by rounding)."""
        b_eff = self.effective_field(b_ext, k_z)
        rate = self._pumping_rate(k_z, b_eff, solver, throw)
        return rate - self.nuclear_relaxation * jnp.asarray(k_z, rate.dtype)


def float_fields(model: AbstractDotModel) -> AbstractDotModel:
    """``model`` with every field a float array. The constructors convert, but
    ``eqx.tree_at`` may put a Python number in a field, which an ``eqx.filter_jit`` boundary
    would treat as a static value (a recompilation for every new number). The entry points
    call this before their jit boundary (as ``jaxspin.deluca16`` does)."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, real_dtype()), model)


def _nan_where(bad, x):
    return x if bad is None else jnp.where(bad, jnp.nan, x)


def check_common_fields(coupling, num_nuclei, nuclear_relaxation) -> tuple[Array, Array, Array]:
    """Checks of the fields shared by the dot models, eager when concrete and
    ``eqx.error_if`` when traced (a model built inside ``jit``/``vmap`` is refused too)."""
    coupling = check_finite(coupling, "coupling")
    num_nuclei = check_positive(num_nuclei, "num_nuclei")
    nuclear_relaxation = check_value(
        nuclear_relaxation,
        lambda v: ~(v >= 0) | ~jnp.isfinite(v),
        "`nuclear_relaxation` (γ_n) must be finite and >= 0 (negative or non-finite given).",
    )
    return coupling, num_nuclei, nuclear_relaxation


def check_rate(x, name: str, what: str) -> Array:
    """A rate: finite and ``>= 0`` (eager or staged)."""
    return check_value(
        x,
        lambda v: ~(v >= 0) | ~jnp.isfinite(v),
        f"`{name}` ({what}) must be finite and >= 0; got a negative or non-finite value.",
    )


def check_half(model: AbstractDotModel, what: str) -> None:
    """The paper's closed forms assume ``K = 1/2``."""
    if model.nuclear_spin != 0.5:
        raise ValueError(
            f"{what} is derived for nuclear spin K = 1/2 [Danon11]; this model has "
            f"K = {model.nuclear_spin}. Use pumping_rate (any K)."
        )
