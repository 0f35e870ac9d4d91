"""One report, two renderings: ``rich`` tables on the terminal and a Markdown file (``BENCHMARKS.md``)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table


@dataclass
class Section:
    title: str
    intro: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    title: str
    command: str
    machine: list[tuple[str, str]]
    sections: list[Section] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    preface: str = ""
    #: What the figures mean and what limits them, after the summary.
    reading: list[str] = field(default_factory=list)


def print_report(report: Report, console: Console | None = None) -> None:
    # Wide enough for every table when the output is a file or a pipe (rich would otherwise assume 80 columns).
    console = console or Console(width=None if sys.stdout.isatty() else 150)
    console.print(f"[bold]{report.title}[/bold]")
    console.print(f"command: {report.command}")
    if report.preface:
        console.print(report.preface, highlight=False)
    machine = Table(title="Machine", show_header=False)
    machine.add_column("what")
    machine.add_column("value")
    for name, value in report.machine:
        machine.add_row(name, value)
    console.print(machine)
    for section in report.sections:
        table = Table(title=section.title, caption=section.intro, caption_justify="left")
        for column in section.columns:
            table.add_column(column)
        for row in section.rows:
            table.add_row(*row)
        console.print(table)
        for note in section.notes:
            console.print(f"  {note}", highlight=False)
    if report.summary:
        console.print("[bold]Summary[/bold]")
        for line in report.summary:
            console.print(f"  {line}", highlight=False)
    if report.reading:
        console.print("[bold]Reading the figures[/bold]")
        for line in report.reading:
            console.print(f"  {line}", highlight=False)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    lines = [f"# {report.title}", ""]
    if report.preface:
        lines += [report.preface, ""]
    lines += ["Reproduce with (from the repository root, in the project's virtualenv):", "", "```sh", report.command]
    lines += ["```", "", "## Machine", ""]
    lines += ["| | |", "|---|---|"]
    lines += [f"| {_cell(name)} | {_cell(value)} |" for name, value in report.machine]
    if report.summary:
        lines += ["", "## Summary", ""]
        lines += [f"- {line}" for line in report.summary]
    if report.reading:
        lines += ["", "## Reading the figures", ""]
        lines += [f"- {line}" for line in report.reading]
    for section in report.sections:
        lines += ["", f"## {section.title}", "", section.intro, ""]
        lines.append("| " + " | ".join(_cell(c) for c in section.columns) + " |")
        lines.append("|" + "---|" * len(section.columns))
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in section.rows]
        if section.notes:
            lines.append("")
            lines += [f"- {note}" for note in section.notes]
    return "\n".join(lines) + "\n"
