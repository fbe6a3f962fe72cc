"""Real files for the evidence tests, made here: photos with the EXIF a phone writes (time, offset, GPS,
orientation) by Pillow, HEIC by pillow-heif, PDFs written by hand (one with JavaScript), Word and Excel
documents by python-docx and openpyxl, an OFD package, and hostile ones (an executable named .jpg, a
truncated JPEG, HTML, SVG, a macro-enabled document)."""

from __future__ import annotations

import io
import zipfile

from PIL import Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

TAKEN = "2024:03:05 10:12:33"
YANGCHENG = (35.486814, 112.4147, 712.5)


def _dms(value: float):
    d = int(value)
    m = int((value - d) * 60)
    s = round(((value - d) * 60 - m) * 60, 2)
    return (IFDRational(d), IFDRational(m), IFDRational(int(s * 100), 100))


def exif(taken: str | None = TAKEN, gps=YANGCHENG, orientation: int = 1, offset: str = "+08:00") -> Image.Exif:
    e = Image.Exif()
    e[0x010F], e[0x0110] = "HUAWEI", "P60"
    if orientation != 1:
        e[0x0112] = orientation
    if taken:
        sub = e.get_ifd(0x8769)
        sub[0x9003] = taken
        if offset:
            sub[0x9011] = offset
    if gps:
        g = e.get_ifd(0x8825)
        g[1], g[2], g[3], g[4] = "N", _dms(gps[0]), "E", _dms(gps[1])
        if len(gps) > 2:
            g[5], g[6] = 0, IFDRational(int(gps[2] * 10), 10)
    return e


def _picture(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A landscape scene whose top-left corner is marked red, so its orientation can be checked."""
    img = Image.new("RGB", size, (40 + (seed * 37) % 160, 140, 200))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, size[1] * 2 // 3, size[0], size[1]), fill=(120, 100, 70))
    draw.rectangle((0, 0, size[0] // 8, size[1] // 8), fill=(230, 20, 20))
    x = size[0] // 4 + (seed * 53) % (size[0] // 2)  # a post whose place depends on the seed
    draw.rectangle((x, size[1] // 3, x + 20, size[1] * 2 // 3), fill=(40, 40, 40))
    return img


def photo(size=(800, 600), seed: int = 0, quality: int = 85, **kw) -> bytes:
    out = io.BytesIO()
    _picture(size, seed).save(out, "JPEG", quality=quality, exif=exif(**kw))
    return out.getvalue()


def noisy_photo(megabytes: float, seed: int = 0) -> bytes:
    """A JPEG of about ``megabytes`` (random noise does not compress), for size limits and benchmarks."""
    import random

    rnd = random.Random(seed)
    side = int((megabytes * 1024 * 1024 / 1.2) ** 0.5)
    img = Image.frombytes("RGB", (side, side), rnd.randbytes(side * side * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=95, exif=exif())
    return out.getvalue()


def png(size=(300, 200)) -> bytes:
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((10, 10, size[0] - 10, size[1] - 10), fill=(200, 30, 30, 255))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def heic(size=(640, 480)) -> bytes:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    _picture(size).save(out, "HEIF", exif=exif().tobytes())
    return out.getvalue()


def pdf(javascript: str | None = None, text: str = "approval scan") -> bytes:
    """A one-page PDF written object by object (with a correct xref table); with ``javascript``, the
    catalog's OpenAction runs it — a document that *does* something when opened."""
    stream = f"BT /F1 18 Tf 40 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R" + (b" /OpenAction 6 0 R" if javascript else b"") + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if javascript:
        objects.append(b"<< /S /JavaScript /JS (" + javascript.encode() + b") >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def docx(text: str = "关于东部片区供水工程用地的批复") -> bytes:
    from docx import Document

    d = Document()
    d.add_paragraph(text)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["征收补偿协议", "户数"])
    wb.active.append(["北留镇段", 5])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def macro_docx() -> bytes:
    """A .docm in disguise: its manifest declares a macro-enabled main part and carries a VBA project."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"wordprocessingml.document.main+xml", b"application/vnd.ms-word.document.macroEnabled.main+xml"
                )
            z.writestr(item, data)
        z.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 512)
    return out.getvalue()


def ofd() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "OFD.xml",
            '<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0">'
            "<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        )
        z.writestr("Doc_0/Document.xml", '<?xml version="1.0"?><ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"/>')
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("照片/1.txt", "x")
    return out.getvalue()


def exe() -> bytes:
    """The head of a Windows program (MZ, a PE header at 0x80)."""
    head = bytearray(b"MZ" + b"\x90\x00" * 29 + b"\x00" * 2)
    head += b"\x00" * (0x3C - len(head)) + (0x80).to_bytes(4, "little")
    head += b"\x00" * (0x80 - len(head)) + b"PE\x00\x00" + b"\x4c\x01" + b"\x00" * 400
    return bytes(head)


def elf() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 200


def html() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'


def truncated_jpeg() -> bytes:
    data = photo((1200, 900))
    return data[: len(data) // 2]


def zip_bomb() -> bytes:
    """A ZIP that inflates a thousandfold: 50 MB of zeros in a few tens of kilobytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\x00" * (50 * 1024 * 1024))
    return out.getvalue()


# -- the [evidence] rule for the tests of other features ---------------------------------------------------


def without_evidence_rule(rules):
    """``rules`` with the ``[evidence]`` rule off. The tests of other features apply to close land problems
    without files; the evidence tests (and tests/unit/test_evidence_checks.py) use the rules as shipped."""
    import dataclasses

    return dataclasses.replace(rules, evidence=dataclasses.replace(rules.evidence, resolve_requires=frozenset()))


def rules_file_without_evidence(folder):
    """A copy of the shipped rules file in ``folder`` with the ``[evidence]`` rule off, for a ``duban``
    process (``DUBAN_RULES``); returns its path."""
    from pathlib import Path

    from workflow.rules import DEFAULT_RULES_PATH

    text = Path(DEFAULT_RULES_PATH).read_text(encoding="utf-8")
    shipped = 'resolve_requires = ["land", "demolition"]'
    assert shipped in text, "the shipped [evidence] rule changed: update this helper"
    target = Path(folder) / "rules-without-evidence.toml"
    target.write_text(text.replace(shipped, "resolve_requires = []"), encoding="utf-8")
    return target
