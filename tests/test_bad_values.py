"""Input that is damaged but does not fail to read: a ZSTD basket that decompresses into
garbage (no checksum), and a cut-off copy of a genuine Delphes file. Each is named in one line
(file, branch, entry; or size against the header's fEND) and refused, or left out with
``--skip-bad-files``; real values (genuine Delphes files, generated ones) are never flagged;
scaling statistics that only garbage gives are refused when written and when loaded."""

import json
import math
import os
import shutil
import struct
from pathlib import Path

import awkward as ak
import cramjam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import uproot

import dltrigger as dlt
from dltrigger.artifacts import Scaling
from dltrigger.bounds import ETA, MAX_ENERGY_GEV, first_outside, member_bound
from dltrigger.cli import main
from dltrigger.config import Config, FeaturesConfig, IngestConfig
from dltrigger.errors import BadValueError, DatasetError, DLTriggerError, FeaturesError
from dltrigger.features.checks import check_scaling
from dltrigger.features.stats import FeatureStats
from dltrigger.ingest import REPORT_NAME
from dltrigger.io.root_reader import infer_layout, open_tree, read_record_batch
from dltrigger.schema import HLF_NAMES, PARTICLE_FEATURES

FIXTURES = Path(__file__).parent / "data" / "delphes"
#: The 100-event Delphes files the fixtures were cut from (validation/delphes/make_fixtures.sh
#: writes them), compared with the fixtures when $DLTRIGGER_DELPHES_ORIGINALS names their folder.
ORIGINALS = Path(os.environ.get("DLTRIGGER_DELPHES_ORIGINALS", "/nonexistent"))
GENUINE = ("Wlnu_lepFilter_13TeV_0.root", "ttbar_lepFilter_13TeV_0.root",
           "qcd_lepFilter_13TeV_0.root")  # fmt: skip


def read_everything(path: Path) -> int:
    """Every readable branch of every entry, through the reader (and its value checks)."""
    file, tree = open_tree(str(path), "Delphes")
    with file:
        return read_record_batch(tree, infer_layout(tree), 0, tree.num_entries, str(path)).num_rows


@pytest.mark.parametrize("name", GENUINE)
def test_genuine_delphes_values_are_never_flagged(name):
    """Delphes' own sentinels included: Particle.Eta +-999.9 along the beam, Particle.Charge
    -999, GenJet.EhadOverEem 999.9, track lengths of 2e7 mm."""
    assert read_everything(FIXTURES / name) == 25
    original = ORIGINALS / name
    if original.exists():
        assert read_everything(original) == 100


@pytest.mark.spark
def test_generated_values_are_never_flagged(generated):
    for path in sorted(generated.folder.glob("*.root")):
        assert read_everything(path) > 0


def test_bounds_let_delphes_sentinels_through_and_stop_impossible_values():
    float32 = np.dtype(np.float32)
    eta = member_bound("Particle", "Eta", float32)
    assert eta == ETA and first_outside(np.float32([-999.9, 999.9, 0.0]), eta) is None
    charge = member_bound("Particle", "Charge", np.dtype(np.int32))  # -999: unknown
    assert first_outside(np.int32([-999, 2, -1]), charge) is None
    for lepton in ("Electron", "MuonTight", "EFlowTrack"):
        bound = member_bound(lepton, "Charge", np.dtype(np.int32))
        assert first_outside(np.int32([1, -1, 0, 2]), bound) == 3
    pt = member_bound("EFlowTrack", "PT", float32)
    assert first_outside(np.float32([1.0, -3.6e30, 2.0]), pt) == 1
    assert first_outside(np.float32([1.0, 2.0, MAX_ENERGY_GEV * 2]), pt) == 2
    assert first_outside(np.float32([1.0, np.nan]), pt) == 1
    assert first_outside(np.float32([1.0, np.nan]), pt, allow_nonfinite=True) is None
    phi = member_bound("Jet", "Phi", float32)
    assert first_outside(np.float32([math.pi, -math.pi]), phi) is None
    assert first_outside(np.float32([0.0, 4.0]), phi) == 1
    anything = member_bound("Event", "CrossSection", float32)  # any float: finite, < 1e15
    assert first_outside(np.float32([2.3e7, np.inf]), anything) == 1
    # Delphes' Phase-II card writes NaN tower HardEnergyFraction now and then: not damage,
    # but garbage magnitudes still are
    fraction = member_bound("EFlowPhoton", "HardEnergyFraction", float32)
    assert fraction.nonfinite_allowed and not anything.nonfinite_allowed
    assert first_outside(np.float32([1.0, np.nan]), fraction, fraction.nonfinite_allowed) is None
    assert first_outside(np.float32([np.nan, 3e38]), fraction, fraction.nonfinite_allowed) == 1
    assert member_bound("Particle", "PID", np.dtype(np.int32)) is None


