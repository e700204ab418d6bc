"""jaxspin: GPU-accelerated, differentiable simulation of hyperfine-driven nuclear spin physics.

Importing jaxspin turns on JAX's float64 mode (``jax_enable_x64``): every public function
computes in float64/complex128. Opt out with ``JAXSPIN_ENABLE_X64=0`` in the environment
before the import; ``jaxspin/_config.py`` explains it and the opt-in CPU device count.
The persistent compilation cache (on for ``jaxspin figures``, opt-in for the library:
:func:`enable_compilation_cache` or ``JAXSPIN_COMPILATION_CACHE=1``) is explained in
``jaxspin/_cache.py``.
"""

from . import _cache


if _cache.requested() is not None:  # before JAX is imported: see jaxspin/_cache.py
    _cache.quiet_xla_log()

from . import _config  # noqa: E402


_config.apply()

# ruff: noqa: E402  (the settings above must precede every JAX computation)
# One subpackage per paper: jaxspin.danon11, .smirnov24, .latta09, .deluca16, .gong11.
from . import (
    constants as constants,
    danon11 as danon11,
    deluca16 as deluca16,
    extend as extend,
    gong11 as gong11,
    latta09 as latta09,
    smirnov24 as smirnov24,
)
from ._cache import (
    compilation_cache_dir as compilation_cache_dir,
    disable_compilation_cache as disable_compilation_cache,
    enable_compilation_cache as enable_compilation_cache,
)
from ._checks import jit as jit
from ._config import x64_enabled as x64_enabled
from ._evolve import (
    Trajectory as Trajectory,
    odesolve as odesolve,
    propagate as propagate,
    ratesolve as ratesolve,
)
from ._fit import FitResult as FitResult, FitResults as FitResults, fit as fit
from ._liouvillian import (
    Lindbladian as Lindbladian,
    from_real as from_real,
    to_real as to_real,
)
from ._memory import (
    MemoryBudgetError as MemoryBudgetError,
    available_memory_bytes as available_memory_bytes,
    check_fits as check_fits,
    format_bytes as format_bytes,
)
from ._mesolve import mesolve as mesolve
from ._overhauser import (
    MonteCarloEstimate as MonteCarloEstimate,
    OverhauserField as OverhauserField,
    QuadratureEstimate as QuadratureEstimate,
    TanhSinh as TanhSinh,
    angular_moments as angular_moments,
    overhauser_mc as overhauser_mc,
    overhauser_quad as overhauser_quad,
    overhauser_radial as overhauser_radial,
    radial_density as radial_density,
)
from ._progress import Progress as Progress
from ._qutip import to_qutip as to_qutip
from ._ratematrix import (
    GTH as GTH,
    STATIONARY_RESULTS as STATIONARY_RESULTS,
    AbstractStationarySolver as AbstractStationarySolver,
    BirthDeathModes as BirthDeathModes,
    BlockTridiagonalRates as BlockTridiagonalRates,
    DenseLUStationary as DenseLUStationary,
    Stationary as Stationary,
    birth_death_modes as birth_death_modes,
    birth_death_stationary as birth_death_stationary,
    generator as generator,
    relaxation_rates as relaxation_rates,
    relaxation_rates_block_tridiagonal as relaxation_rates_block_tridiagonal,
    stationary_block_tridiagonal as stationary_block_tridiagonal,
    stationary_block_tridiagonal_streamed as stationary_block_tridiagonal_streamed,
    stationary_distribution as stationary_distribution,
    streamed_block_bytes as streamed_block_bytes,
)
from ._spectrum import (
    correlation_2op_1t as correlation_2op_1t,
    spectrum as spectrum,
    susceptibility as susceptibility,
)
from ._spin import (
    SpinOperators as SpinOperators,
    collective_operators as collective_operators,
    dicke_multiplicity as dicke_multiplicity,
    embed as embed,
    kron as kron,
    product_m_values as product_m_values,
    sector_indices as sector_indices,
    spin_dim as spin_dim,
    spin_m_values as spin_m_values,
    spin_operators as spin_operators,
    total_spin_values as total_spin_values,
)
from ._steady import (
    RESULTS as RESULTS,
    AbstractSteadyStateSolver as AbstractSteadyStateSolver,
    DenseLU as DenseLU,
    Iterative as Iterative,
    LindbladFactorization as LindbladFactorization,
    SteadyState as SteadyState,
    factorize as factorize,
    linear_response as linear_response,
    steadystate as steadystate,
)
from ._sweep import sweep as sweep
from ._sweep_result import SweepResult as SweepResult, load_sweep as load_sweep
from ._transform import (
    AbstractTransform as AbstractTransform,
    Bounded as Bounded,
    Identity as Identity,
    Positive as Positive,
)


__version__ = "0.1.0"
