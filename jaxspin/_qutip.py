"""Interoperability with QuTiP, both ways, without importing QuTiP at import time.

In: every operator argument may be a QuTiP ``Qobj`` (read with ``.full()`` by duck typing,
:func:`jaxspin._inputs.as_operator`); a superoperator (``Qobj.issuper``, e.g. the result
of ``qutip.liouvillian``) is refused with a message that says so, since jaxspin builds
``L`` from ``H`` and the jump operators itself. Results remember the ``dims`` of a
``Qobj`` input (:class:`jaxspin.SteadyState`, :class:`jaxspin.Trajectory`).

Out: :func:`to_qutip` turns arrays and results back into ``Qobj`` (QuTiP imported then).

Vectorisation: jaxspin's ``vec`` is row-major (``vec(ρ)[i n + j] = ρ[i, j]``), QuTiP's
``operator_to_vector`` stacks columns (``vec(ρ)[i + j n]``); the two superoperators differ
by the transpose permutation ``P``: ``Lindbladian.superop() = P · qutip.liouvillian · P``
(tested in ``tests/test_liouvillian.py``).
"""

from typing import Any

import numpy as np


Dims = tuple[tuple[int, ...], tuple[int, ...]]


def qutip_dims(*objs: Any) -> Dims | None:
    """Operator ``dims`` ``(space, space)`` of the first QuTiP object among ``objs`` (a
    ket gives those of its density matrix), else None."""
    for x in objs:
        dims = getattr(x, "dims", None)
        if dims is None or not hasattr(x, "full") or isinstance(x, np.ndarray):
            continue
        if getattr(x, "issuper", False) is True:
            continue  # refused where it is used as an operator
        space = tuple(int(d) for d in dims[0])
        return (space, space)
    return None


def check_not_superoperator(x: Any, name: str) -> None:
    """Refuse a QuTiP superoperator where an operator is expected (``ValueError``)."""
    if getattr(x, "issuper", False) is True:
        raise ValueError(
            f"`{name}` is a QuTiP superoperator ({x.shape[0]} x {x.shape[1]}, e.g. from "
            "qutip.liouvillian); jaxspin builds the Lindbladian itself: pass the Hamiltonian "
            "and the jump operators, e.g. jaxspin.steadystate(H, c_ops)."
        )


def to_qutip(x: Any, dims: Dims | None = None):
    """A QuTiP ``Qobj`` (or a list of them) from a jaxspin array or result.

    - an operator ``(n, n)`` or ket ``(n,)`` → ``Qobj``; a stack ``(T, n, n)`` → list;
    - :class:`jaxspin.SteadyState` → its ``rho``; :class:`jaxspin.Trajectory` → its states.

    ``dims``: QuTiP dims of the operator; default the result's own ``dims`` (from a
    ``Qobj`` input), else flat. Needs QuTiP (``ImportError`` saying so otherwise); only
    unbatched results (a batched ``SteadyState`` has leading axes: index it first).
    """
    try:
        import qutip
    except ImportError as err:  # pragma: no cover - qutip is a test extra
        raise ImportError("jaxspin.to_qutip needs QuTiP: pip install qutip") from err
    if hasattr(x, "rho") and hasattr(x, "result"):
        dims = dims if dims is not None else getattr(x, "dims", None)
        x = x.rho
    elif hasattr(x, "ys") and hasattr(x, "ts"):
        dims = dims if dims is not None else getattr(x, "dims", None)
        x = x.ys
    arr = np.asarray(x)
    if arr.ndim == 1:
        ket_dims = None if dims is None else [list(dims[0]), [1]]
        return qutip.Qobj(arr.reshape(-1, 1), dims=ket_dims)
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1]:
        return qutip.Qobj(arr, dims=None if dims is None else [list(d) for d in dims])
    if arr.ndim == 3 and arr.shape[1] == arr.shape[2]:
        return [to_qutip(a, dims) for a in arr]
    raise ValueError(
        f"`x` must be an operator (n, n), a ket (n,) or a stack (T, n, n); got {arr.shape}."
    )
