"""data=hit: the HIT-SM bearing files of two test rigs, identified by their folder and file names.

HIT-SM (Harbin Institute of Technology, public repository hitwzc/Bearing-datasets) holds seven
states (`Normal`, inner-race faults `IR2`, `IR5`, `IR8`, outer-race faults `OR2`, `OR5`, `OR8`: the
number is the arc in degrees the defect covers) at several speeds on two machines: a SpectraQuest
machinery fault simulator (rig `mfs`) and the laboratory's self-built rig (`selfbuilt`). A file is
`<state>_<rpm>.mat`, taken at 51.2 kHz, and holds one numeric variable whose name changes from file
to file. The rig is the name of a folder above the file, wherever that folder is under data.root.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from drsn_fd.data.domains import show, value_key
from drsn_fd.data.matfile import read_single_array
from drsn_fd.data.records import Record
from drsn_fd.data.sources.files import mat_files, selected, sha256_of, to_record
from drsn_fd.data.sources.registry import register_source
from drsn_fd.errors import ConfigError, DataError

log = logging.getLogger(__name__)

SOURCE_FS = 51200  # every HIT-SM file; the files carry no rate
STATES = ("Normal", "IR2", "IR5", "IR8", "OR2", "OR5", "OR8")
RIGS = ("selfbuilt", "mfs")
# a folder belongs to a rig when its name, lower-cased without spaces and punctuation, contains one of these
RIG_WORDS = {"selfbuilt": ("selfbuilt",), "mfs": ("spectraquest", "mfs")}
RIG_FOLDERS = {"selfbuilt": "Self-built dataset", "mfs": "SpectraQuest MFS dataset"}  # the source's own names
_NAME = re.compile(r"^(normal|ir[258]|or[258])_(\d+)$", re.IGNORECASE)

# sha256 of the published files (hitwzc/Bearing-datasets at 12e46cd1b4a40f396c2bd6e245be5bafe18b1989)
KNOWN_SHA256 = {
    ("selfbuilt", "IR2_600.mat"): "a54bc9b977ff36ab2f2f7c92b49706056318749c09e03f45172d6f34ae56d65f",
    ("selfbuilt", "IR2_900.mat"): "e62cea5e5c1c91a6aea6baf00aa24cf7ffb67fa56f75a879605907580d5ebbfa",
    ("selfbuilt", "IR5_600.mat"): "b9bb89badc458eef2a316c199b004fde7d87931a911dbb8e400fb52d8126b626",
    ("selfbuilt", "IR5_900.mat"): "55e0d56b2ef52c9ea9b7a54e6b07fddb969551c88442ed62be7ae4d66dae7f3b",
    ("selfbuilt", "IR8_600.mat"): "627885b3e0812162f2ae921c724ef2833a1ac9ecd378717097adb4fc886df311",
    ("selfbuilt", "IR8_900.mat"): "edf64995b93b041ec75c613ab989cfa5149d463f3cee13f9fbcf9f8bbc7b5fe6",
    ("selfbuilt", "Normal_600.mat"): "bd8005d12cb0002188fafacc5f12876a21bc8c4b296f8ec1ced323f2a6723ecb",
    ("selfbuilt", "Normal_900.mat"): "473966f58941267acac9143868da4c8c8a9f06e9d1a2d69a8415a77e48923ddb",
    ("selfbuilt", "OR2_600.mat"): "b01701ab545b1450806667566736c2b0e3f107bf2211cba39d59591f33fc3293",
    ("selfbuilt", "OR2_900.mat"): "a4d48c8c01ffe718a83d71b1c905b4cf8a194aa6bec42a44f677c1e919203f6b",
    ("selfbuilt", "OR5_600.mat"): "5770e4fd6a12dc4422f723c2beaf271d707b14c73d16b80826faa0251489de28",
    ("selfbuilt", "OR5_900.mat"): "4bb36da4a15ef33457ac7aaf53e735da5b5d22a1dde8ffa58ef39adc43627e5f",
    ("selfbuilt", "OR8_600.mat"): "1618add5922bc5c5b42b4f275c21decd0aad4e7dd737836d5f792450fbb1a423",
    ("selfbuilt", "OR8_900.mat"): "078de014c274f16e0ecdea85ad466f0af6b8fd6d699145dba20d3f2fa42bb0fe",
    ("mfs", "IR2_600.mat"): "71eac6cf1b129ceb4f074d6e3d56d5feadf8a764e8fd3a5b38e91a1bcc1645a1",
    ("mfs", "IR2_900.mat"): "9a307bc8d61fe79f7154d50d6811f490a551228f7c57c0d02efe39bbc2c6cef2",
    ("mfs", "IR5_600.mat"): "52ac7e7aabc670a0a6de267347572e6e9110c64783b8fabe662ee407a1c754c8",
    ("mfs", "IR5_900.mat"): "e1c5e77952fb090c7656cd91811af8bcb6512e135602b8c926d1b800a41d7cf4",
    ("mfs", "IR8_600.mat"): "d8a3c772834a828997c89559ffdb4cba6d6f886ab99ba1c1a129080497556789",
    ("mfs", "IR8_900.mat"): "c8720261d5feb0bb8dc83e99bb9a8875a2cb3ab6c2572995d8dea067bc48676a",
    ("mfs", "Normal_600.mat"): "6e8de88c4563f22b028dc0fb1b1f0880f77a6e580c437614284c099092f81a17",
    ("mfs", "Normal_900.mat"): "91618b247e8bc65b1d515e9662e8c18219b3d4073426a64c1bb04487a9608ba1",
    ("mfs", "OR2_600.mat"): "61783f3ba7b2153bd80e586d4cc7fbb2bf5eb7f261007794faa8f542e6666489",
    ("mfs", "OR2_900.mat"): "4b0f8e74dd0f56b01ec055a0e70b486ee619baa7d1da75ff8b36eee1f3f7bb5b",
    ("mfs", "OR5_600.mat"): "59f71b3919c3104753099155606162f14a7b194ad12ac650586377c9eb607ff8",
    ("mfs", "OR5_900.mat"): "5fbfadce16c23cea3fb5c3a269136cc42a6744ab92cc0556c315584ec176b35b",
    ("mfs", "OR8_600.mat"): "d96d60f65fa1136ac5f56a4c4bfa531f99b12fcb3381a175ea6310928e8fb89d",
    ("mfs", "OR8_900.mat"): "391c990aadb196b79df15cc4b6fcbcb3fa206ef2551f1777e096901bd8b8ddf4",
}

# Class sets by name: label -> the states it takes.
CLASS_SETS: dict[str, dict[str, list[str]]] = {
    "seven": {s: [s] for s in STATES},
    "location": {"normal": ["Normal"], "inner": ["IR2", "IR5", "IR8"], "outer": ["OR2", "OR5", "OR8"]},
    "faults": {s: [s] for s in STATES if s != "Normal"},  # the six fault states: where no normal record is
}


@dataclass(frozen=True)
class HitFile:
    """What a HIT-SM file's folder and name say about it."""

    path: Path
    rig: str  # selfbuilt | mfs
    state: str  # Normal, IR2, ..., OR8
    speed: int  # nominal rpm

    @property
    def location(self) -> str:
        return {"N": "normal", "I": "inner", "O": "outer"}[self.state[0]]

    @property
    def severity(self) -> int | None:
        """The arc of the defect in degrees (2, 5, 8); None for normal."""
        return None if self.state == "Normal" else int(self.state[2:])

    def where(self) -> str:
        return f"{self.state} at {self.speed} rpm on rig {self.rig}"


