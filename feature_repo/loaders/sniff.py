"""What a candle file really is, from its bytes: compression, parquet, encoding, delimiter.

Rules (each decision is named in errors or counted in the load report):
- gzip, bzip2, xz and single-member zip files are read whatever their name; a damaged or
  truncated archive, a zip of several files or a zstd file is refused by name;
- a parquet file is recognised by its magic bytes, whatever its extension;
- content with NUL bytes (and no UTF-16 byte-order mark) is binary and refused;
- text is UTF-8 (with or without BOM) or UTF-16 with a BOM; bytes that are not UTF-8 are read
  as U+FFFD and reported: an error if they sit in a column the platform uses, a counted note
  otherwise (e.g. a Latin-1 coin name in CoinMarketCap's unused ``Name`` column);
- the delimiter is the most frequent of ``, ; TAB |`` in the header line.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from feature_repo.loaders.candles import CandleError

DELIMITERS = (",", ";", "\t", "|")
REPLACEMENT = "\ufffd"


@dataclass
class Content:
    """A candle file's decoded text (or ``parquet`` bytes) and how it was decoded."""

    text: str | None = None
    parquet: bytes | None = None
    compression: str | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    bad_byte: str | None = None  # the first byte that is not UTF-8, e.g. "0x80 on line 5"
    notes: list[str] = field(default_factory=list)


def _decompress(path: Path, data: bytes) -> tuple[bytes, str | None]:
    try:
        if data[:2] == b"\x1f\x8b":
            return gzip.decompress(data), "gzip"
        if data[:3] == b"BZh":
            return bz2.decompress(data), "bzip2"
        if data[:6] == b"\xfd7zXZ\x00":
            return lzma.decompress(data), "xz"
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(members) != 1:
                    names = ", ".join(m.filename for m in members[:5]) or "nothing"
                    raise CandleError(f"{path}: a zip archive of {len(members)} files ({names}); "
                                      "extract it and ingest the files or their folder")
                return archive.read(members[0]), f"zip ({members[0].filename})"
    except CandleError:
        raise
    except (EOFError, OSError, ValueError, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise CandleError(f"{path}: damaged or truncated compressed file ({exc})") from exc
    if data[:4] == b"\x28\xb5\x2f\xfd":
        raise CandleError(f"{path}: zstd-compressed; decompress it first (zstd -d)")
    return data, None


def _decode(path: Path, data: bytes) -> tuple[str, str, str | None]:
    """Text, encoding name, and where the first byte that is not UTF-8 is (if any)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16", None
        except UnicodeDecodeError as exc:
            raise CandleError(f"{path}: damaged UTF-16 text ({exc.reason})") from exc
    try:
        return data.decode("utf-8-sig"), "utf-8", None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        where = f"byte 0x{data[exc.start]:02x} on line {line}"
        return data.decode("utf-8-sig", errors="replace"), "utf-8 (with undecodable bytes)", where


def delimiter_of(header: str) -> str:
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def sniff(path: Path) -> Content:
    """Read ``path`` and say what it holds; raises :class:`CandleError` naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CandleError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    data, compression = _decompress(path, data)
    if data[:4] == b"PAR1":
        return Content(parquet=data, compression=compression)
    if not data.strip():
        raise CandleError(f"{path}: empty file")
    head = data[:65536]
    if b"\x00" in head and head[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        offset = head.index(b"\x00")
        raise CandleError(f"{path}: binary content (NUL byte at offset {offset}), "
                          "not a CSV or parquet candle file")
    text, encoding, bad = _decode(path, data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    if first.lower().startswith(("http", "www.")):  # CryptoDataDownload's URL line
        lines = text.splitlines()
        first = next((line for line in lines[1:] if line.strip()), "")
    content = Content(text=text, compression=compression, encoding=encoding,
                      delimiter=delimiter_of(first), bad_byte=bad)
    if compression:
        content.notes.append(f"read through {compression}")
    if content.delimiter != ",":
        content.notes.append(f"delimiter {content.delimiter!r} detected from the header")
    return content
