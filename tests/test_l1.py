"""dltrigger l1: hls4ml's C simulation built with g++ against fixed-point arithmetic done here,
and the stage on the session's sample: quantised triggers, agreement, estimates, report."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from sklearn.metrics import roc_auc_score

import dltrigger as dlt
from dltrigger.config import Config, TrackingConfig, TrainConfig
from dltrigger.l1.fixed import FixedType
from dltrigger.l1.job import margins
from dltrigger.schema import CLASS_NAMES

FRACTIONAL = 10  # ap_fixed<16,6>: 10 fractional bits
WIDTH = 16


def _wrap(integers: np.ndarray, width: int = WIDTH) -> np.ndarray:
    """Two's-complement wrap-around of ``width`` bits (ap_fixed's AP_WRAP)."""
    half = 1 << (width - 1)
    return (integers + half) % (1 << width) - half


def _to_fixed(values: np.ndarray) -> np.ndarray:
    """ap_fixed<16,6>'s integer for each value: rounded down (AP_TRN), wrapped (AP_WRAP)."""
    return _wrap(np.floor(np.asarray(values, dtype=np.float64) * 2**FRACTIONAL).astype(np.int64))


def _dense(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """hls4ml's dense layer in integers: each product (2F fractional bits) truncated to the
    accumulator's F bits and wrapped, summed onto the bias in wrap-around arithmetic."""
    products = x[:, :, None] * weight[None, :, :]  # scale 2^-2F
    products = _wrap(np.floor_divide(products, 2**FRACTIONAL))  # to 2^-F, rounded down
    return _wrap(bias[None, :] + products.sum(axis=1))


def _tiny_model(seed: int = 7) -> torch.nn.Sequential:
    """14 -> 16 -> 3, every weight half a step off the ap_fixed<16,6> grid: truncation and
    rounding give different numbers, so the test sees which one the emulation does."""
    generator = np.random.default_rng(seed)
    model = torch.nn.Sequential(torch.nn.Linear(14, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            for parameter in (layer.weight, layer.bias):
                steps = generator.integers(-400, 400, size=parameter.shape)
                parameter.copy_(torch.tensor((steps + 0.5) / 2**FRACTIONAL))
    return model.eval()


def test_tiny_model_emulation_is_the_fixed_point_arithmetic(tmp_path):
    from dltrigger.l1.hls import Target, post_training

    model = _tiny_model()
    emulation = post_training(
        model,
        [(14,)],
        FixedType.parse("ap_fixed<16,6>"),
        tmp_path / "tiny",
        Target("xcvu13p-flga2577-2-e", 5.0),
    )
    inputs = np.random.default_rng(1).normal(0, 2, size=(2000, 14)).astype(np.float32)
    emulated = emulation.predict(inputs)

    first, second = model[0], model[2]
    weights = [_to_fixed(layer.weight.detach().numpy().T) for layer in (first, second)]
    biases = [_to_fixed(layer.bias.detach().numpy()) for layer in (first, second)]
    hidden = np.maximum(_dense(_to_fixed(inputs), weights[0], biases[0]), 0)  # ReLU
    expected = _dense(hidden, weights[1], biases[1]) / 2**FRACTIONAL

    np.testing.assert_array_equal(emulated, expected)  # bit for bit
    # and the arithmetic is really fixed point: the float model differs by more than float noise
    difference = np.abs(model(torch.tensor(inputs)).detach().numpy() - expected)
    assert difference.max() > 1e-3
    assert emulation.compile_seconds < 60
    assert (tmp_path / "tiny" / "firmware" / "l1model.cpp").is_file()


def test_fixed_types():
    assert FixedType.parse("ap_fixed<16,6>") == FixedType(16, 6, True)
    assert FixedType.parse("ap_ufixed<8, 2>") == FixedType(8, 2, False)
    assert FixedType.from_scale(10, 2.0**-6, signed=True) == FixedType(10, 4, True)
    assert FixedType(10, 4).hls("RND_CONV", "SAT") == "fixed<10,4,RND_CONV,SAT>"
    with pytest.raises(ValueError, match="power of two"):
        FixedType.from_scale(8, 0.3, signed=True)
    # 1.99 -> 1.9375 (down), -0.03 -> -0.0625 (down), 8.5 wraps to -7.5 in ap_fixed<8,4>
    np.testing.assert_array_equal(
        FixedType(8, 4).truncate(np.array([1.99, -0.03, 8.5])), [1.9375, -0.0625, -7.5]
    )


def test_margins_are_positive_for_the_argmax_only():
    logits = np.random.default_rng(3).normal(size=(500, 3))
    found = margins(logits)
    for c in range(3):
        others = [j for j in range(3) if j != c]
        np.testing.assert_allclose(found[:, c], logits[:, c] - logits[:, others].max(axis=1))
        np.testing.assert_array_equal(found[:, c] > 0, logits.argmax(1) == c)


def test_l1_settings_default_to_the_pipeline_s_hlf_run():
    from pathlib import Path

    resolved = Config().resolved()
    assert resolved.l1.run == Path("runs/hlf") and resolved.l1.data == resolved.train.data
    moved = dlt.with_overrides(Config(), train={"out": "elsewhere"}).resolved()
    assert moved.l1.run == moved.run_folder("hlf") == Path("elsewhere/hlf")
    assert moved.evaluate.l1 == Path("runs/l1")


def test_ptq_precision_is_checked():
    with pytest.raises(dlt.ConfigError, match="fixed-point type"):
        dlt.with_overrides(Config(), "l1", ptq_precision="float16")


@pytest.fixture(scope="module")
def hlf_run(features_dataset, tmp_path_factory):
    folder = tmp_path_factory.mktemp("l1-runs") / "hlf"
    config = TrainConfig(model="hlf", data=features_dataset / "full", out=folder, epochs=4,
                         export=[])  # fmt: skip
    dlt.train.run(Config(train=config, tracking=TrackingConfig(enabled=False)))
    return folder


@pytest.fixture(scope="module")
def l1_result(hlf_run, features_dataset, tmp_path_factory):
    root = tmp_path_factory.mktemp("l1")
    config = dlt.with_overrides(
        Config(),
        l1={"run": hlf_run, "data": features_dataset / "full", "out": root / "l1", "epochs": 3,
            "if_exists": "skip"},
        run={"state": root / "state.json"},
    )  # fmt: skip
    return config, dlt.l1.run(config)


@pytest.mark.slow
def test_l1_stage_emulates_the_quantised_model(l1_result, features_dataset):
    _, result = l1_result
    summary = result.summary
    agree = summary["agreement"]
    assert result.agreement == agree["agreement"] >= 0.999
    assert agree["events"] == summary["test_events"] > 50
    assert agree["max_abs_logit_difference"] < 1e-4
    # the types the quantisers learned are the ones asked for
    assert summary["types"]["input"].startswith("ap_fixed<10,")
    assert summary["types"]["relu0"].startswith("ap_ufixed<6,")

    # the stored logits give the stored AUCs, computed again here with scikit-learn
    scores = pq.read_table(result.out / "scores.parquet").to_pydict()
    labels = np.asarray(scores["label"])
    assert len(labels) == summary["test_events"]
    for key in ("float", "ptq", "qat", "qat_emulated"):
        logits = np.asarray(scores[key])
        found = margins(logits)
        for c, name in enumerate(CLASS_NAMES):
            expected = roc_auc_score(labels == c, found[:, c])
            assert summary["metrics"][key]["classes"][name]["auc"] == pytest.approx(expected)
    float_logits = np.asarray(scores["float"])
    ptq_logits = np.asarray(scores["ptq"])
    # ap_fixed<16,6> keeps the float model's decisions on nearly every event
    assert (float_logits.argmax(1) == ptq_logits.argmax(1)).mean() > 0.97
    assert np.abs(float_logits - ptq_logits).max() < 0.5

    # intervals at the 99% working point contain their value
    point = summary["metrics"]["qat_emulated"]["classes"]["ttbar"]["background_efficiency"]
    assert point["interval"][0] <= point["value"] <= point["interval"][1]

    # estimates: labelled, and fewer bits cost fewer LUTs
    for key in ("ptq", "qat"):
        estimate = summary["estimates"][key]
        assert estimate["estimated"] is True and "da4ml" in estimate["da4ml"]["method"]
        assert estimate["da4ml"]["latency_ns"] == estimate["da4ml"]["cycles"] * 5.0
        assert estimate["da4ml"]["initiation_interval"] == 1
    ptq_estimate, qat_estimate = summary["estimates"]["ptq"], summary["estimates"]["qat"]
    assert qat_estimate["da4ml"]["luts"] < ptq_estimate["da4ml"]["luts"]
    n_weights = 14 * 50 + 50 * 20 + 20 * 10 + 10 * 3
    assert 0 < qat_estimate["analytic"]["multiplications"] <= n_weights
    assert ptq_estimate["share_of_part"]["luts"] == pytest.approx(
        ptq_estimate["da4ml"]["luts"] / 1_728_000
    )

    for name in ("l1.json", "qat.pt", "qat/model.qonnx.onnx", "ptq/firmware/l1model.cpp"):
        assert (result.out / name).is_file(), name
    assert set(summary["plots"]) == set(CLASS_NAMES)
    assert json.loads((result.out / "l1.json").read_text())["agreement"] == agree


@pytest.mark.slow
def test_l1_reruns_as_every_stage(l1_result):
    config, result = l1_result
    with pytest.raises(dlt.OutputExistsError):
        dlt.l1.run(dlt.with_overrides(config, "l1", if_exists="error"))
    skipped = dlt.l1.run(config)  # up to date: read back, nothing runs
    assert skipped.seconds == 0.0 and skipped.summary == result.summary
    with pytest.raises(dlt.OutputExistsError, match="weight_bits 6 -> 4"):
        dlt.l1.run(dlt.with_overrides(config, "l1", weight_bits=4))


@pytest.mark.slow
def test_report_gets_the_l1_section(l1_result, hlf_run, features_dataset, tmp_path):
    _, result = l1_result
    report = dlt.with_overrides(
        Config(), "evaluate", runs=[hlf_run], data=features_dataset / "full",
        out=tmp_path / "report", l1=result.out,
    )  # fmt: skip
    evaluation = dlt.evaluate.run(report).evaluation
    assert evaluation["l1"]["same_test_events"] is True
    text = (tmp_path / "report" / "report.md").read_text()
    assert "## Level-1 trigger path (dltrigger l1)" in text
    assert f"**{result.agreement:.4%}**" in text
    for plot in evaluation["l1"]["plots"].values():
        assert (tmp_path / "report" / plot).is_file()


@pytest.mark.slow
def test_l1_deep_sets_goes_through_the_same_path(features_dataset, tmp_path):
    """The leading-16-particle Deep Sets model: trained, quantised with hls4ml's own types,
    emulated bit for bit, estimated per particle."""
    run = tmp_path / "deepsets_l1"
    config = TrainConfig(model="deepsets_l1", data=features_dataset / "full", out=run, epochs=3,
                         export=[])  # fmt: skip
    dlt.train.run(Config(train=config, tracking=TrackingConfig(enabled=False)))
    settings = {"run": run, "data": features_dataset / "full", "out": tmp_path / "l1", "epochs": 2}
    summary = dlt.l1.run(dlt.with_overrides(Config(), "l1", **settings)).summary
    assert summary["model"] == "deepsets_l1"
    agree = summary["agreement"]
    assert agree["agreement"] >= 0.999 and agree["max_abs_logit_difference"] < 1e-4
    assert summary["types"]["input_particles"].startswith("ap_fixed<10,")
    assert summary["types"]["relu0"].startswith("ap_ufixed<6,")
    layers = {layer["name"]: layer for layer in summary["layers"]["qat"]}
    assert layers["phi_0"]["class"] == "PointwiseConv1D"
    assert "RND_CONV" in layers["phi_0"]["weights"]["weight"]
    # per particle: 16 slots x (19 x 16 + 16 x 16) weights, then (16 + 14) x 32 + 32 x 3
    most = 16 * (19 * 16 + 16 * 16) + 30 * 32 + 32 * 3
    for key in ("ptq", "qat"):
        assert 0.9 * most < summary["estimates"][key]["analytic"]["multiplications"] <= most
    for name in CLASS_NAMES:
        assert 0.5 < summary["metrics"]["qat_emulated"]["classes"][name]["auc"] <= 1


def test_l1_names_a_missing_run_in_one_line(tmp_path):
    run = tmp_path / "missing"
    completed = subprocess.run(
        [sys.executable, "-m", "dltrigger", "l1", "--run", str(run), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode != 0
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and str(run) in lines[0]


def test_a_model_without_a_route_into_firmware_is_refused_by_name(tmp_path):
    from types import SimpleNamespace

    from dltrigger.l1.adapters import adapter

    run = SimpleNamespace(folder=tmp_path / "inclusive", config=TrainConfig(model="inclusive"))
    with pytest.raises(dlt.L1Error, match=r"inclusive.*'inclusive' run.*'hlf' or 'deepsets_l1'"):
        adapter(run)
