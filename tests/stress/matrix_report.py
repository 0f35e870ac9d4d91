"""Print the fault matrix as a table at the end of the run, under pytest-xdist too.

Each matrix cell records its outcome in ``user_properties`` (which xdist ships from the worker to the controller
with the test report); this plugin collects them where the terminal is and prints one row per resource operation.
It is registered from ``tests/conftest.py`` because the xdist controller never loads ``tests/stress/conftest.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

PROPERTY = "fault_matrix"
_cells: list[dict[str, Any]] = []


def record(request: pytest.FixtureRequest, **cell: Any) -> dict[str, Any]:
    """Add one cell (``resource``, ``operation``, ``call``, ``fault``, ``column``, ``mode``, ``outcome``).

    Returns the cell: update its ``outcome`` as the test learns it (a test that fails shows ``FAIL``).
    """
    entry = dict(cell)
    request.node.user_properties.append((PROPERTY, entry))
    return entry


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == PROPERTY and isinstance(value, dict):
            _cells.append({**value, "passed": report.passed})


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _cells:
        return
    ordered = sorted(_cells, key=lambda c: (c.get("column", 0), c["mode"] == "persistent"))
    faults = list(dict.fromkeys(f"{c['fault']}{'*' if c['mode'] == 'persistent' else ''}" for c in ordered))
    rows: dict[tuple[str, str, str], dict[str, str]] = {}
    for cell in _cells:
        fault = f"{cell['fault']}{'*' if cell['mode'] == 'persistent' else ''}"
        row = rows.setdefault((cell["resource"], cell["operation"], cell["call"]), {})
        row[fault] = cell["outcome"] if cell["passed"] else "FAIL"
    head = ["resource", "op", "Graph call", *faults]
    table = [head] + [[*key, *(row.get(f, "-") for f in faults)] for key, row in sorted(rows.items())]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    write = terminalreporter.write_line
    terminalreporter.section("fault matrix (issue 7)")
    for i, line in enumerate(table):
        write("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(line)).rstrip())
        if i == 0:
            write("  ".join("-" * w for w in widths))
    cells, failed = len(_cells), sum(1 for c in _cells if not c["passed"])
    write(
        f"{cells} cells, {failed} failed. ok = succeeded at once; err>ok = a clear error, then a retried up converged; "
        "* = the fault persists until cleared."
    )
