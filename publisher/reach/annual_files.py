"""The annual report written out: Markdown, a self-contained HTML page, XLSX (openpyxl) and DOCX
(python-docx), all from the one document of :func:`publisher.reach.annual_text.document`.

HTML has no external resource (inline style, no script), ``lang="zh-CN"``, tables with a
``<caption>`` and ``scope``d headers. XLSX: a sheet of the text, then one sheet per table with
its header row frozen, column widths set and numbers stored as numbers. DOCX: real headings
(标题, 标题 1, 标题 2) and real tables with a header row.
"""

from __future__ import annotations

import io
import unicodedata
from html import escape

from publisher.reach.annual import AnnualReport
from publisher.reach.annual_text import Section, Table, document

FORMATS = ("md", "html", "xlsx", "docx")
MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
FONTS = (
    "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',"
    "'WenQuanYi Micro Hei',sans-serif"
)


def render(report: AnnualReport, fmt: str) -> bytes:
    """The report in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "md":
        return as_markdown(report).encode()
    if fmt == "html":
        return as_html(report).encode()
    return as_xlsx(report) if fmt == "xlsx" else as_docx(report)


def _md_cell(value: str | int) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ") or " "


def as_markdown(report: AnnualReport) -> str:
    title, sections = document(report)
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.heading}", ""]
        for text in section.paragraphs:
            lines += [text, ""]
        for table in section.tables:
            lines += [f"**{table.caption}**", ""]
            lines.append("| " + " | ".join(_md_cell(h) for h in table.header) + " |")
            lines.append("|" + "---|" * len(table.header))
            for i, row in enumerate(table.rows):
                cells = [_md_cell(c) for c in row]
                if i in table.heads:
                    cells = [f"**{c}**" if c.strip() else c for c in cells]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        for text in section.notes:
            lines += [text, ""]
    return "\n".join(lines)


STYLE = (
    f"body{{font-family:{FONTS};line-height:1.7;max-width:60em;margin:0 auto;padding:1em;"
    "color:#111;background:#fff}"
    "h1{font-size:1.4em;text-align:center}h2{font-size:1.15em;margin-top:1.6em}"
    ".wrap{overflow-x:auto}table{border-collapse:collapse;margin:.5em 0 1em;min-width:100%}"
    "caption{font-weight:bold;text-align:left;padding:.3em 0}"
    "th,td{border:1px solid #555;padding:.25em .5em;vertical-align:top}"
    "td.n{text-align:right}tr.head th{background:#eee}"
)


def _html_table(table: Table) -> str:
    parts = [f'<div class="wrap"><table><caption>{escape(table.caption)}</caption>']
    if any(table.header):
        cols = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.header)
        parts.append(f"<thead><tr>{cols}</tr></thead>")
    parts.append("<tbody>")
    for i, row in enumerate(table.rows):
        if i in table.heads:
            cells = "".join(f'<th scope="col">{escape(str(c))}</th>' for c in row)
            parts.append(f'<tr class="head">{cells}</tr>')
            continue
        first = f'<th scope="row">{escape(str(row[0]))}</th>'
        rest = "".join(
            f'<td class="n">{c}</td>' if isinstance(c, int) else f"<td>{escape(c)}</td>"
            for c in row[1:]
        )
        parts.append(f"<tr>{first}{rest}</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


def _html_section(section: Section) -> str:
    parts = [f"<section><h2>{escape(section.heading)}</h2>"]
    parts += [f"<p>{escape(t)}</p>" for t in section.paragraphs]
    parts += [_html_table(t) for t in section.tables]
    parts += [f"<p>{escape(t)}</p>" for t in section.notes]
    return "".join(parts) + "</section>"


def as_html(report: AnnualReport) -> str:
    title, sections = document(report)
    body = "".join(_html_section(s) for s in sections)
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>\n"
    )


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _sheet_name(caption: str, used: set[str]) -> str:
    name = "".join(c for c in caption if c not in "[]:*?/\\")[:31]
    while name in used:
        name = name[:29] + str(len(used))
    used.add(name)
    return name


def as_xlsx(report: AnnualReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    title, sections = document(report)
    book = Workbook()
    text = book.active
    assert text is not None
    text.title = "报告正文"
    text.append([title])
    text["A1"].font = Font(bold=True, size=14)
    for section in sections:
        text.append([section.heading])
        text.cell(text.max_row, 1).font = Font(bold=True)
        for line in (*section.paragraphs, *(f"见工作表“{t.caption}”" for t in section.tables)):
            text.append([line])
            text.cell(text.max_row, 1).alignment = Alignment(wrap_text=True)
        for line in section.notes:
            text.append([line])
    text.column_dimensions["A"].width = 100
    text.freeze_panes = "A2"
    used = {text.title}
    for section in sections:
        for table in section.tables:
            sheet = book.create_sheet(_sheet_name(table.caption, used))
            header = [h or ("项目" if i == 0 else "") for i, h in enumerate(table.header)]
            sheet.append(header)
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for i, row in enumerate(table.rows):
                sheet.append(list(row))
                if i in table.heads:
                    for cell in sheet[sheet.max_row]:
                        cell.font = Font(bold=True)
            sheet.freeze_panes = "B2"
            for col in range(len(header)):
                texts = [header[col], *(str(r[col]) for r in table.rows)]
                widest = max(_width(t) for t in texts)
                sheet.column_dimensions[get_column_letter(col + 1)].width = min(60, widest + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_docx(report: AnnualReport) -> bytes:
    from docx import Document

    title, sections = document(report)
    doc = Document()
    doc.core_properties.title = title
    doc.core_properties.language = "zh-CN"
    doc.add_heading(title, level=0)
    for section in sections:
        doc.add_heading(section.heading, level=1)
        for text in section.paragraphs:
            doc.add_paragraph(text)
        for table in section.tables:
            doc.add_heading(table.caption, level=2)
            grid = doc.add_table(rows=1 if any(table.header) else 0, cols=len(table.header))
            grid.style = "Table Grid"
            if any(table.header):
                for cell, text in zip(grid.rows[0].cells, table.header, strict=True):
                    cell.text = text
                    for run in cell.paragraphs[0].runs:
                        run.bold = True
            for i, row in enumerate(table.rows):
                cells = grid.add_row().cells
                for cell, value in zip(cells, row, strict=True):
                    cell.text = str(value)
                    if i in table.heads:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
        for text in section.notes:
            doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
