"""Generate hubei-yichang-yiling-2023.pdf: a constructed report laid out in a narrow column.

The column is so narrow that sentences, a level-1 heading and at least one number wrap onto the
next line, and a paragraph runs across a page break; every page carries a "- N -" page number.
Output is byte-stable (reportlab's invariant mode). Run from anywhere:

    .venv/bin/python tests/golden/make_pdf.py            # rewrites the committed PDF
    .venv/bin/python tests/golden/make_pdf.py out.pdf    # writes elsewhere

`plain_text()` returns the report's logical text (one paragraph per line), the reference that the
gold file's quotes are checked against.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PDF_PATH = HERE / "hubei-yichang-yiling-2023.pdf"

FONT = "STSong-Light"
PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
LEFT = 80.0
TEXT_WIDTH = 192.0  # about 16 CJK characters at 12 pt: narrow on purpose
BODY_SIZE, TITLE_SIZE = 12.0, 16.0
LEADING = 20.0
TOP, BOTTOM = 770.0, 110.0
INDENT = 2 * BODY_SIZE  # first-line indent of two characters, drawn as space, not as characters

NO_LINE_START = set("，。、；：？！）》”’％")

# (kind, text). Kinds: title (centred, large), flush (no indent), para (indented first line),
# right (right-aligned signature lines).
PARAGRAPHS: list[tuple[str, str]] = [
    ("title", "宜昌市夷陵区人民政府关于2023年度法治政府建设情况的报告"),
    ("flush", "区委、区人大常委会："),
    ("para", "2023年，区政府坚持以习近平新时代中国特色社会主义思想为指导，深入贯彻习近平法治思想，"
             "全面落实法治政府建设实施纲要，各项工作取得积极成效。现将有关情况报告如下："),
    ("para", "一、2023年推进法治政府建设的主要举措和成效"),
    ("para", "（一）加强学习教育，提升依法行政能力。区政府党组坚持“第一议题”制度，全年集中学习习近平法治思想"
             "9次，区政府常务会议会前学法12次。举办领导干部法治专题培训班3期，培训各级干部1200余人次，"
             "全区公职人员学法考试参考率达99.8％。"),
    ("para", "（二）深化放管服改革，优化营商环境。全区1835项政务服务事项实现“一网通办”，全程网办率96.4％，"
             "年办件量达到31.7万件。对新出台的涉企政策措施开展公平竞争审查47件，为企业减免各类费用1.36亿元。"),
    ("para", "（三）规范行政决策，严格文件审核。区政府研究重大行政决策事项6项，均经合法性审查和集体讨论。"
             "全年审核区政府规范性文件草案14件，提出修改意见96条，向市政府和区人大常委会报备规范性文件11件，"
             "报备率100％。"),
    ("para", "（四）严格规范执法，强化执法监督。全区持证执法人员1523名，全年办理行政处罚案件4186件，"
             "同比下降5.2％，罚没款2917.6万元；组织行政执法案卷评查，抽查案卷420卷，合格率97.1％。"),
    ("para", "（五）化解矛盾纠纷，维护社会稳定。全年新收行政复议案件118件，审结109件，综合纠错率11.9％；"
             "各级调解组织受理矛盾纠纷3962件，调解成功3905件；公共法律服务中心解答法律咨询7800余人次，"
             "办理法律援助案件530件。"),
    ("para", "二、党政主要负责人履行推进法治建设第一责任人职责情况"),
    ("para", "区政府主要负责同志带头履行第一责任人职责，主持召开区政府常务会议专题研究法治政府建设4次，"
             "带头讲授法治专题党课1次，带头出庭应诉2次。全区行政机关负责人出庭应诉率达100％，"
             "行政诉讼案件败诉率4.3％。"),
    ("para", "三、存在的不足和原因"),
    ("para", "一是法治政府建设推进不够平衡，部分部门和镇（街道）工作力度不够；二是执法人员素质参差不齐，"
             "少数执法人员规范执法意识不强；三是行政争议源头化解机制有待进一步完善。"),
    ("para", "四、2024年工作安排"),
    ("para", "一是持续加强习近平法治思想学习宣传贯彻；二是深化行政执法体制改革，力争案卷评查合格率达到98％以上；"
             "三是健全矛盾纠纷多元化解机制，推动法治政府建设水平再上新台阶。"),
    ("para", "特此报告。"),
    ("right", "宜昌市夷陵区人民政府"),
    ("right", "2024年2月20日"),
]


def plain_text() -> str:
    """The report's logical text: one paragraph per line, as a perfect loader would return it."""
    return "\n".join(text for _, text in PARAGRAPHS) + "\n"


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def wrap(text: str, size: float, first_width: float, width: float) -> list[str]:
    """Break `text` into lines that fit the column, character by character (no hyphenation in Chinese)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    current = ""
    limit = first_width
    for ch in text:
        # Closing punctuation never starts a line (kinsoku): it hangs past the column instead.
        if current and ch not in NO_LINE_START and stringWidth(current + ch, FONT, size) > limit:
            lines.append(current)
            current = ""
            limit = width
        current += ch
    if current:
        lines.append(current)
    return lines


def layout() -> list[list[tuple[str, float, float, float, int]]]:
    """Pages of (text, x, y, size, paragraph index) line placements."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    _register_font()
    pages: list[list[tuple[str, float, float, float, int]]] = [[]]
    y = TOP
    for n, (kind, text) in enumerate(PARAGRAPHS):
        size = TITLE_SIZE if kind == "title" else BODY_SIZE
        indent = INDENT if kind == "para" else 0.0
        lines = wrap(text, size, TEXT_WIDTH - indent, TEXT_WIDTH)
        for i, line in enumerate(lines):
            if y < BOTTOM:
                pages.append([])
                y = TOP
            if kind == "title":
                x = LEFT + (TEXT_WIDTH - stringWidth(line, FONT, size)) / 2
            elif kind == "right":
                x = LEFT + TEXT_WIDTH - stringWidth(line, FONT, size)
            else:
                x = LEFT + (indent if i == 0 else 0.0)
            pages[-1].append((line, x, y, size, n))
            y -= LEADING * (1.4 if kind == "title" else 1.0)
        if kind == "title" or text == "特此报告。":
            y -= LEADING  # a blank line after the title and before the signature
    return pages


