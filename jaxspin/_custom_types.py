"""Type aliases shared by jaxspin's signatures (shapes in jaxtyping notation)."""

from typing import Any, TypeAlias

import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Complex, Float, Int


# Anything a user may pass as an operator: a JAX or NumPy array, a nested list, or an
# object with a ``.full()`` method returning a dense array (a QuTiP ``Qobj``; converted by
# duck typing, QuTiP itself is never imported).
OperatorLike: TypeAlias = ArrayLike | Any
RealScalarLike: TypeAlias = float | int | np.floating | Float[ArrayLike, ""]
ScalarLike: TypeAlias = complex | float | int | ArrayLike

Operator: TypeAlias = Complex[Array, "n n"]
Operators: TypeAlias = Complex[Array, "k n n"]
DensityMatrix: TypeAlias = Complex[Array, "n n"]
RealVector: TypeAlias = Float[Array, " m"]
RealMatrix: TypeAlias = Float[Array, "m m"]
RateMatrix: TypeAlias = Float[Array, "n n"]
Probabilities: TypeAlias = Float[Array, " n"]

__all__ = [
    "Array",
    "ArrayLike",
    "Bool",
    "Complex",
    "Float",
    "Int",
    "OperatorLike",
    "RealScalarLike",
    "ScalarLike",
    "Operator",
    "Operators",
    "DensityMatrix",
    "RealVector",
    "RealMatrix",
    "RateMatrix",
    "Probabilities",
]