def rig_of(name: str) -> str | None:
    """The rig a folder name names: `Self-built dataset` -> selfbuilt, `SpectraQuest MFS dataset` -> mfs."""
    plain = re.sub(r"[^a-z0-9]", "", name.lower())
    return next((rig for rig, words in RIG_WORDS.items() if any(w in plain for w in words)), None)


def catalog(root: Path) -> list[HitFile]:
    """Every HIT-SM file under `root`: a `<state>_<rpm>.mat` below a folder that names a rig
    (the nearest such folder; `root` itself may be one). Other files are skipped."""
    out = []
    for path in mat_files(root):
        m = _NAME.match(path.stem)
        folders = [*reversed(path.relative_to(root).parts[:-1]), root.name]
        rig = next((r for r in map(rig_of, folders) if r is not None), None)
        if m is None or rig is None:
            log.debug("skipping %s: not <state>_<rpm>.mat in a folder naming a HIT-SM rig", path)
            continue
        state = "Normal" if m.group(1).lower() == "normal" else m.group(1).upper()
        out.append(HitFile(path, rig, state, int(m.group(2))))
    return out


def hit_class_map(classes: object) -> dict[str, list[str]]:
    """label -> HIT-SM states for a class-set name (seven, location, faults) or a mapping label -> [states]."""
    allowed = f"{', '.join(CLASS_SETS)} or a mapping label -> [states: {', '.join(STATES)}]"
    if isinstance(classes, str):
        if classes not in CLASS_SETS:
            raise ConfigError(f"data.classes={classes!r} is unknown for data=hit; allowed: {allowed}")
        return CLASS_SETS[classes]
    if not isinstance(classes, Mapping) or not classes:
        raise ConfigError(f"data.classes={classes!r} must be one of {allowed}")
    canonical = {s.lower(): s for s in STATES}
    out: dict[str, list[str]] = {}
    taken: dict[str, str] = {}
    for label, states in classes.items():
        states = [states] if isinstance(states, str) else list(states)
        for s in states:
            if str(s).lower() not in canonical:
                raise ConfigError(f"data.classes: class {label} names state {s!r}, which HIT-SM does not have; "
                                  f"states: {', '.join(STATES)}")
            if (state := canonical[str(s).lower()]) in taken:
                raise ConfigError(f"data.classes: state {state} is in both class {taken[state]} and class {label}")
            taken[state] = str(label)
        out[str(label)] = [canonical[str(s).lower()] for s in states]
    return out


