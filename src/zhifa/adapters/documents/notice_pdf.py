"""The 违法行为通知书 laid out as an A4 PDF with ReportLab.

The domain (zhifa.domain.notices) decides every word; this adapter only places the words the way
a Chinese enforcement document (文书) looks: authority and title centred, 案号 on the right, the
salutation, the statement of facts and proposed penalty, the weighing slip and the evidence list as
bordered tables, the rights, and the authority, seal place and date at the bottom right.

Issued documents are stored content-addressed by SHA-256, so the same notice must give the same
bytes: every document is built with ReportLab's per-document ``invariant`` flag (fixed creation
date, content-derived document id) instead of the process-wide ``rl_config.invariant``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from zhifa.domain.notices import Notice

FONT_SETTING = "ZHIFA_PDF_FONT_FILE"
STANDARD_FONT = "STSong-Light"  # Adobe-GB1 CID font every PDF reader supplies; needs no file
# Digests are ASCII hex: a fixed-pitch standard font keeps them legible and lets the column be
# sized so that a digest never wraps (a broken digest can no longer be compared by copy and paste).
DIGEST_FONT = "Courier"
DIGEST_SIZE = 8

# Page geometry after GB/T 9704-2012 (党政机关公文格式): 156 mm x 225 mm of text on A4.
PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT_MARGIN = 28 * mm
RIGHT_MARGIN = 26 * mm
TOP_MARGIN = 37 * mm
BOTTOM_MARGIN = 35 * mm
TEXT_WIDTH = PAGE_WIDTH - LEFT_MARGIN - RIGHT_MARGIN
FOOTER_Y = 20 * mm

BODY_SIZE = 12  # 小四
TABLE_SIZE = 10.5  # 五号
CELL_PADDING = 5
GRID = 0.5
HEADER_FILL = colors.Color(0.92, 0.92, 0.92)

# Characters every font that can set a notice must have: Chinese, and the digits and capitals of
# dates, plates and record numbers (CJK fallback fonts such as Droid Sans Fallback lack those).
_CJK_PROBE = "违法行为通知书经查你单位的上述行为规定本机关拟对作出如下行政处罚年月日"
_LATIN_PROBE = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ-.%"
# Words this layout adds around the notice's own text (captions, labels, footer).
_LAYOUT_WORDS = "案号：检测单证据序号证据名称SHA-256校验值联系方式：（印章）第页0123456789"


def chinese_date(day: date) -> str:
    """2026年11月21日: Arabic numerals, as GB/T 9704-2012 writes the date of a document."""
    return f"{day.year}年{day.month}月{day.day}日"


def _markup(text: str) -> str:
    # Paragraph parses its text as XML-ish markup; the notice's text is data, never markup.
    return escape(text)


class _FontChoice:
    """The font that sets the Chinese text: STSong-Light, or an embedded TrueType font."""

    def __init__(self, font_file: Path | None) -> None:
        self.path = font_file
        self._glyphs: dict[int, int] | None = None
        if font_file is None:
            pdfmetrics.registerFont(UnicodeCIDFont(STANDARD_FONT))
            self.name = STANDARD_FONT
            return
        if not font_file.is_file():
            raise FileNotFoundError(
                f"{FONT_SETTING}={font_file}: no such font file; set it to a TrueType font with "
                "Chinese glyphs, or unset it to use the standard font STSong-Light"
            )
        # One registered name per file, so two renderers with different fonts in one process do
        # not replace each other's font; the name never reaches the PDF bytes.
        digest = hashlib.sha256(str(font_file.resolve()).encode()).hexdigest()[:16]
        name = f"ZhifaNotice-{digest}"
        try:
            font = TTFont(name, str(font_file))
        except (TTFError, OSError, ValueError) as exc:
            raise ValueError(f"{FONT_SETTING}={font_file} is not a usable TrueType font: {exc}") from exc
        glyphs: dict[int, int] = font.face.charToGlyph
        missing = [c for c in _CJK_PROBE + _LATIN_PROBE if ord(c) not in glyphs]
        if missing:
            raise ValueError(
                f"{FONT_SETTING}={font_file} lacks glyphs a notice needs (missing {''.join(missing)}); "
                "it would print them as empty boxes: use a font with Chinese and Latin glyphs"
            )
        pdfmetrics.registerFont(font)
        self.name = name
        self._glyphs = glyphs

    def check_covers(self, texts: Iterable[str]) -> None:
        """Refuse text the embedded font cannot show: it would print as an empty box, in a name or a sum.

        STSong-Light is not embedded; the reader's substitute font decides, so nothing is checked.
        """
        if self._glyphs is None:
            return
        missing = sorted(
            {c for text in texts for c in text if not c.isspace() and ord(c) not in self._glyphs}
        )
        if missing:
            raise ValueError(
                f"the font {self.path} ({FONT_SETTING}) has no glyph for {''.join(missing)!r}; "
                "choose a font that covers them"
            )


class ReportLabNoticeRenderer:
    """Implements services.ports.NoticeRenderer: the notice as an A4 portrait PDF."""

    def __init__(self, font_file: Path | None = None) -> None:
        self._font = _FontChoice(font_file)
        font = self._font.name
        body = ParagraphStyle(
            "notice-body",
            fontName=font,
            fontSize=BODY_SIZE,
            leading=BODY_SIZE * 1.75,
            alignment=TA_JUSTIFY,
            firstLineIndent=2 * BODY_SIZE,  # the customary two-character indent
            wordWrap="CJK",
            spaceAfter=4,
        )
        self._styles = {
            "authority": ParagraphStyle(
                "notice-authority", fontName=font, fontSize=16, leading=24, alignment=TA_CENTER
            ),
            "title": ParagraphStyle(
                "notice-title",
                fontName=font,
                fontSize=22,  # 二号
                leading=32,
                alignment=TA_CENTER,
                spaceBefore=6,
                spaceAfter=8,
            ),
            "case_number": ParagraphStyle(
                "notice-case-number",
                fontName=font,
                fontSize=BODY_SIZE,
                leading=BODY_SIZE * 1.5,
                alignment=TA_RIGHT,
                spaceAfter=BODY_SIZE,
            ),
            "salutation": ParagraphStyle(
                "notice-salutation", parent=body, firstLineIndent=0, alignment=TA_LEFT, wordWrap="CJK"
            ),
            "body": body,
            "plain": ParagraphStyle("notice-plain", parent=body, firstLineIndent=0),
            "cell": ParagraphStyle(
                "notice-cell",
                fontName=font,
                fontSize=TABLE_SIZE,
                leading=TABLE_SIZE * 1.4,
                wordWrap="CJK",
            ),
            "caption": ParagraphStyle(
                "notice-caption",
                fontName=font,
                fontSize=BODY_SIZE,
                leading=BODY_SIZE * 1.4,
                alignment=TA_CENTER,
            ),
            "signature": ParagraphStyle(
                "notice-signature",
                fontName=font,
                fontSize=BODY_SIZE,
                leading=BODY_SIZE * 1.75,
                alignment=TA_CENTER,
                wordWrap="CJK",
            ),
        }

    def render(self, notice: Notice) -> bytes:
        """The notice laid out as a PDF; the same notice always gives the same bytes."""
        self._font.check_covers(_texts(notice))
        out = BytesIO()
        keywords = [notice.title, notice.case_number, "行政处罚告知", "陈述", "申辩"]
        if notice.hearing_applies:
            keywords.append("听证")
        doc = SimpleDocTemplate(
            out,
            pagesize=A4,
            leftMargin=LEFT_MARGIN,
            rightMargin=RIGHT_MARGIN,
            topMargin=TOP_MARGIN,
            bottomMargin=BOTTOM_MARGIN,
            title=f"{notice.title} {notice.case_number}",
            author=notice.authority,
            subject="拟作出行政处罚的事实、理由、依据及当事人依法享有的权利",
            keywords=keywords,
            creator="zhifa",
            lang="zh-CN",
            # The canvas selects a font before anything is drawn (Helvetica by default); taking
            # the digests' standard font keeps the PDF to the fonts the notice actually shows.
            initialFontName=DIGEST_FONT,
            # Per document, so other PDFs made in this process keep their real dates and ids.
            # SOURCE_DATE_EPOCH, when set, still replaces the fixed date: keep it unset or constant.
            invariant=1,
        )

        def footer(canvas: Any, document: Any) -> None:
            canvas.saveState()
            canvas.setFont(self._font.name, 9)
            canvas.drawString(LEFT_MARGIN, FOOTER_Y, notice.case_number)
            canvas.drawRightString(PAGE_WIDTH - RIGHT_MARGIN, FOOTER_Y, f"第 {document.page} 页")
            canvas.restoreState()

        doc.build(self._story(notice), onFirstPage=footer, onLaterPages=footer)
        return out.getvalue()

    def _story(self, notice: Notice) -> list[Any]:
        s = self._styles
        story: list[Any] = [
            Paragraph(_markup(notice.authority), s["authority"]),
            Paragraph(_markup(notice.title), s["title"]),
            Paragraph(_markup(f"案号：{notice.case_number}"), s["case_number"]),
            Paragraph(_markup(f"{notice.addressee}："), s["salutation"]),
            Paragraph(_markup(notice.body), s["body"]),
        ]
        if notice.slip:
            story += [Spacer(1, 4), self._slip_table(notice.slip)]
        if notice.evidence:
            story += [Spacer(1, 10), self._evidence_table(notice.evidence)]
        story.append(Spacer(1, 10))
        story += [Paragraph(_markup(text), s["body"]) for text in notice.rights]
        if notice.contact:
            story.append(Paragraph(_markup(f"联系方式：{notice.contact}"), s["body"]))
        # Kept whole so the seal never lands on a page of its own without the authority's name.
        story.append(KeepTogether([Spacer(1, 16 * mm), self._signature(notice)]))
        return story

    def _cell(self, text: str) -> Paragraph:
        return Paragraph(_markup(text), self._styles["cell"])

    def _slip_table(self, rows: tuple[tuple[str, str], ...]) -> Table:
        label_width = 0.3 * TEXT_WIDTH
        data: list[list[Any]] = [[Paragraph("检测单", self._styles["caption"]), ""]]
        data += [[self._cell(label), self._cell(value)] for label, value in rows]
        table = Table(
            data,
            colWidths=[label_width, TEXT_WIDTH - label_width],
            repeatRows=1,  # a slip that runs onto the next page keeps its caption
            hAlign="CENTER",
        )
        table.setStyle(TableStyle([*self._grid(), ("SPAN", (0, 0), (1, 0))]))
        return table

    def _evidence_table(self, rows: tuple[tuple[str, str], ...]) -> Table:
        digest_width = pdfmetrics.stringWidth("0" * 64, DIGEST_FONT, DIGEST_SIZE) + 2 * CELL_PADDING + 2
        number_width = 3 * TABLE_SIZE + 2 * CELL_PADDING
        label_width = TEXT_WIDTH - digest_width - number_width
        data: list[list[Any]] = [
            [Paragraph("证据", self._styles["caption"]), "", ""],
            [self._cell("序号"), self._cell("证据名称"), self._cell("SHA-256 校验值")],
        ]
        # The digest is a plain string, not a Paragraph: plain cells never wrap, so each digest
        # stays one unbroken 64-character run in the page and in extracted text.
        data += [
            [self._cell(str(n)), self._cell(label), digest] for n, (label, digest) in enumerate(rows, start=1)
        ]
        table = Table(data, colWidths=[number_width, label_width, digest_width], repeatRows=2)
        table.setStyle(
            TableStyle(
                [
                    *self._grid(),
                    ("SPAN", (0, 0), (2, 0)),
                    ("BACKGROUND", (0, 1), (-1, 1), HEADER_FILL),
                    ("FONTNAME", (2, 2), (2, -1), DIGEST_FONT),
                    ("FONTSIZE", (2, 2), (2, -1), DIGEST_SIZE),
                ]
            )
        )
        return table

    def _grid(self) -> list[tuple[Any, ...]]:
        return [
            # Plain cells (the empty halves of a spanned caption, the digests) would otherwise
            # pull in Helvetica, a font the notice never shows.
            ("FONTNAME", (0, 0), (-1, -1), self._font.name),
            ("GRID", (0, 0), (-1, -1), GRID, colors.black),
            ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
            ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]

    def _signature(self, notice: Notice) -> Table:
        # The authority's name centred over the date, the block set flush right: the seal is
        # pressed across both, as on the Ministry's forms.
        style = self._styles["signature"]
        lines = [notice.authority, "（印章）", chinese_date(notice.issued_on)]
        widest = max(pdfmetrics.stringWidth(line, self._font.name, BODY_SIZE) for line in lines)
        width = min(widest + 4 * BODY_SIZE, TEXT_WIDTH)
        table = Table(
            [[Paragraph(_markup(line), style)] for line in lines], colWidths=[width], hAlign="RIGHT"
        )
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), self._font.name),  # see _grid: no stray Helvetica
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ]
            )
        )
        return table


def _texts(notice: Notice) -> list[str]:
    """Every string of the notice that is set in the Chinese font."""
    texts = [
        _LAYOUT_WORDS,
        notice.title,
        notice.case_number,
        notice.authority,
        notice.addressee,
        notice.body,
        *notice.rights,
        notice.contact,
        *(label for label, _ in notice.evidence),
    ]
    for label, value in notice.slip:
        texts += [label, value]
    return texts
