"""Check a built site (after `mkdocs build`): offline, complete, links rewritten.

    python3 tools/check_site.py site

Fails (exit 1), naming each problem, when
  - a page would load something from the network: an http(s) or //host URL in
    <script src>, <link href> (stylesheet, preload, icon…), <img>/<source>/
    <iframe>/<video>/<audio> src, an `import` inside a <script>, or a url() /
    @import in a <style> or a .css file;
  - a notebooks/NN-*.ipynb has no rendered page at chapters/NN-*/index.html;
  - a chapter page shows fewer code-cell outputs than its notebook stores;
  - a chapter page still links to a chapter as `NN-name.ipynb` (not rewritten);
  - a page loads, or links to, a file (or an #anchor) the site does not have;
  - a page with mermaid diagrams does not load the vendored mermaid, or the
    vendored mermaid is missing.
Standard library only.
"""
from __future__ import annotations

import json
import posixpath
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
MERMAID = "assets/vendor/mermaid/mermaid.min.js"
REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host
SCRIPT_IMPORT = re.compile(r"""\b(?:import\s*\(?|from)\s*["'`]((?:https?:)?//[^"'`]+)""")
CSS_URL = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])((?:https?:)?//[^"')\s]+)""")
LOADING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "preconnect",
                "dns-prefetch", "icon", "shortcut", "apple-touch-icon", "manifest"}
CHAPTER_LINK = re.compile(r"(?:^|/)\d\d-[\w-]+\.ipynb$")


class Page(HTMLParser):
    """What a page loads, links to and contains."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.loads, self.links, self.scripts = [], [], []
        self.inline, self.styles = [], []
        self.ids = set()
        self.outputs = 0
        self.mermaid = False
        self.notebook = False
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if a.get("id"):
            self.ids.add(a["id"])
        classes = a.get("class", "").split()
        if "jp-OutputArea-child" in classes:
            self.outputs += 1
        if "mermaid" in classes or "jp-Mermaid" in classes:
            self.mermaid = True
        if "jupyter-wrapper" in classes:
            self.notebook = True
        if tag == "script":
            if a.get("src"):
                self.scripts.append(a["src"])
                self.loads.append(("<script src>", a["src"]))
            self._in = "script"
        elif tag == "style":
            self._in = "style"
        elif tag == "link" and LOADING_RELS & set(a.get("rel", "").lower().split()):
            self.loads.append((f"<link rel={a['rel']}>", a.get("href", "")))
        elif tag in ("img", "source", "iframe", "video", "audio", "embed", "track"):
            for key in ("src", "srcset", "poster"):
                for url in a.get(key, "").split(","):
                    if url.strip():
                        self.loads.append((f"<{tag} {key}>", url.strip().split()[0]))
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.inline.append(data)
        elif self._in == "style":
            self.styles.append(data)


def resolve(site: Path, page_url: str, href: str) -> str | None:
    """The site file a relative href points to, or None if there is none."""
    path = unquote(urlsplit(href).path)
    if not path:
        return page_url
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page_url), path)).lstrip("/")
    if path.endswith("/") or (site / resolved).is_dir():
        resolved = posixpath.join(resolved, "index.html")
    return resolved if (site / resolved).is_file() else None


def check(site: Path) -> list[str]:
    problems = []
    for where in (ROOT / "docs" / MERMAID, site / MERMAID):
        if not where.is_file() or where.stat().st_size < 1_000_000:
            problems.append(f"vendored mermaid missing or truncated: {where}")

    pages = {}
    for html in sorted(site.rglob("*.html")):
        pages[html.relative_to(site).as_posix()] = page = Page()
        page.feed(html.read_text(encoding="utf-8"))

    for url, page in pages.items():
        for what, src in page.loads:
            if REMOTE.match(src):
                problems.append(f"{url}: {what} loads {src} from the network")
            elif not src.startswith(("data:", "blob:")) and resolve(site, url, src) is None:
                problems.append(f"{url}: {what} loads '{src}', which the site does not have")
        for code in page.inline:
            for src in SCRIPT_IMPORT.findall(code):
                problems.append(f"{url}: a <script> imports {src} from the network")
        for css in page.styles:
            for src in CSS_URL.findall(css):
                problems.append(f"{url}: a <style> loads {src} from the network")
        for href in page.links:
            if REMOTE.match(href) or href.startswith(("mailto:", "javascript:")) or href == "#":
                continue
            if CHAPTER_LINK.search(urlsplit(href).path):
                problems.append(f"{url}: link '{href}' to a notebook was not rewritten "
                                "to its chapter page (docs/hooks/notebooks.py)")
                continue
            target = resolve(site, url, href)
            anchor = unquote(urlsplit(href).fragment)
            if target is None:
                problems.append(f"{url}: link '{href}' points to nothing in the site")
            elif anchor and target in pages and anchor not in pages[target].ids:
                problems.append(f"{url}: link '{href}': {target} has no anchor '#{anchor}'")
        if page.mermaid:
            loaded = [s for s in page.scripts if s.endswith(MERMAID.rsplit("/", 1)[1])]
            if MERMAID not in (resolve(site, url, s) for s in loaded):
                problems.append(f"{url}: has mermaid diagrams but does not load {MERMAID}")

    for css in sorted(site.rglob("*.css")):
        for src in CSS_URL.findall(css.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{css.relative_to(site)}: loads {src} from the network")

    notebooks = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb")
                       if re.match(r"\d\d-", p.name))
    for notebook in notebooks:
        url = f"chapters/{notebook.stem}/index.html"
        page = pages.get(url)
        if page is None:
            problems.append(f"notebooks/{notebook.name} has no page {url}")
            continue
        if not page.notebook:
            problems.append(f"{url} is not a rendered notebook (no .jupyter-wrapper)")
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        stored = sum(len(c.get("outputs", [])) for c in cells if c["cell_type"] == "code")
        if page.outputs < stored:
            problems.append(f"{url} shows {page.outputs} code-cell outputs, but "
                            f"notebooks/{notebook.name} stores {stored}")
    if not pages:
        problems.append(f"no HTML pages in {site}: run `mkdocs build` first")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    site = Path(argv[1])
    problems = check(site)
    for problem in problems:
        print(f"check_site: {problem}", file=sys.stderr)
    if problems:
        print(f"check_site: {len(problems)} problem(s) in {site}/", file=sys.stderr)
        return 1
    chapters = len(list((site / "chapters").glob("*/index.html")))
    print(f"check_site: {site}/ is complete and offline "
          f"({len(list(site.rglob('*.html')))} pages, {chapters} chapters)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
