r"""Model parameters of [Smirnov24] in the paper's dimensionless units, and batching.

Units (as the paper plots them):

* times in units of ``T2e* = ħ/(a√N_I)`` (Eq. (S14)), so ``τ = τc/T2e*`` and the
  Overhauser field has ``σ = 1/2`` per Cartesian component (Eq. (S23));
* magnetic fields in one unit of the caller's choice, the same for ``B``, ``B_L`` and
  ``Δ_B``. The paper's Fig. 2 uses ``B̃_L = √3 B_L`` as the unit with ``Δ_B = 100 B̃_L``:
  :meth:`Parameters.paper` sets exactly that (``b_local = 1/√3``, ``delta_b = 100``);
* ``Δ_B = 1/(|γ_e| T2e*)``: the field at which the electron Larmor frequency equals
  ``1/T2e*``, so ``Ω_B T2e* = B/Δ_B``. This is our reading of the caption's ``Δ_B``: it
  makes the text's condition ``N_I ≫ (T2e* γ_e B_L)^-2 = (Δ_B/B_L)^2 = 3e4`` separate the
  two curves of Fig. 2(c) (``N_I = 1e6`` and ``1e4``) and Eq. (10)'s saturation value
  ``1/(γ_e T2e*)`` equal ``Δ_B``;
* the inverse spin temperature is returned as ``ħγ_N β`` (inverse field unit); multiply by
  ``1/(ħ γ_N)`` in physical units for ``β`` (see ``_units.py``).
"""

import functools
import inspect
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._batching import map_batched
from .._checks import jit
from .._inputs import as_real, check_finite, check_value


SQRT3 = math.sqrt(3.0)


# field -> (bad(x), what it must be); NaN fails every test.
_FIELD_CHECKS = {
    "tau_c": (lambda x: ~((x >= 0) & jnp.isfinite(x)), ">= 0 and finite"),
    "b_local": (lambda x: ~((x > 0) & jnp.isfinite(x)), "> 0 and finite"),
    "delta_b": (lambda x: ~(x > 0), "> 0 (inf allowed)"),
    "n_i": (lambda x: ~(x > 0), "> 0 (inf allowed)"),
    "s_z": (lambda x: ~(jnp.abs(x) <= 0.5), "in [-1/2, 1/2] (a mean electron spin)"),
    "mean_overhauser": (lambda x: ~jnp.isfinite(x), "finite"),
}


