"""Make Great Expectations Data Docs open offline: no request leaves when a page is opened.

GX 1.x writes pages that load Bootstrap, jQuery, bootstrap-table, Vega and Font Awesome from
public CDNs and its logo from GX's own servers, with the Data Context id in the URL. Here
every page is rewritten after the build:

- external `<script src>` and `<link href>` tags are removed;
- the remote logo becomes the copy GX writes under `static/images/`, and the stylesheet's
  remote logo URL is dropped;
- a small inline stylesheet and an inline stand-in for the few jQuery / bootstrap-table
  calls the pages make are added, so the index page still renders its tables (GX builds
  them from inline JSON with bootstrap-table) and the rest of the page script still runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_EXTERNAL_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc=\"(?:https?:)?//[^\"]*\"[^>]*>\s*</script>", re.I
)
_EXTERNAL_LINK = re.compile(r"<link\b[^>]*\bhref=\"(?:https?:)?//[^\"]*\"[^>]*/?>", re.I)
_REMOTE_LOGO = re.compile(r"(?:https?:)?//great-expectations-web-assets\.[^\"')\s]*")
_CSS_REMOTE_URL = re.compile(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)")

_STYLE = """<style>
body{font:14px/1.45 system-ui,sans-serif;margin:1rem;color:#1f2328}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.2rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}.invisible,.modal{display:none}
.cooltip .top{display:none}.text-danger{color:#a40e26}.text-success{color:#116329}
.fas.fa-times::before{content:"\\2718"}.fas.fa-check-circle::before{content:"\\2714"}
</style>"""

# Just enough of jQuery and bootstrap-table for the calls GX's pages make.
_SHIM = "<script>\n" + (Path(__file__).parent / "offline_shim.js").read_text("utf-8") + "</script>"


def make_offline(site_dir: Path) -> None:
    """Rewrite every page (and stylesheet) of a Data Docs site in place."""
    logo = site_dir / "static" / "images" / "logo-long.png"
    for page in site_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        local_logo = os.path.relpath(logo, page.parent).replace(os.sep, "/")
        page.write_text(offline_html(text, local_logo), encoding="utf-8")
    for sheet in site_dir.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8")
        sheet.write_text(_CSS_REMOTE_URL.sub("none", text), encoding="utf-8")


def offline_html(text: str, local_logo: str) -> str:
    text = _EXTERNAL_SCRIPT.sub("", text)
    text = _EXTERNAL_LINK.sub("", text)
    text = _REMOTE_LOGO.sub(local_logo, text)
    head = text.find("<head>")
    if head >= 0:
        at = head + len("<head>")
        text = text[:at] + _STYLE + _SHIM + text[at:]
    return text
