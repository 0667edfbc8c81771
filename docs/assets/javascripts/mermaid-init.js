/* Mermaid diagrams, drawn offline by the vendored mermaid (../vendor/mermaid/).
 *
 * Which blocks: the ```mermaid fences of Markdown pages, which
 * pymdownx.superfences writes as <pre class="mermaid"><code>…</code></pre>, and
 * those of notebook markdown cells, which nbconvert writes as
 * <div class="jp-Mermaid"><pre class="mermaid">…</pre></div>. (nbconvert's own
 * loader, which imports mermaid from a CDN, is cut out of the page by
 * docs/hooks/notebooks.py.)
 *
 * Who draws them: Material for MkDocs draws every pre.mermaid in the page's
 * content, in its light/dark colours, with window.mermaid when that is already
 * defined as the page is mounted (DOMContentLoaded), and downloads mermaid from
 * unpkg.com only when it is not. mermaid.min.js is a plain <script> placed just
 * before this one, so it always is defined in time, and Material draws with the
 * vendored copy. This file
 *   - stops mermaid from drawing on its own at window "load" (startOnLoad),
 *     which would draw what Material draws a second time;
 *   - draws the blocks itself when Material's script is not on the page
 *     (window.document$ undefined), so a page never shows mermaid source.
 * navigation.instant is off in mkdocs.yml; were it on, Material would still draw
 * each new page's diagrams itself (it mounts every page's content).
 */
(function () {
  "use strict";

  if (typeof window.mermaid === "undefined" || window.mermaid instanceof Element) {
    console.error("mermaid-init.js: the vendored mermaid.min.js did not load; diagrams stay as text");
    return;
  }
  window.mermaid.initialize({ startOnLoad: false });

  if (typeof window.document$ !== "undefined") {
    return; // Material for MkDocs draws them, with window.mermaid
  }

  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  window.mermaid.initialize({ startOnLoad: false, theme: dark ? "dark" : "default" });

  async function draw() {
    var blocks = document.querySelectorAll("pre.mermaid");
    for (var i = 0; i < blocks.length; i++) {
      var block = blocks[i];
      try {
        var result = await window.mermaid.render("mermaid-diagram-" + i, block.textContent);
        var figure = document.createElement("div");
        figure.className = "mermaid";
        figure.innerHTML = result.svg;
        block.replaceWith(figure);
      } catch (error) {
        console.error("mermaid-init.js: cannot draw diagram", i, error);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
