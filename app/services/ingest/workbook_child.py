"""Child process that parses one workbook and streams its rows to stdout.

Run as a script (``python workbook_child.py PATH MAX_MB CPU_S MAX_ROWS``), never imported by the
app: a fresh interpreter inherits no database connection and imports nothing but
python-calamine, so a native abort or a runaway allocation inside the parser kills only this
process. Rows go out as pickled batches of plain lists (str / int / float / bool / date /
datetime / time / timedelta) that the parent reads with a restricted unpickler.
"""
import pickle
import re
import resource
import sys
import zipfile

BATCH = 2000
_SHEET_RE = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\br:id="([^"]+)"')
_REL_RE = re.compile(rb'<Relationship\b[^>]*>')
_ATTR_RE = re.compile(rb'\b(Id|Target)="([^"]*)"')
# An error cell: <c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c> (attributes in any order).
_ERROR_CELL_RE = re.compile(rb'<c\b(?=[^>]*\bt="e")([^>]*)>(.*?)</c>', re.S)
_REF_RE = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_VALUE_RE = re.compile(rb'<v>([^<]*)</v>')
_CHUNK = 4 << 20


def _limit(max_mb: int, cpu_s: int) -> None:
    limit = max_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _sheet_part(archive: zipfile.ZipFile, index: int) -> str | None:
    """The zip entry of the ``index``-th sheet of workbook.xml."""
    ids = _SHEET_RE.findall(archive.read("xl/workbook.xml"))
    if index >= len(ids):
        return None
    for rel in _REL_RE.findall(archive.read("xl/_rels/workbook.xml.rels")):
        attrs = dict(_ATTR_RE.findall(rel))
        if attrs.get(b"Id") == ids[index]:
            target = attrs.get(b"Target", b"").decode()
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    return None


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def error_cells(path: str, index: int) -> dict[tuple[int, int], str]:
    """(row, column) → Excel error value (#DIV/0!, #N/A, …) of an xlsx sheet, 0-based.

    calamine gives error cells as empty strings, which would make a broken date an empty
    one; the sheet XML says which cells are errors. Read in chunks, so memory stays flat."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return {}
    found: dict[tuple[int, int], str] = {}
    with archive:
        part = _sheet_part(archive, index)
        if part is None or part not in archive.namelist():
            return {}
        with archive.open(part) as handle:
            tail = b""
            while True:
                chunk = handle.read(_CHUNK)
                data = tail + chunk
                end = len(data) if not chunk else data.rfind(b"</c>") + 4
                if end < 4:
                    end = 0
                for match in _ERROR_CELL_RE.finditer(data, 0, end):
                    ref, value = _REF_RE.search(match.group(1)), _VALUE_RE.search(match.group(2))
                    if ref and value:
                        text = value.group(1).decode("utf-8", "replace")
                        found[(int(ref.group(2)) - 1, _column(ref.group(1)))] = text
                if not chunk:
                    return found
                tail = data[end:]


def _with_errors(rows, errors: dict[tuple[int, int], str], first_column: int):
    by_row: dict[int, list[tuple[int, str]]] = {}
    for (r, c), text in errors.items():
        by_row.setdefault(r, []).append((c - first_column, text))
    for r, row in enumerate(rows):
        for c, text in by_row.get(r, ()):
            if 0 <= c < len(row):
                row[c] = text
        yield row


def _calamine_rows(python_calamine, path: str):
    workbook = python_calamine.CalamineWorkbook.from_path(path)
    for index in range(len(workbook.sheet_names)):
        sheet = workbook.get_sheet_by_index(index)
        if sheet.height > 0 and sheet.width > 0:
            # iter_rows starts at the sheet's first row but at its first used column.
            errors = error_cells(path, index) if zipfile.is_zipfile(path) else {}
            if errors:
                return _with_errors(sheet.iter_rows(), errors, (sheet.start or (0, 0))[1])
            return sheet.iter_rows()
    return iter(())


def _openpyxl_rows(path: str):
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    for sheet in book.worksheets:
        if sheet.max_row and sheet.max_column:
            return ([("" if v is None else v) for v in row] for row in sheet.iter_rows(values_only=True))
    return iter(())


def main() -> int:
    path, max_mb, cpu_s, max_rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    _limit(max_mb, cpu_s)
    out = sys.stdout.buffer
    import python_calamine

    try:
        try:
            rows = _calamine_rows(python_calamine, path)
        except MemoryError:
            raise
        except Exception as exc:
            if type(exc).__name__ == "PasswordError":
                raise
            # calamine refuses some workbooks other writers produce; openpyxl (xlsx only)
            # gets a second chance before anything has been sent.
            rows = _openpyxl_rows(path)
        batch = []
        count = 0
        for row in rows:
            count += 1
            if count > max_rows:
                pickle.dump(("error", "too_many_rows"), out, protocol=5)
                return 3
            batch.append(row)
            if len(batch) >= BATCH:
                pickle.dump(("rows", batch), out, protocol=5)
                batch = []
        pickle.dump(("rows", batch), out, protocol=5)
        return 0
    except MemoryError:
        pickle.dump(("error", "memory"), out, protocol=5)
        return 4
    except Exception as exc:  # the parent turns this into a clear "cannot read" message
        if type(exc).__name__ == "PasswordError":  # an encrypted legacy .xls
            pickle.dump(("error", "password"), out, protocol=5)
            return 2
        pickle.dump(("error", f"{type(exc).__name__}: {str(exc)[:300]}"), out, protocol=5)
        return 2


if __name__ == "__main__":
    sys.exit(main())
