"""Model shapes, parameter counts against the reference, and that padding is truly masked."""

import pytest
import torch

from dltrigger.errors import ConfigError
from dltrigger.models import REFERENCE_PARAMETERS, build_model, count_parameters


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


@pytest.mark.parametrize("name", ["particle", "inclusive", "lstm", "transformer"])
def test_padding_does_not_change_the_output(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    particles, lengths, hlf = batch([5, 12, 1, 30], 30)
    with torch.no_grad():
        reference = model(particles, lengths, hlf)
        # More padding, and padding that is not zero: the logits must not move.
        longer = torch.cat([particles, torch.full((4, 20, 19), 7.5)], dim=1)
        longer[:, :30][particles == 0] = 7.5
        padded = model(longer, lengths, hlf)
    assert reference.shape == (4, 3)
    torch.testing.assert_close(padded, reference, rtol=1e-5, atol=1e-6)


def test_outputs_are_logits_and_train():
    torch.manual_seed(1)
    model = build_model("inclusive")
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
