import ast
from pathlib import Path

import pytest

from dltrigger.config import Config, load_config, with_overrides
from dltrigger.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_repository_config_loads_and_uses_local_master():
    config = load_config(REPO / "dltrigger.toml")
    assert config.spark.master == "local[*]"
    assert config.generate.process == ["wjets", "ttbar", "qcd"]
    assert {"wjets", "ttbar", "qcd", "qcd_generic"} <= set(config.generate.processes)
    lepton_filter = config.generate.settings("qcd").lepton_filter
    assert lepton_filter is not None and lepton_filter.pt > 0


def test_missing_default_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DLTRIGGER_CONFIG", raising=False)
    assert load_config() == Config()


def test_named_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_invalid_values_name_the_field(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[generate]\nevents = -3\n")
    with pytest.raises(ConfigError, match=r"generate\.events.*-3"):
        load_config(path)
    path.write_text("[generate]\nevnts = 3\n")
    with pytest.raises(ConfigError, match="evnts"):
        load_config(path)
    path.write_text("[generate\n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(path)


def test_overrides_replace_only_given_values():
    config = with_overrides(Config(), "generate", events=7, seed=None)
    assert config.generate.events == 7
    assert config.generate.seed == Config().generate.seed
    with pytest.raises(ConfigError, match="events_per_file"):
        with_overrides(config, "generate", events_per_file=0)
    master = with_overrides(config, "spark", master="spark://127.0.0.1:7077")
    assert master.spark.master == "spark://127.0.0.1:7077"


def test_train_section_and_command_line_overrides(tmp_path):
    repository = load_config(REPO / "dltrigger.toml")
    for section in Config.model_fields:  # the file documents the defaults
        found, default = getattr(repository, section), getattr(Config(), section)
        if section == "spark":  # its [spark.conf] is an example of extra settings
            found = found.model_copy(update={"conf": {}})
        assert found == default, section
    path = tmp_path / "c.toml"
    path.write_text('[train]\nmodel = "hlf"\nepochs = 3\n[train.model_options]\nwidths = [8, 4]\n')
    config = load_config(path)
    assert config.train.run_folder == Path("runs/hlf")
    overridden = with_overrides(config, "train", epochs=9, out=tmp_path / "r", model=None).train
    assert (overridden.epochs, overridden.model) == (9, "hlf")
    assert overridden.run_folder == tmp_path / "r"
    assert overridden.holds_in_memory() and not overridden.uses_particles()
    path.write_text('[train]\nmodel = "inclusiv"\n')
    with pytest.raises(ConfigError, match=r"train\.model.*'inclusiv'"):
        load_config(path)
    with pytest.raises(ConfigError, match=r"export"):
        with_overrides(config, "train", export=["onx"])


def test_events_per_process_unless_one_number_for_all():
    generate = Config().generate
    assert [generate.events_of(p) for p in ("wjets", "ttbar", "qcd")] == [4500, 3000, 16000]
    everyone = with_overrides(Config(), "generate", events=7).generate
    assert [everyone.events_of(p) for p in ("wjets", "ttbar", "qcd")] == [7, 7, 7]


def test_stage_inputs_derive_from_upstream_outputs():
    config = with_overrides(Config(), "generate", out=Path("g"))
    config = with_overrides(config, "ingest", out=Path("i"))
    config = with_overrides(config, "features", out=Path("f")).resolved()
    # the index's digits: qcd_[0-9]*.root is not also qcd_generic_0.root
    assert config.ingest.samples["wjets"].paths == ["g/wjets_[0-9]*.root"]
    assert config.features.input == Path("i")
    assert config.train.data == Path("f/balanced")
    assert config.tune.data == Path("f/dev")
    assert config.baselines.data == config.evaluate.data == Path("f/balanced")
    assert config.evaluate.runs == [Path("runs/hlf"), Path("runs/inclusive")]
    assert config.evaluate.baselines == Path("runs/baselines")
    assert config.stream.model == Path("runs/inclusive")
    assert config.resolved() == config  # resolving twice changes nothing


def test_explicit_stage_inputs_win(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        '[train]\ndata = "mine/full"\nout = "r"\n[evaluate]\ndata = "other/dev"\n'
        '[ingest.samples.wjets]\nlabel = 2\npaths = ["/data/w/*.root"]\n'
    )
    config = load_config(path).resolved()
    assert config.train.data == config.baselines.data == Path("mine/full")
    assert config.evaluate.data == Path("other/dev")
    assert config.ingest.samples["wjets"].paths == ["/data/w/*.root"]
    assert config.evaluate.runs == [Path("r/hlf"), Path("r/inclusive")]  # two models: one each
    assert config.stream.model == Path("r/inclusive")


def _reads_configuration(path: Path) -> bool:
    """Whether ``path`` imports tomllib or calls ``load_config``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if "tomllib" in modules:
                return True
        if isinstance(node, ast.Call):
            called = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if called == "load_config":
                return True
    return False


def test_only_load_config_reads_the_configuration_file():
    """The library never reads ``dltrigger.toml`` behind its caller's back: only the CLI."""
    package = REPO / "src" / "dltrigger"
    readers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if _reads_configuration(path)
    )
    assert readers == ["cli/common.py", "config/root.py"]


def test_torch_threads_beyond_a_sane_maximum_are_refused_in_one_line(tmp_path):
    """torch.set_num_threads(100000) crashes the process (exit status 139): refused first."""
    import subprocess
    import sys

    from dltrigger.config import MAX_THREADS

    path = tmp_path / "c.toml"
    path.write_text(f"[train]\nthreads = {MAX_THREADS}\n")
    assert load_config(path).train.threads == MAX_THREADS
    path.write_text("[train]\nthreads = 100000\n")
    with pytest.raises(ConfigError, match=r"train\.threads.*100000"):
        load_config(path)
    with pytest.raises(ConfigError, match="threads"):
        with_overrides(Config(), "train", threads=100000)
    result = subprocess.run([sys.executable, "-m", "dltrigger", "train", "--threads", "100000"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode not in (0, 139) and result.returncode > 0
    assert result.stderr.strip().splitlines() == [
        "dltrigger train: error: argument --threads: must be an integer >= 0 and <= "
        f"{MAX_THREADS}, got 100000"
    ]


def test_trigger_rate_settings_are_checked_in_one_clear_line(tmp_path):
    """[evaluate] class_fractions: the three classes, each >= 0, summing to 1 within 1e-6;
    output-rate budgets below the input rate; [stream] threshold and output_rate_hz exclude
    each other. Each refusal is one line naming the values, not a dump of the section."""
    assert Config().evaluate.fractions() == {"QCD": 0.362, "ttbar": 0.004, "W+jets": 0.634}
    path = tmp_path / "rates.toml"
    for fractions in ('"QCD" = 0.5, "ttbar" = 0.5, "W+jets" = 0.5',
                      '"QCD" = 1.1, "ttbar" = -0.1, "W+jets" = 0.0',
                      '"QCD" = 0.362, "ttbar" = 0.004, "W+jets" = 0.634002',
                      '"QCD" = 0.5, "W+jets" = 0.5'):  # fmt: skip
        path.write_text(f"[evaluate]\nclass_fractions = {{ {fractions} }}\n")
        with pytest.raises(ConfigError, match=r"evaluate\.class_fractions: .*summing to 1") as info:
            load_config(path)
        assert "\n" not in str(info.value) and "(got" not in str(info.value)
    assert "(missing ttbar)" in str(info.value)
    path.write_text('[evaluate]\nclass_fractions = { "QCD" = 0.3620004, "ttbar" = 0.004, '
                    '"W+jets" = 0.634 }\n')  # fmt: skip
    assert load_config(path).evaluate.class_fractions["QCD"] == 0.3620004  # within 1e-6
    with pytest.raises(ConfigError) as info:
        with_overrides(Config(), "stream", threshold=0.5, output_rate_hz=1e3)
    assert str(info.value) == (
        "invalid configuration in with_overrides: threshold 0.5 and "
        "output_rate_hz 1000 both set: the working point is one of them (unset the other)"
    )
    with pytest.raises(ConfigError, match=r"output rates \[200000\.0\] Hz must lie between"):
        with_overrides(Config(), "evaluate", output_rates_hz=[2e5])


def test_with_overrides_takes_several_sections_and_names_the_nearest(tmp_path):
    config = with_overrides(Config(), train={"epochs": 2}, features={"balance": False})
    assert (config.train.epochs, config.features.balance) == (2, False)
    assert with_overrides(config, "train", epochs=None).train.epochs == 2  # None: left as is
    with pytest.raises(
        ConfigError, match=r"no configuration section 'trian' \(did you mean 'train'"
    ):
        with_overrides(config, "trian", epochs=2)
    with pytest.raises(ConfigError, match=r"no setting train.epoch \(did you mean 'epochs'"):
        with_overrides(config, "train", epoch=2)
    with pytest.raises(ConfigError, match=r"in with_overrides: epochs: .*greater than 0"):
        with_overrides(config, train={"epochs": 0})
    typo = tmp_path / "typo.toml"
    typo.write_text("[train]\nepoch = 3\n")
    with pytest.raises(ConfigError, match=r"train.epoch: no such setting \(did you mean 'epochs'"):
        load_config(typo)
