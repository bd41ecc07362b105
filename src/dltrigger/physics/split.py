"""Deterministic per-event numbers: an event's content key, its split and its sampling number.

An event's key is a 64-bit digest of its content: the kinematics (PT or ET, Eta, Phi) of its
particle-flow candidates (tracks, photons, neutral hadrons) and how many there are of each. It
does not depend on the file the event lies in, its entry or its neighbours, so a copy of an
event (a renamed copy of a file, a merged, skimmed or re-chunked file) has the key of the
original. The split and sampling numbers are hashes of (key, salt), uniform in [0, 1): the
same event gets the same split and the same sampling decision wherever it lies, whatever the
partitioning, the number of cores or the order of the files.

Everything is whole-array numpy on uint64 (wrapping arithmetic): no Python loop per event.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from .collections import PHYSICS_NAMES

#: How an event's split and sampling numbers are drawn (``[features] split_key``): "content"
#: hashes [`event_keys`][]. Datasets made before the setting existed hashed the source file's
#: base name and the entry ("file_entry"): a renamed copy of a file could put training events
#: in the test split.
SPLIT_KEY = "content"
#: The content of an event that makes its key: the kinematics of its particle-flow candidates
#: (role of physics/collections.py -> members), which every card names alike (the lepton, jet
#: and MET collections differ between cards and are chosen by settings, so they stay out of an
#: event's identity).
KEY_MEMBERS: dict[str, tuple[str, ...]] = {
    "tracks": ("PT", "Eta", "Phi"),
    "photons": ("ET", "Eta", "Phi"),
    "neutral_hadrons": ("ET", "Eta", "Phi"),
}

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
#: Odd multipliers combining a candidate's members into one number before it is mixed.
_MEMBER_MULTIPLIERS = (_GOLDEN, np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9))


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, element-wise (a bijection of uint64 with full avalanche)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    mixed: np.ndarray = z ^ (z >> np.uint64(31))
    return mixed


def _mix_in_place(z: np.ndarray) -> None:
    """[`_mix`][], overwriting ``z`` (one scratch array instead of one per step)."""
    scratch = z >> np.uint64(30)
    z ^= scratch
    z *= _M1
    np.right_shift(z, np.uint64(27), out=scratch)
    z ^= scratch
    z *= _M2
    np.right_shift(z, np.uint64(31), out=scratch)
    z ^= scratch


def _salt(text: str) -> np.uint64:
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def event_keys(physics: pa.Table, rows: np.ndarray | None = None) -> np.ndarray:
    """The content key (uint64) of each event (of those at ``rows`` only, if given) of a table
    of physics collections (as
    [`physics_table`][dltrigger.physics.collections.physics_table] returns it).

    Per collection of [`KEY_MEMBERS`][]: the number of candidates, and the sum over them of
    a hash of their members (as float64 bits, so float32 and float64 copies of the same
    numbers agree). The (wrapping, exact) sum does not depend on the order of the candidates
    nor on where the event lies. Equal content, equal key; other content, another key (but for
    a 2**-64 chance per pair of events)."""
    rows = np.arange(physics.num_rows) if rows is None else np.asarray(rows, dtype=np.int64)
    keys = np.zeros(len(rows), np.uint64)
    for role, members in KEY_MEMBERS.items():
        column = physics.column(PHYSICS_NAMES[role]).combine_chunks()
        offsets = column.offsets.to_numpy().astype(np.int64)
        offsets -= offsets[0]
        candidates = column.flatten()  # the candidates of these events only
        # StructArray.flatten, unlike .field, applies the array's own offset to its children.
        children = dict(zip([f.name for f in candidates.type], candidates.flatten(), strict=True))
        # Running sums of the candidates' hashes, after a leading 0: an event's sum is the
        # difference at its offsets. Every candidate is hashed (cheaper than gathering those
        # of ``rows`` first).
        running = np.zeros(offsets[-1] + 1, np.uint64)
        hashed, scratch = running[1:], np.empty(offsets[-1], np.uint64)
        for i, (member, multiplier) in enumerate(zip(members, _MEMBER_MULTIPLIERS, strict=True)):
            values = children[member].to_numpy(zero_copy_only=False)
            bits = np.asarray(values, dtype=np.float64).view(np.uint64)
            np.multiply(bits, multiplier, out=hashed if i == 0 else scratch)
            if i:
                hashed += scratch
        salt = _salt(role)
        hashed ^= salt
        _mix_in_place(hashed)
        np.cumsum(running, out=running)
        start, stop = offsets[rows], offsets[rows + 1]
        keys = _mix(keys * _GOLDEN + ((stop - start).astype(np.uint64) ^ salt))
        keys = _mix(keys * _GOLDEN + (running[stop] - running[start]))
    return keys


def event_uniform(keys: np.ndarray, salt: str = "") -> np.ndarray:
    """Uniform [0, 1) numbers from (event key, salt): independent numbers for each salt."""
    z = _mix(np.asarray(keys).view(np.uint64) ^ _salt(salt))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def split_of(uniform: np.ndarray, test_fraction: float, validation_fraction: float) -> np.ndarray:
    """'test' for the lowest ``test_fraction`` of the numbers, 'validation' for the next
    ``validation_fraction``, else 'train' (the validation events are taken from what would
    be training events: the test split is the same whatever the validation fraction)."""
    return np.where(
        uniform < test_fraction,
        "test",
        np.where(uniform < test_fraction + validation_fraction, "validation", "train"),
    )
