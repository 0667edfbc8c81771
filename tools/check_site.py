"""Check a built site (after `mkdocs build`): offline, complete, links rewritten.

    python3 tools/check_site.py site

Fails (exit 1), naming each problem, when
  - a page would load something from the network: an http(s) or //host URL in
    <script src>, <link href> (stylesheet, preload, icon…), <img>/<source>/
    <iframe>/<video>/<audio> src, an `import` inside a <script>, or a url() /
    @import in a <style> or a .css file;
  - a notebooks/NN-*.ipynb has no rendered page at chapters/NN-*/index.html,
    or that page shows fewer code cells, or code-cell outputs, than the
    notebook has, or does not link to its notebook for download;
  - a chapter page still links to a chapter as `NN-name.ipynb` (not rewritten);
  - a page loads, or links to, a file (or an #anchor) the site does not have;
  - a page with mermaid diagrams does not load the vendored mermaid, a page
    without any loads it, or the vendored mermaid is missing;
  - a page's HTML is over the budget (PAGE_BUDGET), or a chapter page still
    carries a <style> (nbconvert's CSS, which notebook.css replaces);
  - the site ships source maps, or the search index holds what is not prose:
    "Copied!", an "In [n]:" prompt, a cell's copy-to-clipboard text (chapters).
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
# The budget for one page's HTML, in bytes. The largest chapter page is ~277 KB
# (chapter 10: the socket transport and create_connection, every line of them
# highlighted into <span>s); nbconvert's inline JupyterLab CSS used to add 590 KB
# to each (docs/site.md). What a reader's first visit costs in all, page and
# scripts and diagrams, is tools/check_browser.py's budget.
PAGE_BUDGET = 300_000
# The search index holds every page's prose, so it grows with the course: about
# 29 KB per chapter today (code cells are kept out of it). Budget it per chapter.
SEARCH_INDEX_BUDGET_PER_CHAPTER = 40_000
SEARCH_JUNK = re.compile(r"Copied!|\bIn \[\d*\]:|clipboard-copy")


class Page(HTMLParser):
    """What a page loads, links to and contains."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.loads, self.links, self.scripts = [], [], []
        self.inline, self.styles = [], []
        self.ids = set()
        self.outputs = self.cells = 0
        self.downloads = []
        self.mermaid = False
        self.notebook = False
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if a.get("id"):
            self.ids.add(a["id"])
        classes = a.get("class", "").split()
        if "nb-output" in classes:
            self.outputs += 1
        if "nb-cell" in classes:
            self.cells += 1
        if "mermaid" in classes:
            self.mermaid = True
        if "nb-notebook" in classes:
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
            (self.downloads if "download" in a else self.links).append(a["href"])

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
        url = html.relative_to(site).as_posix()
        pages[url] = page = Page()
        page.feed(html.read_text(encoding="utf-8"))
        if html.stat().st_size > PAGE_BUDGET:
            problems.append(f"{url} weighs {html.stat().st_size:,} bytes, over the "
                            f"{PAGE_BUDGET:,}-byte budget (PAGE_BUDGET)")
    for source_map in sorted(site.rglob("*.map")):
        problems.append(f"{source_map.relative_to(site)}: a source map ships (docs/hooks/notebooks.py "
                        "removes them after the build)")
    index = site / "search" / "search_index.json"
    chapters = len(list(site.glob("chapters/*/index.html")))
    if index.is_file() and index.stat().st_size > SEARCH_INDEX_BUDGET_PER_CHAPTER * max(chapters, 1):
        problems.append(f"the search index weighs {index.stat().st_size:,} bytes, over "
                        f"{SEARCH_INDEX_BUDGET_PER_CHAPTER:,} per chapter ({chapters} chapters)")
    if index.is_file():
        for doc in json.loads(index.read_text(encoding="utf-8"))["docs"]:
            if not doc["location"].startswith("chapters/"):
                continue  # the toolchain page quotes the tangler's "In [7]:" on purpose
            for junk in sorted(set(SEARCH_JUNK.findall(doc["title"] + " " + doc["text"]))):
                problems.append(f"search index, {doc['location']}: holds '{junk}', which is not prose")
    else:
        problems.append("search/search_index.json is missing")

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
        for href in page.downloads:
            if REMOTE.match(href) or resolve(site, url, href) is None:
                problems.append(f"{url}: download link '{href}' points to nothing in the site")
        loads_mermaid = MERMAID in (resolve(site, url, s) for s in page.scripts
                                    if s.endswith(MERMAID.rsplit("/", 1)[1]))
        if page.mermaid and not loads_mermaid:
            problems.append(f"{url}: has mermaid diagrams but does not load {MERMAID}")
        if loads_mermaid and not page.mermaid:
            problems.append(f"{url}: loads {MERMAID} but has no diagram")
        if page.notebook and page.styles:
            problems.append(f"{url}: a chapter page carries {len(page.styles)} <style> block(s); "
                            "its styles belong in assets/stylesheets/notebook.css")

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
            problems.append(f"{url} is not a rendered notebook (no .nb-notebook)")
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        stored = sum(len(c.get("outputs", [])) for c in code)
        if page.cells < len(code):
            problems.append(f"{url} shows {page.cells} code cells, but "
                            f"notebooks/{notebook.name} has {len(code)}")
        if page.outputs < stored:
            problems.append(f"{url} shows {page.outputs} code-cell outputs, but "
                            f"notebooks/{notebook.name} stores {stored}")
        if notebook.name not in page.downloads:
            problems.append(f"{url} has no download link to {notebook.name}")
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
