"""An inhomogeneous bath: a few *shells* of Dicke ladders with different couplings
[Latta09, Sec. II, generalised beyond ``A_i = A/N``].

**Model.** The ``N`` nuclei are split into shells ``s = 1..S`` of ``N_s`` nuclei with one
per-nucleus coupling ``A_s = A c_s`` each (``Σ_s N_s c_s = 1``, so the Overhauser shift of
the fully polarised spin-½ bath is ``A`` as in the homogeneous model). Inside a shell the
couplings are uniform, so every operator of the model is collective per shell and each
shell's total spin ``I_s`` is conserved: the bath is a mixture of products of ladders
``(I_1, ..., I_S)`` with weights ``Π_s w_{I_s}`` (:class:`DickeSpace` of each shell; the
fully mixed state factorises over shells). The Overhauser shift is ``h = A Σ_s c_s m_s``.

**Reading of Eq. (12) for shells.** The hyperfine-assisted collapse operators carry
``Σ_i A_i I_±^i = A Σ_s c_s I_±^s``; in the diagonal approximation of Eq. (12) (nuclear
density matrix diagonal in the basis ``|I_s, m_s⟩_s``) a jump changes one shell's ``m_s``
by ±1 at ``γ_k ⟨Q_k†Q_k⟩(h) (A c_s / ω_z)² [I_s(I_s+1) − m_s(m_s ± 1)]``: the per-shell
version of :mod:`._rates` (``ε_s = (A c_s/ω_z)²``, the decay ``γ_dec,s = η ε_s Γ`` per
shell). Coherences between shells are dropped as the coherences between Dicke states
already are (the shells' different Knight shifts dephase them). With one shell this is
the homogeneous model exactly (``tests/latta09/test_shells.py``); with ``S`` shells the
ladder bound on ``|⟨I_z⟩|`` grows from ``~√N`` to ``~√(S N)`` (all nuclei independent:
``S = N``, no bound).

**Couplings.** :meth:`ShellBath.gaussian`: a flat dot with the in-plane electron density
``|ψ(ρ)|² ∝ exp(−ρ²/ρ_0²)`` and nuclei uniform in the plane up to ``ρ²/ρ_0² = extent``:
then ``u = ρ²/ρ_0²`` is uniform on ``[0, extent]`` and ``A_i ∝ e^{−u_i}``. Shells are
equal-population slices of ``u``; ``c_s`` is the mean of ``e^{−u}`` over the slice.

**Method.** The joint stationary state needs a linear solve: unlike one ladder, the
product chain is not reversible (the QD rates depend on ``h``, which several shells
change). Every ladder product ``(I_1..I_S)`` is one block on the common grid of all
``(m_1..m_S)`` (``K_1 ⋯ K_S`` states; states outside the block's ladders are made transient
by a unit rate into the block and get probability 0) solved with
:func:`jaxspin.stationary_distribution` (GTH), and the blocks are summed with their weights.
Cost ``O(Π L_s · (Π K_s)³)``: a model for small baths (validation, the shell effect); the
memory is checked first.
"""

import itertools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import jit
from .._memory import check_fits
from .._ratematrix import stationary_distribution
from .._steady import AbstractSteadyStateSolver, DenseLU
from ._dicke import DickeSpace, ladder_matrix_elements
from ._dot import absorption, steadystates
from ._parameters import Latta09Params, check_params
from ._rates import PROCESSES, include_mask, ladder_coefficients, process_coefficients


