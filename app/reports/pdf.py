"""The batch record as a PDF a QA reviewer would accept: header, parameters, each
step with its times, operators, answers and notes, the exceptions, an alarm summary,
trend plots of the whole run, the signatures (printed name, date and time, meaning),
"page N of M" and the record's hash on every page, and under them the CellDeck that
wrote the file (version, commit, build date) and the audit chain head the record was
verified at (id, hash, seal key; the whole signed seal is in the PDF's XMP metadata,
where ``celldeck verify-audit --witness FILE.pdf`` reads it). Qt only (QTextDocument laid out on
QPdfWriter pages); no browser."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QByteArray, QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QFont,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)

from app.reports.trend_image import draw_trends
from app.review.exceptions import RunException
from app.review.golden_select import BandJudgement
from app.review.record import RunRecordData
from app.store.witness import head_line
from app.version import build_info

DPI = 150
SCREEN_DPI = 96
FOOTER_PT = 9


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text))


def record_html(
    record: RunRecordData,
    exceptions: list[RunException],
    trends: bool,
    band: BandJudgement | None = None,
) -> str:
    chain = (
        f"<span style='color:#1B5E20'>verified ({record.chain.count} entries)</span>"
        if record.chain.ok
        else f"<b style='color:#A00000'>VERIFICATION FAILED: {_e(record.chain.message)}</b>"
    )
    parts = [
        "<h1>Batch record</h1>",
        "<table cellspacing='0' cellpadding='3'>",
        *(
            f"<tr><td><b>{label}</b></td><td>{_e(value)}</td></tr>"
            for label, value in (
                ("Batch ID", record.batch_id),
                ("Run", record.run_id),
                (
                    "Recipe",
                    f"{record.recipe_name} v{record.recipe_version_no} ({record.recipe_version})",
                ),
                ("Recipe SHA-256", record.recipe_hash),
                ("Instrument", f"{record.instrument_serial}, firmware {record.firmware}"),
                ("Kit", record.kit_id),
                ("Started by", record.operator),
                ("Start (UTC)", record.started_utc),
                ("End (UTC)", record.ended_utc or "not ended"),
                ("Final state", record.state),
            )
        ),
        f"<tr><td><b>Audit trail</b></td><td>{chain}</td></tr>",
        "</table>",
        "<h2>Parameters</h2>",
    ]
    if record.parameters:
        parts.append("<ul>")
        parts += [f"<li>{_e(k)} = {_e(v)}</li>" for k, v in sorted(record.parameters.items())]
        parts.append("</ul>")
    else:
        parts.append("<p>As in the recipe (no parameter changed at start).</p>")
    parts.append("<h2>Steps</h2><table border='1' cellspacing='0' cellpadding='3' width='100%'>")
    parts.append(
        "<tr><th>#</th><th>Step</th><th>Started (UTC)</th><th>Ended (UTC)</th>"
        "<th>By</th><th>Entries and notes</th></tr>"
    )
    for step in record.steps:
        entries = [
            f"{_e(a.new_value)} — {_e(a.user_name)} {_e(a.ts_utc[11:19])}" for a in step.answers
        ]
        entries += [_e(n.new_value) for n in step.notes]
        parts.append(
            f"<tr><td>{step.number}</td><td>{_e(step.name)}<br><i>{_e(step.phase)}</i></td>"
            f"<td>{_e(step.started_utc or 'not reached')}</td><td>{_e(step.ended_utc)}</td>"
            f"<td>{_e(step.actor)}</td><td>{'<br>'.join(entries)}</td></tr>"
        )
    parts.append("</table><h2>Exceptions</h2>")
    if exceptions:
        parts.append("<ul>")
        parts += [f"<li><b>{_e(x.kind)}</b> {_e(x.when_utc)} {_e(x.text)}</li>" for x in exceptions]
        parts.append("</ul>")
    else:
        parts.append("<p>No exceptions: nothing in this run needs a reviewer's attention.</p>")
    if band is not None:  # the run against its recipe version's golden band
        parts.append(f"<h2>Golden band</h2><p>{_e(band.note)}</p>")
        deviations = band.report.sentences() if band.report is not None else []
        if deviations:
            parts.append("<ul>")
            parts += [f"<li><b>deviation</b> {_e(text)}</li>" for text in deviations]
            parts.append("</ul>")
    alarms = [x for x in exceptions if x.kind == "alarm"]
    parts.append(f"<h2>Alarm summary</h2><p>{len(alarms)} alarm event(s).</p>")
    if trends:
        parts.append(
            "<h2>Trends (whole run; min and max per bucket)</h2>"
            "<p><img src='trends://whole-run' width='640'></p>"
        )
    parts.append("<h2>Signatures</h2>")
    if record.signatures:
        parts.append(
            "<table border='1' cellspacing='0' cellpadding='3'>"
            "<tr><th>Printed name</th><th>Date and time (UTC)</th><th>Meaning</th>"
            "<th>What was signed</th></tr>"
        )
        parts += [  # the statement the signer was shown: the record in words, its effect
            f"<tr><td>{_e(s.user_name)}</td><td nowrap>{_e(s.ts_utc[:10])}<br>"
            f"{_e(s.ts_utc[11:19])}</td><td>{_e(s.meaning)}</td>"
            f"<td>{_e(s.stated)}</td></tr>"
            for s in record.signatures
        ]
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    return "\n".join(parts)


def write_pdf(
    record: RunRecordData,
    exceptions: list[RunException],
    path: Path,
    trend_image: QImage | None = None,
    band: BandJudgement | None = None,
) -> int:
    """Write the record to ``path``; returns the number of pages. ``band``: the run
    judged against its golden band (a section of its own; None: left out)."""
    images = {"trends://whole-run": trend_image} if trend_image is not None else {}
    chain = record.chain
    key = chain.seal.fingerprint if chain.seal else "none (not sealed)"
    return write_html_pdf(
        record_html(record, exceptions, trend_image is not None, band),
        path,
        f"Batch record {record.batch_id}",
        f"Batch {record.batch_id} · record SHA-256 {record.content_hash()}",
        images,
        head=f"Audit chain head #{chain.head_id} {chain.head_hash} key {key}",
        witness=head_line(chain),
    )


def _xmp(witness: str) -> bytes:
    """XMP metadata (stored uncompressed) carrying the witness line as keywords."""
    return (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
        ' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description'
        ' rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">'
        f"<pdf:Keywords>{html.escape(witness)}</pdf:Keywords></rdf:Description></rdf:RDF>"
        '</x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def write_html_pdf(
    text: str,
    path: Path,
    title: str,
    footer: str,
    images: dict[str, QImage] | None = None,
    head: str = "",
    witness: str = "",
) -> int:
    """Lay ``text`` (Qt rich-text HTML) out on A4 pages with ``footer`` and "page N of
    M" on each, the software's version and build below them, then ``head`` (the audit
    chain head) in small print; ``witness`` goes into the metadata. Returns the number
    of pages. QPdfWriter needs no widgets: any thread."""
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(15, 15, 15, 20),
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setTitle(title)
    software = build_info().summary()
    writer.setCreator(software)
    if witness:
        writer.setDocumentXmpMetadata(QByteArray(_xmp(witness)))
    document = QTextDocument()
    font = QFont("DejaVu Sans")
    font.setPointSize(9)
    document.setDefaultFont(font)
    for name, image in (images or {}).items():
        document.addResource(QTextDocument.ResourceType.ImageResource, name, image)
    document.setHtml(text)
    page = writer.pageLayout().paintRectPixels(DPI)
    lines = 3 if head else 2  # the footer, the software, the audit chain head
    footer_px = FOOTER_PT * 1.5 * lines * DPI / 72
    body = QSizeF(page.width(), page.height() - footer_px)
    scale = DPI / SCREEN_DPI  # the document lays out in screen pixels: points stay points
    layout = QSizeF(body.width() / scale, body.height() / scale)
    document.setPageSize(layout)
    pages = document.pageCount()
    painter = QPainter(writer)
    try:
        for index in range(pages):
            if index:
                writer.newPage()
            painter.save()
            painter.scale(scale, scale)
            painter.translate(0, -index * layout.height())
            document.drawContents(
                painter, QRectF(0, index * layout.height(), layout.width(), layout.height())
            )
            painter.restore()
            small = QFont("DejaVu Sans")
            small.setPointSize(FOOTER_PT - 1)
            painter.setFont(small)
            line = QRectF(0, body.height(), body.width(), footer_px / lines)
            painter.drawText(
                line, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, footer
            )
            painter.drawText(
                line,
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                f"page {index + 1} of {pages}",
            )
            painter.drawText(
                line.translated(0, footer_px / lines),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                software,
            )
            if head:  # small print: the full hash and key fingerprint must fit one line
                mono = QFont("DejaVu Sans Mono")
                mono.setPointSize(FOOTER_PT - 3)
                painter.setFont(mono)
                painter.drawText(
                    line.translated(0, 2 * footer_px / lines),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                    head,
                )
    finally:
        painter.end()
    return pages


__all__ = ["draw_trends", "record_html", "write_html_pdf", "write_pdf"]
