"""The persistent compilation cache (jaxspin/_cache.py, issue 15 item 1)."""

import os
import subprocess
import sys
import time

import pytest

import jaxspin
from jaxspin import _cache


SCRIPT = """
import jaxspin  # first: JAX is imported after jaxspin has set XLA's log level
import jax.numpy as jnp
from jax import monitoring
hits = []
monitoring.register_event_listener(
    lambda e, **k: hits.append(e) if e == "/jax/compilation_cache/cache_hits" else None
)
H = jnp.diag(jnp.array([0.0, 1.0, 2.0])).astype(complex)
rho = jaxspin.steadystate(H, rates=jnp.ones((3, 3)) - jnp.eye(3)).rho
print("DIR", jaxspin.compilation_cache_dir())
print("HITS", len(hits))
print("RHO", float(rho[0, 0].real))
jaxspin.disable_compilation_cache()
print("OFF", jaxspin.compilation_cache_dir())
"""


def _run(env_extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAXSPIN_COMPILATION")}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    env.update(env_extra)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    return out, proc.stderr


def test_library_default_is_off(tmp_path):
    out, _ = _run({"JAXSPIN_CACHE_DIR": str(tmp_path / "c")}, tmp_path)
    assert out["DIR"] == "None"
    assert not (tmp_path / "c").exists()


def test_environment_opt_in_writes_then_reads_back(tmp_path):
    folder = tmp_path / "cache"
    first, _ = _run({"JAXSPIN_COMPILATION_CACHE": str(folder)}, tmp_path)
    assert first["DIR"] == str(folder)
    assert first["OFF"] == "None"  # disable_compilation_cache switches it off
    written = list(folder.glob("*-cache"))
    assert written, "nothing was written to the cache folder"
    second, err = _run({"JAXSPIN_COMPILATION_CACHE": str(folder)}, tmp_path)
    assert int(second["HITS"]) > int(first["HITS"])  # read back instead of compiled
    assert second["RHO"] == first["RHO"]
    assert "cpu_aot_loader" not in err  # XLA's spurious per-entry error is silenced


def test_off_wins_and_default_folder_is_per_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXSPIN_COMPILATION_CACHE", "0")
    assert _cache.requested() is None
    for on in ("1", "on", "yes"):
        monkeypatch.setenv("JAXSPIN_COMPILATION_CACHE", on)
        assert _cache.requested() == ""
    monkeypatch.setenv("JAXSPIN_COMPILATION_CACHE", str(tmp_path))
    assert _cache.requested() == str(tmp_path)
    monkeypatch.setenv("JAXSPIN_COMPILATION_CACHE", "  ")  # blank: as if unset
    assert _cache.requested() is None
    monkeypatch.setenv("JAXSPIN_CACHE_DIR", str(tmp_path / "root"))
    here = _cache.default_cache_dir()
    assert here.parent == tmp_path / "root" and here.name.startswith("xla-")
    monkeypatch.setattr(_cache, "_cpu_description", lambda: "another CPU, other flags")
    assert _cache.default_cache_dir() != here  # no executable crosses CPU types


def test_cli_detection(monkeypatch):
    monkeypatch.delenv("JAXSPIN_COMPILATION_CACHE", raising=False)
    monkeypatch.setattr(sys, "orig_argv", ["python", "-m", "jaxspin", "figures", "--quiet"])
    assert _cache.cli_command() == "figures" and _cache.requested() == ""
    monkeypatch.setattr(sys, "orig_argv", ["python", "-m", "jaxspin", "bench"])
    assert _cache.cli_command() == "bench" and _cache.requested() is None  # measures compiles
    monkeypatch.setattr(sys, "orig_argv", ["python", "script.py"])
    monkeypatch.setattr(sys, "argv", ["/usr/bin/jaxspin", "--watchdog", "5", "figures"])
    assert _cache.cli_command() == "5"  # the first non-option word (argparse refuses it)
    monkeypatch.setattr(sys, "argv", ["script.py"])
    assert _cache.cli_command() is None and _cache.requested() is None


def test_prune_keeps_the_newest(tmp_path):
    now = time.time()
    for i in range(10):
        p = tmp_path / f"e{i}-cache"
        p.write_bytes(b"x" * 100)
        os.utime(p, (now - 100 + i, now - 100 + i))
    _cache._prune(tmp_path, 500)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [f"e{i}-cache" for i in range(6, 10)]  # 400 bytes <= 80 % of 500
    _cache._prune(tmp_path, 10_000)
    assert len(list(tmp_path.iterdir())) == 4


def test_enable_checks_arguments_before_switching_anything_on(tmp_path):
    with pytest.raises(ValueError, match="min_compile_time_s"):
        jaxspin.enable_compilation_cache(tmp_path, min_compile_time_s=-1.0)
    with pytest.raises(ValueError, match="max_bytes"):
        jaxspin.enable_compilation_cache(tmp_path, max_bytes=0)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="cannot create the cache folder"):
        jaxspin.enable_compilation_cache(blocker / "sub")
    assert jaxspin.compilation_cache_dir() is None  # nothing was switched on
