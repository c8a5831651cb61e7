"""An uploaded report bundle is hostile until checked: each bad archive is refused naming why."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from carbonlab.client import bundles
from carbonlab.client.appforms import FormError


def _zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_flat_bundle_is_unpacked(tmp_path: Path) -> None:
    names = bundles.unpack(_zip([("manifest.json", b"{}"), ("report.json", b"[]")]), tmp_path)
    assert names == ["manifest.json", "report.json"]
    assert (tmp_path / "report.json").read_bytes() == b"[]"


def _symlink() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("report.pdf")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(("data", "words"), [
    (b"", "empty"),
    (b"this is not a zip at all", "not a zip archive"),
    (b"PK\x03\x04" + b"\0" * 40, "not a zip archive"),
    (_zip([("../../etc/passwd", b"x"), ("manifest.json", b"{}")]), "'../../etc/passwd' is not a file"),
    (_zip([("/abs/manifest.json", b"x")]), "is not a file of a report bundle"),
    (_zip([("sub/manifest.json", b"{}")]), "is not a file of a report bundle"),
    (_zip([("manifest.json", b"{}"), ("evil.sh", b"x")]), "'evil.sh'"),
    (_zip([("manifest.json", b"{}"), (_symlink(), b"/etc/passwd")]), "not a regular file"),
    (_zip([("manifest.json", b"{}"), ("proofs.json", b"\0" * (64 << 20))]), "zip bomb"),
    (_zip([("report.json", b"{}")]), "no manifest.json"),
])
def test_a_hostile_or_broken_archive_is_refused(tmp_path: Path, data: bytes, words: str) -> None:
    with pytest.raises(FormError) as info:
        bundles.unpack(data, tmp_path)
    assert info.value.field == "bundle"
    assert words in info.value.problem
    assert not any(p.name == "passwd" for p in tmp_path.rglob("*"))


def test_an_entry_twice_is_refused(tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)       # zipfile warns of the duplicate name
        data = _zip([("manifest.json", b"{}"), ("manifest.json", b"[]")])
    with pytest.raises(FormError, match="twice"):
        bundles.unpack(data, tmp_path)


def test_sizes_are_counted_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An archive whose directory understates an entry's size is stopped while it is read."""
    data = bytearray(_zip([("manifest.json", b"{}" * 1000)], method=zipfile.ZIP_STORED))
    # the central directory's uncompressed size (offset 24 of its record) says 10 bytes
    at = bytes(data).rindex(b"PK\x01\x02")
    data[at + 24:at + 28] = (10).to_bytes(4, "little")
    with pytest.raises(FormError, match="bundle"):
        bundles.unpack(bytes(data), tmp_path)


def test_reports_serve_only_bundle_files(tmp_path: Path) -> None:
    reports = bundles.Reports(tmp_path)
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "report.json").write_text("{}")
    (tmp_path / "secret").write_text("no")
    assert reports.file("r1", "report.json").read_text() == "{}"
    for rid, name in (("r1", "../secret"), ("..", "secret"), ("r1", "nothing.json"), ("r2", "report.json"),
                      ("r" * 5000, "report.json"), ("r1", "n" * 5000)):
        with pytest.raises(FormError) as info:
            reports.file(rid, name)
        assert info.value.status == 404
        assert len(str(info.value)) < 200                   # a long id or name is not echoed whole
    with zipfile.ZipFile(io.BytesIO(reports.zip_bytes("r1"))) as zf:
        assert zf.namelist() == ["report.json"]
