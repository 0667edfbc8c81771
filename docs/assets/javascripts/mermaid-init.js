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
 * unpkg.com only when it is not. mermaid.min.js is a plain <script> that
 * docs/hooks/notebooks.py puts, with this one, after Material's script on the
 * pages that have a diagram (and only there), so it always is defined in time,
 * and Material draws with the vendored copy. This file
 *   - stops mermaid from drawing on its own at window "load" (startOnLoad),
 *     which would draw what Material draws a second time;
 *   - keeps a diagram from shrinking below MIN_WIDTH px (or its natural width,
 *     if smaller), nor below MIN_SCALE of its natural width: mermaid draws an <svg> 100% wide, at most its natural width,
 *     so on a 390 px phone a wide flowchart's 16 px labels became 5 px. With a
 *     min-width it is drawn as on a laptop and scrolls sideways in its
 *     .nb-diagram box (notebook.css). Material puts the <svg> in a closed
 *     shadow root, out of reach of any stylesheet: the only place to say so is
 *     the <svg> that mermaid.render returns;
 *   - draws the blocks itself when Material's script is not on the page
 *     (window.document$ undefined), so a page never shows mermaid source.
 * navigation.instant is off in mkdocs.yml; were it on, a page with diagrams
 * reached from one without would have no mermaid (it is loaded per page).
 */
(function () {
  "use strict";

  if (typeof window.mermaid === "undefined" || window.mermaid instanceof Element) {
    console.error("mermaid-init.js: the vendored mermaid.min.js did not load; diagrams stay as text");
    return;
  }
  window.mermaid.initialize({ startOnLoad: false });

  var MIN_WIDTH = 688; // px: the content column of a 1280 px laptop screen
  var MIN_SCALE = 0.6; // and never under 60% of its natural size (tools/check_browser.py)
  var render = window.mermaid.render;
  window.mermaid.render = async function () {
    var result = await render.apply(this, arguments);
    result.svg = result.svg.replace(
      /^(<svg\b[^>]*?\bstyle="[^"]*?max-width:\s*)([\d.]+)px;?/,
      function (all, before, width) {
        var natural = parseFloat(width);
        var least = Math.max(Math.min(natural, MIN_WIDTH), MIN_SCALE * natural);
        return before + width + "px; min-width: " + least.toFixed(1) + "px;";
      });
    return result;
  };

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
