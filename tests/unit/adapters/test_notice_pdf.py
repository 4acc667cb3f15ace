"""The ReportLab layout of the 违法行为通知书.

Text is checked through pypdf's extraction. Extracting a CID font (STSong-Light) and text wrapped
by ReportLab's CJK line breaking puts spaces and line breaks wherever a line or a text run ends, so
both the extracted text and the expected phrases are compared with all whitespace removed.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import replace
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import cast

import pytest
import reportlab
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from zhifa.adapters.documents.notice_pdf import ReportLabNoticeRenderer
from zhifa.domain.notices import Notice

CASE_NUMBER = "皖交执罚〔2026〕12号"
AUTHORITY = "合肥市交通运输综合行政执法支队"
ADDRESSEE = "合肥顺达物流有限公司"
PENALTY = "罚款人民币1500元"

SLIP = (
    ("检测单号", "WIM-340100-20261103-000187"),
    ("检测地点", "G3京台高速合肥北不停车检测点（G3京台高速K1012+300）"),
    ("检测时间", "2026年11月3日14时25分07秒"),
    ("车道", "2"),
    ("号牌号码及颜色", "皖A12345（黄色）"),
    ("轴数", "6"),
    ("车货总重", "52535千克"),
    ("限定标准（限重）", "49000千克"),
    ("超限重量", "3535千克"),
    ("超限率", "7.21%"),
    ("轴重", "7100千克、10850千克、10900千克、7895千克、7890千克、7900千克"),
    ("检测设备", "精度等级5级，编号WIM-AH-0187"),
)


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


EVIDENCE = tuple(
    (label, _digest(label))
    for label in ("车辆前方照片", "车辆侧面照片", "车辆后方照片", "全景照片", "号牌特写照片")
)

RIGHTS = (
    "根据《中华人民共和国行政处罚法》第四十四条、第四十五条的规定，你（单位）有权进行陈述和申辩。"
    "你（单位）可以在收到本通知书之日起3个工作日内向本机关提出陈述、申辩意见，本机关将充分听取并进行复核；"
    "事实、理由或者证据成立的，本机关将予以采纳。本机关不因当事人陈述、申辩而给予更重的处罚。",
    "根据《中华人民共和国行政处罚法》第六十三条、第六十四条的规定，符合听证条件的，你（单位）有权要求举行听证。"
    "要求听证的，应当在收到本通知书之日起5个工作日内提出；本机关不因当事人要求听证而加重处罚。",
    "逾期未提出陈述、申辩或者听证要求的，视为放弃上述权利。",
)


FACTS = (
    "2026年11月3日14时25分07秒，号牌为皖A12345（黄色）的6轴汽车列车在G3京台高速合肥北不停车检测点"
    "（G3京台高速K1012+300）经不停车检测（检测单号WIM-340100-20261103-000187），"
    "车货总质量55300千克，扣除检测设备允许误差5%后为52535千克，超过49000千克的限定标准3535千克，超限率7.21%。"
)
VIOLATED = "《公路安全保护条例》第三十三条、《超限运输车辆行驶公路管理规定》第三条第一款第八项的规定"
PENALTY_BASIS = "《公路安全保护条例》第六十四条、《超限运输车辆行驶公路管理规定》第四十三条第一款第二项"


def _notice(slip: tuple[tuple[str, str], ...] = SLIP) -> Notice:
    return Notice(
        title="违法行为通知书",
        case_number=CASE_NUMBER,
        authority=AUTHORITY,
        addressee=ADDRESSEE,
        facts=FACTS,
        violated=VIOLATED,
        penalty_basis=PENALTY_BASIS,
        proposed_penalty=PENALTY,
        body=(
            f"经查，{FACTS}你（单位）的上述行为违反了{VIOLATED}，依据{PENALTY_BASIS}的规定，"
            f"本机关拟对你（单位）作出如下行政处罚：{PENALTY}。"
        ),
        slip=slip,
        evidence=EVIDENCE,
        rights=RIGHTS,
        hearing_applies=False,
        issued_on=date(2026, 11, 21),
        contact="联系人：王明；联系电话：0551-12345678；地址：合肥市庐阳区长江中路1号",
    )


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _reader(pdf: bytes) -> PdfReader:
    return PdfReader(BytesIO(pdf))


def _text(pdf: bytes) -> str:
    return _flat("".join(page.extract_text() for page in _reader(pdf).pages))


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return ReportLabNoticeRenderer().render(_notice())


def test_output_is_a_pdf(pdf: bytes) -> None:
    """The renderer returns PDF bytes that pypdf opens."""
    assert pdf.startswith(b"%PDF")
    assert len(_reader(pdf).pages) >= 1


def test_every_part_of_the_notice_is_in_the_text(pdf: bytes) -> None:
    """Title, 案号, addressee, facts, basis, penalty, slip, rights, authority and date all print."""
    text = _text(pdf)
    expected = [
        "违法行为通知书",
        CASE_NUMBER,
        ADDRESSEE + "：",
        "经查，2026年11月3日14时25分07秒，号牌为皖A12345（黄色）的6轴汽车列车",
        "超过49000千克的限定标准3535千克",
        "你（单位）的上述行为违反了《公路安全保护条例》第三十三条",
        "依据《公路安全保护条例》第六十四条",
        "本机关拟对你（单位）作出如下行政处罚：" + PENALTY + "。",
        "陈述",
        "申辩",
        "听证",
        AUTHORITY,
        "（印章）",
        "2026年11月21日",
        "联系电话：0551-12345678",
    ]
    for label, value in SLIP:
        expected += [label, value]
    for phrase in expected:
        assert _flat(phrase) in text, phrase


def test_each_evidence_digest_is_one_unbroken_string(pdf: bytes) -> None:
    """Each 64-hex SHA-256 is extractable whole, on one line, so it can be compared with the file."""
    raw = "".join(page.extract_text() for page in _reader(pdf).pages)
    for label, digest in EVIDENCE:
        assert len(digest) == 64
        assert digest in raw, label  # raw text: no space or line break inside the digest
        assert _flat(label) in _flat(raw)


def test_same_notice_gives_identical_bytes() -> None:
    """Rendering is deterministic (no timestamp, no random id), as content addressing needs."""
    first = ReportLabNoticeRenderer().render(_notice())
    second = ReportLabNoticeRenderer().render(_notice())
    assert first == second


def test_rendering_does_not_switch_reportlab_to_invariant_mode_globally() -> None:
    """The fixed date and id are per document; other PDFs of the process keep real metadata."""
    before = reportlab.rl_config.invariant
    ReportLabNoticeRenderer().render(_notice())
    assert reportlab.rl_config.invariant == before


def test_different_notices_give_different_bytes() -> None:
    """The document id follows the content, so two notices never share a SHA-256."""
    renderer = ReportLabNoticeRenderer()
    other = replace(_notice(), case_number="皖交执罚〔2026〕13号")
    assert renderer.render(_notice()) != renderer.render(other)


def test_long_slip_flows_onto_further_pages() -> None:
    """A slip of 60 rows does not fit one page: the table splits instead of failing or clipping."""
    slip = tuple((f"轴{n}轴重", f"{7000 + n}千克") for n in range(1, 61))
    pdf = ReportLabNoticeRenderer().render(_notice(slip))
    reader = _reader(pdf)
    assert len(reader.pages) > 1
    text = _text(pdf)
    assert "轴60轴重" in text
    assert "7060千克" in text
    assert "第2页" in text  # the footer counts the pages


def test_every_page_carries_the_case_number_and_page_number() -> None:
    """The footer names the case and the page, so a loose page can be put back."""
    slip = tuple((f"轴{n}轴重", f"{7000 + n}千克") for n in range(1, 61))
    reader = _reader(ReportLabNoticeRenderer().render(_notice(slip)))
    for n, page in enumerate(reader.pages, start=1):
        text = _flat(page.extract_text())
        assert CASE_NUMBER in text
        assert f"第{n}页" in text


def test_metadata_names_the_document_and_the_authority(pdf: bytes) -> None:
    """The PDF's title holds the case number and its author is the issuing authority."""
    meta = _reader(pdf).metadata
    assert meta is not None
    assert meta.title == f"违法行为通知书 {CASE_NUMBER}"
    assert meta.author == AUTHORITY
    assert meta.subject
    assert CASE_NUMBER in (meta.get("/Keywords") or "")


