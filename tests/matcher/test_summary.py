"""The summary page: HTML with embedded charts, Markdown with the same PNGs beside it."""

from __future__ import annotations

import base64
import re
import warnings
from collections import Counter
from pathlib import Path

import pytest

import matcher
from matcher import summary
from matcher.report_data import from_allocation
from matcher.season import load_season
from matcher.summary import CHARTS, write_summary
from tests.builders import slot, student, write_season

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "instances" / "sample"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data():
    season = load_season(SAMPLE)
    alloc = matcher.solve(season, strategy="greedy", time_limit=30)
    assert alloc.audit.ok
    return from_allocation(alloc, season), alloc, season


@pytest.fixture(scope="module")
def page(data, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("page")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a glyph missing from the font
        write_summary(data[0], folder, "zh")
    return folder


def test_files_and_embedded_charts(page: Path) -> None:
    names = sorted(p.name for p in page.iterdir())
    assert names == sorted(["summary.html", "summary.md", *(f"summary-{c}.png" for c in CHARTS)])
    html = (page / "summary.html").read_text(encoding="utf-8")
    md = (page / "summary.md").read_text(encoding="utf-8")
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(embedded) == len(CHARTS)
    for chart, b64 in zip(CHARTS, embedded, strict=True):
        png = (page / f"summary-{chart}.png").read_bytes()
        assert png.startswith(PNG) and base64.b64decode(b64) == png
        assert f"](summary-{chart}.png)" in md


def _cells(html: str, label: str) -> list[str]:
    """The cells of the HTML table row whose first cell is `label`."""
    row = re.search(r"<tr><td>" + re.escape(label) + r"</td>(.*?)</tr>", html)
    assert row, label
    return re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))


def test_headline_and_tables_agree_with_the_allocation(page: Path, data) -> None:
    _, alloc, season = data
    html = (page / "summary.html").read_text(encoding="utf-8")
    assert _cells(html, "已安置") == [f"{alloc.metrics['placed']:,}"]
    assert _cells(html, "补贴总额（元）") == [f"{alloc.metrics['spend']:,.2f}"]
    placed = Counter(alloc.assignments["park_id"])
    for park in season.parks.to_dict("records"):
        cells = _cells(html, park["park_id"])
        assert cells[0] == park["name"] and cells[2] == str(placed.get(park["park_id"], 0))
    md = (page / "summary.md").read_text(encoding="utf-8")
    for heading in ("各园区安置人数", "各资金预算使用", "志愿满足分布", "各学校本地安置率"):
        assert f"## {heading}" in md and f"<h2>{heading}</h2>" in html
    fund = season.funds.iloc[0]
    assert f"| {fund['fund_id']} | {fund['name']} | {fund['budget']:,.2f} |" in md


def test_english_page(data, tmp_path: Path) -> None:
    write_summary(data[0], tmp_path, "en")
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html
    for heading in ("Placements by park", "Budget use per fund",
                    "Preference rank of placed students", "Local share by school"):
        assert f"<h2>{heading}</h2>" in html


def test_names_are_escaped(tmp_path: Path) -> None:
    folder = write_season(tmp_path / "s", students=[student("S1")], slots=[slot("T1")],
                          parks=[{"park_id": "P1", "name": "<b>高新&区</b>"}])
    season = load_season(folder)
    alloc = matcher.solve(season, strategy="greedy", time_limit=10)
    assert alloc.audit.ok and alloc.metrics["placed"] == 1
    write_summary(from_allocation(alloc, season), tmp_path, "zh")
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;高新&amp;区&lt;/b&gt;" in html and "<b>高新" not in html


def test_nothing_is_left_half_written(data, tmp_path: Path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(summary, "_html", broken)
    with pytest.raises(RuntimeError, match="boom"):
        write_summary(data[0], tmp_path, "zh")
    assert list(tmp_path.iterdir()) == []


def test_chart_labels_fall_back_to_ids_without_a_chinese_font(monkeypatch) -> None:
    monkeypatch.setattr(summary, "cjk_font", lambda: None)
    assert summary._name("郴州高新区", "P01", "zh") == "P01"
    assert summary._name("Changsha park", "P06", "en") == "Changsha park"
    monkeypatch.setattr(summary, "cjk_font", lambda: "Noto Sans CJK SC")
    assert summary._name("郴州高新区", "P01", "zh") == "郴州高新区"
