"""The Markdown report as one self-contained HTML file: figures inlined as data: URIs, CSS inline, no JavaScript.

report.md is the pipeline's reviewable output, but its figures are separate PNGs that get lost when the report is
mailed, attached to an issue or opened from a CI artifact. report.html carries everything it needs in one file, so it
displays the same anywhere, offline. Like every other output it is byte-for-byte deterministic (no timestamps, no
paths of the machine that wrote it) and written atomically.

Links to other local files (the raw CSV and JSON numbers) stay relative: they are data to download, not part of the
page, and inlining them would make the page as large as the data.
"""

from __future__ import annotations

import base64
import html
import re
import urllib.parse
from pathlib import Path
from xml.etree.ElementTree import Element

import markdown
from markdown.extensions import Extension
from markdown.extensions.toc import slugify_unicode
from markdown.treeprocessors import Treeprocessor

from xcrl_cli.io import atomic_write

# Sniffed from the bytes rather than taken from the suffix: a figure that is empty, truncated at the start or not an
# image at all is refused here instead of showing up as a broken-image icon in somebody's browser.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
# A cell that starts like a number ("34.93 ± 1.70 (paper 71.84, ...)", "-0.5", "12 †1", "33.0*") is set in tabular
# figures and right-aligned, so that columns of numbers line up digit by digit.
_NUMERIC = re.compile(r"^[-+−]?(\d|\.\d)")
# Cells that hold no value; they neither make a column numeric nor stop it from being one.
_BLANK = {"", "-", "–", "—", "n/a", "NA", "nan"}
# A URL scheme ("https:", "data:", "mailto:"); a Windows drive letter would also match, but reports use POSIX paths.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

CSS = """\
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --zebra: #f6f8fa; --head: #eaeef2;
  --link: #0969da; }
* { box-sizing: border-box; }
body { margin: 0 auto; padding: 1.5rem 2rem 4rem; max-width: 1400px; color: var(--fg); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1, h2, h3, h4, h5, h6 { line-height: 1.25; margin: 1.6em 0 0.6em; }
h1 { font-size: 1.8em; border-bottom: 1px solid var(--line); padding-bottom: 0.3em; }
h2 { font-size: 1.45em; border-bottom: 1px solid var(--line); padding-bottom: 0.25em; }
h3 { font-size: 1.2em; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
code { font: 0.9em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  background: var(--zebra); border-radius: 4px; padding: 0.1em 0.35em; }
pre { background: var(--zebra); padding: 0.8em 1em; overflow-x: auto; border-radius: 6px; }
pre code { padding: 0; background: none; }
ul, ol { padding-left: 1.6em; }
li { margin: 0.15em 0; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
.toc { border: 1px solid var(--line); border-radius: 6px; padding: 0.6em 1.2em; margin: 1em 0 1.5em;
  background: var(--zebra); display: inline-block; min-width: 20em; }
.toc .toctitle { font-weight: 600; color: var(--muted); }
.toc ul { margin: 0.3em 0; padding-left: 1.2em; }
table { border-collapse: separate; border-spacing: 0; margin: 0.8em 0 1.2em; font-size: 0.9em; width: 100%;
  border: 1px solid var(--line); border-radius: 6px; }
th, td { padding: 0.35em 0.6em; border-right: 1px solid var(--line); border-bottom: 1px solid var(--line);
  vertical-align: top; text-align: left; }
th:last-child, td:last-child { border-right: none; }
tbody tr:last-child td { border-bottom: none; }
thead th { position: sticky; top: 0; z-index: 1; background: var(--head); font-weight: 600; }
tbody tr:nth-child(even) td { background: var(--zebra); }
tbody tr:hover td { background: #ddf4ff; }
.num { text-align: right; }
td.num { font: 0.92em/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-variant-numeric: tabular-nums; }
@media print { thead th { position: static; } tbody tr:hover td { background: inherit; } }
"""


def _data_uri(image: Path, report_md: Path, ref: str) -> str:
    """`image` as a base64 data: URI; `ref` is how the Markdown names it, for the error message."""
    if not image.is_file():
        raise ValueError(f"{report_md}: image {ref!r} not found (looked for {image})")
    payload = image.read_bytes()
    mime = next((m for magic, m in _MAGIC if payload.startswith(magic)), None)
    if mime is None:
        raise ValueError(f"{report_md}: image {ref!r} ({image}) is not a PNG, JPEG or GIF file"
                         f" ({len(payload)} bytes); regenerate the figure")
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


