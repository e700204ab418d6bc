#!/usr/bin/env bash
# The GPU check on a lent NVIDIA GPU (JAX with CUDA already installed there), 8 minutes at
# most in all: install jaxspin without dependencies, print the versions it will run with,
# then benchmarks/gpu_check.py (CPU-vs-GPU agreement and the GPU speed rows, each row in a
# subprocess with its own time limit). The table is printed and, if $OUT is set, written
# to $OUT/gpu_check.md and $OUT/gpu_check.json.
#
#   bash benchmarks/gpu.sh                        # the full check
#   bash benchmarks/gpu.sh --only sweep mc        # some rows
#   NO_INSTALL=1 bash benchmarks/gpu.sh --small   # tiny sizes, e.g. on a CPU (no pip)
#
# PYTHON selects the interpreter (default python3). The machine has no network, so the
# editable install uses the setuptools already there (--no-build-isolation); if it fails,
# the checkout is put on PYTHONPATH instead.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TOTAL=${GPU_CHECK_TOTAL_S:-470}  # seconds for everything below (8 min, minus a margin)
start=$SECONDS
export PYTHONUNBUFFERED=1

if [ -n "${NO_INSTALL:-}" ] || ! timeout 120 "$PY" -m pip install -q --no-deps --no-build-isolation -e .; then
    echo "jaxspin not installed by pip: using PYTHONPATH=$PWD"
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi

timeout 60 "$PY" - <<'EOF'
import importlib
for name in ("jax", "jaxlib", "equinox", "lineax", "optimistix", "diffrax", "optax",
             "jaxtyping", "numpy", "scipy", "jaxspin"):
    try:
        module = importlib.import_module(name)
        print(f"{name} {getattr(module, '__version__', '?')}")
    except Exception as err:  # report every missing package, not just the first
        print(f"{name}: MISSING ({type(err).__name__}: {err})")
import jax
print("devices:", jax.devices())
EOF

left=$((TOTAL - (SECONDS - start)))
if [ "$left" -lt 60 ]; then
    echo "only ${left} s left after the set-up: not running the check"
    exit 1
fi
# the driver stops starting rows 15 s before the hard limit of `timeout`
timeout --kill-after=5 "$left" "$PY" benchmarks/gpu_check.py --budget $((left - 15)) "$@"
status=$?
echo "gpu.sh: status ${status} after $((SECONDS - start)) s"
exit "$status"