class ShellBath(eqx.Module):
    """``S`` shells of ``sizes[s]`` spin-``spin`` nuclei with per-nucleus couplings
    ``A c_s`` (static, hashable). ``couplings`` are relative (any positive scale); they are
    normalised to ``Σ_s N_s c_s = 1``. ``tail``: the truncation bound of each shell's
    :class:`DickeSpace` (the dropped joint weight is at most ``Σ_s tail_s``,
    :attr:`tail_weight`).

    Refuses (``ValueError``) empty or mismatched ``sizes``/``couplings``, non-positive or
    non-finite couplings, bad sizes/spin/tail (as :class:`DickeSpace`).

    Example:
        >>> from jaxspin.latta09 import ShellBath
        >>> bath = ShellBath.gaussian(12, 2)
        >>> bath.sizes, round(sum(n * c for n, c in zip(bath.sizes, bath.couplings)), 12)
        ((6, 6), 1.0)
    """

    sizes: tuple[int, ...] = eqx.field(static=True)
    couplings: tuple[float, ...] = eqx.field(static=True)
    spin: float = eqx.field(static=True)
    tail: float = eqx.field(static=True)

    def __init__(self, sizes, couplings, spin: float = 0.5, *, tail: float = 1e-12):
        sizes, couplings = tuple(sizes), tuple(float(c) for c in couplings)
        if not sizes or len(sizes) != len(couplings):
            raise ValueError(
                f"`sizes` and `couplings` must be non-empty and of one length; got {len(sizes)} "
                f"and {len(couplings)}."
            )
        if not all(math.isfinite(c) and c > 0 for c in couplings):
            raise ValueError(f"`couplings` must be finite and > 0; got {couplings}.")
        for n in sizes:
            DickeSpace(n, spin, tail=tail)  # validates n, spin, tail
        total = sum(n * c for n, c in zip(sizes, couplings, strict=True))
        self.sizes = tuple(int(n) for n in sizes)
        self.couplings = tuple(c / total for c in couplings)
        self.spin = float(spin)
        self.tail = float(tail)

    @classmethod
    def gaussian(
        cls,
        n_nuclei: int,
        num_shells: int,
        spin: float = 0.5,
        *,
        extent: float = 3.0,
        tail: float = 1e-12,
    ) -> "ShellBath":
        """Equal-population shells of a flat Gaussian envelope (module docstring):
        ``c_s ∝ (e^{−u_s} − e^{−u_{s+1}})/(u_{s+1} − u_s)``, ``u_s = s · extent/S``. Shell
        sizes differ by at most one nucleus. ``extent > 0`` (``ValueError``)."""
        if isinstance(num_shells, bool) or not isinstance(num_shells, int) or num_shells < 1:
            raise ValueError(f"`num_shells` must be a positive integer; got {num_shells!r}.")
        if not (math.isfinite(extent) and extent > 0):
            raise ValueError(f"`extent` must be finite and > 0; got {extent!r}.")
        if isinstance(n_nuclei, bool) or not isinstance(n_nuclei, int) or n_nuclei < num_shells:
            raise ValueError(f"`n_nuclei` must be an integer >= num_shells; got {n_nuclei!r}.")
        sizes = [n_nuclei // num_shells + (s < n_nuclei % num_shells) for s in range(num_shells)]
        u = np.linspace(0.0, extent, num_shells + 1)
        c = (np.exp(-u[:-1]) - np.exp(-u[1:])) / np.diff(u)
        return cls(sizes, c, spin, tail=tail)

    @property
    def n_nuclei(self) -> int:
        return sum(self.sizes)

    @property
    def shells(self) -> tuple[DickeSpace, ...]:
        return tuple(DickeSpace(n, self.spin, tail=self.tail) for n in self.sizes)

    @property
    def tail_weight(self) -> float:
        """Upper bound on the dropped joint ladder weight ``1 − Π_s (1 − tail_s)``."""
        return 1.0 - math.prod(1.0 - sp.tail_weight for sp in self.shells)

    @property
    def max_polarization_spin(self) -> float:
        return self.n_nuclei * self.spin

    def grid(self) -> np.ndarray:
        """``(K_1 ⋯ K_S, S)``: every joint ``(m_1, ..., m_S)``, the last shell fastest."""
        return np.array(list(itertools.product(*(sp.m for sp in self.shells))), float)

    def nbytes(self) -> int:
        """Memory of the block rate matrices and the GTH workspace [bytes]."""
        blocks = math.prod(sp.num_ladders for sp in self.shells)
        k = math.prod(sp.num_m for sp in self.shells)
        return 8 * 7 * blocks * k * k


class ShellSteadyState(eqx.Module):
    """Stationary state of a :class:`ShellBath`: ``m`` ``(J, S)`` joint ``I_z`` values of the
    shells, ``p`` ``(J,)`` their probabilities, ``shift_m`` ``(J,)`` = ``h = A Σ c_s m_s``
    [µeV], ``absorption_m`` ``(J,)`` [µeV]; observables as properties."""

    bath: ShellBath
    m: Float[Array, "J S"]
    p: Float[Array, " J"]
    shift_m: Float[Array, " J"]
    absorption_m: Float[Array, " J"]

    @property
    def overhauser_shift(self) -> Float[Array, ""]:
        """``⟨h⟩ = A Σ_s c_s ⟨m_s⟩`` [µeV]."""
        return jnp.sum(self.p * self.shift_m, axis=-1)

    @property
    def overhauser_std(self) -> Float[Array, ""]:
        """Standard deviation of ``h`` [µeV]."""
        var = jnp.sum(self.p * self.shift_m**2, axis=-1) - self.overhauser_shift**2
        return jnp.sqrt(jnp.clip(var, 0.0, None))

    @property
    def polarization(self) -> Float[Array, ""]:
        """``⟨Σ_s m_s⟩ / (N I_n)`` (dimensionless)."""
        total = jnp.sum(self.m, axis=-1)
        return jnp.sum(self.p * total, axis=-1) / self.bath.max_polarization_spin

    @property
    def shell_mean_iz(self) -> Float[Array, " S"]:
        """``⟨m_s⟩`` of every shell."""
        return jnp.einsum("...j,...js->...s", self.p, self.m)

    @property
    def absorption(self) -> Float[Array, ""]:
        """``Σ P (Γ + γ_hhlh) ρ_tt`` [µeV]."""
        return jnp.sum(self.p * self.absorption_m, axis=-1)


def shell_steady_state(
    params: Latta09Params,
    bath: ShellBath,
    *,
    include: tuple[str, ...] = PROCESSES,
    solver: AbstractSteadyStateSolver = DenseLU(),
) -> ShellSteadyState:
    """Stationary joint distribution of the shells' ``I_z`` for one parameter point
    (``jax.vmap`` over ``params`` to batch). ``include``, ``solver`` as in
    :func:`nuclear_steady_state`.

    Checks: ``bath`` a :class:`ShellBath` (``TypeError``), ``params`` as in
    :func:`nuclear_steady_state`; the block matrices must fit in memory
    (:class:`jaxspin.MemoryBudgetError` with the size, :meth:`ShellBath.nbytes`).

    Example:
        >>> from jaxspin.latta09 import Latta09Params, ShellBath, shell_steady_state
        >>> ss = shell_steady_state(Latta09Params(hyperfine=4.0), ShellBath((2, 2), (2.0, 1.0)))
        >>> round(float(ss.p.sum()), 12)
        1.0
    """
    if not isinstance(bath, ShellBath):
        raise TypeError(f"`bath` must be a latta09.ShellBath; got {type(bath).__name__}.")
    blocks = math.prod(sp.num_ladders for sp in bath.shells)
    k = math.prod(sp.num_m for sp in bath.shells)
    check_fits(
        bath.nbytes(),
        f"the {blocks} ladder-product blocks of {k} joint states of a {len(bath.sizes)}-shell "
        f"bath (sizes {bath.sizes})",
    )
    return _shell_steady_state(params, bath, jnp.asarray(include_mask(include)), solver)


def _block_tables(bath: ShellBath):
    """Host-side constants: for every block and joint state, each shell's ``I_s`` and
    ``m_s``, the block weight, the inside mask and the index of the block's anchor state
    (smallest ``|m_s|`` in every shell: inside every ladder)."""
    shells = bath.shells
    grid = bath.grid()
    spins = np.array(list(itertools.product(*(sp.spins for sp in shells))), float)  # (B, S)
    logw = np.array([sum(c) for c in itertools.product(*(sp.log_weights for sp in shells))], float)
    inside = np.all(np.abs(grid)[None, :, :] <= spins[:, None, :] + 1e-9, axis=-1)  # (B, J)
    anchor = int(np.argmin(np.sum(np.abs(grid), axis=-1)))
    sizes = [sp.num_m for sp in shells]
    strides = [math.prod(sizes[s + 1 :]) for s in range(len(sizes))]
    return grid, spins, np.exp(logw - np.max(logw)), inside, anchor, strides


@jit
def _shell_steady_state(params, bath, mask, solver):
    params = check_params(params)
    grid, spins, weights, inside, anchor, strides = _block_tables(bath)
    weights = weights / weights.sum()
    c = jnp.asarray(bath.couplings)
    m = jnp.asarray(grid)
    shift = params.hyperfine * (m @ c)  # (J,)
    rho, _ = steadystates(params, shift, solver)
    coeffs = process_coefficients(params, 1, rho, shift, mask)  # ε = (A/ω_z)²: scale by c_s²
    up_h, down_h = ladder_coefficients(coeffs)
    J = grid.shape[0]
    idx = np.arange(J)

    def block(spin_b, inside_b):
        W = jnp.zeros((J, J), shift.dtype)
        for s, stride in enumerate(strides):
            mu, md = ladder_matrix_elements(spin_b[s : s + 1], m[:, s])
            # m_s -> m_s ± 1 stays on the grid where the matrix element is non-zero
            W = W.at[(idx + stride) % J, idx].add(c[s] ** 2 * up_h * mu[0])
            W = W.at[(idx - stride) % J, idx].add(c[s] ** 2 * down_h * md[0])
        W = jnp.where(inside_b[:, None] & inside_b[None, :], W, 0.0)
        W = W.at[anchor, :].add(jnp.where(inside_b, 0.0, 1.0))  # outside -> anchor: transient
        return W.at[idx, idx].set(0.0)

    W = jax.vmap(block)(jnp.asarray(spins), jnp.asarray(inside))
    pb = stationary_distribution(W).p  # (B, J)
    p = jnp.asarray(weights) @ pb
    return ShellSteadyState(bath, m, p / p.sum(), shift, absorption(params, rho))
