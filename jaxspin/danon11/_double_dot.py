"""Double dot in the (1,0) → (0,1) → (0,0) cycle [Danon11, Fig. 2, Eq. (21)-(25)].

Three levels, basis order ``(|L⟩, |↑⟩, |↓⟩)``: the (1,0) spin-up level ``|L⟩`` of the left
dot at energy ``d``, and the right dot's spin-up ``|↑⟩`` (energy 0) and spin-down ``|↓⟩``
(energy ``B_eff``). The electron tunnels out of the right dot at rate ``Γ`` and refills the
left dot at ``Γ_in ≫ Γ``, so both right-dot levels decay into ``|L⟩`` at ``Γ``
(``rates[L, ↑] = rates[L, ↓] = Γ``).

**Reading of Eq. (21).** The printed Hamiltonian couples ``|L⟩`` to ``|↓⟩``:
``H3 = d|L⟩⟨L| + B_eff|↓⟩⟨↓| + t|L⟩⟨↓| + t|↓⟩⟨L|``. The text says the (1,0) and (0,1)
*spin-up* levels are tunnel coupled, Eq. (22) has ``ρ_L↑ ≠ 0`` and ``ρ_↓ = 0``, and
Eq. (24) uses ``⟨↑⇓|H_T|L⇓⟩``. We use

    H3 = d|L⟩⟨L| + B_eff|↓⟩⟨↓| + t(|L⟩⟨↑| + |↑⟩⟨L|),

which reproduces Eq. (22) and Eq. (23) to machine precision; the printed coupling gives a
different steady state (``ρ_↓ ≠ 0``) and violates both
(``tests/danon11/test_double_dot.py::test_printed_eq21_contradicts_eq22``).

**Golden rule, Eq. (24)-(25).** The second-order process is ``|L⇓⟩ → |↑⇓⟩`` (virtual,
tunnelling, energy denominator ``d``) ``→ |↓⇑⟩`` (flip-flop), final-state broadening ``Γ``:
``d⟨K_z⟩/dt = 2π |½A_n · t|² / d² · (½ - ⟨K_z⟩) · (2/π) Γ / [4(B_eff - d)² + Γ²]``.
(The printed labels ``|L⇑⟩``, ``E_↓⇑ - E_L⇑`` and the text's "|L⇑⟩ → |↓⇑⟩ → |↑⇓⟩" are
inconsistent with the printed matrix elements and with Eq. (25); the matrix elements and
Eq. (25) agree with the process above.) To lowest order in ``t``, Eq. (23) equals
Eq. (25) times ``4d² / (4d² + Γ²)``, so the golden rule needs ``|d| ≫ Γ`` and ``t ≪ Γ``
(``B_eff ≫ Γ`` is not needed at ``t → 0``); it diverges as ``d → 0`` where Eq. (23) stays
finite.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from .._inputs import check_finite, check_value, complex_dtype, real_dtype
from .._liouvillian import Lindbladian
from ._model import (
    AbstractDotModel,
    Scalar,
    check_common_fields,
    check_half,
)
from ._nuclear import check_nuclear_spin


def _float(x) -> Array:
    return jnp.asarray(x, real_dtype())


L_, UP, DOWN = 0, 1, 2


class DoubleDot(AbstractDotModel):
    """The double-dot model of [Danon11, Fig. 2, Eq. (21)]; nuclei of the right dot.

    Fields (angular frequencies in one common unit, ħ = 1):

    - ``detuning``: ``d``, energy of ``|L⟩`` relative to the right spin-up level.
    - ``tunnel``: ``t``, coupling of ``|L⟩`` and ``|↑⟩`` (reading in the module docstring).
    - ``gamma``: ``Γ``, decay of both right-dot levels back to ``|L⟩`` (> 0).
    - ``coupling``, ``num_nuclei``, ``nuclear_relaxation``, ``nuclear_spin``: as in
      :class:`SingleDot` (right-dot nuclei; ``B_eff = B_ext - A⟨K_z⟩``).

    Construction refuses a non-finite ``d``, ``t`` or ``A``, ``Γ ≤ 0``, and the common
    fields as :class:`SingleDot` does (``ValueError`` for concrete values,
    ``eqx.error_if`` for values traced inside ``jit``/``vmap``).

    Example:
        >>> from jaxspin.danon11 import DoubleDot
        >>> dd = DoubleDot(detuning=5.0, tunnel=0.2, gamma=1.0, coupling=1.0, num_nuclei=100.0)
        >>> rate = dd.pumping_rate(0.0, 4.0)   # d<K_z>/dt at <K_z> = 0, B_eff = 4
    """

    detuning: Float[Array, ""]
    tunnel: Float[Array, ""]
    gamma: Float[Array, ""]
    coupling: Float[Array, ""]
    num_nuclei: Float[Array, ""]
    nuclear_relaxation: Float[Array, ""]
    nuclear_spin: float = eqx.field(static=True)

    def __init__(
        self,
        detuning: Scalar,
        tunnel: Scalar,
        gamma: Scalar,
        coupling: Scalar = 0.0,
        num_nuclei: Scalar = 1.0,
        nuclear_relaxation: Scalar = 0.0,
        nuclear_spin: float = 0.5,
    ):
        self.detuning = check_finite(_float(detuning), "detuning")
        self.tunnel = check_finite(_float(tunnel), "tunnel")
        self.gamma = check_value(
            _float(gamma),
            lambda g: ~(g > 0) | ~jnp.isfinite(g),
            "`gamma` (Γ, decay of the right-dot levels) must be finite and > 0.",
        )
        self.coupling, self.num_nuclei, self.nuclear_relaxation = check_common_fields(
            _float(coupling), _float(num_nuclei), _float(nuclear_relaxation)
        )
        self.nuclear_spin = check_nuclear_spin(nuclear_spin)

    @property
    def spin_ops(self) -> Complex[Array, "3 3 3"]:
        """Right-dot electron spin: ``S^+ = |↑⟩⟨↓|``, ``S^z = ½(|↑⟩⟨↑| - |↓⟩⟨↓|)``, zero on
        ``|L⟩``."""
        cdt = complex_dtype()
        sp = jnp.zeros((3, 3), cdt).at[UP, DOWN].set(1.0)
        sx = 0.5 * (sp + sp.T)
        sy = -0.5j * (sp - sp.T)
        sz = jnp.zeros((3, 3), cdt).at[UP, UP].set(0.5).at[DOWN, DOWN].set(-0.5)
        return jnp.stack([sx, sy, sz])

    @property
    def site_spin_ops(self) -> Complex[Array, "2 3 3 3"]:
        """Electron spin at the left-dot and right-dot nuclei, ``(2, 3, 3, 3)``, for the
        non-local χ_nm of Eq. (10). The model keeps only the left spin-up level, so the
        left-dot spin is ``S_L^z = ½|L⟩⟨L|``, ``S_L^x = S_L^y = 0``."""
        left = jnp.zeros((3, 3, 3), complex_dtype()).at[2, L_, L_].set(0.5)
        return jnp.stack([left, self.spin_ops])

    def hamiltonian(self, b_eff: Scalar) -> Complex[Array, "3 3"]:
        """``H3 = d|L⟩⟨L| + B_eff|↓⟩⟨↓| + t(|L⟩⟨↑| + |↑⟩⟨L|)`` (Eq. (21), corrected)."""
        b = jnp.asarray(b_eff, real_dtype())
        H = jnp.zeros((3, 3), real_dtype())
        H = H.at[L_, L_].set(self.detuning).at[DOWN, DOWN].set(b)
        H = H.at[L_, UP].set(self.tunnel).at[UP, L_].set(self.tunnel)
        return H.astype(complex_dtype())

    def lindbladian(self, b_eff: Scalar) -> Lindbladian:
        """Eq. (21) plus the decay ``|↑⟩, |↓⟩ → |L⟩`` at ``Γ``."""
        rates = jnp.zeros((3, 3), real_dtype())
        rates = rates.at[L_, UP].set(self.gamma).at[L_, DOWN].set(self.gamma)
        return Lindbladian(self.hamiltonian(b_eff), None, rates)

    # ---- the paper's closed forms (K = 1/2) --------------------------------------------
    def closed_form_steady_state(self) -> Complex[Array, "3 3"]:
        """Eq. (22): ``ρ_L = (4d² + 4t² + Γ²)/D``, ``ρ_↑ = 4t²/D``,
        ``ρ_L↑ = ⟨L|ρ|↑⟩ = (4dt + 2itΓ)/D``, ``D = 4d² + 8t² + Γ²``, other elements zero."""
        d, t, g = self.detuning, self.tunnel, self.gamma
        den = 4 * d**2 + 8 * t**2 + g**2
        cdt = complex_dtype()
        rho = jnp.zeros((3, 3), cdt)
        rho = rho.at[L_, L_].set(((4 * d**2 + 4 * t**2 + g**2) / den).astype(cdt))
        rho = rho.at[UP, UP].set((4 * t**2 / den).astype(cdt))
        coh = jax.lax.complex(4 * d * t, 2 * t * g) / den.astype(cdt)
        return rho.at[L_, UP].set(coh).at[UP, L_].set(jnp.conj(coh))

    def closed_form_rate(self, k_z: Scalar, b_eff: Scalar) -> Float[Array, ""]:
        """Eq. (23): the pumping rate for all ``B_eff, d, t, Γ`` (``K = 1/2``); ``k_z`` in
        ``[-1/2, 1/2]`` and a finite ``b_eff`` are checked (also under ``jit``)."""
        check_half(self, "Eq. (23)")
        k_z, b_eff, _ = self._check_point(k_z, b_eff, "b_eff")
        d, t, g, b = self.detuning, self.tunnel, self.gamma, b_eff
        an2 = self.hyperfine_per_nucleus**2
        num = 4 * an2 * t**2 * g * (b**2 + 2 * t**2 + g**2) * (0.5 - k_z)
        bracket = (
            4 * (b * d - b**2 + t**2) ** 2
            + (5 * b**2 - 8 * b * d + 4 * d**2 + 4 * t**2) * g**2
            + g**4
        )
        return num / ((4 * d**2 + 8 * t**2 + g**2) * bracket)

    def golden_rule_rate(self, k_z: Scalar, b_eff: Scalar) -> Float[Array, ""]:
        """Second-order golden rule, Eq. (24)-(25) (module docstring; ``K = 1/2``):
        ``2π |½A_n t|²/d² (½ - ⟨K_z⟩) D``, ``D = (2/π) Γ/[4(B_eff - d)² + Γ²]``. Valid for
        ``|d| ≫ Γ ≫ t``; diverges at ``d = 0``."""
        check_half(self, "Eq. (24)-(25)")
        k_z, b_eff, _ = self._check_point(k_z, b_eff, "b_eff")
        d, g = self.detuning, self.gamma
        amplitude_sq = (0.5 * self.hyperfine_per_nucleus * self.tunnel) ** 2 / d**2
        D = (2 / jnp.pi) * g / (4 * (b_eff - d) ** 2 + g**2)
        return 2 * jnp.pi * amplitude_sq * (0.5 - k_z) * D
