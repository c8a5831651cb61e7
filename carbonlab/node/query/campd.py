"""CSV of query rows under EPA CAMPD's hourly emissions column names, and back.

Column names follow the CAMPD API's hourly emissions fields where one exists (`facilityName`,
`unitId`, `associatedStacks`, `date`, `hour`, `opTime`, `grossLoad`, `heatInput`, `co2Mass`,
`co2MassMeasureFlg`), so an analyst can line them up with public data. CAMPD reports masses
in short tons and heat in mmBtu; this file reports SI units and says so in the name: a
CAMPD name with `_<unit>` appended (`co2Mass_t` metric tonnes, `heatInput_GJ`,
`grossLoad_MWh` the period's gross output, which over one hour equals CAMPD's MW). Columns
CAMPD has no name for use the same camelCase pattern (`ch4Mass_t`, `companyName`, `meterId`).

Masses are written as the shortest decimal of the stored kg with the point moved three
places, so reading a file back gives exactly the stored floats (`read_csv`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

from carbonlab.node.query.filters import FilterError
from carbonlab.node.query.rollup import RollupRow

COLUMNS = ("companyName", "facilityName", "unitId", "associatedStacks", "meterId", "date", "hour",
           "periodStart", "periodEnd", "opTime", "grossLoad_MWh", "heatInput_GJ", "co2Mass_t",
           "co2MassMeasureFlg", "ch4Mass_t", "n2oMass_t", "readings", "substituted",
           "expectedIntervals", "missingIntervals", "substitutedShare", "missingShare")
MASSES = (("co2Mass_t", "co2_kg"), ("ch4Mass_t", "ch4_kg"), ("n2oMass_t", "n2o_kg"))
NAMES = (("companyName", "company"), ("facilityName", "plant"), ("unitId", "unit"),
         ("associatedStacks", "stack"), ("meterId", "meter"))


def _tonnes(kg: float | None) -> str:
    return "" if kg is None else str(Decimal(repr(kg)).scaleb(-3).normalize()) \
        if kg != 0 else "0"


def _kg(text: str) -> float | None:
    return None if text == "" else float(Decimal(text).scaleb(3))


def measure_flag(row: RollupRow) -> str:
    """CAMPD's co2MassMeasureFlg vocabulary: Measured, Substitute, or both."""
    if not row.readings:
        return ""
    if row.substituted == 0:
        return "Measured"
    return "Substitute" if row.substituted == row.readings else "Measured and Substitute"


def _float(value: float | None) -> str:
    return "" if value is None else repr(value)


def write_csv(rows: tuple[RollupRow, ...] | list[RollupRow], hourly: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        start = dt.datetime.fromtimestamp(r.period_start, dt.UTC)
        op = "" if not r.expected else repr((r.expected - r.missing) / r.expected)
        values: dict[str, Any] = {
            **{col: getattr(r, attr) or "" for col, attr in NAMES},
            "date": start.date().isoformat(),
            "hour": start.hour if hourly and r.period_end - r.period_start <= 3600 else "",
            "periodStart": r.period_start, "periodEnd": r.period_end, "opTime": op,
            "grossLoad_MWh": _float(r.gross_mwh), "heatInput_GJ": _float(r.heat_input_gj),
            **{col: _tonnes(getattr(r, attr)) for col, attr in MASSES},
            "co2MassMeasureFlg": measure_flag(r), "readings": r.readings,
            "substituted": r.substituted, "expectedIntervals": r.expected,
            "missingIntervals": r.missing, "substitutedShare": repr(r.substituted_share),
            "missingShare": repr(r.missing_share)}
        writer.writerow([values[c] for c in COLUMNS])
    return out.getvalue()


def read_csv(text: str) -> list[RollupRow]:
    """Rows back from `write_csv`'s text; a missing column or a bad value raises FilterError
    naming the column and line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise FilterError("csv", f"columns missing: {', '.join(missing)}")
    return [_row(rec, line) for line, rec in enumerate(reader, start=2)]


def _row(rec: dict[str, str], line: int) -> RollupRow:
    values: dict[str, Any] = {}
    for col in COLUMNS:
        text = rec[col]
        try:
            if col in ("periodStart", "periodEnd", "readings", "substituted", "expectedIntervals",
                       "missingIntervals"):
                values[col] = int(text)
            elif col in ("grossLoad_MWh", "heatInput_GJ"):
                values[col] = None if text == "" else float(text)
            elif col in dict(MASSES):
                values[col] = _kg(text)
        except (ValueError, ArithmeticError):
            raise FilterError("csv", f"line {line}, column {col}: {text!r} is not a "
                                     "number") from None
    names = {attr: rec[c] or None for c, attr in NAMES}
    return RollupRow(values["periodStart"], values["periodEnd"], names["company"], names["plant"],
                     names["unit"], names["stack"], names["meter"], values["co2Mass_t"],
                     values["ch4Mass_t"], values["n2oMass_t"], values["grossLoad_MWh"],
                     values["heatInput_GJ"], values["readings"], values["substituted"],
                     values["expectedIntervals"], values["missingIntervals"])
