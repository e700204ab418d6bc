"""Batching over leading axes: one single-problem kernel, vmapped, cache-blocked.

Public jaxspin functions accept leading batch dimensions on their array arguments
(broadcast against each other, NumPy style) and map a single-problem kernel over them.
Large batches run as ``jax.lax.map(..., batch_size=block_size)``: a ``vmap`` over blocks of
``block_size`` points executed one block after another, so the intermediates of a block stay
in cache (measured on CPU: 2-3x faster than one ``vmap`` over 2e5 small problems) and
peak memory is bounded by one block.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


DEFAULT_BLOCK_SIZE = 256


def batch_shape(args: Sequence[Any], core_ndims: Sequence[int], names: Sequence[str]):
    """Broadcast batch shape of ``args`` whose trailing ``core_ndims`` are per-problem.

    Raises ``ValueError`` naming the argument when one has too few dimensions, when the
    batch dimensions do not broadcast, or when the batch is empty (a dimension of size 0:
    there is nothing to compute, and an empty result would hide a slicing mistake)."""
    shapes = []
    for a, k, name in zip(args, core_ndims, names, strict=True):
        if a is None:
            continue
        if a.ndim < k:
            raise ValueError(f"`{name}` needs at least {k} dimensions; got shape {a.shape}.")
        shapes.append(a.shape[: a.ndim - k])
    detail = ", ".join(f"{n}: {a.shape}" for a, n in zip(args, names, strict=True) if a is not None)
    try:
        bshape = tuple(jnp.broadcast_shapes(*shapes)) if shapes else ()
    except ValueError as err:
        raise ValueError(f"Batch dimensions do not broadcast ({detail}).") from err
    if 0 in bshape:
        empty = [
            f"`{n}` {a.shape}"
            for a, k, n in zip(args, core_ndims, names, strict=True)
            if a is not None and 0 in a.shape[: a.ndim - k]
        ]
        raise ValueError(
            f"Empty batch: {', '.join(empty)} has a batch dimension of size 0, so there is "
            f"nothing to compute (batch shape {bshape})."
        )
    return bshape


def batched_nbytes(args: Sequence[Any], core_ndims: Sequence[int], bshape: tuple[int, ...]) -> int:
    """Bytes of the broadcast, flattened copies of the batched ``args`` that
    :func:`map_batched` materialises (for memory estimates before the call)."""
    size = math.prod(bshape)
    total = 0
    for a, k in zip(args, core_ndims, strict=True):
        if a is not None and a.ndim > k:
            total += size * math.prod(a.shape[a.ndim - k :]) * a.dtype.itemsize
    return total


def map_batched(
    kernel: Callable[..., Any],
    args: Sequence[Any],
    core_ndims: Sequence[int],
    names: Sequence[str],
    *,
    block_size: int | None = DEFAULT_BLOCK_SIZE,
) -> Any:
    """Apply ``kernel`` (one problem) over the broadcast leading dims of ``args``.

    ``core_ndims[i]`` is the number of trailing (core) dimensions of ``args[i]``, ``names``
    name the arguments in shape errors (``ValueError``); values and units pass through.
    Arguments that are ``None`` or have no batch dimensions are passed unbatched.
    Returns the kernel's PyTree output with the batch shape prepended to every leaf.
    ``block_size`` is a positive int or ``None`` (one ``vmap``); ``ValueError`` otherwise.
    """
    if block_size is not None:
        if isinstance(block_size, bool) or not isinstance(block_size, int | np.integer):
            raise ValueError(f"`block_size` must be a positive int or None; got {block_size!r}.")
        if block_size < 1:
            raise ValueError(f"`block_size` must be a positive int or None; got {block_size!r}.")
        block_size = int(block_size)
    bshape = batch_shape(args, core_ndims, names)
    if bshape == ():
        return kernel(*args)
    size = math.prod(bshape)
    batched_pos = [
        i
        for i, (a, k) in enumerate(zip(args, core_ndims, strict=True))
        if a is not None and a.ndim > k
    ]
    flat = []
    for i in batched_pos:
        a, k = args[i], core_ndims[i]
        core = a.shape[a.ndim - k :]
        flat.append(jnp.broadcast_to(a, bshape + core).reshape((size,) + core))

    def one(xs):
        full = list(args)
        for i, x in zip(batched_pos, xs, strict=True):
            full[i] = x
        return kernel(*full)

    if block_size is None or size <= block_size:
        out = jax.vmap(one)(flat)
    else:
        # The remainder (size % block_size points) runs as one more, smaller vmap.
        out = jax.lax.map(one, flat, batch_size=block_size)
    return jax.tree_util.tree_map(lambda o: o.reshape(bshape + o.shape[1:]), out)
