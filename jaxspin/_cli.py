"""The ``jaxspin`` command line: paper figures and benchmarks.

    jaxspin figures [--only KEY ...] [--out DIR] [--size small|paper|large] [--watchdog S]
    jaxspin bench   [--only KEY ...] [--out DIR] [--quick] [--watchdog S]

KEY is a paper key (danon11, smirnov24, latta09, deluca16, gong11), or ``engine`` or
``evolve`` (mesolve vs QuTiP) for benchmarks. Figures come from the example scripts in
``examples/`` (installed as ``jaxspin.examples``): each ``examples/<key>.py`` defines
``make_figures(out_dir, *, size="small", progress=True) -> list[Path]`` writing PNGs whose
names start with the key, plus the data behind them (``.npz``). Benchmarks come from
``benchmarks/bench_<key>.py`` (installed as ``jaxspin.benchmarks``), each defining
``run(quick=False) -> list[dict]`` (a table: one dict per row, ratios against baselines
measured in the same run) and ``scaling(quick=False) -> dict`` (how the cost grows with
problem size: keys ``xlabel``, ``sizes``, ``seconds``, optional ``label``/``title``, or
``curves = {label: (sizes, seconds)}`` for several curves).

The command line exposes all host CPU cores as JAX devices (``JAXSPIN_CPU_DEVICES=auto``)
unless the environment says otherwise, so sweeps shard over cores.

A stall watchdog (:mod:`jaxspin._watchdog`) guards both commands: if no progress is reported
for ``--watchdog`` seconds (default ``JAXSPIN_WATCHDOG_S`` or 900; 0 switches it off), it
says what was running, dumps every thread's stack and exits with status 3.

Every argument is checked before any work, and a bad one ends the command with status 2
and argparse's usage message: an unknown option or command, an unknown ``--only`` key or
``--size`` (the valid ones are listed), a ``--watchdog`` that is not a finite number of
seconds ``>= 0``, an ``--out`` that is empty, an existing file or not writable.
"""

import argparse
import importlib
import math
import os
import sys
import time
from pathlib import Path

from . import _watchdog


PAPERS = ("danon11", "smirnov24", "latta09", "deluca16", "gong11")
BENCHMARKS = ("engine", "evolve", *PAPERS)


def _load_module(name: str):
    return importlib.import_module(name)


def _output_dir(value: str) -> Path:
    """The output directory, created and checked writable before any work."""
    if not value.strip():
        raise ValueError("--out must name a directory; got an empty string.")
    out = Path(value)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {value!r} is an existing file, not a directory.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".jaxspin-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"--out {value!r} cannot be written to ({err.strerror}).") from None
    return out


