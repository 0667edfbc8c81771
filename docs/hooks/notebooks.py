"""MkDocs hook: the course's chapters are notebooks/NN-*.ipynb, outside docs/.

What it does, event by event (docs/site.md tells the reader the same):

on_config     fills the nav's "Chapters" section from notebooks/NN-*.ipynb, in
              file-name order, titled from each notebook's first "# " heading
              ("# Chapter 1 — Callbacks" is listed as "1 · Callbacks"); with no
              notebook, the section is dropped.
on_files      (priority 50) adds each notebook as the virtual file
              chapters/NN-name.ipynb, before mkdocs-jupyter's on_files (priority
              0), which only turns files that are already listed into notebook
              pages: added later, the notebooks would be copied raw, and --strict
              would not notice. Then (priority -50, after mkdocs-jupyter) checks
              each one did become a page, and gives mkdocs-jupyter's wrapper the
              notebook's real path.
on_page_markdown  (Markdown pages) a link to chapters/NN-name.ipynb of a chapter
              that has no notebook yet (no notebooks/NN-*.ipynb) becomes plain
              text, so the course map can list planned chapters; a link whose
              chapter number exists under another name stays, and MkDocs reports
              it as broken.
on_page_content  (chapter pages) rebuilds the page from the notebook's cells
              (_book): each markdown cell as nbconvert rendered it, with the
              theme's heading permalinks; each code cell as a <figure>: a caption
              (the cell's "#| eventloop/…" banner, taken out of the code, and its
              "In [n]" prompt), the code highlighted as on the Markdown pages, and
              its outputs. Everything else nbconvert writes is dropped: its 590 KB
              of JupyterLab CSS (docs/assets/stylesheets/notebook.css replaces
              it), its copy buttons and their hidden copy of every cell, cell
              tags, and its CDN <script>s (mermaid, MathJax). Code cells are kept
              out of the search index. Each diagram's source is put back from the
              notebook, escaped (nbconvert's HTML loses "<br/>" and mangles "<").
              It also rebuilds the page's table of contents from the rendered
              headings (mkdocs-jupyter's drops headings' inline code).
on_post_page  (chapter pages) rewrites links that MkDocs leaves alone in notebook
              pages: "01-callbacks.ipynb#anchor" (what works in JupyterLab) becomes
              "../01-callbacks/#anchor", and "../docs/course-map.md" becomes
              "../../course-map/". A link to a missing notebook, page or anchor is
              a warning, so `mkdocs build --strict` fails on it. It runs after every
              page's content exists, so anchors into later chapters are checked too.
              (Every page) a page with a diagram loads the vendored mermaid; the
              others do not load its 3.6 MB.
on_post_build removes what the site ships but never uses: the theme's source maps
              (and the comments that point to them) and the search languages
              other than the configured ones.
on_serve      makes `mkdocs serve` rebuild when a notebook changes.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import unquote

from bs4 import BeautifulSoup  # nbconvert (pinned in pyproject.toml) depends on it
from mkdocs.plugins import CombinedEvent, event_priority, get_plugin_logger
from mkdocs.structure.files import File
from mkdocs.structure.toc import get_toc
from mkdocs.utils import get_relative_url
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

try:  # how mkdocs-jupyter makes the ids of a notebook's headings
    from mkdocs_jupyter.utils import slugify
except ImportError:  # pragma: no cover
    def slugify(value):
        return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", value).strip().lower())

log = get_plugin_logger("notebooks")

CHAPTER_NAME = re.compile(r"^\d\d-[A-Za-z0-9_-]+\.ipynb$")
HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
CHAPTER_HEADING = re.compile(r"^Chapter\s+(\d+)\s*[—–:-]\s*(.+)$")

# A ```mermaid fence in a markdown cell, and what nbconvert makes of it. nbconvert
# puts the source in the <pre> unescaped and mkdocs-jupyter's HTML round trip then
# turns "<br/>" into an element (lost from the textContent mermaid reads) and
# "-->" into "--&gt;"; the hook puts the notebook's source back, escaped.
MERMAID_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*mermaid[^\n]*\n(.*?)^ {0,3}\1[ \t]*$",
                           re.MULTILINE | re.DOTALL)
MERMAID_BLOCK = re.compile(r'(<div class="jp-Mermaid"><pre class="mermaid">)(.*?)(</pre></div>)',
                           re.DOTALL)
# TeX a notebook's markdown might hold (JupyterLab typesets $…$, $$…$$, \(…\) and
# \[…\]), which nothing typesets on the site; code is removed before searching.
TEX_MATH = re.compile(r"\$\$.+?\$\$|\\\(.+?\\\)|\\\[.+?\\\]|\$[^$\n]*\\[a-zA-Z]+[^$\n]*\$", re.DOTALL)
CODE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1|`+[^`]*`+", re.MULTILINE | re.DOTALL)

MD_CHAPTER_LINK = re.compile(r"\[([^\]]+)\]\(chapters/(\d\d)-[A-Za-z0-9_-]+\.ipynb(?:#[^)]*)?\)")
HEADING_TAG = re.compile(r'<h([1-6]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.DOTALL)
ANCHOR_LINK = re.compile(r'<a class="headerlink"[^>]*>.*?</a>', re.DOTALL)
HREF = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")')
ID = re.compile(r'\bid="([^"]+)"')
NOTEBOOK_LINK = re.compile(r"^(?:\./)?(?:\.\./notebooks/)?(\d\d-[A-Za-z0-9_-]+)\.ipynb$")
DOCS_LINK = re.compile(r"^\.\./docs/(.+\.md)$")
# An exported cell's first line: "#| eventloop/loop.py · class EventLoop · adds call_later".
BANNER = re.compile(r"\A#\|[ \t]*([^\n]*?)[ \t]*(?:\n|\Z)")
BANNER_PART = re.compile(r"^(class|adds|replaces|removes)\s+(.+)$")
MERMAID_JS = "assets/vendor/mermaid/mermaid.min.js"
MERMAID_INIT = "assets/javascripts/mermaid-init.js"
HAS_DIAGRAM = re.compile(r'<pre class="mermaid"')
MARKDOWN_DIAGRAM = re.compile(r'(<pre class="mermaid"><code>.*?</code></pre>)', re.DOTALL)
SOURCE_MAP_COMMENT = re.compile(rb"\n?(?://# sourceMappingURL=\S+|/\*# sourceMappingURL=\S+ ?\*/)\s*$")
# Material's search worker (assets/javascripts/workers/search.*.js) loads, for
# each configured language: ja tinyseg.js, hi and th wordcut.js, any but en
# min/lunr.LANG.min.js; min/lunr.multi.min.js for several languages, and
# min/lunr.stemmer.support.min.js whenever it loads any of these.
_DOWNLOAD_ICON = ('<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M5 20h14v-2H5m14-9h-4V3H9v6H5l7 '
                  '7 7-7Z"/></svg>')  # Material Design Icons "download" (Apache 2.0), as the theme inlines it
_PYTHON = PythonLexer()
_CODE_HTML = HtmlFormatter(nowrap=True)  # the token classes pymdownx.highlight writes

# Per build: filled by on_config/on_files/on_page_content, read by on_post_page.
_chapters: dict[str, Path] = {}      # "chapters/01-callbacks.ipynb" -> notebooks/01-callbacks.ipynb
_labels: dict[str, str] = {}         # "chapters/01-callbacks.ipynb" -> "1 · Callbacks"
_ids: dict[str, set[str]] = {}       # src_uri of every page -> the ids in its content
_files = None


def _first_heading(path: Path) -> str | None:
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError) as error:
        log.warning("%s is not a readable notebook: %s", path.name, error)
        return None
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            source = cell["source"]
            match = HEADING.search(source if isinstance(source, str) else "".join(source))
            if match:
                return match.group(1)
    return None


def _markdown(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell.get("cell_type") == "markdown"]


def _restore_mermaid(html_content: str, path: Path) -> str:
    sources = [m.group(2).strip() for text in _markdown(path) for m in MERMAID_FENCE.finditer(text)]
    blocks = MERMAID_BLOCK.findall(html_content)
    if len(blocks) != len(sources):
        log.warning("%s: %d ```mermaid fences in its markdown, but %d diagrams on its page; "
                    "diagrams may show garbled labels", path.name, len(sources), len(blocks))
        return html_content
    sources.reverse()
    return MERMAID_BLOCK.sub(
        lambda m: m.group(1) + "\n" + html.escape(sources.pop(), quote=False) + "\n" + m.group(3),
        html_content)


def on_config(config):
    _chapters.clear()
    _labels.clear()
    _ids.clear()
    notebooks = Path(config.config_file_path).resolve().parent / "notebooks"
    entries = []
    for path in sorted(notebooks.glob("*.ipynb")):
        if not CHAPTER_NAME.match(path.name):
            continue
        src_uri = f"chapters/{path.name}"
        heading = _first_heading(path)
        if heading is None:
            log.warning("%s has no '# ' heading to title its page", path.name)
            label = path.stem
        else:
            match = CHAPTER_HEADING.match(heading)
            label = f"{int(match.group(1))} · {match.group(2)}" if match else heading
        _chapters[src_uri] = path
        _labels[src_uri] = label
        entries.append({label: src_uri})

    nav = config.nav or []
    for index, item in enumerate(nav):
        if isinstance(item, dict) and "Chapters" in item:
            if entries:
                nav[index] = {"Chapters": entries}
            else:
                del nav[index]
            break
    else:
        if entries:
            log.warning("mkdocs.yml's nav has no 'Chapters' section for the notebooks")
    return config


@event_priority(50)  # before mkdocs-jupyter's on_files (default priority 0)
def _add_notebooks(files, config):
    global _files
    for src_uri, path in _chapters.items():
        if files.get_file_from_path(src_uri) is not None:
            log.warning("docs/%s hides notebooks/%s; remove one of them", src_uri, path.name)
            continue
        files.append(File.generated(config, src_uri, abs_src_path=str(path)))
    _files = files
    return files


@event_priority(-50)  # after mkdocs-jupyter's on_files
def _check_notebooks(files, config):
    global _files
    for src_uri, path in _chapters.items():
        file = files.get_file_from_path(src_uri)
        if file is None:
            continue
        if not file.is_documentation_page():
            log.warning("mkdocs-jupyter did not take %s: its 'include' does not match "
                        "%s, so the notebook would be copied, not rendered", src_uri, path)
            continue
        # mkdocs-jupyter wraps our File in a NotebookFile that delegates unknown
        # attributes to it, but abs_src_path is a cached property of File, which
        # the wrapper computes from src_dir -- None for a file outside docs_dir.
        file.__dict__["abs_src_path"] = str(path)
    _files = files
    return files


on_files = CombinedEvent(_add_notebooks, _check_notebooks)


def _toc(html_content: str):
    """The page's table of contents, from the headings nbconvert rendered.

    mkdocs-jupyter builds it from a Markdown export that drops inline code, so a
    heading such as "## `TimerHandle`" got an empty entry linking to "#_1"."""
    tokens, open_ = [], []
    for level, id_, inner in HEADING_TAG.findall(html_content):
        inner = ANCHOR_LINK.sub("", inner)
        name = html.unescape(re.sub(r"<[^>]+>", "", inner)).strip()
        token = {"level": int(level), "id": id_, "name": name, "html": inner,
                 "data-toc-label": "", "children": []}
        while open_ and open_[-1]["level"] >= token["level"]:
            open_.pop()
        (open_[-1]["children"] if open_ else tokens).append(token)
        open_.append(token)
    return get_toc(tokens)


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri in _chapters:
        return markdown  # a notebook's JSON: mkdocs-jupyter renders it
    written = {Path(uri).name[:2] for uri in _chapters}

    def unlink(match):
        if match.group(2) in written:
            return match.group(0)
        log.info("%s: chapter %s has no notebook yet; its link is plain text",
                 page.file.src_uri, match.group(2))
        return match.group(1)

    return MD_CHAPTER_LINK.sub(unlink, markdown)


def _caption(banner: str) -> str:
    """ "eventloop/loop.py · class EventLoop · adds call_later, call_at" as HTML:
    the file first, then each part with its names set as code."""
    path, *parts = [part.strip() for part in banner.split("·")]
    out = [f'<code class="nb-where__file">{html.escape(path)}</code>']
    for part in parts:
        match = BANNER_PART.match(part)
        if match:
            names = ", ".join(f"<code>{html.escape(name.strip())}</code>"
                              for name in match.group(2).split(","))
            out.append(f"{match.group(1)} {names}")
        else:
            out.append(html.escape(part))
    return '<span class="nb-where">' + " · ".join(out) + "</span>"


def _code_cell(cell: dict, rendered) -> str:
    """A code cell as a figure: caption (banner, prompt), code, outputs."""
    source = "".join(cell["source"])
    banner = BANNER.match(source)
    caption = _caption(banner.group(1)) if banner else ""
    if banner:
        source = source[banner.end():]
    if cell.get("execution_count"):
        caption += f'<span class="nb-prompt">In [{cell["execution_count"]}]</span>'
    code = highlight(source, _PYTHON, _CODE_HTML)
    outputs = []
    for output in rendered.select(".jp-OutputArea-output") if rendered else []:
        mime = output.get("data-mime-type", "")
        kind = {"text/plain": "text", "application/vnd.jupyter.stderr": "stderr",
                "text/markdown": "markdown"}.get(mime, "html")
        scroll = ' tabindex="0"' if kind in ("text", "stderr") else ""  # scrollable by keyboard
        outputs.append(f'<div class="nb-output nb-output--{kind}"{scroll}>{output.decode_contents()}</div>')
    # data-search-exclude: the search index keeps prose and headings, not code
    # (Material's search plugin skips the element and removes the attribute).
    return (f'<figure class="nb-cell{" nb-cell--exported" if banner else ""}" data-search-exclude>'
            f'<figcaption class="nb-caption">{caption}</figcaption>'
            f'<div class="language-python highlight"><pre><span></span><code>{code}</code></pre></div>'
            + "".join(outputs) + "</figure>")


def _book(html_content: str, path: Path) -> str:
    """The page, rebuilt from the notebook's cells and nbconvert's rendering of each."""
    soup = BeautifulSoup(html_content, "html.parser")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    parts = []
    for cell in cells:
        rendered = soup.find(id=f"cell-id={cell.get('id')}")
        if cell["cell_type"] == "code":
            parts.append(_code_cell(cell, rendered))
        elif cell["cell_type"] == "markdown":
            markdown = rendered.select_one(".jp-RenderedMarkdown") if rendered else None
            if markdown is None:
                log.warning("%s: markdown cell %s not found in nbconvert's HTML", path.name, cell.get("id"))
                continue
            parts.append(markdown.decode_contents())
    soup = BeautifulSoup('<div class="nb-notebook">' + "\n".join(parts) + "</div>", "html.parser")

    for link in soup.select("a.anchor-link"):  # the theme's permalinks, as on Markdown pages
        link["class"] = "headerlink"
        link["title"] = "Permanent link"
    for pre in soup.select("div.highlight > pre"):  # markdown fences: the theme styles pre > code
        if pre.find("code", recursive=False) is None:
            code = soup.new_tag("code")
            for child in list(pre.contents):
                if not (child.name == "span" and not child.contents):  # keep pygments' leading <span></span>
                    code.append(child.extract())
            pre.append(code)
    for diagram in soup.select("div.jp-Mermaid"):
        diagram["class"] = "nb-diagram"
    # The title, then the notebook itself, then the cells. The title comes first,
    # outside the wrapper, as on Markdown pages: an element before it would make
    # Material's search index an empty entry for the page besides the title's own.
    head = ""
    h1 = soup.find("h1")
    if h1 is not None:
        name = html.escape(path.name)
        head = (str(h1.extract()) +
                f'<p class="nb-source" data-search-exclude><a href="{name}" download>{_DOWNLOAD_ICON}'
                f"Download the notebook <code>{name}</code></a> and run it yourself, or open "
                f"<code>notebooks/{name}</code> in JupyterLab: <code>python3 tools/dev.py lab</code></p>\n")
    return head + str(soup)


def on_page_content(html_content, page, config, files):
    src_uri = page.file.src_uri
    if src_uri not in _chapters:
        _ids[src_uri] = set(ID.findall(html_content))
        # The box a diagram scrolls in on a phone, as on chapter pages (notebook.css).
        return MARKDOWN_DIAGRAM.sub(r'<div class="nb-diagram">\1</div>', html_content)
    path = _chapters[src_uri]

    # The notebook's own H1 stays the page's <title> (Material reads meta.title);
    # the nav keeps its short label. The table of contents is rebuilt (_toc).
    heading = page.title
    page.meta["title"] = heading
    page.title = _labels[src_uri]

    if "<!-- Load mathjax -->" in html_content and any(
            TEX_MATH.search(CODE.sub("", text)) for text in _markdown(path)):
        log.warning("%s has TeX math, which the site does not typeset (nbconvert's MathJax, "
                    "a CDN script, is dropped); vendor MathJax or write it another way", path.name)
    html_content = _book(_restore_mermaid(html_content, path), path)
    page.toc = _toc(html_content)
    _ids[src_uri] = set(ID.findall(html_content))
    return html_content


def _resolve(href, page):
    """The href to write instead of `href` (or None to keep it), warning if broken."""
    name = _chapters[page.file.src_uri].name
    path, hash_, anchor = unquote(html.unescape(href)).partition("#")
    if not path:
        target = page.file.src_uri
    elif match := NOTEBOOK_LINK.match(path):
        target = f"chapters/{match.group(1)}.ipynb"
        if target not in _chapters:
            log.warning("%s links to '%s', but notebooks/%s.ipynb does not exist",
                        name, href, match.group(1))
            return None
    elif match := DOCS_LINK.match(path):
        target = match.group(1)
        if _files.get_file_from_path(target) is None:
            log.warning("%s links to '%s', but docs/%s does not exist", name, href, target)
            return None
    else:
        return None  # an external link, or one already written as a site URL

    if anchor:
        ids = _ids.get(target, set())
        if anchor not in ids:
            # JupyterLab's heading anchors keep case and punctuation
            # ("#The-ready-queue"); the site's are slugs ("#the-ready-queue").
            slug = slugify(anchor.replace("-", " "))
            if slug in ids:
                anchor = slug
            else:
                log.warning("%s links to '%s', but that page has no anchor '#%s'",
                            name, href, anchor)
    url = "" if target == page.file.src_uri else _files.get_file_from_path(target).url_relative_to(page.file)
    return html.escape(url + (hash_ + anchor if anchor else ""), quote=True)


def _load_mermaid(output: str, page) -> str:
    """Load the vendored mermaid on a page that has diagrams, after the theme's bundle."""
    if not HAS_DIAGRAM.search(output):
        return output
    scripts = "".join(f'<script src="{get_relative_url(src, page.url)}"></script>'
                      for src in (MERMAID_JS, MERMAID_INIT))
    at = output.rfind("</body>")
    return output[:at] + scripts + "\n" + output[at:]