class _InlineImages(Treeprocessor):
    """Replace every <img src> by a data: URI of the file it names, relative to the Markdown file's folder."""

    def __init__(self, md: markdown.Markdown, report_md: Path) -> None:
        super().__init__(md)
        self.report_md = report_md

    def run(self, root: Element) -> None:
        for img in root.iter("img"):
            ref = img.get("src", "")
            if ref.startswith("data:"):
                continue
            if _SCHEME.match(ref) or ref.startswith("//"):
                # Fetching it would make the page depend on the network, and writing the report should not either.
                raise ValueError(f"{self.report_md}: image {ref!r} is not a local file; a self-contained report"
                                 " can only inline figures that lie beside the Markdown")
            # Markdown link targets are URLs: "figure%203.png" names "figure 3.png"; a "#..." or "?..." suffix has
            # no meaning for a file on disk.
            path = urllib.parse.unquote(urllib.parse.urlsplit(ref).path)
            img.set("src", _data_uri(self.report_md.parent / path, self.report_md, ref))


class _NumericCells(Treeprocessor):
    """Mark table columns whose filled cells all start with a number, header included, with class "num"."""

    def run(self, root: Element) -> None:
        for table in root.iter("table"):
            rows = list(table.iter("tr"))
            cells = [[c for c in tr if c.tag in ("td", "th")] for tr in rows]
            body = [row for row in cells if row and row[0].tag == "td"]
            width = max((len(row) for row in cells), default=0)
            for col in range(width):
                texts = ["".join(row[col].itertext()).strip() for row in body if col < len(row)]
                filled = [t for t in texts if t not in _BLANK]
                if filled and all(_NUMERIC.match(t) for t in filled):
                    for row in cells:
                        if col < len(row):
                            cell = row[col]
                            cell.set("class", (cell.get("class", "") + " num").strip())


class _ReportExtension(Extension):
    def __init__(self, report_md: Path) -> None:
        super().__init__()
        self.report_md = report_md

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # Priorities below "inline" (20) so that <img> and <table> elements exist; above "prettify" (10).
        md.treeprocessors.register(_InlineImages(md, self.report_md), "xcrl_inline_images", 15)
        md.treeprocessors.register(_NumericCells(md), "xcrl_numeric_cells", 14)


def _body(report_md: Path) -> tuple[str, str]:
    """(HTML of the Markdown, HTML of its table of contents) with images inlined."""
    md = markdown.Markdown(
        extensions=["tables", "toc", "sane_lists", _ReportExtension(report_md)],
        extension_configs={"toc": {
            # Unicode-preserving ids: headings may name languages in their own script.
            "slugify": slugify_unicode,
            # The report's only h1 is its title; a contents list with one entry wrapping everything says nothing.
            "toc_depth": "2-6",
            "title": "Contents",
            "permalink": False,
        }},
        output_format="html",
    )
    text = report_md.read_text(encoding="utf-8")
    body = md.convert(text)
    # The toc extension sets these attributes on the converter; there are none to show in a report without h2-h6.
    toc = getattr(md, "toc", "") if getattr(md, "toc_tokens", []) else ""
    return body, toc


def _check_self_contained(page: str, report_md: Path) -> None:
    """Raw HTML in the Markdown passes through untouched; refuse it if it points the page at another file."""
    # Only inside tags: text and code spans that merely mention src="..." are escaped (&lt;, &quot;) by now.
    pattern = r"""<[A-Za-z][^>]*?\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"""
    for ref in ("".join(groups) for groups in re.findall(pattern, page, flags=re.IGNORECASE)):
        if not ref.startswith("data:"):
            raise ValueError(f"{report_md}: embedded HTML refers to {ref!r}; write images as ![alt](file.png)"
                             " so that they can be inlined")
    if re.search(r"<script\b|<link\b[^>]*\brel\s*=\s*[\"']?stylesheet", page, flags=re.IGNORECASE):
        raise ValueError(f"{report_md}: embedded HTML contains a script or an external stylesheet")


def render_html(report_md: Path, out: Path, title: str = "xcrl reproduction report") -> None:
    """Write `report_md` as one self-contained HTML page to `out`.

    Images (`![alt](figure.png)`, resolved against the Markdown's folder) are inlined as base64 data: URIs; a missing
    or unreadable one raises ValueError naming the Markdown file and the image. Headings get ids, and a table of
    contents of the h2-h6 headings goes after the title. The bytes depend only on the inputs.
    """
    report_md = Path(report_md)
    body, toc = _body(report_md)
    if toc:
        # After the title, if the report opens with one, so that the page still starts with what it is.
        first_h1 = re.match(r"\s*<h1\b.*?</h1>\n?", body, flags=re.DOTALL)
        split = first_h1.end() if first_h1 else 0
        body = f"{body[:split]}<nav aria-label=\"Contents\">\n{toc}</nav>\n{body[split:]}"
    page = (
        "<!DOCTYPE html>\n"
        "<html lang=\"en\">\n"
        "<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"generator\" content=\"xcrl_cli.report.html_report\">\n"
        f"<title>{html.escape(title)}</title>\n"
        f"<style>\n{CSS}</style>\n"
        "</head>\n"
        "<body>\n"
        f"{body}\n"
        "</body>\n"
        "</html>\n"
    )
    _check_self_contained(page, report_md)
    atomic_write(Path(out), page)
