"""Files for the sample ledger (``service.sample``): a site photo with the EXIF time and GPS a phone writes,
and a scanned document as a PDF — drawn here, so the repository carries no binary sample."""

from __future__ import annotations

import io
from datetime import datetime

# Yangcheng county seat, WGS-84 (as a phone records it).
YANGCHENG = (35.4864, 112.4147)


def _dms(value: float):
    from PIL.TiffImagePlugin import IFDRational

    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 2)
    return (IFDRational(degrees), IFDRational(minutes), IFDRational(int(seconds * 100), 100))


def photo(taken: datetime, place: tuple[float, float] = YANGCHENG, seed: int = 0) -> bytes:
    """A 1200×900 JPEG 'site photo' with DateTimeOriginal (local time and offset), GPS and a camera."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1200, 900), (150 + seed % 40, 185, 225))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 560, 1200, 900), fill=(120, 105, 80))  # bare ground
    for i in range(6):  # site fencing
        x = 80 + i * 190
        draw.rectangle((x, 430, x + 12, 600), fill=(60, 60, 60))
    draw.rectangle((420, 300, 860, 560), fill=(200, 200, 190), outline=(90, 90, 90), width=6)  # a shed
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "duban", "sample camera"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    offset = taken.strftime("%z")
    sub[0x9011] = f"{offset[:3]}:{offset[3:]}" if offset else ""
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", _dms(place[0])
    gps[3], gps[4] = "E", _dms(place[1])
    out = io.BytesIO()
    img.save(out, "JPEG", quality=82, exif=exif)
    return out.getvalue()


def scan(title: str = "") -> bytes:
    """A one-page 'scanned document' (a grey page with lines of text and a red seal) as a PDF."""
    from PIL import Image, ImageDraw

    page = Image.new("RGB", (1240, 1754), (246, 245, 240))
    draw = ImageDraw.Draw(page)
    draw.rectangle((380, 150, 860, 200), fill=(40, 40, 40))  # the title line
    for row in range(28):
        y = 300 + row * 44
        draw.rectangle((150, y, 1090 - (row % 5) * 60, y + 14), fill=(70, 70, 70))
    draw.ellipse((820, 1380, 1060, 1620), outline=(200, 30, 30), width=10)  # the seal
    out = io.BytesIO()
    page.save(out, "PDF", resolution=150.0, title=title or "sample scan")
    return out.getvalue()
