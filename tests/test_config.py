"""jaxspin's process-wide settings: x64 on by default, opt-out, XLA flags."""

import os
import subprocess
import sys

import jax

import jaxspin


def _run(code, **env):
    drop = ("XLA_FLAGS", "JAXSPIN_ENABLE_X64", "JAXSPIN_CPU_DEVICES")
    full = {k: v for k, v in os.environ.items() if k not in drop}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120
    )


def test_x64_is_on_in_this_process():
    assert jaxspin.x64_enabled()
    assert jax.numpy.ones(1).dtype == jax.numpy.float64


def test_import_sets_x64_and_no_xla_flags():
    """x64 on; no XLA flag is added (the scheduler flag of the jax 0.10 days is gone: the
    pinned jaxlib < 0.10 cannot deadlock, see pyproject.toml and benchmarks/stress.py)."""
    out = _run(
        "import os, jaxspin, jax.numpy as jnp; "
        "print(jnp.ones(1).dtype, repr(os.environ.get('XLA_FLAGS', '')))"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float64", "''"]


def test_x64_opt_out_warns_and_uses_float32():
    out = _run(
        "import warnings; warnings.simplefilter('always'); import jaxspin, jax.numpy as jnp; "
        "print(jnp.ones(1).dtype)",
        JAXSPIN_ENABLE_X64="0",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "float32"
    assert "float32" in out.stderr


def test_cpu_devices_opt_in():
    out = _run(
        "import jaxspin, jax; print(len(jax.devices()))",
        JAXSPIN_CPU_DEVICES="3",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3"


def test_command_line_exposes_cpu_devices_after_the_package_import():
    """The ``jaxspin`` console script imports the package (settings applied without a
    device count) before ``main`` asks for one device per core: ``main`` re-applies them."""
    code = (
        "import sys, jaxspin, jaxspin._cli as cli, jax; "
        "cli.PAPERS = ('none',); cli._figures = lambda args: print(len(jax.devices())) or 0; "
        "sys.exit(cli.main(['figures', '--out', '.']))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("JAXSPIN_CPU_DEVICES", "XLA_FLAGS")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) == len(os.sched_getaffinity(0))
