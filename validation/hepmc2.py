"""Pythia 8 event records written as HepMC2 IO_GenEvent ascii, the input of ``DelphesHepMC2``.

The same writer made the genuine Delphes files of ``tests/data/delphes``, so the validation
feeds Delphes exactly as those files were made. The vertex
structure follows Pythia's own Pythia8ToHepMC (Pythia8Plugins/HepMC2.h): a particle's
production vertex is the end vertex of its first mother that has one, or a new vertex whose
incoming particles are Pythia's motherList(); beam protons are orphan incoming particles;
particle barcodes are Pythia's event-record indices, vertex barcodes -1, -2, ...; status
codes are Particle::statusHepMC(). Units GeV and mm.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

HEADER = "\nHepMC::Version 2.06.09\nHepMC::IO_GenEvent-START_EVENT_LISTING\n"
FOOTER = "HepMC::IO_GenEvent-END_EVENT_LISTING\n"


def mother_list(i, status, m1, m2):
    """Pythia's Particle::motherList()."""
    sa = abs(status[i])
    a, b = m1[i], m2[i]
    if sa in (11, 12) or (a == 0 and b == 0):
        return []
    if b == 0 or b == a:
        return [a]
    if 80 < sa < 90 or 100 < sa < 107:
        return list(range(a, b + 1))
    return [min(a, b), max(a, b)]


def status_hepmc(i, ids, status, d1):
    """Pythia's Particle::statusHepMC()."""
    s = status[i]
    if s > 0:
        return 1
    if s == -12:
        return 4
    aid = abs(ids[i])
    is_hadron_like = aid > 100 or aid in (13, 15)
    if is_hadron_like and d1[i] > 0 and ids[d1[i]] != ids[i] and 90 < abs(status[d1[i]]) < 95:
        return 2
    if -200 <= s <= -11:
        return -s
    return 0


def write_event(out, number, rec, info):
    ids = rec["id"]
    n = len(ids)
    status, m1, m2, d1 = rec["status"], rec["mother1"], rec["mother2"], rec["daughter1"]
    pos = rec["pos"]  # (n, 4): x, y, z, t in mm
    prod = [None] * n
    end = [None] * n
    vpos: list[tuple] = []
    vins: list[list[int]] = []
    vouts: list[list[int]] = []

    def new_vertex():
        vpos.append(None)
        vins.append([])
        vouts.append([])
        return len(vpos) - 1

    for i in range(1, n):
        pv = None
        mother = m1[i]
        while pv is None and mother > 0:
            pv = end[mother]
            if pv is not None:
                vouts[pv].append(i)
                prod[i] = pv
            mother = mother + 1 if mother + 1 <= m2[i] else 0
        p = tuple(pos[i])
        mothers = mother_list(i, status, m1, m2)
        if pv is None and (mothers or any(p)):
            pv = new_vertex()
            vouts[pv].append(i)
            prod[i] = pv
        if pv is not None:
            if vpos[pv] is None or not any(vpos[pv]):
                vpos[pv] = p
            for mo in mothers:
                if end[mo] is None:
                    vins[pv].append(mo)
                    end[mo] = pv
    for i in range(1, n):  # hanging particles: give them a vertex of their own
        if prod[i] is None and end[i] is None:
            pv = new_vertex()
            vpos[pv] = tuple(pos[i])
            vouts[pv].append(i)
            prod[i] = pv

    px, py, pz, e, m = rec["px"], rec["py"], rec["pz"], rec["e"], rec["m"]
    col, acol = rec["col"], rec["acol"]
    lines = []
    w = lines.append
    w(
        f"E {number} {info['nmpi']} {info['scale']:.16e} {info['alphas']:.16e} "
        f"{info['alphaem']:.16e} {info['code']} 0 {len(vpos)} 1 2 0 1 {info['weight']:.16e}"
    )
    w('N 1 "0"')
    w("U GEV MM")
    w(f"C {info['sigma_pb']:.16e} {info['sigma_err_pb']:.16e}")
    w(
        f"F {info['id1']} {info['id2']} {info['x1']:.16e} {info['x2']:.16e} {info['qfac']:.16e} "
        f"{info['pdf1']:.16e} {info['pdf2']:.16e} 0 0"
    )

    def particle_line(i):
        flows = []
        if col[i]:
            flows.append(f"1 {col[i]}")
        if acol[i]:
            flows.append(f"2 {acol[i]}")
        endbc = -(end[i] + 1) if end[i] is not None else 0
        return (
            f"P {i} {ids[i]} {px[i]:.16e} {py[i]:.16e} {pz[i]:.16e} {e[i]:.16e} {m[i]:.16e} "
            f"{status_hepmc(i, ids, status, d1)} 0 0 {endbc} {len(flows)}"
            + ("".join(" " + f for f in flows))
        )

    for v in range(len(vpos)):
        x, y, z, t = vpos[v] if vpos[v] is not None else (0.0, 0.0, 0.0, 0.0)
        orphans = [i for i in vins[v] if prod[i] is None]
        w(f"V {-(v + 1)} 0 {x:.16e} {y:.16e} {z:.16e} {t:.16e} {len(orphans)} {len(vouts[v])} 0")
        for i in orphans:
            w(particle_line(i))
        for i in vouts[v]:
            w(particle_line(i))
    out.write("\n".join(lines))
    out.write("\n")


def record_of(prt) -> dict:
    """One event of a Pythia ``nextBatch`` (its ``prt`` record) as the lists :func:`write_event`
    reads."""
    record = {
        "id": ak.to_numpy(prt.id),
        "status": ak.to_numpy(prt.status),
        "mother1": ak.to_numpy(prt.mother1),
        "mother2": ak.to_numpy(prt.mother2),
        "daughter1": ak.to_numpy(prt.daughter1),
        "col": ak.to_numpy(prt.col),
        "acol": ak.to_numpy(prt.acol),
        "px": ak.to_numpy(prt.p.px),
        "py": ak.to_numpy(prt.p.py),
        "pz": ak.to_numpy(prt.p.pz),
        "e": ak.to_numpy(prt.p.e),
        "m": ak.to_numpy(prt.m),
    }
    v = prt.vProd
    record["pos"] = np.stack(
        [ak.to_numpy(ak.fill_none(getattr(v, c), 0.0)) for c in ("px", "py", "pz", "e")], axis=1
    ).tolist()
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in record.items()}


def info_of(pythia) -> dict:
    """The event's header numbers (Pythia's Info of the last event generated)."""
    info = pythia.infoPython()
    return {
        "nmpi": info.nMPI(),
        "scale": info.QRen(),
        "alphas": info.alphaS(),
        "alphaem": info.alphaEM(),
        "code": info.code(),
        "weight": info.weight(),
        "sigma_pb": info.sigmaGen() * 1e9,
        "sigma_err_pb": info.sigmaErr() * 1e9,
        "id1": info.id1pdf(),
        "id2": info.id2pdf(),
        "x1": info.x1pdf(),
        "x2": info.x2pdf(),
        "qfac": info.QFac(),
        "pdf1": info.pdf1(),
        "pdf2": info.pdf2(),
    }
