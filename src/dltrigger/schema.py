"""The facts every stage shares: the classes, the feature names and their widths.

Stages import these from here (not from each other), so a features dataset, a run folder,
the ONNX trigger and the report agree on what column ``k`` of a score or a feature means.
"""

from __future__ import annotations

#: Class names in label order (reference-pipeline.md §1.3: 0 QCD, 1 ttbar, 2 W+jets).
CLASS_NAMES = ("QCD", "ttbar", "W+jets")

#: The 14 high-level features in the reference's order (reference-pipeline.md §3.2).
HLF_NAMES = (
    "HT", "MET", "phiMET", "MT", "nJets", "nBjets", "LepPt", "LepEta", "LepPhi",
    "LepIsoCh", "LepIsoGamma", "LepIsoNeu", "LepCharge", "LepIsEle",
)  # fmt: skip

#: The 19 features of each row of a particle list (reference-pipeline.md §3.1).
PARTICLE_FEATURES = (
    "E", "Px", "Py", "Pz", "Pt", "Eta", "Phi", "vtxX", "vtxY", "vtxZ",
    "ChPFIso", "GammaPFIso", "NeuPFIso", "isChHad", "isNeuHad", "isGamma", "isEle", "isMu",
    "Charge",
)  # fmt: skip

HLF_WIDTH = len(HLF_NAMES)

#: Centre-of-mass energy of the collisions, in TeV: the reference's Delphes samples, the
#: genuine Delphes files and our generator's (generate/processes.py) are all at 13 TeV.
COLLISION_ENERGY_TEV = 13
PARTICLE_WIDTH = len(PARTICLE_FEATURES)


def feature_schema() -> dict[str, list[str]]:
    """The schema as recorded in datasets and run folders (compared by value on reading)."""
    return {
        "classes": list(CLASS_NAMES),
        "hlf": list(HLF_NAMES),
        "particles": list(PARTICLE_FEATURES),
    }
