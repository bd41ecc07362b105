"""A failed write leaves nothing that looks like an output."""

import awkward as ak
import numpy as np
import pytest
import uproot

from dltrigger.io.atomic import atomic_path
from dltrigger.io.delphes_writer import DelphesWriter


def test_atomic_path_renames_only_on_success(tmp_path):
    target = tmp_path / "out.root"
    with atomic_path(target) as temporary:
        temporary.write_bytes(b"complete")
    assert target.read_bytes() == b"complete"

    failed = tmp_path / "failed.root"
    with pytest.raises(RuntimeError), atomic_path(failed) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("task died")
    assert not failed.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.root"]


def test_delphes_writer_failure_mid_file_leaves_no_file(tmp_path):
    target = tmp_path / "wjets_0.root"
    electrons = ak.zip({"PT": ak.Array([[30.0], []]), "Eta": ak.Array([[0.1], []])})
    with pytest.raises(ValueError, match="generator crashed"), DelphesWriter(target) as writer:
        writer.extend({"Electron": electrons}, {"Event.Number": np.arange(2)})
        raise ValueError("generator crashed")
    assert list(tmp_path.iterdir()) == []

    with DelphesWriter(target) as writer:
        writer.extend({"Electron": electrons}, {"Event.Number": np.arange(2)})
        writer.extend({"Electron": electrons}, {"Event.Number": np.arange(2, 4)})
    with uproot.open(target) as f:
        tree = f["Delphes"]
        assert tree.num_entries == 4
        assert tree["Electron_size"].array(library="np").tolist() == [1, 0, 1, 0]
        assert tree["Event.Number"].array(library="np").tolist() == [0, 1, 2, 3]
