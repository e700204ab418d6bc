"""Single dot with spin-dependent tunnelling [Danon11, Fig. 1, Eq. (13)-(20)].

One electron level in the bias window, split by ``B_eff``; fast tunnelling in (``Γ_in``,
spin independent), tunnelling out at ``Γ_↑``, ``Γ_↓``. Eliminating the empty state, the
electron 2×2 density matrix obeys Eq. (13):

    ∂t ρ_↑ = -Γ_↑ ρ_↑ + ½(Γ_↓ ρ_↓ + Γ_↑ ρ_↑),   ∂t ρ_↓ = -Γ_↓ ρ_↓ + ½(Γ_↓ ρ_↓ + Γ_↑ ρ_↑),
    ∂t ρ_↑↓ = (i B_eff - Γ/2) ρ_↑↓,             Γ = Γ_↑ + Γ_↓.

This *is* a Lindblad equation: ``H = -B_eff S_z`` and jump operators
``sqrt(Γ_σ/2) |σ'⟩⟨σ|`` for all σ, σ' (an electron leaves from σ and a new one enters in
σ' with probability ½), i.e. the engine's ``rates[σ', σ] = Γ_σ / 2`` including the diagonal
(σ' = σ), which supplies exactly the coherence decay Γ/2 of Eq. (13)
(``tests/danon11/test_single_dot.py::test_lindbladian_is_eq13``).
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from .._inputs import check_finite, check_value, complex_dtype, real_dtype
from .._liouvillian import Lindbladian
from .._spin import spin_operators
from ._model import (
    AbstractDotModel,
    Scalar,
    check_common_fields,
    check_half,
    check_rate,
)
from ._nuclear import check_nuclear_spin


def _float(x) -> Array:
    return jnp.asarray(x, real_dtype())


class SingleDot(AbstractDotModel):
    """The single-dot toy model of [Danon11, Fig. 1].

    Fields (angular frequencies in one common unit, ħ = 1):

    - ``gamma_up``, ``gamma_down``: tunnel-out rates ``Γ_↑``, ``Γ_↓`` (≥ 0, sum > 0).
    - ``coupling``: total hyperfine coupling ``A`` (``B_eff = B_ext - A⟨K_z⟩``).
    - ``num_nuclei``: ``N`` (``A_n = A/N``); a float so that it can be traced.
    - ``nuclear_relaxation``: ``γ_n`` (not in the paper; see :mod:`._model`), default 0.
    - ``nuclear_spin``: ``K`` (static), default 1/2.

    Construction refuses a negative or non-finite ``Γ_↑``/``Γ_↓``/``γ_n``, a non-finite
    ``A``, ``N ≤ 0`` and a ``K`` that is not a positive half-integer: ``ValueError`` for
    concrete values, ``eqx.error_if`` (a runtime error) for values traced inside
    ``jit``/``vmap``. ``Γ = 0`` is allowed (the numerical steady state then reports
    ``RESULTS.singular``); the closed forms need ``Γ > 0``.

    Example:
        >>> from jaxspin.danon11 import SingleDot
        >>> dot = SingleDot(gamma_up=0.2, gamma_down=1.0, coupling=1.0, num_nuclei=100.0)
        >>> rate = dot.pumping_rate(0.0, 0.5)   # d<K_z>/dt at <K_z> = 0, B_eff = 0.5
    """

    gamma_up: Float[Array, ""]
    gamma_down: Float[Array, ""]
    coupling: Float[Array, ""]
    num_nuclei: Float[Array, ""]
    nuclear_relaxation: Float[Array, ""]
    nuclear_spin: float = eqx.field(static=True)

    def __init__(
        self,
        gamma_up: Scalar,
        gamma_down: Scalar,
        coupling: Scalar = 0.0,
        num_nuclei: Scalar = 1.0,
        nuclear_relaxation: Scalar = 0.0,
        nuclear_spin: float = 0.5,
    ):
        self.gamma_up = check_rate(_float(gamma_up), "gamma_up", "tunnel-out rate Γ_↑")
        self.gamma_down = check_rate(_float(gamma_down), "gamma_down", "tunnel-out rate Γ_↓")
        self.coupling, self.num_nuclei, self.nuclear_relaxation = check_common_fields(
            _float(coupling), _float(num_nuclei), _float(nuclear_relaxation)
        )
        self.nuclear_spin = check_nuclear_spin(nuclear_spin)

    @property
    def gamma(self) -> Float[Array, ""]:
        """``Γ = Γ_↑ + Γ_↓``."""
        return self.gamma_up + self.gamma_down

    @property
    def spin_ops(self) -> Complex[Array, "3 2 2"]:
        """Electron spin-1/2 ``(S^x, S^y, S^z)`` in the basis ``(|↑⟩, |↓⟩)``."""
        sx, sy, sz, _, _ = spin_operators(0.5)
        return jnp.stack([sx, sy, sz])

    def lindbladian(self, b_eff: Scalar) -> Lindbladian:
        """Eq. (13): ``H = -B_eff S_z``, ``rates[σ', σ] = Γ_σ / 2`` (all σ, σ')."""
        sz = self.spin_ops[2]
        H = -jnp.asarray(b_eff).astype(complex_dtype()) * sz
        g = jnp.stack([self.gamma_up, self.gamma_down])
        rates = jnp.broadcast_to(0.5 * g[None, :], (2, 2))
        return Lindbladian(H, None, rates)

    # ---- the paper's closed forms (K = 1/2) --------------------------------------------
    # Each refuses Γ = 0 (0/0), a non-finite ``b_eff`` and ``k_z`` outside [-1/2, 1/2]
    # (eagerly, or with eqx.error_if when traced).
    def _closed_gamma(self) -> Float[Array, ""]:
        return check_value(
            self.gamma,
            lambda g: ~(g > 0),
            "The closed forms need Γ = gamma_up + gamma_down > 0 (Γ = 0: no unique steady state).",
        )

    def closed_form_populations(self) -> Float[Array, " 2"]:
        """Stationary ``(ρ_↑, ρ_↓) = (Γ_↓, Γ_↑)/Γ`` (coherences zero) [Eq. (13)]."""
        return jnp.stack([self.gamma_down, self.gamma_up]) / self._closed_gamma()

    def closed_form_chi_asymmetry(self, b_eff: Scalar) -> Float[Array, ""]:
        """``χ^{xy} - χ^{yx} = (Γ_↓ - Γ_↑) / (2 B_eff² + Γ²/2)`` [Eq. (14)]."""
        b_eff = check_finite(jnp.asarray(b_eff), "b_eff")
        return (self.gamma_down - self.gamma_up) / (2 * b_eff**2 + 0.5 * self._closed_gamma() ** 2)

    def closed_form_fluctuation_sum(self, b_eff: Scalar) -> Float[Array, ""]:
        """``R^{xx} + R^{yy} = Γ / (2 B_eff² + Γ²/2)`` [Eq. (15)]."""
        b_eff = check_finite(jnp.asarray(b_eff), "b_eff")
        gamma = self._closed_gamma()
        return gamma / (2 * b_eff**2 + 0.5 * gamma**2)

    def closed_form_rate(self, k_z: Scalar, b_eff: Scalar) -> Float[Array, ""]:
        """``d⟨K_z⟩/dt = A_n² [Γ_↓(½ - ⟨K_z⟩) - Γ_↑(½ + ⟨K_z⟩)] / (4 B_eff² + Γ²)``
        [Eq. (16)] (hyperfine part; ``K = 1/2``)."""
        check_half(self, "Eq. (16)")
        k_z, b_eff, _ = self._check_point(k_z, b_eff, "b_eff")
        num = self.gamma_down * (0.5 - k_z) - self.gamma_up * (0.5 + k_z)
        return self.hyperfine_per_nucleus**2 * num / (4 * b_eff**2 + self._closed_gamma() ** 2)

    # ---- Fermi's golden rule ----------------------------------------------------------
    def golden_rule_rates(
        self, k_z: Scalar, b_eff: Scalar
    ) -> tuple[Float[Array, ""], Float[Array, ""]]:
        """``(Γ_+, Γ_-)``: golden-rule flip-flop rates ``|↑⇓⟩ → |↓⇑⟩`` and back
        [Eq. (17)-(19)]: ``Γ_± = 2π |⟨f| ½ A_n S^∓ K^± |i⟩|² p_i D`` with ``p_i = (½ ∓
        ⟨K_z⟩) ρ_{↑/↓}`` and the Lorentzian ``D = (1/π)(Γ/2)/(B_eff² + Γ²/4)`` (sum of the
        two level broadenings). ``K = 1/2``."""
        check_half(self, "Eq. (17)-(19)")
        k_z, b_eff, _ = self._check_point(k_z, b_eff, "b_eff")
        matrix_element_sq = (0.5 * self.hyperfine_per_nucleus) ** 2  # <↓⇑|S^-K^+|↑⇓> = 1
        rho_up, rho_down = self.closed_form_populations()
        half_gamma = 0.5 * self.gamma
        D = (half_gamma / jnp.pi) / (b_eff**2 + half_gamma**2)
        plus = 2 * jnp.pi * matrix_element_sq * (0.5 - k_z) * rho_up * D
        minus = 2 * jnp.pi * matrix_element_sq * (0.5 + k_z) * rho_down * D
        return plus, minus

    def golden_rule_rate(self, k_z: Scalar, b_eff: Scalar) -> Float[Array, ""]:
        """Net golden-rule ``d⟨K_z⟩/dt = Γ_+ - Γ_-`` [Eq. (20)]; equals Eq. (16) for all
        ``B_eff`` (the paper's point: all incoherent dynamics fit into ``D`` here)."""
        plus, minus = self.golden_rule_rates(k_z, b_eff)
        return plus - minus
