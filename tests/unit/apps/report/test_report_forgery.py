"""`report verify` on forgeries that leave every figure's value alone: the workbook shown
otherwise than the build wrote it (a literal-text number format, hidden sheets, rows or columns,
a white font, a comment, an extra zip member), bundle files naming another chain, a file the
build never writes listed in the manifest, an empty report.json. The forger rewrites the
manifest's hashes (anyone can: no statement pins it here). Each must be named, never pass."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font

from carbonlab.cli import main
from tests.unit.apps.report.test_report_tamper import _edit, _reseal
from tests.unit.node.query.small_ledger import build as build_ledger

WORKBOOK = "document report.xlsx: is not the workbook of report.json's figures that build writes"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("forgery")
    ledger, genesis = d / "ledger.sqlite", d / "genesis.json"
    build_ledger(ledger).genesis.save(genesis)
    assert main(["report", "build", "--company", "acme", "--year", "2023", "--template", "eu-mrr",
                 "--ledger", str(ledger), "--out", str(d / "r")]) == 0
    return d / "r", genesis


def _workbook(change: Callable[[Workbook], None]) -> Callable[[Path], None]:
    def go(d: Path) -> None:
        wb = load_workbook(d / "report.xlsx")
        change(wb)
        wb.save(d / "report.xlsx")
    return go


def _text_format(wb: Workbook) -> None:
    # Excel shows the literal text 1.000 in place of co2_t; the cell's value is unchanged
    assert (wb["total"]["A1"].value, wb["total"]["B1"].value) == ("company", "co2_t")
    wb["total"]["B2"].number_format = '"1.000"'


def _extra_member(d: Path) -> None:
    with zipfile.ZipFile(d / "report.xlsx", "a") as z:       # the build's own entries kept as they are
        z.writestr("xl/corrections.xml", "<corrections>co2_t 1.000</corrections>")


FORGERIES: dict[str, tuple[Callable[[Path], None], str]] = {
    "xlsx number shown as text": (_workbook(_text_format), WORKBOOK),
    "xlsx sheet hidden": (_workbook(lambda wb: setattr(wb["cems_sources"], "sheet_state", "hidden")),
                          WORKBOOK),
    "xlsx row hidden": (_workbook(lambda wb: setattr(wb["installations"].row_dimensions[2], "hidden", True)),
                        WORKBOOK),
    "xlsx column hidden": (_workbook(lambda wb: setattr(wb["total"].column_dimensions["B"], "hidden", True)),
                           WORKBOOK),
    "xlsx white font": (_workbook(lambda wb: setattr(wb["total"]["B2"], "font", Font(color="FFFFFFFF"))),
                        WORKBOOK),
    "xlsx comment": (_workbook(lambda wb: setattr(wb["total"]["B2"], "comment",
                                                  Comment("restated: 1.000 t", "auditor"))), WORKBOOK),
    "xlsx re-saved unchanged": (_workbook(lambda wb: None), WORKBOOK),
    "xlsx extra zip member": (_extra_member, WORKBOOK),
    "proofs name another chain": (_edit("proofs.json", lambda p: p.update(chain_id="some-other-chain")),
                                  "proof proofs.json chain_id: 'some-other-chain', the genesis given says "
                                  "'carbonlab-test'"),
    "proofs name another genesis": (_edit("proofs.json", lambda p: p.update(genesis_hash="00" * 32)),
                                    f"proof proofs.json genesis_hash: '{'00' * 32}', the genesis given says"),
    "a file build never writes, listed": (lambda d: (d / "extra.txt").write_text("approved by the regulator"),
                                          "manifest extra.txt: listed in the manifest, but not a file a "
                                          "report build writes"),
}


def _verify(bundle: tuple[Path, Path], tmp_path: Path, forge: Callable[[Path], None],
            capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    d = tmp_path / "t"
    shutil.copytree(bundle[0], d)
    forge(d)
    _reseal(d)
    capsys.readouterr()
    code = main(["report", "verify", str(d), "--genesis", str(bundle[1])])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_a_forgery_that_keeps_the_figures_is_named(case: str, bundle: tuple[Path, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = _verify(bundle, tmp_path, FORGERIES[case][0], capsys)
    assert code == 1, lines
    assert [line for line in lines if not line.startswith("FAILED:")] == \
        [next(line for line in lines if line.startswith(FORGERIES[case][1]))], lines


def test_an_empty_report_json_is_named_empty_not_missing(bundle: tuple[Path, Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _verify(bundle, tmp_path, lambda d: (d / "report.json").write_bytes(b""), capsys)
    assert code == 2
    assert "carbonlab: error: report.json: empty (0 bytes): not JSON" in err


def test_the_untouched_bundle_verifies(bundle: tuple[Path, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = _verify(bundle, tmp_path, lambda d: None, capsys)
    assert code == 0, lines
