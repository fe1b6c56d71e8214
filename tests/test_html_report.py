"""The self-contained HTML report: figures inlined byte for byte, deterministic output, a missing figure refused,
and (marked `browser`) the page rendered by headless Chromium with every figure decoded at its real pixel size.

Chromium is found and run by `browser.py` (skipped without it, a failure where XCRL_REQUIRE_BROWSER=1, as in CI).
"""

from __future__ import annotations

import base64
import re
import struct
from io import BytesIO
from pathlib import Path

import pytest
from browser import chromium, displayed, run_chromium

from xcrl_cli.report.html_report import render_html

# (file, width px, height px): different sizes, so that swapped or re-scaled figures are caught.
FIGURES = [("figure1.png", 300, 200), ("figure2.png", 400, 250)]
REPORT_MD = """\
# Tiny report

Some text with `inline code` and a [link to the numbers](table.csv).

### Table 1: scores

| Model | xnli accuracy | pawsx f1 | Space |
| --- | --- | --- | --- |
| ERM | 34.93 ± 1.70 | 41.06 ± 0.48 | h |
| Proposed | 33.13 ± 0.09 †1 | 61.91 ± 3.63* | z_inv |
| w/o Orthogonal | -0.50 ± 0.10 | 12.00 | z_inv |

### Flagged runs

- causal/xnli/seed0: collapsed
- proposed/pawsx/seed1: collapsed

### Figures

![Figure 1](figure1.png)

![Figure 2: per language](figure2.png)
"""
TABLE_ROWS = 4  # header + 3 body rows


def _png(width: int, height: int, seed: int) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    ax = fig.add_subplot()
    ax.bar(["de", "fr", "sw"], [3 + seed, 1, 2], color=["C0", "C1", "C2"])
    ax.set_title(f"figure {seed}")
    buf = BytesIO()
    # No bbox_inches="tight": that would crop and change the pixel size the browser test compares against.
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk, which always comes first."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "report.md").write_text(REPORT_MD, encoding="utf-8")
    (folder / "table.csv").write_text("model,xnli\nERM,0.35\n", encoding="utf-8")
    for seed, (name, width, height) in enumerate(FIGURES, 1):
        data = _png(width, height, seed)
        assert png_size(data) == (width, height)
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def rendered(report_dir: Path) -> Path:
    out = report_dir / "report.html"
    render_html(report_dir / "report.md", out)
    return out


def test_html_is_self_contained_and_deterministic(report_dir: Path, rendered: Path, tmp_path: Path) -> None:
    page = rendered.read_text(encoding="utf-8")
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == len(FIGURES)
    assert all(src.startswith("data:image/png;base64,") for src in sources), [s[:40] for s in sources]
    decoded = [base64.b64decode(src.split(",", 1)[1], validate=True) for src in sources]
    assert decoded == [(report_dir / name).read_bytes() for name, _, _ in FIGURES]

    assert page.count("<table>") == 1 and page.count("<tr>") == TABLE_ROWS
    assert "<style>" in page and "<script" not in page.lower() and "<link" not in page.lower()
    assert "http://" not in page and "https://" not in page  # no CDN, no web fonts
    assert 'href="table.csv"' in page  # data files stay relative links
    assert "<code>inline code</code>" in page
    assert page.count("<li>causal/xnli/seed0: collapsed</li>") == 1
    assert "<title>xcrl reproduction report</title>" in page
    # Section ids, and a contents list that links to them.
    assert 'id="table-1-scores"' in page and 'href="#table-1-scores"' in page
    # Numeric columns, marks included, are right-aligned; text columns are not.
    assert '<td class="num">33.13 ± 0.09 †1</td>' in page and '<td class="num">61.91 ± 3.63*</td>' in page
    assert "<td>z_inv</td>" in page and "<td>ERM</td>" in page

    again = tmp_path / "again.html"
    render_html(report_dir / "report.md", again)
    assert again.read_bytes() == rendered.read_bytes()
    assert not [p.name for p in report_dir.iterdir() if p.name.endswith(".tmp")]


def test_missing_image_is_refused(report_dir: Path) -> None:
    (report_dir / "figure2.png").unlink()
    out = report_dir / "report.html"
    with pytest.raises(ValueError, match=r"report\.md.*figure2\.png"):
        render_html(report_dir / "report.md", out)
    assert not out.exists()


def test_broken_image_is_refused(report_dir: Path) -> None:
    (report_dir / "figure1.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"figure1\.png.*not a PNG"):
        render_html(report_dir / "report.md", report_dir / "report.html")


@pytest.mark.browser
def test_browser_displays_every_figure(report_dir: Path, rendered: Path, tmp_path: Path) -> None:
    sizes, table_rows = displayed(rendered, tmp_path)
    expected = [png_size((report_dir / name).read_bytes()) for name, _, _ in FIGURES]
    assert len(sizes) == len(re.findall(r"!\[[^\]]*\]\(", REPORT_MD)) == len(FIGURES)
    assert sizes == expected == [(w, h) for _, w, h in FIGURES]
    assert table_rows == TABLE_ROWS

    shot = tmp_path / "page.png"
    run_chromium(chromium(), tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1200,2000", rendered.as_uri())
    assert shot.is_file() and shot.stat().st_size > 0
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (2000, 1200)
    assert pixels.std() > 0, "the screenshot is a single flat colour"
