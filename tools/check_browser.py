"""Check the built site in a real browser: headless Chromium, driven by Playwright.

    python3 tools/check_browser.py [site]        (after `mkdocs build`; default: site)

Serves the site on 127.0.0.1 (a free port) and opens every page in Debian's
Chromium (/usr/bin/chromium, or $CHROMIUM; Playwright downloads no browser),
each in a fresh browser context, so that every page is measured as a first
visit. Fails (exit 1), naming each problem, when
  - a page logs a JavaScript error or a console error, or a request fails;
  - a page requests anything that is not on 127.0.0.1 (such requests are
    blocked, and reported);
  - a link of any page (nav, table of contents, footer, content) leads to an
    HTTP error, or to an #anchor that its page does not have;
  - a diagram is not drawn: the page's HTML has N <pre class="mermaid"> blocks,
    so the page must end up with N closed shadow roots each holding an <svg>
    with text and a size (read through the DevTools protocol, which sees
    inside closed shadow roots; see count_diagrams) and no "Syntax error";
  - a chapter page shows fewer code cells, captions ("#| …" banners), or
    outputs than its notebook has, or a code block is empty or still starts
    with its "#|" banner;
  - at 390 px wide a page is wider than the screen (something that does not
    scroll inside its own box), or a diagram is drawn at less than
    MIN_DIAGRAM_SCALE of its natural size (its labels would be unreadable);
  - searching for an API name does not find its chapter (SEARCHES);
  - a chapter page's first visit transfers more than the budget (BUDGET).
It saves screenshots of every chapter page, 1280 and 390 px wide, full page, in
build/screenshots/. Exit 3, saying so, when there is no Chromium (outside CI;
with CI set, that is a failure).
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import sys
import threading
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "build" / "screenshots"
SKIPPED = 3
WIDTHS = {"1280": (1280, 800), "390": (390, 844)}
MERMAID = "assets/vendor/mermaid/mermaid.min.js"
# What a first visit to a chapter page may transfer, in bytes, uncompressed (the
# local server does not compress; a static host's gzip roughly quarters these),
# not counting the search index: that grows with every chapter, and
# tools/check_site.py gives it a budget per chapter (SEARCH_INDEX_BUDGET_PER_CHAPTER).
# Without mermaid: the page's HTML (at most 300 KB, tools/check_site.py) plus the
# theme's CSS and JavaScript (~300 KB) and notebook.css. With a diagram, plus
# mermaid's 3.6 MB.
BUDGET = {"without mermaid": 600_000, "with mermaid": 600_000 + 3_600_000}
SEARCH_INDEX = "search/search_index.json"
# A search for each name must list (a section of) its chapter's page.
SEARCHES = {"call_later": "chapters/02-time/", "run_until_complete": "chapters/04-tasks/"}
MIN_DIAGRAM_SCALE = 0.6


def chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # the browser left mid-file
            super().handle_error(request, client_address)


def serve(site: Path) -> ThreadingHTTPServer:
    server = QuietServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def count_diagrams(page) -> list[dict]:
    """The diagrams Material drew: one per closed shadow root holding an <svg>.

    Material for MkDocs draws each mermaid diagram into `attachShadow({mode:
    "closed"})`, which no script of the page (nor Playwright's selectors) can
    enter. The DevTools protocol can: DOM.getDocument with pierce=true returns
    closed shadow roots too. For each one: the <svg>'s viewBox width, its drawn
    width (DOM.getBoxModel), and the text in it."""
    cdp = page.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
    diagrams = []

    def texts(node):
        if node.get("nodeType") == 3:
            yield node.get("nodeValue", "")
        for child in node.get("children", []) + node.get("shadowRoots", []):
            yield from texts(child)

    def find_svg(node):
        if node.get("localName") == "svg":
            return node
        for child in node.get("children", []):
            found = find_svg(child)
            if found:
                return found
        return None

    def walk(node):
        for shadow in node.get("shadowRoots", []):
            if shadow.get("shadowRootType") == "closed":
                svg = find_svg(shadow)
                if svg is not None:
                    attrs = dict(zip(svg.get("attributes", [])[::2], svg.get("attributes", [])[1::2]))
                    box = cdp.send("DOM.getBoxModel", {"backendNodeId": svg["backendNodeId"]})["model"]
                    view = [float(v) for v in attrs.get("viewBox", "0 0 0 0").split()]
                    diagrams.append({"width": box["width"], "height": box["height"],
                                     "natural": view[2] if len(view) == 4 else 0,
                                     "text": " ".join(t.strip() for t in texts(svg) if t.strip())})
            walk(shadow)
        for child in node.get("children", []):
            walk(child)

    walk(root)
    cdp.detach()
    return diagrams


def notebook_facts(name: str) -> dict:
    cells = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    return {"code": len(code),
            "exported": sum("".join(c["source"]).startswith("#|") for c in code),
            "outputs": sum(len(c.get("outputs", [])) for c in code)}


def check(site: Path, executable: str) -> list[str]:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    server = serve(site)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    urls = sorted(p.relative_to(site).as_posix().removesuffix("index.html")
                  for p in site.rglob("*.html") if p.name != "404.html")
    ids: dict[str, set[str]] = {}
    links: dict[str, set[str]] = {}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True)
            for url in urls:
                problems += visit(browser, origin, url, ids, links)
            problems += search(browser, origin)
            browser.close()
        problems += check_links(origin, ids, links)
    finally:
        server.shutdown()
    return problems


def visit(browser, origin: str, url: str, ids: dict, links: dict) -> list[str]:
    problems = []
    chapter = re.fullmatch(r"chapters/(\d\d-[\w-]+)/", url)
    for width, (w, h) in WIDTHS.items() if chapter else [("1280", WIDTHS["1280"])]:
        context = browser.new_context(viewport={"width": w, "height": h})
        page = context.new_page()
        where = f"{url or 'index'} at {width} px"
        transferred = []

        def route(route_, request):
            if urlsplit(request.url).hostname == "127.0.0.1" or request.url.startswith(("data:", "blob:")):
                route_.continue_()
            else:
                problems.append(f"{where}: requested {request.url} (off 127.0.0.1; blocked)")
                route_.abort()

        context.route("**/*", route)
        page.on("console", lambda m: m.type == "error" and problems.append(f"{where}: console error: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"{where}: JavaScript error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"{where}: request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: transferred.append(r))
        response = page.goto(f"{origin}/{url}", wait_until="networkidle")
        if response is None or response.status != 200:
            problems.append(f"{where}: HTTP {response.status if response else 'no response'}")
            context.close()
            continue
        source = response.text()
        expected = source.count('<pre class="mermaid"')
        if expected:
            try:
                page.wait_for_function(f"document.querySelectorAll('div.mermaid').length >= {expected}",
                                       timeout=15_000)
            except Exception:
                pass  # counted below
            diagrams = count_diagrams(page)
            drawn = [d for d in diagrams if d["width"] > 0 and d["height"] > 0 and d["text"]]
            if len(drawn) != expected:
                problems.append(f"{where}: {expected} diagram(s) in the HTML, {len(drawn)} drawn "
                                f"(svg with size and text in a closed shadow root)")
            for number, diagram in enumerate(diagrams, 1):
                if "Syntax error" in diagram["text"]:
                    problems.append(f"{where}: diagram {number} is mermaid's syntax-error picture")
                scale = diagram["width"] / diagram["natural"] if diagram["natural"] else 1
                if scale < MIN_DIAGRAM_SCALE - 0.005:  # the drawn width is rounded
                    problems.append(f"{where}: diagram {number} drawn at {scale:.0%} of its natural "
                                    f"width ({diagram['width']:.0f} of {diagram['natural']:.0f} px)")
            if width == "1280":
                print(f"check_browser: {url}: {len(drawn)}/{expected} diagram(s) drawn"
                      + "".join(f", {d['width']:.0f} px of {d['natural']:.0f}" for d in diagrams))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            problems.append(f"{where}: the page is {overflow} px wider than the window")
        if width == "1280":
            ids[url] = set(page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)"))
            links[url] = set(page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)"))
        if chapter:
            problems += check_chapter(page, where, chapter.group(1))
            page.screenshot(path=str(SCREENSHOTS / f"{chapter.group(1)}-{width}.png"), full_page=True)
            if width == "1280":
                weight = sum(len(r.body()) for r in transferred
                             if r.status == 200 and not r.url.endswith(SEARCH_INDEX))
                kind = "with mermaid" if any(r.url.endswith(MERMAID) for r in transferred) else "without mermaid"
                print(f"check_browser: {url}: first visit transfers {weight:,} bytes "
                      f"({len(transferred)} responses, {kind}, search index apart; budget {BUDGET[kind]:,})")
                if weight > BUDGET[kind]:
                    problems.append(f"{where}: first visit transfers {weight:,} bytes, over the "
                                    f"{BUDGET[kind]:,}-byte budget ({kind})")
        context.close()
    return problems


def check_chapter(page, where: str, name: str) -> list[str]:
    facts = notebook_facts(name)
    seen = page.evaluate("""() => {
        const cells = [...document.querySelectorAll('figure.nb-cell')];
        const code = cells.map(c => c.querySelector('pre > code'));
        return {
            code: cells.length,
            exported: document.querySelectorAll('figure.nb-cell .nb-where').length,
            outputs: document.querySelectorAll('figure.nb-cell .nb-output').length,
            empty: code.filter(c => !c || !c.textContent.trim() || c.getBoundingClientRect().width === 0).length,
            banners: code.filter(c => c && c.textContent.startsWith('#|')).length,
            download: !!document.querySelector('a[download][href$=".ipynb"]'),
        };
    }""")
    problems = []
    for key, label in (("code", "code cells"), ("exported", "captions"), ("outputs", "outputs")):
        if seen[key] < facts[key]:
            problems.append(f"{where}: shows {seen[key]} {label}; notebooks/{name}.ipynb has {facts[key]}")
    if seen["empty"]:
        problems.append(f"{where}: {seen['empty']} code cell(s) show no code")
    if seen["banners"]:
        problems.append(f"{where}: {seen['banners']} code block(s) still start with their '#|' banner")
    if not seen["download"]:
        problems.append(f"{where}: no link to download the notebook")
    return problems


def search(browser, origin: str) -> list[str]:
    """Type each name into the search box of the home page, as a reader does."""
    problems = []
    for term, expected in SEARCHES.items():
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(f"search: JavaScript error: {e}"))
        page.goto(f"{origin}/", wait_until="networkidle")
        page.click("input.md-search__input")
        page.keyboard.type(term)  # Material searches on key presses, not on a filled-in value
        try:
            page.wait_for_selector(".md-search-result__item", timeout=10_000)
        except Exception:
            pass  # no result: reported below
        found = page.evaluate("[...document.querySelectorAll('.md-search-result__item a')]"
                              ".map(a => new URL(a.href).pathname)")
        print(f"check_browser: search '{term}': {len(found)} result link(s), "
              f"first {found[0] if found else None}")
        if not any(path.lstrip("/").startswith(expected) for path in found):
            problems.append(f"search: '{term}' does not find {expected} (found: {found[:6]})")
        context.close()
    return problems


def check_links(origin: str, ids: dict, links: dict) -> list[str]:
    problems, status = [], {}
    for url, hrefs in sorted(links.items()):
        for href in sorted(hrefs):
            if not href.startswith(origin + "/"):
                continue  # another site: a link, not a request (the footer's theme credit)
            target, fragment = urldefrag(href)
            if target not in status:
                try:
                    with urllib.request.urlopen(target) as response:
                        status[target] = response.status
                except urllib.error.HTTPError as error:
                    status[target] = error.code
            if status[target] != 200:
                problems.append(f"{url or 'index'}: link {href} gives HTTP {status[target]}")
                continue
            page = target.removeprefix(origin + "/")
            if fragment and page in ids and unquote(fragment) not in ids[page]:
                problems.append(f"{url or 'index'}: link {href}: no #{fragment} on {page or 'index'}")
    checked = sum(len(h) for h in links.values())
    print(f"check_browser: {checked} links on {len(links)} pages, {len(status)} distinct targets")
    return problems


def main(argv: list[str]) -> int:
    site = Path(argv[1] if len(argv) > 1 else "site")
    if not (site / "index.html").is_file():
        print(f"check_browser: no {site}/index.html: build the site first (python3 tools/dev.py build)",
              file=sys.stderr)
        return 2
    executable = chromium()
    if executable is None:
        verdict = "FAILED (CI must have it)" if os.environ.get("CI") else "SKIPPED"
        print(f"check_browser: {verdict}: no Chromium found (/usr/bin/chromium or $CHROMIUM); "
              "on Debian or Ubuntu: sudo apt-get install chromium", file=sys.stderr)
        return 1 if os.environ.get("CI") else SKIPPED
    problems = check(site, executable)
    for problem in problems:
        print(f"check_browser: {problem}", file=sys.stderr)
    if problems:
        print(f"check_browser: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_browser: every page works in {executable}; screenshots in "
          f"{SCREENSHOTS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
