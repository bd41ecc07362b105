"""The facts every stage shares: the classes, the feature names and their widths.

Stages import these from here (not from each other), so a features dataset, a run folder,
the ONNX trigger and the report agree on what column ``k`` of a score or a feature means.
"""

from __future__ import annotations

#: Class names in label order (docs/reference.md §1.3: 0 QCD, 1 ttbar, 2 W+jets).
CLASS_NAMES = ("QCD", "ttbar", "W+jets")

#: The 14 high-level features in the reference's order (docs/reference.md §3.2).
HLF_NAMES = (
    "HT", "MET", "phiMET", "MT", "nJets", "nBjets", "LepPt", "LepEta", "LepPhi",
    "LepIsoCh", "LepIsoGamma", "LepIsoNeu", "LepCharge", "LepIsEle",
)  # fmt: skip

#: The 19 features of each row of a particle list (docs/reference.md §3.1).
PARTICLE_FEATURES = (
    "E", "Px", "Py", "Pz", "Pt", "Eta", "Phi", "vtxX", "vtxY", "vtxZ",
    "ChPFIso", "GammaPFIso", "NeuPFIso", "isChHad", "isNeuHad", "isGamma", "isEle", "isMu",
    "Charge",
)  # fmt: skip

HLF_WIDTH = len(HLF_NAMES)

#: The splits of a features dataset (its ``split`` column holds exactly these): ``train`` fits
#: the weights, ``validation`` chooses among models and epochs (best epoch, early stopping,
#: learning-rate schedule, grid point, trigger threshold), ``test`` only measures.
SPLITS = ("train", "validation", "test")

#: Centre-of-mass energy of the collisions, in TeV: the reference's Delphes samples, the
#: genuine Delphes files and our generator's (generate/processes.py) are all at 13 TeV.
COLLISION_ENERGY_TEV = 13
PARTICLE_WIDTH = len(PARTICLE_FEATURES)


def class_name(label: int) -> str:
    """The class of a label (``"label 7"`` for one outside the three)."""
    return CLASS_NAMES[label] if 0 <= label < len(CLASS_NAMES) else f"label {label}"


def class_counts_text(per_class: dict[int, int]) -> str:
    """``"QCD 1,204, ttbar 5,310"`` (``"none"`` when empty): counts by class name."""
    return ", ".join(f"{class_name(k)} {v:,}" for k, v in sorted(per_class.items())) or "none"


def feature_schema() -> dict[str, list[str]]:
    """The schema as recorded in datasets and run folders (compared by value on reading)."""
    return {
        "classes": list(CLASS_NAMES),
        "hlf": list(HLF_NAMES),
        "particles": list(PARTICLE_FEATURES),
    }