class Parameters(eqx.Module):
    r"""Physical parameters of one quantum dot ensemble [Smirnov24] (all traced).

    **Fields** (scalars or arrays that broadcast together; functions of this package
    broadcast them with their field argument):

    - ``tau_c``: electron correlation time ``τc/T2e*`` (``≥ 0``; ``0`` is the short-τc
      limit, evaluated exactly, e.g. Dyakonov-Perel's ``β``).
    - ``b_local``: nuclear local field ``B_L`` of Eq. (S33) (field unit; ``> 0``). The
      dipolar value of Eq. (S32) is ``B̃_L = √3 B_L``.
    - ``delta_b``: ``Δ_B = 1/(|γ_e| T2e*)`` (field unit; ``> 0``, ``inf`` switches the
      electron Zeeman effect off).
    - ``n_i``: ``N_I = 4NI(I+1)/3`` (``> 0``; ``inf`` gives Eq. (9) for Φ, a finite value
      the interpolation (S38)).
    - ``s_z``: mean electron spin ``<S_z>`` along the field (only scales ``β``).
    - ``mean_overhauser``: mean Overhauser field ``<Ω_N> T2e*`` along the field
      (Eqs. (S23), (S24)); the paper's results assume it negligible (``0``).

    Construction checks these ranges (NaN fails all; ``|s_z| ≤ 1/2``) and that the fields
    broadcast together: ``ValueError`` for concrete values, ``eqx.error_if`` (a runtime
    error) for values traced inside ``jit``/``vmap``/``grad`` (each check travels with its
    field: it fires wherever the field is used).
    """

    tau_c: Float[Array, "..."]
    b_local: Float[Array, "..."]
    delta_b: Float[Array, "..."]
    n_i: Float[Array, "..."]
    s_z: Float[Array, "..."]
    mean_overhauser: Float[Array, "..."]

    def __init__(
        self,
        tau_c: ArrayLike,
        b_local: ArrayLike = 1.0 / SQRT3,
        delta_b: ArrayLike = 100.0,
        n_i: ArrayLike = math.inf,
        s_z: ArrayLike = 0.5,
        mean_overhauser: ArrayLike = 0.0,
    ):
        values = {
            "tau_c": as_real(tau_c, "tau_c"),
            "b_local": as_real(b_local, "b_local"),
            "delta_b": as_real(delta_b, "delta_b"),
            "n_i": as_real(n_i, "n_i"),
            "s_z": as_real(s_z, "s_z"),
            "mean_overhauser": as_real(mean_overhauser, "mean_overhauser"),
        }
        try:
            jnp.broadcast_shapes(*(v.shape for v in values.values()))
        except ValueError:
            shapes = ", ".join(f"{k} {v.shape}" for k, v in values.items())
            raise ValueError(
                f"Parameters: the fields must broadcast together; got {shapes}."
            ) from None
        for name, (bad, what) in _FIELD_CHECKS.items():
            msg = f"Parameters: `{name}` must be {what}."
            setattr(self, name, check_value(values[name], bad, msg))

    @classmethod
    def paper(cls, tau_c: ArrayLike, n_i: ArrayLike = 1e6, s_z: ArrayLike = 0.5) -> "Parameters":
        """The parameters of [Smirnov24, Fig. 2]: ``Δ_B = 100 B̃_L``, fields in units of
        ``B̃_L = √3 B_L``."""
        return cls(tau_c, b_local=1.0 / SQRT3, delta_b=100.0, n_i=n_i, s_z=s_z)

    @property
    def b_local_dipolar(self) -> Float[Array, "..."]:
        """``B̃_L = √3 B_L`` (Eq. (S32) for dipole-dipole interactions)."""
        return SQRT3 * self.b_local


def _leaves(params: Parameters) -> list[Array]:
    if not isinstance(params, Parameters):
        raise TypeError(f"`params` must be a smirnov24.Parameters; got {type(params).__name__}.")
    return jax.tree.leaves(params)


def vectorize(kernel, params: Parameters, *arrays: ArrayLike, names=()):
    """Apply a single-point ``kernel(params, *scalars)`` over the broadcast shape of the
    leaves of ``params`` and ``arrays`` (engine batching: vmap in cache-sized blocks)."""
    leaves = _leaves(params)
    treedef = jax.tree.structure(params)
    arrays = [
        as_real(a, n)
        for a, n in zip(arrays, names or [f"arg{i}" for i in range(len(arrays))], strict=True)
    ]
    n = len(leaves)

    def one(*xs):
        return kernel(jax.tree.unflatten(treedef, xs[:n]), *xs[n:])

    all_args = leaves + arrays
    all_names = [f"params.{f}" for f in _FIELDS] + list(names)
    return map_batched(one, all_args, [0] * len(all_args), all_names)


_FIELDS = ("tau_c", "b_local", "delta_b", "n_i", "s_z", "mean_overhauser")


def entry_point(*array_args: str):
    """Decorator for public functions: one ``eqx.filter_jit`` boundary, with the named
    arguments converted to float arrays (and checked finite) *before* it, so that calls
    with new Python numbers reuse the compiled code instead of recompiling."""

    def decorate(fn):
        jitted = jit(fn)
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            for name in array_args:
                bound.arguments[name] = check_finite(as_real(bound.arguments[name], name), name)
            return jitted(*bound.args, **bound.kwargs)

        return wrapper

    return decorate