def on_post_page(output, page, config):
    # Material's search plugin read the attribute already; it removes only those with a value.
    output = _load_mermaid(output, page).replace(' data-search-exclude=""', "")
    if page.file.src_uri not in _chapters:
        return output
    # Only the article: the nav and footer around it are the theme's own links.
    start = output.find('<div class="nb-notebook">')
    if start < 0:
        log.warning("%s: no notebook content found in the page", page.file.src_uri)
        return output

    def rewrite(match):
        if " download" in match.group(1):  # the notebook's own file, next to its page
            return match.group(0)
        new = _resolve(match.group(2), page)
        return match.group(0) if new is None else match.group(1) + new + match.group(3)

    return output[:start] + HREF.sub(rewrite, output[start:])


def on_post_build(config):
    site = Path(config.site_dir)
    for source_map in sorted(site.glob("assets/**/*.map")):
        source_map.unlink()
        minified = source_map.with_suffix("")  # bundle.x.min.js.map -> bundle.x.min.js
        if minified.is_file():
            minified.write_bytes(SOURCE_MAP_COMMENT.sub(b"\n", minified.read_bytes()))

    search = config.plugins.get("material/search") or config.plugins.get("search")
    languages = list(getattr(search, "config", {}).get("lang") or ["en"])
    needed = set()
    for language in languages:
        needed |= {"ja": {"tinyseg.js"}, "hi": {"wordcut.js"}, "th": {"wordcut.js"}}.get(language, set())
        if language != "en":
            needed.add(f"min/lunr.{language}.min.js")
    if len(languages) > 1:
        needed.add("min/lunr.multi.min.js")
    if needed:
        needed.add("min/lunr.stemmer.support.min.js")
    lunr = site / "assets" / "javascripts" / "lunr"
    for file in sorted(lunr.rglob("*"), reverse=True):  # files before their folders
        if file.is_file() and file.relative_to(lunr).as_posix() not in needed:
            file.unlink()
        elif file.is_dir() and not any(file.iterdir()):
            file.rmdir()
    if lunr.is_dir() and not any(lunr.iterdir()):
        lunr.rmdir()


def on_serve(server, config, builder):
    server.watch(str(Path(config.config_file_path).resolve().parent / "notebooks"))
    return server
