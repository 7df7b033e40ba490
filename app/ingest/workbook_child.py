"""Child process that parses one workbook and streams its rows to stdout.

Run as a script (``python workbook_child.py PATH MAX_MB CPU_S MAX_ROWS``), never imported by the
app: a fresh interpreter inherits no database connection and imports nothing but
python-calamine, so a native abort or a runaway allocation inside the parser kills only this
process. Rows go out as pickled batches of plain lists (str / int / float / bool / date /
datetime / time / timedelta) that the parent reads with a restricted unpickler.
"""
import pickle
import resource
import sys

BATCH = 2000


def _limit(max_mb: int, cpu_s: int) -> None:
    limit = max_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _calamine_rows(python_calamine, path: str):
    workbook = python_calamine.CalamineWorkbook.from_path(path)
    for index in range(len(workbook.sheet_names)):
        sheet = workbook.get_sheet_by_index(index)
        if sheet.height > 0 and sheet.width > 0:
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
        except Exception:
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
        pickle.dump(("error", f"{type(exc).__name__}: {str(exc)[:300]}"), out, protocol=5)
        return 2


if __name__ == "__main__":
    sys.exit(main())
