"""Processes from the config: the built-in entries, your own, the generator lepton filter, and
the one-line refusals of a ``[generate]`` section written for the old layout."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from dltrigger.cli import main
from dltrigger.config import Config, GenerateConfig, LeptonFilter, load_config, with_overrides
from dltrigger.errors import ConfigError
from dltrigger.generate.job import file_seeds, plan
from dltrigger.generate.pythia_source import EventSource, passes_lepton_filter

#: A user-defined process as a physicist writes it: the W sample of Delphes' own test files
#: (W -> e nu / mu nu + jet, pT-hat > 20 GeV), with a generator e/mu filter.
USER_TOML = """
[generate]
process = ["my_w"]
mpi = false
[generate.processes.my_w]
label = "wjets"
pythia = ["WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on",
          "PhaseSpace:pTHatMin = 20", "24:onMode = off", "24:onIfAny = 11 13"]
lepton_filter = { pt = 25.0, eta = 2.1 }
events = 12
"""


def test_builtin_entries_and_a_partial_override(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[generate.processes.qcd]\nevents = 5\n")
    generate = load_config(path).generate
    qcd, default = generate.settings("qcd"), GenerateConfig().settings("qcd")
    assert qcd.events == 5  # only what the entry gives changes
    assert qcd.pythia == default.pythia and qcd.lepton_filter == default.lepton_filter
    generic = generate.settings("qcd_generic")
    assert generic.label == "qcd" and "HardQCD:all = on" in generic.pythia
    assert generic.lepton_filter == LeptonFilter(pt=20.0, eta=2.5, count=1)
    assert generate.process == ["wjets", "ttbar", "qcd"]  # qcd_generic only when asked for


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[generate]\nprocesses = ["wjets"]\n', r"`process = \['wjets'\]`"),
        ("[generate.qcd]\npthat_min = 50.0\n", r"\[generate.processes.qcd\]"),
        ('[generate]\nprocess = ["qcd_genric"]\n', "did you mean 'qcd_generic'"),
        ('[generate.processes.x]\nlabel = "qcd"\npythia = ["Random:seed = 4"]\n', "Random:"),
        ('[generate.processes.x]\nlabel = "zjets"\npythia = ["HardQCD:all = on"]\n', "label"),
        ('[generate.processes.x]\nlabel = "qcd"\n', "pythia"),
        ("[generate.processes.ttbar]\nvariants = [{pythia = ['24:onMode = off'], "
         "fraction = 0.5}]\n", "sum to 1"),
    ],
)  # fmt: skip
def test_old_layouts_and_bad_entries_are_refused_in_one_line(tmp_path, text, expected):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_config(path)
    assert "\n" not in str(caught.value)


def test_each_process_has_its_own_seeds():
    """Two processes of one class (qcd, qcd_generic) never share a random stream."""
    tasks = plan(GenerateConfig(process=["qcd", "qcd_generic"], events=1))
    first, second = (file_seeds(t)[0].generate_state(4).tolist() for t in tasks)
    assert first != second


def test_samples_read_the_generated_processes_of_their_class():
    config = with_overrides(Config(), "generate", process=["qcd_generic", "wjets"]).resolved()
    samples = config.ingest.samples
    assert samples["qcd"].paths == ["data/raw/qcd_generic_[0-9]*.root"]
    assert samples["wjets"].paths == ["data/raw/wjets_[0-9]*.root"]
    assert samples["ttbar"].paths == ["data/raw/ttbar_[0-9]*.root"]  # none generated: its name


def test_lepton_filter_counts_leptons_in_acceptance():
    def particle(pid: int, pt: float, eta: float) -> dict:
        return {"id": pid, "px": pt, "py": 0.0, "pz": pt * np.sinh(eta)}

    events = ak.Array(
        {
            "particles": [
                [particle(11, 30, 0.0)],
                [particle(13, 30, 2.6)],  # outside |eta| < 2.5
                [particle(211, 30, 0.0), particle(-13, 19, 0.0)],  # pion, soft muon
                [particle(11, 21, 1.0), particle(-13, 40, -2.0)],
            ]
        }
    )
    one = passes_lepton_filter(events, LeptonFilter(pt=20.0))
    two = passes_lepton_filter(events, LeptonFilter(pt=20.0, count=2))
    assert one.tolist() == [True, False, False, True]
    assert two.tolist() == [False, False, False, True]


def test_user_process_from_a_toml_end_to_end(tmp_path, monkeypatch, capsys):
    """``dltrigger generate`` with a process only the toml defines: its files, its label, its
    filter (every written event has a generated e/mu above 25 GeV within |eta| < 2.1)."""
    settings = load_config_text(tmp_path, USER_TOML).generate.settings("my_w")
    source = EventSource("my_w", settings, np.random.SeedSequence(5), mpi=False)
    events = source.next(20)
    assert passes_lepton_filter(events, settings.lepton_filter).all()
    assert source.generated > source.accepted  # the filter removed some

    monkeypatch.chdir(tmp_path)
    code = main(["generate", "--config", str(tmp_path / "c.toml"), "--out", "raw"])
    assert code == 0, capsys.readouterr().err
    files = sorted(Path("raw").glob("*.root"))
    assert [f.name for f in files] == ["my_w_0.root"]
    with uproot.open(files[0]) as f:
        assert f["Delphes"].num_entries == 12
    record = json.loads((Path("raw") / "_generate.json").read_text())
    assert record["my_w_0.root"]["process"] == "my_w"


def load_config_text(folder: Path, text: str) -> Config:
    path = folder / "c.toml"
    path.write_text(text)
    return load_config(path)


@pytest.mark.slow
def test_qcd_generic_is_generic_and_filtered():
    """Light flavour dominates generic QCD (unlike the heavy-flavour ``qcd``), and each event
    passes the e/mu filter."""
    settings = GenerateConfig().settings("qcd_generic")
    source = EventSource("qcd_generic", settings, np.random.SeedSequence(8), mpi=False)
    events = source.next(15)
    assert settings.lepton_filter is not None
    assert passes_lepton_filter(events, settings.lepton_filter).all()
    efficiency = source.accepted / source.generated
    assert efficiency < 0.05  # no forced decays: a rare filter (heavy-flavour qcd keeps ~24%)


def test_generic_qcd_through_the_phase2_card_from_the_command_line(tmp_path, capsys):
    """The issue's command, small: generic lepton-filtered QCD with the Phase-II preset."""
    out = tmp_path / "raw"
    args = ["generate", "--process", "qcd_generic", "--detector", "phase2", "--events", "3",
            "--no-mpi", "--out", str(out)]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    with uproot.open(out / "qcd_generic_0.root") as f:
        tree = f["Delphes"]
        assert tree.num_entries == 3
        assert {"MuonLoose_size", "MuonTight_size", "Electron_size"} <= set(tree.keys())
    record = json.loads((out / "_generate.json").read_text())["qcd_generic_0.root"]
    assert (record["process"], record["detector"]) == ("qcd_generic", "phase2")