def _figures(args) -> int:
    keys = args.only or list(PAPERS)
    out = args.out_dir
    failed = []
    for key in keys:
        t0 = time.perf_counter()
        _watchdog.stage(f"jaxspin figures --only {key}")
        print(f"== {key}: making figures into {out} ({args.size} size)", file=sys.stderr)
        try:
            module = _load_module(f"jaxspin.examples.{key}")
        except ModuleNotFoundError as err:
            print(f"   {key}: no example module ({err})", file=sys.stderr)
            failed.append(key)
            continue
        size = args.size
        if size not in getattr(module, "FIGURE_SIZES", ("small", "paper")):
            # "large" goes beyond a paper's sizes; a paper without such a configuration
            # (its figures are already at the paper's resolution) runs at "paper" size.
            print(f"   {key}: no '{size}' configuration; using 'paper'", file=sys.stderr)
            size = "paper"
        paths = module.make_figures(out, size=size, progress=not args.quiet)
        dt = time.perf_counter() - t0
        for p in paths:
            print(f"   wrote {p}")
        print(f"== {key}: {len(paths)} files in {dt:.1f} s", file=sys.stderr)
    if failed:
        print(f"missing example modules: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _bench(args) -> int:
    import jax
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = args.only or list(BENCHMARKS)
    out = args.out_dir
    device = jax.devices()[0]
    device_desc = f"{device.platform}:{device.device_kind} x{len(jax.devices())}"
    report = [f"# jaxspin bench on {device_desc}\n"]
    for key in keys:
        try:
            module = _load_module(f"jaxspin.benchmarks.bench_{key}")
        except ModuleNotFoundError as err:
            print(f"{key}: no benchmark module ({err})", file=sys.stderr)
            continue
        print(f"== benchmark {key} on {device_desc}", file=sys.stderr)
        _watchdog.stage(f"jaxspin bench --only {key}: table")
        rows = module.run(quick=args.quick)
        report.append(f"## {key}\n")
        if rows:
            cols = list(rows[0])
            report.append("| " + " | ".join(cols) + " |")
            report.append("|" + "---|" * len(cols))
            for row in rows:
                report.append("| " + " | ".join(_fmt(row.get(c)) for c in cols) + " |")
            report.append("")
        if hasattr(module, "scaling"):
            _watchdog.stage(f"jaxspin bench --only {key}: scaling")
            sc = module.scaling(quick=args.quick)
            fig, ax = plt.subplots(figsize=(5.5, 4))
            curves = sc.get("curves") or {sc.get("label", key): (sc["sizes"], sc["seconds"])}
            for label, (sizes, seconds) in curves.items():
                ax.loglog(sizes, seconds, "o-", label=label)
            ax.set_xlabel(sc["xlabel"])
            ax.set_ylabel("wall time [s]")
            ax.set_title(sc.get("title", f"{key}: cost vs size") + f"\n({device_desc})")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
            fig.tight_layout()
            path = out / f"bench_{key}_scaling.png"
            fig.savefig(path, dpi=130)
            plt.close(fig)
            print(f"   wrote {path}")
    (out / "bench_report.md").write_text("\n".join(report) + "\n")
    print(f"   wrote {out / 'bench_report.md'}")
    return 0


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("JAXSPIN_CPU_DEVICES", "auto")
    # The console script imports the jaxspin package (and so applies its settings) before
    # this line runs; no JAX computation has happened yet, so apply them again with the
    # device count (idempotent).
    from . import _config

    if not _config._backends_initialized():  # called from a live process: leave it alone
        _config.apply()

    parser = argparse.ArgumentParser(prog="jaxspin", description=__doc__.split("\n\n")[0])
    # Not `required=True`: argparse would then report a missing command before an unknown
    # option (``jaxspin --bogus``); both are checked below, unknown options first.
    sub = parser.add_subparsers(dest="command", metavar="{figures,bench}")
    fig = sub.add_parser("figures", help="make the papers' figures (PNG + data)")
    fig.add_argument("--only", nargs="+", choices=PAPERS, metavar="KEY", help="paper keys")
    fig.add_argument("--out", default="figures", help="output directory (default: figures)")
    fig.add_argument(
        "--size",
        choices=("small", "paper", "large"),
        default="small",
        help="small: minutes on 2 CPU cores (default); paper: the papers' resolution; "
        "large: beyond the papers' sizes (deluca16 N = 14/16, latta09 N = 1e4-1e5; "
        "about an hour on 2 cores; 'paper' for the other papers)",
    )
    fig.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_watchdog_option(fig)
    bench = sub.add_parser("bench", help="run the benchmarks and draw cost vs size")
    bench.add_argument("--only", nargs="+", choices=BENCHMARKS, metavar="KEY")
    bench.add_argument("--out", default="bench", help="output directory (default: bench)")
    bench.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    _add_watchdog_option(bench)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        (sub.choices[args.command] if args.command else parser).error(
            f"unrecognized arguments: {' '.join(unknown)}"
        )
    if args.command is None:
        parser.error("a command is required: figures or bench")
    command_parser = sub.choices[args.command]
    args.only = list(dict.fromkeys(args.only)) if args.only else None  # each key once
    try:
        stall_s = _watchdog.stall_seconds(args.watchdog)
        if stall_s is not None and not math.isfinite(stall_s):
            raise ValueError(
                f"The watchdog limit must be a finite number of seconds; got {stall_s!r} "
                "(from JAXSPIN_WATCHDOG_S)."
            )
        args.out_dir = _output_dir(args.out)
    except ValueError as err:
        command_parser.error(str(err))
    run = _figures if args.command == "figures" else _bench
    if stall_s is None:
        return run(args)
    with _watchdog.Watchdog(stall_s) as dog:
        dog.stage(f"jaxspin {args.command}")
        return run(args)


def _seconds(text: str) -> float:
    """A ``--watchdog`` value: a finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"must be a finite number of seconds >= 0 (0: off); got {text!r}"
        )
    return value


def _add_watchdog_option(sub) -> None:
    sub.add_argument(
        "--watchdog",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="exit with status 3 and every thread's stack when no progress is made for this "
        "long (default: $JAXSPIN_WATCHDOG_S or 900; 0: off)",
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
