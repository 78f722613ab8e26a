"""Importing this module warms the pipeline up: lexicons, rules and the segmenter get loaded once.

The process pool's fork server imports it, so that every worker (and every worker started again
after a crash) begins warm instead of spending seconds on loading; Dask workers import it at start
(`dask worker --preload extractor.warmup` on a cluster of your own). The time limit of a document
then measures the document, not the loading.
"""

from __future__ import annotations

# A constructed sample in the shape of a report, touching every stage (not real data).
_SAMPLE = (
    "某县人民政府关于2023年度法治政府建设情况的报告\n"
    "县委、县人大常委会：\n"
    "现将有关情况报告如下：\n"
    "一、主要举措和成效\n"
    "（一）严格规范公正文明执法。全年办理行政处罚案件120件，罚没款35.6万元，案卷评查合格率98%。\n"
    "二、存在的不足和原因\n"
    "三、2024年工作安排\n"
    "力争法律顾问覆盖率达到100%。\n"
    "特此报告。\n"
    "某县人民政府\n"
    "2024年2月26日\n"
)


def warm_up() -> None:
    """Run the pipeline once on a small sample; never raises (a failure here must not stop a worker)."""
    try:
        from extractor.pipeline import process_bytes

        process_bytes(_SAMPLE.encode("utf-8"), "warmup.txt")
    except Exception:  # the real documents will report whatever is wrong
        pass


warm_up()
