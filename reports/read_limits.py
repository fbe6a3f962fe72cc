"""What a ledger read may hold at most (``ReadLimits``), and Excel's own limits. A parameter of
``reports.ledger_read.read_ledger`` and ``reports.importer.import_ledger``; see docs/reports.md."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
EXCEL_CELL_CHARS = 32_767


@dataclass(frozen=True)
class ReadLimits:
    """What an import reads at most. The defaults fit a county ledger with room to spare."""

    max_file_bytes: int = 20 * MiB  # an .xlsx file on disk
    max_csv_bytes: int = 64 * MiB  # a .csv file on disk (plain text: about 3× the .xlsx of the same ledger)
    max_rows: int = 100_000  # row number of any row in a sheet (the header and title rows included)
    max_columns: int = 64  # column of any cell
    max_unzipped_bytes: int = 512 * MiB  # any one part, and all parts read together, uncompressed
    max_ratio: int = 200  # uncompressed ÷ compressed size of a part larger than 1 MiB
    max_elements: int = 25_600_000  # elements a part is read for (cells, rows …): rows × columns × 4
    max_members: int = 10_000  # entries in the zip
    max_shared_strings: int = 1_000_000
    max_shared_chars: int = 32_000_000  # characters in the shared-strings table (held in memory)
    max_kept_chars: int = 64_000_000  # characters of text kept from the ledger's columns, all cells together
    max_styles: int = 100_000  # cell formats (cellXfs) in styles.xml
    max_merged: int = 10_000  # merged ranges in a sheet (each one over the data is reported)


def size_text(n: int) -> str:
    """A byte count for people: "20 MiB", "1.5 MiB", "12 KiB", "300 字节"."""
    for unit, size in (("MiB", MiB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} 字节"