def check(pages: list[list[tuple[str, float, float, float, int]]]) -> None:
    """Assert the layout shows what the fixture is for: wrapped headings, numbers and page breaks."""
    lines = [line for page in pages for line, *_ in page]
    assert len(pages) >= 3, "the report should run over at least three pages"
    assert any(a[-1:].isdigit() and b[:1].isdigit() for a, b in itertools.pairwise(lines)), \
        "no number is split across two lines"
    assert any(line.startswith("二、") and len(line) < len(PARAGRAPHS[9][1]) for line in lines), \
        "the long level-1 heading does not wrap"
    assert any(a[-1][4] == b[0][4] for a, b in itertools.pairwise(pages)), \
        "no paragraph runs across a page break"


def build(path: Path = PDF_PATH) -> Path:
    """Write the PDF to `path`."""
    from reportlab.pdfgen import canvas

    pages = layout()
    check(pages)
    c = canvas.Canvas(str(path), pagesize=(PAGE_W, PAGE_H), invariant=1)
    c.setTitle("宜昌市夷陵区人民政府关于2023年度法治政府建设情况的报告")
    for number, page in enumerate(pages, start=1):
        for line, x, y, size, _ in page:
            c.setFont(FONT, size)
            c.drawString(x, y, line)
        c.setFont(FONT, 10.5)
        c.drawCentredString(LEFT + TEXT_WIDTH / 2, 60, f"- {number} -")
        c.showPage()
    c.save()
    return path


if __name__ == "__main__":
    out = build(Path(sys.argv[1]) if len(sys.argv) > 1 else PDF_PATH)
    print(out)
