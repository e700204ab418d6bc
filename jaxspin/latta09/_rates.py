"""Nuclear jump rates ``I_z → I_z ± 1`` from the hyperfine-assisted collapse operators.

Every nuclear process of the model is a collapse operator ``c_k = √γ_k J_k ⊗ Q_k`` with a
collective nuclear operator ``J_k ∈ {I_+, I_−}`` and a QD operator ``Q_k``. In the
diagonal-nuclear approximation [Latta09, Eq. (12)] with the QD in its conditional steady
state ``ρ_QD(I_z)``, ``D[c_k]`` moves probability from ``|I, I_z⟩`` to ``|I, I_z ± 1⟩`` at

    γ_k · Tr(Q_k† Q_k ρ_QD(I_z)) · |⟨I, I_z ± 1| I_± |I, I_z⟩|²,
    |⟨I, I_z ± 1| I_± |I, I_z⟩|² = I(I+1) − I_z(I_z ± 1).

The processes (with ``ε = (A/(N ω_z))²``, uniform couplings ``A_i = A/N`` so that
``Σ_i A_i I_±^i = (A/N) I_±``):

================== ======= ================== ==========================================
name               J       Q                  γ_k
================== ======= ================== ==========================================
reverse_overhauser I_+     σ_↓t = |↓⟩⟨t|      ε Γ  (spin-flip Raman, Eq. (8) 2nd term)
overhauser_up      I_+     σ_− = |↓⟩⟨↑|       ε γ_spin(Δω̃)  (dephasing-assisted, Sec. II)
overhauser_down    I_−     σ_+ = |↑⟩⟨↓|       ε γ_spin(Δω̃)
decay_up           I_+     1                  γ_dec / 2
decay_down         I_−     1                  γ_dec / 2
================== ======= ================== ==========================================

``γ_spin = c_spin W_abs(Δω̃)`` is evaluated with the *effective* detuning of the nuclear
state being left (a rate cannot depend on the QD state it drives, so the paper's W_abs
formula, not ρ_tt, sets it). The paper writes the prefactors as ``(A/√N / ω_Z)²``: that is
the rate summed over the ensemble, ``N ε`` times the thermal average of
``|⟨I_±⟩|²/N = 1/2``, up to the factor ½ — both processes carry the same factor, so their
competition is the paper's.

**Decay.** The two collective operators ``√(γ_dec/2) I_±`` are a symmetric process on each
ladder: alone they make every ladder uniform (the fully mixed state, zero polarisation)
and give exactly ``d⟨I_z⟩/dt = −γ_dec ⟨I_z⟩`` on every ladder (``M_+ − M_− = −2 I_z``),
the ``−γ_dec P`` of Eq. (13).

Since ``M_+(I, m) = M_−(I, m + 1)``, the ratio ``up(m)/down(m+1) = a(m)/b(m+1)`` of the
per-matrix-element coefficients ``a = Σ_{J=I_+} γ_k⟨Q†Q⟩``, ``b = Σ_{J=I_−} γ_k⟨Q†Q⟩`` does
not depend on ``I``: all ladders share one stationary shape (:mod:`._stationary`).
"""

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Complex, Float

from ._dot import DOWN, TRION, UP, populations, w_abs
from ._parameters import Latta09Params


#: Process names, in the order of :func:`process_coefficients`' output.
PROCESSES = (
    "reverse_overhauser",
    "overhauser_up",
    "overhauser_down",
    "decay_up",
    "decay_down",
)
#: Direction of each process (+1: I_z → I_z + 1).
DIRECTIONS = (1, 1, -1, 1, -1)
#: Which of Fig. S3/S4's three parts each process belongs to.
GROUPS = {
    "reverse_overhauser": ("reverse_overhauser",),
    "overhauser": ("overhauser_up", "overhauser_down"),
    "decay": ("decay_up", "decay_down"),
}


def spin_dephasing_rate(
    params: Latta09Params, effective_detuning: Float[Array, "*batch"]
) -> Float[Array, "*batch"]:
    """``γ_spin = c_spin W_abs(Δω̃)`` [µeV] [Latta09, Sec. II]."""
    return params.spin_dephasing * w_abs(effective_detuning, params.rabi, params.gamma)


def include_mask(include: tuple[str, ...]) -> np.ndarray:
    """Validate a selection of :data:`PROCESSES` and return it as a boolean mask ``(5,)``
    (the two decay processes are required: they keep every ladder's chain irreducible).
    Masks are traced, so switching processes does not recompile."""
    if isinstance(include, str):
        raise ValueError("`include` must be a sequence of process names, not a string.")
    include = tuple(include)
    unknown = [k for k in include if k not in PROCESSES]
    if unknown:
        raise ValueError(f"Unknown processes {unknown}; known: {PROCESSES}.")
    if "decay_up" not in include or "decay_down" not in include:
        raise ValueError("`include` must contain 'decay_up' and 'decay_down'.")
    return np.array([k in include for k in PROCESSES])


def process_coefficients(
    params: Latta09Params,
    n_nuclei: int,
    rho: Complex[Array, "*batch 3 3"],
    shift: Float[Array, "*batch"],
    include: Bool[Array, " 5"] | None = None,
) -> Float[Array, "*batch 5"]:
    """Per-matrix-element rates ``γ_k Tr(Q_k†Q_k ρ_QD)`` of the :data:`PROCESSES` [µeV].

    ``rho``: conditional QD states; ``shift``: their Overhauser shifts ``(A/N) I_z`` [µeV];
    ``include``: boolean mask of the processes kept (:func:`include_mask`; default all),
    the others get rate 0. Multiply by
    ``I(I+1) − I_z(I_z ± 1)`` for the rate on ladder ``I``.
    """
    pops = populations(rho)
    eps = params.hyperfine_scale(n_nuclei)
    g_det = eps * spin_dephasing_rate(params, params.detuning - shift)
    half_dec = 0.5 * params.gamma_dec(n_nuclei) * jnp.ones_like(shift)
    coeffs = jnp.stack(
        [
            eps * params.gamma * pops[..., TRION],
            g_det * pops[..., UP],
            g_det * pops[..., DOWN],
            half_dec,
            half_dec,
        ],
        axis=-1,
    )
    if include is None:
        return coeffs
    return jnp.where(jnp.asarray(include), coeffs, 0.0)


def ladder_coefficients(
    coefficients: Float[Array, "*batch 5"],
) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"]]:
    """``(a, b)``: the summed per-matrix-element up (``I_+``) and down (``I_−``) rates."""
    d = jnp.asarray(DIRECTIONS)
    a = jnp.sum(jnp.where(d > 0, coefficients, 0.0), axis=-1)
    b = jnp.sum(jnp.where(d < 0, coefficients, 0.0), axis=-1)
    return a, b
