"""Model shapes, parameter counts against the reference, and that padding is truly masked."""

import warnings

import numpy as np
import pytest
import torch

from dltrigger.errors import ConfigError
from dltrigger.models import REFERENCE_PARAMETERS, build_model, count_parameters
from dltrigger.models.export import OnnxScorer, example_inputs, export_model, input_names


def test_parameter_counts_match_the_reference():
    assert count_parameters(build_model("hlf")) == REFERENCE_PARAMETERS["hlf"] == 2013
    assert count_parameters(build_model("inclusive")) == REFERENCE_PARAMETERS["inclusive"]
    assert count_parameters(build_model("particle")) == 10_650 + 153
    # PyTorch's LSTM has two bias vectors where Keras has one: 4 x 50 more.
    assert count_parameters(build_model("lstm")) == REFERENCE_PARAMETERS["lstm"] + 200
    assert count_parameters(build_model("transformer")) < REFERENCE_PARAMETERS["transformer"] / 5
    with pytest.raises(ConfigError, match="did you mean 'inclusive'"):
        build_model("inclusiv")


def batch(lengths, max_len, pad_value=0.0, seed=0):
    generator = torch.Generator().manual_seed(seed)
    particles = torch.randn(len(lengths), max_len, 19, generator=generator)
    lengths = torch.tensor(lengths)
    mask = torch.arange(max_len)[None, :] >= lengths[:, None]
    particles[mask] = pad_value
    return particles, lengths, torch.randn(len(lengths), 14, generator=generator)


@pytest.mark.parametrize(
    ("name", "packed"),
    [("particle", False), ("particle", True), ("inclusive", False), ("inclusive", True),
     ("lstm", False), ("lstm", True), ("transformer", None), ("deepsets", None),
     ("deepsets_l1", None)],
)  # fmt: skip
def test_padding_does_not_change_the_output(name, packed):
    torch.manual_seed(0)
    model = build_model(name).eval()
    if packed is not None:
        model.packed = packed
    particles, lengths, hlf = batch([5, 12, 1, 30], 30)
    with torch.no_grad():
        reference = model(particles, lengths, hlf)
        # More padding, and padding that is not zero: the logits must not move.
        longer = torch.cat([particles, torch.full((4, 20, 19), 7.5)], dim=1)
        longer[:, :30][particles == 0] = 7.5
        padded = model(longer, lengths, hlf)
    assert reference.shape == (4, 3)
    torch.testing.assert_close(padded, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["inclusive", "deepsets", "deepsets_l1"])
def test_outputs_are_logits_and_train(name):
    torch.manual_seed(1)
    model = build_model(name)
    particles, lengths, hlf = batch([10, 20, 3, 7, 15, 9], 20)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(particles, lengths, hlf), labels)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]  # it learns six events by heart
    logits = model.eval()(particles, lengths, hlf)
    assert not torch.allclose(logits.sum(1), torch.ones(6))  # not probabilities


@pytest.mark.parametrize("name", ["particle", "inclusive", "lstm"])
def test_packed_and_padded_recurrent_paths_agree(name):
    """The gather over a padded batch is the packed sequence's last state, gradients too."""
    torch.manual_seed(2)
    model = build_model(name).eval()
    particles, lengths, hlf = batch([5, 12, 1, 30, 29], 30)
    results = []
    for packed in (True, False):
        model.packed = packed
        model.zero_grad()
        out = model(particles, lengths, hlf)
        out.square().sum().backward()
        results.append((out.detach(), model.rnn.weight_hh_l0.grad.clone()))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=1e-4, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hlf", "particle", "inclusive", "lstm", "transformer",
                                  "deepsets", "deepsets_l1"])  # fmt: skip
def test_exported_models_give_the_pytorch_scores(name, tmp_path):
    """ONNX (onnxruntime) and TorchScript scores equal the PyTorch model's, for any batch size
    and sequence length (the export is traced on one small example)."""
    torch.manual_seed(3)
    model = build_model(name).eval()
    paths = export_model(model, name, tmp_path, ["onnx", "torchscript"])
    onnx_model = OnnxScorer(paths["onnx"])
    with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript (see models/export.py)
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.load(str(paths["torchscript"]))
    for size, length in [(7, 23), (1, 1), (2, 801)]:
        inputs = example_inputs(name, size, length)
        with torch.no_grad():
            expected = torch.softmax(model(*inputs), dim=1).numpy()
            logits, scores = scripted(*inputs)
        np.testing.assert_allclose(scores.numpy(), expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(torch.softmax(logits, 1), scores)
        feeds = dict(zip(input_names(name), (x.numpy() for x in inputs), strict=True))
        np.testing.assert_allclose(onnx_model(**feeds), expected, rtol=1e-5, atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "model.torchscript.pt"]
    with pytest.raises(ConfigError, match="did you mean 'onnx'"):
        export_model(model, name, tmp_path, ["onx"])


@pytest.mark.parametrize("name", ["deepsets", "deepsets_l1"])
def test_deep_sets_ignores_the_order_of_the_particles(name):
    """A set, not a sequence: permuting each event's real particles leaves the logits as they
    are (the GRU's depend on the order)."""
    torch.manual_seed(4)
    model = build_model(name).eval()
    particles, lengths, hlf = batch([5, 12, 1, 30], 30)
    shuffled = particles.clone()
    for i, n in enumerate(lengths.tolist()):
        shuffled[i, :n] = particles[i, torch.randperm(n)]
    with torch.no_grad():
        torch.testing.assert_close(model(shuffled, lengths, hlf), model(particles, lengths, hlf),
                                   rtol=1e-5, atol=1e-5)  # fmt: skip
    with pytest.raises(ConfigError, match="pooling"):
        build_model("deepsets", pooling="max")


def test_l1_deep_sets_sees_the_leading_particles_only():
    """deepsets_l1 reads the 16 highest-pT particles: a particle of lower pT than those
    changes nothing, one of higher pT does."""
    from dltrigger.models.deepsets import PT_INDEX

    torch.manual_seed(5)
    model = build_model("deepsets_l1").eval()
    particles, lengths, hlf = batch([30, 30], 31)
    particles[:, :30, PT_INDEX] = torch.linspace(1.0, 3.0, 30)
    with torch.no_grad():
        reference = model(particles, lengths, hlf)
        soft, hard = particles.clone(), particles.clone()
        soft[:, 30], soft[:, 30, PT_INDEX] = particles[:, 0] + 5, 0.5  # below the leading 16
        hard[:, 30], hard[:, 30, PT_INDEX] = particles[:, 0] + 5, 9.0  # the new leading one
        longer = lengths + 1
        torch.testing.assert_close(model(soft, longer, hlf), reference)
        assert not torch.allclose(model(hard, longer, hlf), reference)
