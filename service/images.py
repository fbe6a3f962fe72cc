"""Photos and scans: decode them fully (a corrupt or truncated image is refused), keep what the camera
recorded — when (EXIF DateTimeOriginal and its offset), where (GPS, WGS-84 as phones record it), with
what — and make a small JPEG thumbnail the right way up (``ImageOps.exif_transpose``). The original file is
never changed: its SHA-256 is the evidence.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from workflow.errors import InvalidValue
from workflow.evidence import FileKind

THUMB = 320  # px, the longer side
# WeasyPrint sets Pillow's process-wide ``LOAD_TRUNCATED_IMAGES`` when it is imported (the 公文 PDFs), after
# which a truncated upload would decode "successfully" with grey filler. Decoding here holds the flag off.
_STRICT = threading.Lock()
_FORMATS = {FileKind.JPEG: "JPEG", FileKind.PNG: "PNG", FileKind.HEIC: "HEIF"}
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME, _DATETIME_ORIGINAL, _OFFSET_ORIGINAL = 0x0132, 0x9003, 0x9011
_MAKE, _MODEL, _ORIENTATION = 0x010F, 0x0110, 0x0112

_heif_ready = False


def _heif() -> None:
    """Register pillow-heif's opener once (phones save HEIC)."""
    global _heif_ready
    if not _heif_ready:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_ready = True


@dataclass
class ImageFacts:
    meta: dict
    thumbnail: bytes


def _broken(name: str, kind: FileKind, why: str = "") -> InvalidValue:
    return InvalidValue(
        f"文件「{name}」看起来是{kind.label}，但图片数据已损坏或不完整，无法打开{why}；请重新拍摄或导出后上传",
        field="attachments",
        value=name,
        label="附件",
    )


def inspect_image(path: Path, name: str, kind: FileKind) -> ImageFacts:
    if kind is FileKind.HEIC:
        _heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.format != _FORMATS[kind]:
                    raise _broken(name, kind, f"（内容实为 {img.format}）")
                exif = img.getexif()
                meta = _metadata(img, exif)
                if kind is FileKind.JPEG:
                    img.draft("RGB", (THUMB * 2, THUMB * 2))  # decode at a reduced scale: much faster
                with _STRICT:
                    lenient, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
                    try:
                        img.load()
                    finally:
                        ImageFile.LOAD_TRUNCATED_IMAGES = lenient
                thumb = _thumbnail(img)
    except InvalidValue:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidValue(
            f"文件「{name}」的像素数过大，疑似恶意构造的图片，已拒绝", field="attachments", value=name, label="附件"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise _broken(name, kind) from None
    return ImageFacts(meta, thumb)


def _thumbnail(img: Image.Image) -> bytes:
    upright = ImageOps.exif_transpose(img)
    if upright.mode not in ("RGB", "L"):
        rgba = upright.convert("RGBA")
        upright = Image.new("RGB", rgba.size, "white")
        upright.paste(rgba, mask=rgba.getchannel("A"))
    upright.thumbnail((THUMB, THUMB))
    out = io.BytesIO()
    upright.convert("RGB").save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()


def _clean(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = "".join(ch for ch in str(value) if ch.isprintable())
    return text.strip()[:100]


def _metadata(img: Image.Image, exif: Image.Exif) -> dict:
    orientation = exif.get(_ORIENTATION) or 1
    width, height = img.size
    if orientation in (5, 6, 7, 8):  # rotated a quarter turn: shown the other way round
        width, height = height, width
    meta: dict = {"width": width, "height": height}
    if orientation != 1:
        meta["orientation"] = int(orientation)
    sub = exif.get_ifd(_EXIF_IFD)
    taken = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if taken:
        meta["taken_at"] = _exif_time(_clean(taken), _clean(sub.get(_OFFSET_ORIGINAL) or ""))
    camera = " ".join(_clean(exif.get(t) or "") for t in (_MAKE, _MODEL)).strip()
    if camera:
        meta["camera"] = camera
    gps = _gps(exif.get_ifd(_GPS_IFD))
    if gps:
        meta["gps"] = gps
    return {k: v for k, v in meta.items() if v not in ("", None)}


def _exif_time(text: str, offset: str) -> str:
    """EXIF writes ``2024:03:05 10:12:33`` in the camera's local time; with OffsetTimeOriginal we know the
    zone. Kept as ISO 8601 text — without an offset it is the camera's clock, as recorded."""
    date_part, _, time_part = text.partition(" ")
    iso = date_part.replace(":", "-") + ("T" + time_part if time_part else "")
    if offset and len(offset) == 6 and offset[0] in "+-":
        iso += offset
    return iso


def _ratio(value) -> float:
    return float(value.numerator) / float(value.denominator) if hasattr(value, "numerator") else float(value)


def _degrees(dms, ref) -> float | None:
    try:
        d, m, s = (_ratio(x) for x in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    return -value if _clean(ref).upper() in ("S", "W") else value


def _gps(ifd) -> dict | None:
    """GPS latitude/longitude in decimal degrees (WGS-84) and altitude in metres, when present and sane."""
    if not ifd or 2 not in ifd or 4 not in ifd:
        return None
    lat, lon = _degrees(ifd[2], ifd.get(1, "N")), _degrees(ifd[4], ifd.get(3, "E"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    out: dict = {"lat": round(lat, 6), "lon": round(lon, 6)}
    if 6 in ifd:
        try:
            alt = _ratio(ifd[6])
            out["alt"] = round(-alt if ifd.get(5) in (1, b"\x01") else alt, 1)
        except (TypeError, ValueError, ZeroDivisionError):
            pass
    return out
