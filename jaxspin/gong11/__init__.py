"""Overhauser-field decay by nuclear spin diffusion in a quantum dot [Gong11].

Z. Gong, Z. Yin, L.-M. Duan, New J. Phys. 13, 033036 (2011). Lattices and couplings
(Eqs. (6), (18)-(21)), the diffusion tensor (Eqs. (23)-(25)), the lattice rate equation
(Eq. (17)) and the continuum equation on a disk, the Overhauser-field decay and fits.
the gong11 section of README.md lists the readings of the printed paper and the checks behind them.
"""

from ._couplings import (
    NEV_RAD_S as NEV_RAD_S,
    PAPER_PREFACTORS as PAPER_PREFACTORS,
    QuantumDot as QuantumDot,
    bond_rates as bond_rates,
    bond_rates_at as bond_rates_at,
    diffusion_coefficient as diffusion_coefficient,
    diffusion_map as diffusion_map,
    diffusion_tensor as diffusion_tensor,
    dipolar as dipolar,
    effective_coupling as effective_coupling,
    electron_mediated as electron_mediated,
    flipflop_prefactors as flipflop_prefactors,
    flipflop_rate as flipflop_rate,
    hyperfine as hyperfine,
)
from ._decay import (
    continuum_problem as continuum_problem,
    default_neighbourhood as default_neighbourhood,
    lattice_decay as lattice_decay,
    overhauser_decay as overhauser_decay,
    overhauser_vectors as overhauser_vectors,
)
from ._fit import (
    ConstantDiffusion as ConstantDiffusion,
    SpectralDecay as SpectralDecay,
    constant_diffusion_model as constant_diffusion_model,
    fit_dot as fit_dot,
    fit_effective_diffusion as fit_effective_diffusion,
)
from ._krylov import (
    ODE as ODE,
    AbstractPropagator as AbstractPropagator,
    Eigen as Eigen,
    Krylov as Krylov,
    lanczos as lanczos,
    spectral_form as spectral_form,
)
from ._lattice import (
    AbstractLattice as AbstractLattice,
    FCCLattice as FCCLattice,
    Neighbourhood as Neighbourhood,
    SquareLattice as SquareLattice,
    neighbourhood as neighbourhood,
)
from ._master import (
    LatticeDiffusion as LatticeDiffusion,
    lattice_diffusion as lattice_diffusion,
    neighbour_list as neighbour_list,
)
from ._pde import (
    DiffusionOperator as DiffusionOperator,
    DiskGrid as DiskGrid,
    diffusion_operator as diffusion_operator,
)