def test_markup_characters_in_the_content_are_printed_not_parsed() -> None:
    """Text is data: '<', '>' and '&' in a field print as such instead of breaking the layout."""
    notice = replace(_notice(), contact="联系电话：0551-12345678 <值班> & 传真")
    text = _text(ReportLabNoticeRenderer().render(notice))
    assert "<值班>&传真" in text


def test_missing_font_file_names_the_setting(tmp_path: Path) -> None:
    """A font path that does not exist fails at construction and says which setting to fix."""
    with pytest.raises(FileNotFoundError, match="ZHIFA_PDF_FONT_FILE"):
        ReportLabNoticeRenderer(font_file=tmp_path / "no-such-font.ttf")


def test_font_file_that_is_not_a_font_names_the_setting(tmp_path: Path) -> None:
    """A file that is not TrueType is refused up front, not when the first notice is issued."""
    bogus = tmp_path / "font.ttf"
    bogus.write_bytes(b"not a font")
    with pytest.raises(ValueError, match="ZHIFA_PDF_FONT_FILE"):
        ReportLabNoticeRenderer(font_file=bogus)


def test_font_without_chinese_glyphs_is_refused() -> None:
    """A Latin-only TrueType font (Vera, shipped with ReportLab) would print blanks: refused."""
    vera = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
    with pytest.raises(ValueError, match="ZHIFA_PDF_FONT_FILE"):
        ReportLabNoticeRenderer(font_file=vera)


