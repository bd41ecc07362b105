"""``if_exists = "skip"``: a notebook cell run twice gets the first run's results back, by the
same freshness digests as ``dltrigger run``, and a changed setting is refused naming it."""

import pytest

import dltrigger as dlt
from dltrigger.config import (
    Config,
    EvaluateConfig,
    FeaturesConfig,
    IngestConfig,
    RunConfig,
    TrackingConfig,
    TrainConfig,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def notebook_config(root, generated) -> Config:
    return dlt.with_overrides(
        Config(
            ingest=IngestConfig(out=root / "ingested", inputs=[str(generated.folder)]),
            features=FeaturesConfig(out=root / "features"),
            train=TrainConfig(out=root / "hlf", model="hlf", epochs=1, export=[]),
            evaluate=EvaluateConfig(out=root / "report", bootstrap=5, runs=[root / "hlf"]),
            run=RunConfig(state=root / "state.json"),
            tracking=TrackingConfig(enabled=False),
        ),
        if_exists="skip",
    )


def cell(config):
    """What the README's notebook block does."""
    ingested = dlt.ingest.run(config)
    features = dlt.features.run(config)
    hlf = dlt.train.run(config)
    report = dlt.evaluate.run(config)
    return ingested, features, hlf, report


def test_a_cell_run_twice_gives_the_same_results(generated, tmp_path):
    config = notebook_config(tmp_path, generated)
    first = cell(config)
    marker = (tmp_path / "hlf" / "best.pt").stat().st_mtime_ns
    again = cell(config)
    assert [r.seconds for r in again] == [0.0] * 4  # read back: nothing ran
    assert (tmp_path / "hlf" / "best.pt").stat().st_mtime_ns == marker
    assert again[0].report.events == first[0].report.events > 0
    assert again[1].manifests["full"]["counts"] == first[1].manifests["full"]["counts"]
    assert again[2].history == first[2].history and again[2].aucs == first[2].aucs
    assert again[3].aucs == first[3].aucs
    # a changed setting is not "up to date": refused, naming what changed, nothing replaced
    changed = dlt.with_overrides(config, train={"epochs": 2})
    with pytest.raises(dlt.OutputExistsError, match=r"epochs 1 -> 2.*if_exists='overwrite'"):
        dlt.train.run(changed)
    assert (tmp_path / "hlf" / "best.pt").stat().st_mtime_ns == marker
    # and a changed input (the features made again with other settings) is seen downstream
    dlt.features.run(dlt.with_overrides(config, features={"if_exists": "overwrite",
                                                          "dev_per_class": 10}))  # fmt: skip
    with pytest.raises(dlt.OutputExistsError, match="inputs changed"):
        dlt.train.run(config)
