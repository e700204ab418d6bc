"""Quantum-dot trion resonance dragging with a nuclear Dicke-state master equation [Latta09].

C. Latta et al., "Confluence of resonant laser excitation and bidirectional quantum-dot
nuclear-spin polarization", Nature Physics 5, 758 (2009), supplementary information.
See the latta09 section of README.md for the model, the parameter choices and their sources.
"""

from ._dicke import (
    DickeSpace as DickeSpace,
    log_ladder_weights as log_ladder_weights,
    matrix_elements as matrix_elements,
    multiplicities_exact as multiplicities_exact,
    total_spins as total_spins,
)
from ._dot import (
    absorption as absorption,
    dot_hamiltonian as dot_hamiltonian,
    dot_rates as dot_rates,
    dot_steadystate as dot_steadystate,
    populations as populations,
    w_abs as w_abs,
    w_peak as w_peak,
)
from ._dragging import (
    DraggingScan as DraggingScan,
    drag as drag,
    dragging_width as dragging_width,
    ladder_generators as ladder_generators,
    ladder_modes as ladder_modes,
    scan_detunings as scan_detunings,
    stationary_ladders as stationary_ladders,
    thermal_ladders as thermal_ladders,
)
from ._fits import (
    CommonSaturation as CommonSaturation,
    CriticalStep as CriticalStep,
    common_saturation_model as common_saturation_model,
    critical_step_model as critical_step_model,
    fit_common_saturation as fit_common_saturation,
    fit_critical_step as fit_critical_step,
)
from ._locking import (
    LockingPoint as LockingPoint,
    PolarizationRates as PolarizationRates,
    locking_points as locking_points,
    polarization_rates as polarization_rates,
    zero_crossings as zero_crossings,
)
from ._maps import (
    MAP_OUTPUTS as MAP_OUTPUTS,
    detuning_scan as detuning_scan,
    effective_detuning_lattice as effective_detuning_lattice,
    polarization_map as polarization_map,
    steady_observables as steady_observables,
)
from ._parameters import (
    DEFAULTS as DEFAULTS,
    RATE_UNIT_PER_SECOND as RATE_UNIT_PER_SECOND,
    Latta09Params as Latta09Params,
    electron_zeeman_ueV as electron_zeeman_ueV,
    seconds_to_rate_units as seconds_to_rate_units,
)
from ._phenomenological import PhenomenologicalModel as PhenomenologicalModel
from ._propagators import (
    AbstractLadderPropagator as AbstractLadderPropagator,
    ImplicitEuler as ImplicitEuler,
    RelaxationModes as RelaxationModes,
)
from ._rates import (
    DIRECTIONS as DIRECTIONS,
    PROCESSES as PROCESSES,
    ladder_coefficients as ladder_coefficients,
    process_coefficients as process_coefficients,
    spin_dephasing_rate as spin_dephasing_rate,
)
from ._shells import (
    ShellBath as ShellBath,
    ShellSteadyState as ShellSteadyState,
    shell_steady_state as shell_steady_state,
)
from ._stationary import (
    NuclearSteadyState as NuclearSteadyState,
    nuclear_steady_state as nuclear_steady_state,
)