def check_sha256(f: HitFile) -> None:
    """Refuse a file whose sha256 differs from the published one (files not published pass)."""
    want = KNOWN_SHA256.get((f.rig, f.path.name))
    if want is not None and (got := sha256_of(f.path)) != want:
        raise DataError(f"{f.path}: sha256 {got[:16]}... is not that of the published HIT-SM file "
                        f"{RIG_FOLDERS[f.rig]}/{f.path.name} ({want[:16]}...): the file is changed or damaged")


def _rigs(cfg: Mapping) -> list[str] | None:
    """The rigs to read: data.rigs and data.test_rigs (None: every rig under data.root)."""
    rigs = selected(cfg, "rigs", "test_rigs")
    for key in ("rigs", "test_rigs"):
        if unknown := [str(r) for r in cfg.get(key) or [] if str(r) not in RIGS]:
            raise ConfigError(f"data.{key}: unknown rig(s) {', '.join(unknown)}; HIT-SM rigs: {', '.join(RIGS)}")
    return None if rigs is None else [r for r in RIGS if r in {str(x) for x in rigs}]


def select_files(cfg: Mapping, root: Path) -> list[tuple[HitFile, str]]:
    """The files of `root` the data config selects, as (file, label) in class-set order; a missing
    (rig, speed, state) of the selection is refused by name."""
    cmap = hit_class_map(cfg["classes"])
    files = catalog(root)
    found = [r for r in RIGS if any(f.rig == r for f in files)]
    if not files:
        raise DataError(f"data.root={root}: no HIT-SM file (<state>_<rpm>.mat in a folder whose name contains "
                        "Self-built, SpectraQuest or MFS)")
    rigs = _rigs(cfg) or found
    if absent := [r for r in rigs if r not in found]:
        raise DataError(f"data.root={root}: no folder of rig(s) {', '.join(absent)} (a folder named like "
                        f"{', '.join(repr(RIG_FOLDERS[r]) for r in absent)}); rigs there: {', '.join(found)}")
    speeds = selected(cfg, "speeds", "test_speeds")
    speeds = sorted({f.speed for f in files if f.rig in rigs}) if speeds is None else \
        sorted({value_key(s, "number") for s in speeds})
    index: dict[tuple, HitFile] = {}
    for f in files:
        if (key := (f.rig, f.state, value_key(f.speed, "number"))) in index:
            raise DataError(f"data.root={root}: two files of {f.where()}: {index[key].path} and {f.path}")
        index[key] = f
    chosen, missing = [], []
    for label, states in cmap.items():
        for state in states:
            for rig in rigs:
                for speed in speeds:
                    f = index.get((rig, state, speed))
                    if f is None:
                        missing.append(f"{state} at {show(speed)} rpm on rig {rig} ({RIG_FOLDERS[rig]}/{state}_{show(speed)}.mat)")
                    else:
                        chosen.append((f, label))
    if missing:
        more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        raise DataError(f"data.root={root}: no file for {', '.join(missing[:4])}{more}")
    return chosen


@register_source("hit", classes=hit_class_map, reads="root")
def hit_records(cfg: Mapping) -> list[Record]:
    """The HIT-SM records of data.root that the data config selects (data.rigs, data.speeds, data.classes)."""
    if not cfg.get("root"):
        raise ConfigError("data.root is not set: point it at the HIT-SM folder (data.root=/path/to/hit, "
                          "or DRSN_HIT_ROOT)")
    if cfg.get("loads") is not None:
        raise ConfigError(f"data.loads={list(cfg['loads'])}: HIT-SM records carry no motor load; select with "
                          "data.rigs and data.speeds (data.loads=null)")
    records = []
    for f, label in select_files(cfg, Path(str(cfg["root"])).expanduser()):
        check_sha256(f)
        name, x = read_single_array(f.path)
        records.append(to_record(x, f.path, label, SOURCE_FS, cfg, name, speed=f.speed, rig=f.rig,
                                 size=f.severity, location=f.location, state=f.state,
                                 published_sha256=KNOWN_SHA256.get((f.rig, f.path.name))))
    return records
