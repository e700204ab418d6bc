"""Building a model on the engine: the input checks and batching the paper packages use.

The API of ``jaxspin`` itself is for computing; this module (after ``jax.extend``) is for
writing a new model next to the five papers with the same contracts. Each input is
converted and checked once, at the public boundary: shape errors are an eager
``ValueError`` naming the argument; a value check raises ``ValueError`` for a concrete
value and is staged (:func:`error_if`) when traced, so it also holds under ``jit``/``vmap``.
None of them changes units. ``tests/test_layering.py`` holds every paper package to the
names of ``jaxspin`` and of this module.
"""

from ._batching import map_batched as map_batched
from ._checks import error_if as error_if, result_error_if as result_error_if
from ._inputs import (
    as_operator as as_operator,
    as_real as as_real,
    bad_input as bad_input,
    check_finite as check_finite,
    check_hermitian as check_hermitian,
    check_int as check_int,
    check_positive as check_positive,
    check_value as check_value,
    complex_dtype as complex_dtype,
    concretely as concretely,
    is_concrete as is_concrete,
    real_dtype as real_dtype,
)
from ._spin import check_half_integer as check_half_integer
