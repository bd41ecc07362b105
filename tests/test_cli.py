"""The ``dltrigger`` command line: help, a small run, and one-line errors on bad input."""

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import uproot

from dltrigger.cli import build_parser, main
from dltrigger.cli.options import apply_overrides
from dltrigger.config import Config

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


# issue: command-line rough edges (list options, help texts, --quiet, bad ROOT files, the log)

FIXTURES = Path(__file__).parent / "data" / "delphes"


def test_list_options_take_one_value_and_leave_positionals_alone(tmp_path, capsys):
    """A list option takes one comma-separated value per occurrence (repeated: appended); a
    positional argument after it is the command's input, not one more item."""
    out = tmp_path / "ingested"
    fixture = FIXTURES / "Wlnu_lepFilter_13TeV_0.root"
    args = ["ingest", "--branches", "Jet", "--branches", "MissingET", str(fixture)]
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    assert pq.read_table(out).column_names[:2] == ["Jet", "MissingET"]
    capsys.readouterr()

    nothing = tmp_path / "nothing_*.root"
    for argv in (["ingest", "--branches", "Jet,MissingET", str(nothing)],
                 ["score", "--accept", "ttbar,W+jets", str(nothing)]):  # fmt: skip
        assert main([*argv, "--out", str(tmp_path / "o")]) == 1, argv
        assert capsys.readouterr().err.strip().endswith(f"no files match {nothing}"), argv

    run = tmp_path / "no-such-run"
    argv = ["evaluate", "--output-rates-hz", "500,2000", str(run), "--out", str(tmp_path / "r")]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(run) in err and "output_rates_hz" not in err

    with pytest.raises(SystemExit) as exit_info:
        main(["stream", "--accept", "ttbar", "stray"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: stray" in capsys.readouterr().err


def test_every_command_parses_list_options_before_positionals():
    """``--list-option a,b POSITIONAL`` and the option repeated, for every command."""
    parser = build_parser()

    def parse(*argv: str) -> Config:
        return apply_overrides(Config(), parser.parse_args(list(argv)))

    config = parse("ingest", "--branches", "Jet,MissingET", "a.root", "b.root")
    assert config.ingest.branches == ["Jet", "MissingET"]
    assert config.ingest.inputs == ["a.root", "b.root"]
    config = parse("ingest", "--branches", "Jet", "a.root", "--branches", "Muon.PT,MissingET")
    assert config.ingest.branches == ["Jet", "Muon.PT", "MissingET"]
    assert config.ingest.inputs == ["a.root"]
    config = parse("score", "--accept", "ttbar,W+jets", "x.root")
    assert config.stream.accept_classes == ["ttbar", "W+jets"] and config.score.inputs == ["x.root"]
    config = parse("score", "--accept", "ttbar", "--accept", "QCD", "x.root")
    assert config.stream.accept_classes == ["ttbar", "QCD"]
    config = parse("evaluate", "--output-rates-hz", "500", "--output-rates-hz", "2000", "runs/a")
    assert config.evaluate.output_rates_hz == [500.0, 2000.0]
    assert config.evaluate.runs == [Path("runs/a")]
    config = parse("features", "--quiet", "data/ingested")
    assert config.features.input == Path("data/ingested")
    assert parse("stream", "--accept", "ttbar,QCD").stream.accept_classes == ["ttbar", "QCD"]
    assert parse("train", "--export", "onnx", "--export", "torchscript").train.export == [
        "onnx", "torchscript",
    ]  # fmt: skip
    assert parse("run", "--models", "hlf,lstm").run.models == ["hlf", "lstm"]
    assert parse("baselines", "--models", "gbt").baselines.models == ["gbt"]
    assert parse("generate", "--process", "wjets", "--process", "ttbar").generate.process == [
        "wjets", "ttbar",
    ]  # fmt: skip


def test_evaluate_and_score_have_quiet(tmp_path, capsys):
    for command in ("evaluate", "score"):
        args = [command, str(tmp_path / "nothing_*"), "--out", str(tmp_path / "o"), "--quiet"]
        assert main(args) == 1, command  # --quiet accepted: the command's own error, not usage
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"dltrigger {command}: error: ") and "unrecognized" not in err


def test_a_text_file_and_a_cut_root_file_are_named_as_such(tmp_path, capsys):
    """Through ``dltrigger ingest`` (the local process pool): what is wrong with the file, in
    one line, never uproot's internals."""
    text = tmp_path / "wjets_0.root"
    text.write_text("hello, world\n")
    source = FIXTURES / "Wlnu_lepFilter_13TeV_0.root"
    cut = tmp_path / "wjets_1.root"
    cut.write_bytes(source.read_bytes()[:3000])
    short = tmp_path / "wjets_2.root"
    short.write_bytes(source.read_bytes()[:40])  # the signature, not a whole header
    size = source.stat().st_size
    expected = {
        text: "not a ROOT file (13 bytes, starts with b'hello, world\\n')",
        cut: f"truncated: the file has 3,000 bytes but its header says it ends at byte {size:,}",
        short: "not a ROOT file (40 bytes, starts with b'root",
    }
    for path, reason in expected.items():
        assert main(["ingest", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"dltrigger ingest: error: {path}: {reason}"), err
        assert len(err.splitlines()) == 1 and "Chunk" not in err
