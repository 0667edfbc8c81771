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
on_page_content  (chapter pages) removes nbconvert's CDN <script>s: the mermaid
              loader (an ES-module import from cdnjs, with the <style> that hides
              diagrams until that loader has drawn them) and MathJax. The vendored
              mermaid draws the diagrams instead (docs/assets/javascripts/), from
              the source of each ```mermaid fence, which the hook puts back in the
              page escaped (nbconvert's HTML loses "<br/>" and mangles "<").
              It also rebuilds the page's table of contents from the rendered
              headings (mkdocs-jupyter's drops headings' inline code).
on_post_page  (chapter pages) rewrites links that MkDocs leaves alone in notebook
              pages: "01-callbacks.ipynb#anchor" (what works in JupyterLab) becomes
              "../01-callbacks/#anchor", and "../docs/course-map.md" becomes
              "../../course-map/". A link to a missing notebook, page or anchor is
              a warning, so `mkdocs build --strict` fails on it. It runs after every
              page's content exists, so anchors into later chapters are checked too.
on_serve      makes `mkdocs serve` rebuild when a notebook changes.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import unquote

from mkdocs.plugins import CombinedEvent, event_priority, get_plugin_logger
from mkdocs.structure.files import File
from mkdocs.structure.toc import get_toc

try:  # how mkdocs-jupyter makes the ids of a notebook's headings
    from mkdocs_jupyter.utils import slugify
except ImportError:  # pragma: no cover
    def slugify(value):
        return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", value).strip().lower())

log = get_plugin_logger("notebooks")

CHAPTER_NAME = re.compile(r"^\d\d-[A-Za-z0-9_-]+\.ipynb$")
HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
CHAPTER_HEADING = re.compile(r"^Chapter\s+(\d+)\s*[—–:-]\s*(.+)$")

# nbconvert's lab template, block html_head_js_mermaidjs: a <script type="module">
# that imports mermaid from cdnjs, then a <style> that hides every .jp-Mermaid
# that script has not drawn, closed by this comment.
MERMAID_LOADER = re.compile(
    r"<script type=\"module\">\s*document\.addEventListener\(\"DOMContentLoaded\".*?"
    r"<!-- End of mermaid configuration -->",
    re.DOTALL,
)
# nbconvert's base/mathjax.html.j2: <script src="…MathJax.js"> (mkdocs-jupyter
# passes src="" unless custom_mathjax_url is set; nbconvert's default is cdnjs)
# and its <script type="text/x-mathjax-config">.
MATHJAX_LOADER = re.compile(
    r"<!-- Load mathjax -->\s*<script src=\"[^\"]*\">\s*</script>.*?"
    r"<!-- End of mathjax configuration -->",
    re.DOTALL,
)
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
ANCHOR_LINK = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.DOTALL)
HREF = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")')
ID = re.compile(r'\bid="([^"]+)"')
NOTEBOOK_LINK = re.compile(r"^(?:\./)?(?:\.\./notebooks/)?(\d\d-[A-Za-z0-9_-]+)\.ipynb$")
DOCS_LINK = re.compile(r"^\.\./docs/(.+\.md)$")

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


def on_page_content(html_content, page, config, files):
    src_uri = page.file.src_uri
    _ids[src_uri] = set(ID.findall(html_content))
    if src_uri not in _chapters:
        return html_content
    name = _chapters[src_uri].name

    # The notebook's own H1 stays the page's <title> (Material reads meta.title);
    # the nav keeps its short label. The table of contents is rebuilt (_toc).
    heading = page.title
    page.meta["title"] = heading
    page.title = _labels[src_uri]

    html_content, found = MERMAID_LOADER.subn("", html_content)
    if not found and 'class="jp-Mermaid"' in html_content:
        log.warning("%s: nbconvert's mermaid loader was not found to strip "
                    "(did nbconvert's lab template change?)", name)
    page.toc = _toc(html_content)
    html_content = _restore_mermaid(html_content, _chapters[src_uri])
    html_content, found = MATHJAX_LOADER.subn("", html_content)
    if found and any(TEX_MATH.search(CODE.sub("", text)) for text in _markdown(_chapters[src_uri])):
        log.warning("%s has TeX math, which the site does not typeset (MathJax, "
                    "a CDN script, is removed); vendor MathJax or write it another way", name)
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


def on_post_page(output, page, config):
    if page.file.src_uri not in _chapters:
        return output
    # Only the article: the nav and footer around it are the theme's own links.
    start = output.find('<div class="jupyter-wrapper">')
    if start < 0:
        log.warning("%s: no notebook content found in the page", page.file.src_uri)
        return output

    def rewrite(match):
        new = _resolve(match.group(2), page)
        return match.group(0) if new is None else match.group(1) + new + match.group(3)

    return output[:start] + HREF.sub(rewrite, output[start:])


def on_serve(server, config, builder):
    server.watch(str(Path(config.config_file_path).resolve().parent / "notebooks"))
    return server
