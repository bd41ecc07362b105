"""Files written by ``dltrigger generate`` (the shared sample): layout and reproducibility."""

import dataclasses
import hashlib

import numpy as np
import pytest
import uproot

from dltrigger.config import LABELS, GenerateConfig
from dltrigger.generate.job import generate_file, plan
from tests.conftest import SAMPLE_EVENTS, SAMPLE_EVENTS_PER_FILE

pytestmark = [pytest.mark.spark, pytest.mark.slow]

#: Every field the reference reads (docs/reference.md §1.2), by Delphes branch name.
REFERENCE_BRANCHES = {
    "EFlowTrack": ["PT", "Eta", "Phi", "PID", "Charge", "X", "Y", "Z"],
    "EFlowPhoton": ["ET", "Eta", "Phi"],
    "EFlowNeutralHadron": ["ET", "Eta", "Phi"],
    "Electron": ["PT", "Eta", "Phi", "Charge"],
    "MuonTight": ["PT", "Eta", "Phi", "Charge"],
    "MissingET": ["MET", "Phi", "Eta"],
    "Jet": ["PT", "Eta", "Phi", "Mass", "BTag"],
    "Event": ["Number"],
}


def test_one_file_per_task_with_delphes_names(generated):
    files_per_process = SAMPLE_EVENTS // SAMPLE_EVENTS_PER_FILE
    for process in LABELS:
        names = [p.name for p in generated.files(process)]
        assert names == [f"{process}_{i}.root" for i in range(files_per_process)]
    assert not list(generated.folder.glob(".*")), "temporary files left behind"
    assert sorted(r.label for r in generated.reports) == sorted(
        label for label in LABELS.values() for _ in range(files_per_process)
    )


def test_branches_and_counters(generated):
    with uproot.open(generated.files("ttbar")[0]) as f:
        tree = f["Delphes"]
        assert tree.num_entries == SAMPLE_EVENTS_PER_FILE
        keys = set(tree.keys())
        for collection, members in REFERENCE_BRANCHES.items():
            assert f"{collection}_size" in keys
            for member in members:
                assert f"{collection}.{member}" in keys
        arrays = tree.arrays(["EFlowTrack_size", "EFlowTrack.PT", "MissingET_size"])
    assert np.array_equal(
        arrays["EFlowTrack_size"].to_numpy(), np.array([len(x) for x in arrays["EFlowTrack.PT"]])
    )
    assert np.all(arrays["MissingET_size"].to_numpy() == 1)


def test_reports_match_files(generated):
    for report in generated.reports:
        with uproot.open(report.path) as f:
            assert f["Delphes"].num_entries == report.events
        assert report.generated >= report.events
        assert 0 <= report.selected <= report.events


def test_same_seed_same_bytes_other_seed_other_events(tmp_path):
    config = GenerateConfig(
        out=tmp_path, process=["ttbar"], events=40, events_per_file=40, batch_size=20
    )
    task = plan(config)[0]
    first = generate_file(dataclasses.replace(task, path=str(tmp_path / "a" / "ttbar_0.root")))
    second = generate_file(dataclasses.replace(task, path=str(tmp_path / "b" / "ttbar_0.root")))
    other = generate_file(
        dataclasses.replace(task, seed=task.seed + 1, path=str(tmp_path / "c" / "ttbar_0.root"))
    )

    def digest(path):
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    assert digest(first.path) == digest(second.path)
    with uproot.open(first.path) as a, uproot.open(other.path) as c:
        assert not np.array_equal(
            a["Delphes"]["EFlowTrack_size"].array(library="np"),
            c["Delphes"]["EFlowTrack_size"].array(library="np"),
        )


def test_failed_task_reports_the_cause_and_leaves_no_partial_file(spark, tmp_path, monkeypatch):
    import dltrigger as dlt
    from dltrigger.config import Config
    from dltrigger.errors import GenerationError
    from dltrigger.generate import job

    config = Config(generate=GenerateConfig(out=tmp_path, process=["wjets"], events=10))
    good = plan(config.generate)[0]
    # A task the worker cannot run (Pythia refuses a setting): the failure must surface with
    # its cause and leave no file under a final name.
    refused = good.settings.model_copy(update={"pythia": ["NoSuchSwitch:zjets = on"]})
    broken = dataclasses.replace(
        good, process="zjets", settings=refused, path=str(tmp_path / "zjets_0.root")
    )
    monkeypatch.setattr(job, "plan", lambda _config: [good, broken])
    with pytest.raises(GenerationError, match="zjets"):
        dlt.generate.run(config, spark=spark)
    assert not (tmp_path / "zjets_0.root").exists()
    assert not list(tmp_path.glob(".tmp-*"))
    for leftover in tmp_path.glob("*.root"):  # the good task may have finished: complete
        with uproot.open(leftover) as f:
            assert f["Delphes"].num_entries == 10