def damage_basket(source: Path, target: Path, branch: str = "EFlowTrack.PT") -> None:
    """Copy ``source`` to ``target`` with one byte of ``branch``'s first basket flipped, so
    that the basket still decompresses (ZSTD blocks carry no checksum) into other numbers,
    some of them impossible; the entry offsets after the numbers stay intact."""
    data = bytearray(source.read_bytes())
    with uproot.open(source) as file:
        seek = int(file["Delphes"][branch].member("fBasketSeek")[0])
    # TKey: fNbytes, fVersion, fObjlen, fDatime, fKeylen; the key ends with TBasket's fLast
    # and a flag byte; then ROOT's 9-byte block header ("ZS", method, 3+3 bytes of sizes).
    key_length = struct.unpack(">h", data[seek + 14 : seek + 16])[0]
    last = struct.unpack(">i", data[seek + key_length - 5 : seek + key_length - 1])[0]
    header = data[seek + key_length : seek + key_length + 9]
    assert header[:2] == b"ZS", "the generator writes ZSTD baskets"
    compressed = int.from_bytes(header[3:6], "little")
    size = int.from_bytes(header[6:9], "little")
    start = seek + key_length + 9
    frame = bytes(data[start : start + compressed])
    numbers = last - key_length  # the basket's values; its entry offsets follow
    clean = bytes(cramjam.zstd.decompress(frame, output_len=size))
    for position in range(compressed // 2, compressed):
        flipped = bytearray(frame)
        flipped[position] ^= 0xFF
        try:
            out = bytes(cramjam.zstd.decompress(bytes(flipped), output_len=size))
        except Exception:
            continue
        if len(out) != size or out[numbers:] != clean[numbers:]:
            continue
        values = np.frombuffer(out[:numbers], ">f4")
        if np.isfinite(values).all() and (values >= 0).all() and (values < 1e5).all():
            continue
        data[start + position] ^= 0xFF
        target.write_bytes(data)
        return
    raise AssertionError(f"no byte of {source}'s {branch} basket damages it readably")


def first_bad_entry(path: Path, branch: str = "EFlowTrack.PT") -> tuple[int, float]:
    values = uproot.open(path)["Delphes"][branch].array()
    flat = ak.to_numpy(ak.flatten(values))
    bad = first_outside(flat, member_bound("EFlowTrack", "PT", flat.dtype))
    assert bad is not None
    entry = int(np.searchsorted(np.cumsum(ak.to_numpy(ak.num(values))), bad, side="right"))
    return entry, float(flat[bad])


@pytest.fixture
def damaged(generated, tmp_path) -> tuple[Path, Path]:
    """A good W+jets file, and a copy of the other one with a damaged EFlowTrack.PT basket."""
    good, other = generated.files("wjets")[:2]
    bad = tmp_path / "bad" / "wjets_damaged.root"
    bad.parent.mkdir()
    damage_basket(other, bad)
    return good, bad


@pytest.mark.spark
def test_a_damaged_basket_is_named_with_file_branch_and_entry(damaged):
    _, bad = damaged
    entry, value = first_bad_entry(bad)
    with pytest.raises(BadValueError) as info:
        read_everything(bad)
    error = info.value
    assert (error.path, error.branch, error.entry) == (str(bad), "EFlowTrack.PT", entry)
    assert error.value == pytest.approx(value, nan_ok=True)
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{bad}: branch 'EFlowTrack.PT' of tree 'Delphes' holds ")
    assert f"at entry {entry}, not a transverse momentum or energy in GeV" in message


@pytest.mark.spark
@pytest.mark.slow
def test_ingest_stops_on_a_damaged_basket(spark, damaged, tmp_path):
    good, bad = damaged
    entry, _ = first_bad_entry(bad)
    out = tmp_path / "out"
    config = Config(ingest=IngestConfig(out=out, inputs=[str(good), str(bad)]))
    with pytest.raises(DLTriggerError) as info:
        dlt.ingest.run(config, spark=spark)
    message = str(info.value)
    assert f"{bad}: branch 'EFlowTrack.PT' of tree 'Delphes' holds " in message
    assert f"at entry {entry}," in message and "\n" not in message
    assert not out.exists()


@pytest.mark.spark
@pytest.mark.slow
def test_skip_bad_files_leaves_out_a_damaged_basket_whole(spark, damaged, tmp_path):
    good, bad = damaged
    out = tmp_path / "out"
    config = Config(ingest=IngestConfig(out=out, skip_bad_files=True, inputs=[str(good), str(bad)]))
    report = dlt.ingest.run(config, spark=spark).report
    assert list(report.skipped) == [str(bad)]
    assert "branch 'EFlowTrack.PT'" in report.skipped[str(bad)]
    table = pq.read_table(out, columns=["source_file"])
    assert set(table.column("source_file").to_pylist()) == {str(good)}  # none of the bad one
    assert table.num_rows == uproot.open(good)["Delphes"].num_entries == report.events_written


@pytest.mark.spark
@pytest.mark.slow
def test_features_refuses_impossible_values_in_an_ingested_dataset(spark, ingested, tmp_path):
    """An ingested dataset made elsewhere (or by an older dltrigger) with a garbage track pT:
    the features stage stops naming the Parquet file, the column and the event."""
    copy = tmp_path / "ingested"
    shutil.copytree(ingested, copy)
    victim = sorted(copy.glob("label=2/*.parquet"))[0]
    table = pq.read_table(victim)
    tracks = table.column("EFlowTrack").combine_chunks()
    members = tracks.values.flatten()
    names = [f.name for f in tracks.type.value_type]
    pt = members[names.index("PT")].to_numpy(zero_copy_only=False).copy()
    row = 7
    pt[tracks.offsets.to_numpy()[row]] = -3.6e30
    members[names.index("PT")] = pa.array(pt, pa.float32())
    damaged = pa.ListArray.from_arrays(
        tracks.offsets, pa.StructArray.from_arrays(members, names=names)
    )
    index = table.schema.get_field_index("EFlowTrack")
    pq.write_table(table.set_column(index, "EFlowTrack", damaged), victim)
    entry = table.column("entry")[row].as_py()
    source = table.column("source_file")[row].as_py()
    out = tmp_path / "features"
    with pytest.raises(FeaturesError) as info:
        dlt.features.run(Config(features=FeaturesConfig(input=copy, out=out)), spark=spark)
    message = str(info.value)
    assert f"{victim}: column 'EFlowTrack.PT' holds -3.6e+30" in message
    assert f"entry {entry} of {source}" in message
    assert not out.exists()


def scaling_summary(hlf_rows: np.ndarray, particle_rows: np.ndarray) -> dict:
    return {
        "fitted_on": "train split only",
        "hlf": FeatureStats.of(hlf_rows).summary(HLF_NAMES),
        "particles": FeatureStats.of(particle_rows).summary(PARTICLE_FEATURES),
    }


def test_impossible_scaling_statistics_are_refused_when_written_and_loaded(tmp_path):
    rng = np.random.default_rng(1)
    hlf = rng.uniform(0, 1, (50, len(HLF_NAMES)))
    particles = rng.uniform(0, 1, (500, len(PARTICLE_FEATURES)))
    clean = scaling_summary(hlf, particles)
    check_scaling(clean, "data/features/full")  # real statistics pass
    path = tmp_path / "_scaling.json"
    path.write_text(json.dumps(clean))
    assert Scaling.from_file(path).particle_std.shape == (len(PARTICLE_FEATURES),)

    particles[3, PARTICLE_FEATURES.index("E")] = 3e38  # one garbage energy: std ~1e37
    absurd = scaling_summary(hlf, particles)
    with pytest.raises(FeaturesError, match=r"data/features/full: impossible scaling .*'E': "):
        check_scaling(absurd, "data/features/full")
    path.write_text(json.dumps(absurd))
    with pytest.raises(DatasetError, match=rf"{path}: impossible scaling statistics .*'E'"):
        Scaling.from_file(path)

    nan = json.loads(json.dumps(clean))
    nan["hlf"]["std"][HLF_NAMES.index("MET")] = float("nan")
    path.write_text(json.dumps(nan))  # NaN, as json writes it
    with pytest.raises(DatasetError, match=r"feature 'MET': std nan"):
        Scaling.from_file(path)


def test_a_feature_without_values_is_not_refused(tmp_path):
    """A feature never filled in the training split has min +inf and max -inf by construction
    (written as Infinity): not an impossible statistic."""
    empty = {
        "hlf": FeatureStats.empty(len(HLF_NAMES)).summary(HLF_NAMES),
        "particles": FeatureStats.empty(len(PARTICLE_FEATURES)).summary(PARTICLE_FEATURES),
    }
    check_scaling(empty, "dev")
    path = tmp_path / "_scaling.json"
    path.write_text(json.dumps(empty))
    Scaling.from_file(path)


def cut(source: Path, target: Path, fraction: float | None = None, size: int | None = None):
    data = source.read_bytes()
    length = size if size is not None else int(len(data) * fraction)  # type: ignore[operator]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data[:length])
    return length, len(data)


#: Where a genuine file is cut: just after the 100-byte file header, mid-file, at 70%, and
#: 10 bytes short of its end (only the free-segment list lost: every basket still there).
CUTS = {"after-header": dict(size=120), "half": dict(fraction=0.5),
        "70%": dict(fraction=0.7), "near-end": dict(fraction=None)}  # fmt: skip


def cut_genuine(tmp_path: Path, where: str) -> tuple[Path, int, int]:
    source = FIXTURES / GENUINE[0]
    bad = tmp_path / "bad" / "Wlnu_lepFilter_13TeV_1.root"  # a W+jets file by its name
    settings = CUTS[where]
    if settings.get("fraction", 0) is None:
        settings = dict(size=source.stat().st_size - 10)
    length, whole = cut(source, bad, **settings)
    return bad, length, whole


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("where", list(CUTS))
def test_a_truncated_genuine_file_is_named_with_its_size_and_fend(spark, tmp_path, capsys, where):
    bad, length, whole = cut_genuine(tmp_path, where)
    good = [str(FIXTURES / GENUINE[0]), str(FIXTURES / GENUINE[1])]
    reason = (
        f"truncated: the file has {length:,} bytes but its header says it ends at byte "
        f"{whole:,} (fEND)"
    )
    out = tmp_path / "out"
    # Without --skip-bad-files: one line naming the file, its size and the header's end.
    assert main(["ingest", *good, str(bad), "--out", str(out), "--quiet"]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("dltrigger ingest: error: ")
    assert error.endswith(f"{bad}: {reason}")
    assert not out.exists()
    # With it: the good files are ingested, the cut one reported.
    argv = ["ingest", str(bad), *good, "--out", str(out), "--quiet", "--skip-bad-files"]
    assert main(argv) == 0
    report = json.loads((out / REPORT_NAME).read_text())
    assert report["skipped"] == {str(bad): reason}
    assert report["events"] == report["events_written"] == 50
    assert sorted(report["events_per_file"]) == sorted(good)
