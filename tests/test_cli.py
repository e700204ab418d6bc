"""The command line's contracts with examples/ and benchmarks/ (with stand-in modules)."""

import types

import pytest

from jaxspin import _cli


@pytest.fixture(autouse=True)
def _restore_environment(monkeypatch):
    """`main` sets JAXSPIN_CPU_DEVICES for its process; keep it out of later tests."""
    monkeypatch.setenv("JAXSPIN_CPU_DEVICES", "auto")


def test_figures_calls_make_figures(monkeypatch, tmp_path):
    calls = []

    def make_figures(out_dir, *, size="small", progress=True):
        calls.append((out_dir, size, progress))
        path = out_dir / "danon11_test.png"
        path.write_bytes(b"png")
        return [path]

    fake = types.SimpleNamespace(make_figures=make_figures)
    monkeypatch.setattr(_cli, "_load_module", lambda name: fake)
    rc = _cli.main(["figures", "--only", "danon11", "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    assert calls == [(tmp_path, "small", False)]
    assert (tmp_path / "danon11_test.png").exists()


def test_bench_writes_report_and_plot(monkeypatch, tmp_path):
    fake = types.SimpleNamespace(
        run=lambda quick=False: [{"case": "x", "jaxspin_s": 0.1, "baseline_s": 1.0, "ratio": 10.0}],
        scaling=lambda quick=False: {"xlabel": "points", "sizes": [1, 10], "seconds": [0.1, 1.0]},
    )
    monkeypatch.setattr(_cli, "_load_module", lambda name: fake)
    rc = _cli.main(["bench", "--only", "engine", "--out", str(tmp_path), "--quick"])
    assert rc == 0
    report = (tmp_path / "bench_report.md").read_text()
    assert "| case | jaxspin_s | baseline_s | ratio |" in report
    assert (tmp_path / "bench_engine_scaling.png").stat().st_size > 1000


def test_unknown_key_is_rejected():
    with pytest.raises(SystemExit):
        _cli.main(["figures", "--only", "nonsense"])


@pytest.mark.parametrize("command", ["figures", "bench"])
def test_bad_output_directory_is_refused_before_any_work(monkeypatch, tmp_path, capsys, command):
    monkeypatch.setattr(_cli, "_load_module", lambda name: pytest.fail("work started"))
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    cases = [("", "empty"), (str(a_file), "existing file")]
    if _cli.os.geteuid() != 0:  # root writes anywhere (CI runs as root)
        cases.append((str(locked / "sub"), "cannot be written"))
    for out, message in cases:
        with pytest.raises(SystemExit) as err:
            _cli.main([command, "--out", out])
        assert err.value.code == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        ([], "a command is required: figures or bench"),
        (["nonsense"], "invalid choice: 'nonsense'"),
        (["figures", "--bogus"], "unrecognized arguments: --bogus"),
        (["bench", "--quick", "--size", "small"], "unrecognized arguments: --size small"),
        (["figures", "--only", "danon11", "nope"], "invalid choice: 'nope' (choose from 'danon11'"),
        (["bench", "--only", "nope"], "invalid choice: 'nope' (choose from 'engine'"),
        (
            ["figures", "--size", "huge"],
            "invalid choice: 'huge' (choose from 'small', 'paper', 'large')",
        ),
        (["figures", "--watchdog=-5"], "--watchdog: must be a finite number of seconds >= 0"),
        (["bench", "--watchdog", "nan"], "--watchdog: must be a finite number of seconds"),
        (["figures", "--watchdog", "inf"], "--watchdog: must be a finite number of seconds"),
        (["figures", "--watchdog", "soon"], "--watchdog: not a number of seconds: 'soon'"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(monkeypatch, capsys, argv, message):
    monkeypatch.setattr(_cli, "_load_module", lambda name: pytest.fail("work started"))
    with pytest.raises(SystemExit) as err:
        _cli.main(argv)
    assert err.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_watchdog_environment_is_refused(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(_cli, "_load_module", lambda name: pytest.fail("work started"))
    for value, message in [("nan", "finite number of seconds"), ("-1", ">= 0"), ("x", "number")]:
        monkeypatch.setenv("JAXSPIN_WATCHDOG_S", value)
        with pytest.raises(SystemExit) as err:
            _cli.main(["figures", "--out", str(tmp_path)])
        assert err.value.code == 2 and message in capsys.readouterr().err


def test_good_arguments_are_accepted(monkeypatch, tmp_path):
    calls = []

    def make_figures(out_dir, *, size="small", progress=True):
        calls.append(size)
        return []

    monkeypatch.setattr(
        _cli, "_load_module", lambda name: types.SimpleNamespace(make_figures=make_figures)
    )
    argv = ["figures", "--only", "danon11", "danon11", "--size", "paper", "--watchdog", "0"]
    assert _cli.main([*argv, "--out", str(tmp_path / "new" / "dir"), "--quiet"]) == 0
    assert calls == ["paper"]  # a key given twice runs once


def test_large_size_falls_back_to_paper_without_a_large_configuration(monkeypatch, tmp_path):
    calls = []

    def make_figures(out_dir, *, size="small", progress=True):
        calls.append(size)
        return []

    plain = types.SimpleNamespace(make_figures=make_figures)
    large = types.SimpleNamespace(make_figures=make_figures, FIGURE_SIZES=("small", "large"))
    modules = {"jaxspin.examples.danon11": plain, "jaxspin.examples.deluca16": large}
    monkeypatch.setattr(_cli, "_load_module", lambda name: modules[name])
    argv = ["figures", "--only", "danon11", "deluca16", "--size", "large", "--quiet"]
    assert _cli.main([*argv, "--out", str(tmp_path)]) == 0
    assert calls == ["paper", "large"]
