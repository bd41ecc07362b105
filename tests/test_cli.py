"""The ``dltrigger`` command line: help, a small run, and one-line errors on bad input."""

import subprocess
import sys

import pytest
import uproot

from dltrigger.cli import main

pytestmark = pytest.mark.spark


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dltrigger", *args], capture_output=True, text=True, timeout=120
    )


def test_help_lists_generate():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "generate" in result.stdout
    result = run_cli("generate", "--help")
    assert result.returncode == 0
    for flag in ("--process", "--events", "--seed", "--out", "--events-per-file", "--overwrite"):
        assert flag in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--events", "0"], "must be a positive integer, got 0"),
        (["--events", "-5"], "got -5"),
        (["--events-per-file", "ten"], "got 'ten'"),
        (["--seed", "-1"], "got -1"),
    ],
)
def test_bad_values_get_one_line_errors(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--out", str(tmp_path), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [("zjets", "unknown process 'zjets'"), ("ttbr", "did you mean 'ttbar'")],
)
def test_unknown_processes_get_one_line_errors(name, message, tmp_path, capsys):
    """Process names are the config's entries (known once it is read): a config error."""
    assert main(["generate", "--out", str(tmp_path), "--process", name]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "defined: qcd, qcd_generic, ttbar, wjets" in err
    assert len(err.splitlines()) == 1


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code = main(["generate", "--out", str(blocker / "sub"), "--events", "5"])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert "cannot create output folder" in err and str(blocker / "sub") in err
    assert len(err.splitlines()) == 1


def test_generate_refuses_to_overwrite_then_overwrites(spark, tmp_path, capsys):
    args = [
        "generate",
        "--process",
        "wjets",
        "--events",
        "30",
        "--events-per-file",
        "15",
        "--out",
        str(tmp_path),
        "--quiet",
        "--seed",
        "3",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "wjets" in out and "Generated samples" in out
    files = sorted(p.name for p in tmp_path.glob("*.root"))
    assert files == ["wjets_0.root", "wjets_1.root"]
    before = (tmp_path / "wjets_0.root").read_bytes()

    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert "already exist" in err and "wjets_0.root" in err and "--overwrite" in err
    assert (tmp_path / "wjets_0.root").read_bytes() == before

    assert main([*args, "--overwrite"]) == 0
    assert (tmp_path / "wjets_0.root").read_bytes() == before  # same seed, same bytes
    with uproot.open(tmp_path / "wjets_1.root") as f:
        assert f["Delphes"].num_entries == 15

    # issue 28, case 2 (was issue 14, case 12): an --overwrite with fewer files replaces only
    # the files it writes; it never removes another (an earlier run's, or the user's)
    (tmp_path / "wjets_9.root").write_bytes(before)  # the user's, under a generator-like name
    fewer = [*args, "--overwrite"]
    fewer[fewer.index("--events") + 1] = "15"
    assert main(fewer) == 0
    names = sorted(p.name for p in tmp_path.glob("*.root"))
    assert names == ["wjets_0.root", "wjets_1.root", "wjets_9.root"]


def test_ingest_command(spark, generated, tmp_path, capsys):
    out = tmp_path / "ingested"
    files = [str(f) for f in generated.files("wjets")]
    assert main(["ingest", *files, "--out", str(out), "--quiet", "--branches", "Electron,Jet"]) == 0
    printed = capsys.readouterr().out
    assert "wjets" in printed and "_ingest_report.json" in printed
    assert spark.read.parquet(str(out)).columns[:2] == ["Electron", "Jet"]


def test_ingest_bad_input_is_one_line(tmp_path, capsys):
    code = main(["ingest", str(tmp_path / "qcd_*.root"), "--out", str(tmp_path / "o")])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err == f"dltrigger ingest: error: no files match {tmp_path / 'qcd_*.root'}"


def test_features_command(spark, ingested, tmp_path, capsys):
    out = tmp_path / "features"
    assert (
        main(["features", str(ingested), "--out", str(out), "--quiet", "--dev-per-class", "20"])
        == 0
    )
    printed = capsys.readouterr().out
    assert "full: QCD " in printed and "bytes/event on disk" in printed
    assert "; train " in printed and ", validation " in printed and ", test " in printed
    assert (out / "dev" / "_manifest.json").exists()
    assert main(["features", str(tmp_path / "missing"), "--out", str(out / "x")]) == 1
    assert "ingested dataset not found" in capsys.readouterr().err


def test_train_command(spark, ingested, tmp_path, capsys):
    features_out = tmp_path / "features"
    assert main(["features", str(ingested), "--out", str(features_out), "--quiet"]) == 0
    run = tmp_path / "run"
    args = ["train", "--model", "hlf", "--data", str(features_out / "dev"), "--out", str(run),
            "--no-tracking"]  # fmt: skip
    assert main([*args, "--epochs", "2", "--quiet", "--export", "onnx"]) == 0
    printed = capsys.readouterr().out
    assert "2,013 trainable parameters (reference 2,013)" in printed and "best epoch" in printed
    assert (run / "model.onnx").exists() and not (run / "model.torchscript.pt").exists()
    assert main([*args, "--epochs", "2"]) == 1  # the run folder exists
    assert "--resume" in capsys.readouterr().err