def _fonts(pdf: bytes) -> list[DictionaryObject]:
    """The font dictionaries the pages use."""
    fonts = []
    for page in _reader(pdf).pages:
        resources = cast(DictionaryObject, page["/Resources"].get_object())
        for ref in cast(DictionaryObject, resources["/Font"].get_object()).values():
            fonts.append(cast(DictionaryObject, ref.get_object()))
    return fonts


def _font_names(pdf: bytes) -> set[str]:
    return {str(font["/BaseFont"]) for font in _fonts(pdf)}


def _embedded(pdf: bytes) -> bool:
    """Whether a TrueType font program (FontFile2) is embedded."""
    return any(
        "/FontFile2" in cast(DictionaryObject, font["/FontDescriptor"].get_object())
        for font in _fonts(pdf)
        if "/FontDescriptor" in font
    )


def test_default_font_is_the_standard_chinese_font(pdf: bytes) -> None:
    """Without a font file the text is set in STSong-Light, digests in Courier, nothing else."""
    assert _font_names(pdf) == {"/STSong-Light", "/Courier"}
    assert not _embedded(pdf)


# A TrueType/TrueType-collection font with Chinese and Latin glyphs, where the machine has one
# (Debian: fonts-wqy-microhei, fonts-wqy-zenhei, fonts-arphic-uming). None ships with the project.
_CJK_FONTS = [
    Path(p)
    for p in (
        os.environ.get("ZHIFA_TEST_CJK_FONT", ""),
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/truetype/arphic/uming.ttc",
    )
    if p and Path(p).is_file()
]
needs_cjk_font = pytest.mark.skipif(not _CJK_FONTS, reason="no TrueType font with Chinese glyphs here")


@needs_cjk_font
def test_font_file_is_embedded_and_stays_deterministic() -> None:
    """A configured TrueType font replaces STSong-Light, is embedded, and renders byte-stable."""
    renderer = ReportLabNoticeRenderer(font_file=_CJK_FONTS[0])
    pdf = renderer.render(_notice())
    assert _embedded(pdf)
    assert "/STSong-Light" not in _font_names(pdf)
    assert _flat(ADDRESSEE) in _text(pdf)
    assert ReportLabNoticeRenderer(font_file=_CJK_FONTS[0]).render(_notice()) == pdf


@needs_cjk_font
def test_text_the_embedded_font_cannot_show_is_refused() -> None:
    """A character without a glyph would print as a blank box: the notice is not issued."""
    renderer = ReportLabNoticeRenderer(font_file=_CJK_FONTS[0])
    notice = replace(_notice(), addressee="合肥\ue000物流有限公司")  # private-use: no font has it
    with pytest.raises(ValueError, match="ZHIFA_PDF_FONT_FILE"):
        renderer.render(notice)
