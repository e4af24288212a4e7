"""Built-in catalog of the public CWRU bearing data set, one row per file number.

Source: the CWRU Bearing Data Center's pages (normal baseline, 12k drive end, 48k drive
end, 12k fan end). Loads 0-3 hp run at nominal 1797, 1772, 1750 and 1730 rpm. The
normal baselines (97-100) were recorded at 48 kHz.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from drsn_fd.errors import ConfigError

RPM_BY_LOAD = {0: 1797, 1: 1772, 2: 1750, 3: 1730}
FAULT_CODES = {"normal": "normal", "inner_race": "IR", "ball": "B", "outer_race": "OR"}

# sha256 of the original downloads where known (the files checked into the shared test set).
KNOWN_SHA256 = {
    97: "16bf48babcf1c7ac224bc1a81cd9eafdb27e42d5cf559761907e067e8eeadf3c",
    98: "37e6612c05e65c415dcfa2ab27a3fda648a5863160fa898b884a14743044e045",
    99: "4b97e6b5361f45efb6951dc3b1aebcdb3b89cb69d0f96d6f5c297dd9f45eee75",
    100: "88a5990cb541320e91505a1d72139e1993500ffe6e292a451011667f4138ca78",
    105: "f80b0ea04fd06b372a0eaec7c056543ea37e4bb4727a5b173d2a5bacd2aa9cab",
    118: "b00628f8dd8d1d930af77fa465d1e5cdb385fe259489053f91f3680bda7f640e",
    130: "35a095307d0971477049b343a1b5981dde465a58fb7f233ad89b035068c1717d",
    169: "f5448673725c4ea2735fe7d3fe4b16ad82b217eac6b62c4bf351c4549b0a5229",
    185: "5bea2c60f177215ba3ec4ae287faf745d7e14aed1a12efe9e37b27c27044bafc",
    197: "fa571b47cd942f9514a920b403fb7c053cd442bb2963a360a96d0f61432f03e9",
    209: "9f723d6d9d2eba714c6dc50f99321dffa73d8b1e4d3605675b2c2251511eff80",
    222: "fcc0ee740fa123b1f4683f555458891719efb2857afd9fdee63e8fde0ed14469",
    234: "ebcbdb96612e8085bbdbf81f0e5e8e8a8d1a693d1ec559c4894f7792771aa9b2",
}

# fs_hz, sensor end of the fault, fault, diameter (in), outer-race position, file numbers
# for loads 0, 1, 2, 3 hp (None where CWRU has no record).
_TABLE: list[tuple[int, str, str, float, int | None, tuple[int | None, ...]]] = [
    (48000, "none", "normal", 0.0, None, (97, 98, 99, 100)),
    # 12 kHz drive-end faults
    (12000, "DE", "inner_race", 0.007, None, (105, 106, 107, 108)),
    (12000, "DE", "ball", 0.007, None, (118, 119, 120, 121)),
    (12000, "DE", "outer_race", 0.007, 6, (130, 131, 132, 133)),
    (12000, "DE", "outer_race", 0.007, 3, (144, 145, 146, 147)),
    (12000, "DE", "outer_race", 0.007, 12, (156, 158, 159, 160)),
    (12000, "DE", "inner_race", 0.014, None, (169, 170, 171, 172)),
    (12000, "DE", "ball", 0.014, None, (185, 186, 187, 188)),
    (12000, "DE", "outer_race", 0.014, 6, (197, 198, 199, 200)),
    (12000, "DE", "inner_race", 0.021, None, (209, 210, 211, 212)),
    (12000, "DE", "ball", 0.021, None, (222, 223, 224, 225)),
    (12000, "DE", "outer_race", 0.021, 6, (234, 235, 236, 237)),
    (12000, "DE", "outer_race", 0.021, 3, (246, 247, 248, 249)),
    (12000, "DE", "outer_race", 0.021, 12, (258, 259, 260, 261)),
    (12000, "DE", "inner_race", 0.028, None, (3001, 3002, 3003, 3004)),
    (12000, "DE", "ball", 0.028, None, (3005, 3006, 3007, 3008)),
    # 48 kHz drive-end faults
    (48000, "DE", "inner_race", 0.007, None, (109, 110, 111, 112)),
    (48000, "DE", "ball", 0.007, None, (122, 123, 124, 125)),
    (48000, "DE", "outer_race", 0.007, 6, (135, 136, 137, 138)),
    (48000, "DE", "outer_race", 0.007, 3, (148, 149, 150, 151)),
    (48000, "DE", "outer_race", 0.007, 12, (161, 162, 163, 164)),
    (48000, "DE", "inner_race", 0.014, None, (174, 175, 176, 177)),
    (48000, "DE", "ball", 0.014, None, (189, 190, 191, 192)),
    (48000, "DE", "outer_race", 0.014, 6, (201, 202, 203, 204)),
    (48000, "DE", "inner_race", 0.021, None, (213, 214, 215, 217)),
    (48000, "DE", "ball", 0.021, None, (226, 227, 228, 229)),
    (48000, "DE", "outer_race", 0.021, 6, (238, 239, 240, 241)),
    (48000, "DE", "outer_race", 0.021, 3, (250, 251, 252, 253)),
    (48000, "DE", "outer_race", 0.021, 12, (262, 263, 264, 265)),
    # 12 kHz fan-end faults
    (12000, "FE", "inner_race", 0.007, None, (278, 279, 280, 281)),
    (12000, "FE", "ball", 0.007, None, (282, 283, 284, 285)),
    (12000, "FE", "outer_race", 0.007, 6, (294, 295, 296, 297)),
    (12000, "FE", "outer_race", 0.007, 3, (298, 299, 300, 301)),
    (12000, "FE", "outer_race", 0.007, 12, (302, 305, 306, 307)),
    (12000, "FE", "inner_race", 0.014, None, (274, 275, 276, 277)),
    (12000, "FE", "ball", 0.014, None, (286, 287, 288, 289)),
    (12000, "FE", "outer_race", 0.014, 3, (310, 309, 311, 312)),
    (12000, "FE", "outer_race", 0.014, 6, (313, None, None, None)),
    (12000, "FE", "inner_race", 0.021, None, (270, 271, 272, 273)),
    (12000, "FE", "ball", 0.021, None, (290, 291, 292, 293)),
    (12000, "FE", "outer_race", 0.021, 6, (315, None, None, None)),
    (12000, "FE", "outer_race", 0.021, 3, (None, 316, 317, 318)),
]


@dataclass(frozen=True)
class CatalogEntry:
    """What CWRU says about one file."""

    number: int
    fault: str  # normal | inner_race | ball | outer_race
    diameter_in: float
    load_hp: int
    rpm: int
    fs_hz: int
    sensor_end: str  # DE | FE (where the fault is), none for normal
    or_position: int | None  # 3, 6 or 12 o'clock for outer-race faults

    @property
    def code(self) -> str:
        """Class code: normal, IR007, B014, OR021@6, ..."""
        return class_code(self.fault, self.diameter_in, self.or_position)


def class_code(fault: str, diameter_in: float, or_position: int | None) -> str:
    """The conventional CWRU class name of a fault."""
    if fault == "normal":
        return "normal"
    code = f"{FAULT_CODES[fault]}{round(diameter_in * 1000):03d}"
    return f"{code}@{or_position}" if or_position else code


def _build() -> dict[int, CatalogEntry]:
    out: dict[int, CatalogEntry] = {}
    for fs, end, fault, diam, pos, numbers in _TABLE:
        for load, num in enumerate(numbers):
            if num is not None:
                out[num] = CatalogEntry(num, fault, diam, load, RPM_BY_LOAD[load], fs, end, pos)
    return out


CATALOG: dict[int, CatalogEntry] = _build()

# Class sets by name: label -> class codes it takes.
CLASS_SETS: dict[str, dict[str, list[str]]] = {
    "ten": {c: [c] for c in ["normal", "IR007", "IR014", "IR021", "B007", "B014", "B021",
                             "OR007@6", "OR014@6", "OR021@6"]},
    "four": {
        "normal": ["normal"],
        "inner_race": ["IR007", "IR014", "IR021"],
        "ball": ["B007", "B014", "B021"],
        "outer_race": ["OR007@6", "OR014@6", "OR021@6"],
    },
}
# the nine fault classes of `ten`: for loads or rigs without a normal record
CLASS_SETS["faults"] = {lb: codes for lb, codes in CLASS_SETS["ten"].items() if lb != "normal"}
# the fault location alone, whatever its size: the class set of data.test_sizes (another name of `four`)
CLASS_SETS["location"] = CLASS_SETS["four"]


def lookup(number: int) -> CatalogEntry | None:
    """The catalog row of a CWRU file number, or None."""
    return CATALOG.get(number)


def class_map(classes: str | Mapping) -> dict[str, list[str]]:
    """label -> class codes (or file numbers as strings) for a class-set name or mapping."""
    if isinstance(classes, str):
        if classes not in CLASS_SETS:
            raise ConfigError(f"data.classes={classes!r} is unknown; allowed: "
                              f"{', '.join(CLASS_SETS)} or a mapping label -> [codes or file numbers]")
        return CLASS_SETS[classes]
    if isinstance(classes, Mapping) and classes:
        out = {}
        for label, codes in classes.items():
            codes = [codes] if isinstance(codes, (str, int)) else list(codes)
            out[str(label)] = [str(c) for c in codes]
        return out
    raise ConfigError(f"data.classes={classes!r} must be one of {', '.join(CLASS_SETS)} "
                      "or a mapping label -> [codes]")
