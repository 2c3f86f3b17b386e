"""The step-through page: every frame of a backward pass as inline SVG, with a few lines of plain JavaScript.

The page is one self-contained file (no network access): previous / next / play buttons, a slider, the
arrow keys, and a caption per step. For tests and links, the URL fragment picks a step (``#step=3``) or
presses buttons once the page has loaded (``#press=next,next``).
"""
import re

from ._format import esc

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: Helvetica, Arial, sans-serif; margin: 1em 2em; color: #222; }}
  h1 {{ font-size: 1.3em; margin-bottom: 0.3em; }}
  #controls {{ display: flex; align-items: center; gap: 0.6em; flex-wrap: wrap; position: sticky; top: 0;
              background: white; padding: 0.4em 0; z-index: 1; }}
  #controls button {{ font-size: 1em; padding: 0.25em 0.9em; }}
  #slider {{ flex: 1; min-width: 12em; }}
  #caption {{ min-height: 2.6em; margin: 0.3em 0 0.8em; font-size: 1.02em; }}
  .frame svg {{ max-width: 100%; height: auto; }}
  .hint {{ color: #777; font-size: 0.85em; }}
</style>
</head>
<body data-current="0" data-frames="{count}">
<h1>{title}</h1>
<div id="controls">
  <button id="prev" type="button" title="previous step (left arrow)">&#9664; prev</button>
  <button id="play" type="button" title="play / pause (space)">&#9654; play</button>
  <button id="next" type="button" title="next step (right arrow)">next &#9654;</button>
  <input id="slider" type="range" min="0" max="{last}" value="0" aria-label="backward step">
  <span id="counter">step 0 / {last}</span>
</div>
<p id="caption"></p>
<div id="frames">
{frames}
</div>
<p class="hint">Orange: the op the backward pass is processing; grey: ops already done. Each tensor shows the
gradient that has reached it so far, coloured by its norm (see the legend).</p>
<script>
(function () {{
  "use strict";
  var frames = document.querySelectorAll(".frame");
  var last = frames.length - 1;
  var slider = document.getElementById("slider");
  var counter = document.getElementById("counter");
  var caption = document.getElementById("caption");
  var playButton = document.getElementById("play");
  var current = 0;
  var timer = null;

  function show(index) {{
    current = Math.max(0, Math.min(last, index));
    for (var k = 0; k < frames.length; k++) {{ frames[k].hidden = (k !== current); }}
    slider.value = current;
    counter.textContent = "step " + current + " / " + last;
    caption.textContent = frames[current].getAttribute("data-caption");
    document.body.setAttribute("data-current", current);
    // bring the op being processed into view when it is off screen
    var node = document.getElementById("f" + current + "-current");
    if (node && node.getBoundingClientRect) {{
      var box = node.getBoundingClientRect();
      if (box.top < 0 || box.bottom > window.innerHeight) {{ node.scrollIntoView({{block: "center"}}); }}
    }}
  }}
  function stop() {{
    if (timer !== null) {{ clearInterval(timer); timer = null; }}
    playButton.innerHTML = "&#9654; play";
  }}
  function play() {{
    if (timer !== null) {{ stop(); return; }}
    if (current === last) {{ show(0); }}
    playButton.innerHTML = "&#10074;&#10074; pause";
    timer = setInterval(function () {{
      if (current >= last) {{ stop(); }} else {{ show(current + 1); }}
    }}, 1200);
  }}
  document.getElementById("prev").addEventListener("click", function () {{ stop(); show(current - 1); }});
  document.getElementById("next").addEventListener("click", function () {{ stop(); show(current + 1); }});
  playButton.addEventListener("click", play);
  slider.addEventListener("input", function () {{ stop(); show(parseInt(slider.value, 10)); }});
  document.addEventListener("keydown", function (event) {{
    if (event.key === "ArrowRight") {{ stop(); show(current + 1); }}
    else if (event.key === "ArrowLeft") {{ stop(); show(current - 1); }}
    else if (event.key === " ") {{ event.preventDefault(); play(); }}
  }});

  // #step=3 opens that step; #press=next,next presses those buttons after loading (used by the tests)
  var options = {{}};
  location.hash.replace(/^#/, "").split("&").forEach(function (part) {{
    var pair = part.split("=");
    if (pair[0]) {{ options[pair[0]] = decodeURIComponent(pair[1] || ""); }}
  }});
  show(options.step ? parseInt(options.step, 10) : 0);
  (options.press || "").split(",").forEach(function (name) {{
    var button = document.getElementById(name);
    if (button) {{ button.click(); }}
  }});
}})();
</script>
</body>
</html>
"""


def inline_svg(svg, prefix):
    """An SVG document from dot, ready to sit inside HTML: no XML prolog, ids made unique per frame."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("save_html: dot did not produce SVG")
    svg = svg[start:]
    svg = re.sub(r'\bid="', f'id="{prefix}', svg)
    return re.sub(r'xlink:href="#', f'xlink:href="#{prefix}', svg)


def page(svgs, captions, title):
    """The whole HTML page for frames given as SVG strings with one caption each."""
    frames = []
    for index, (svg, caption) in enumerate(zip(svgs, captions)):
        hidden = "" if index == 0 else " hidden"
        frames.append(f'<figure class="frame" id="frame-{index}" data-step="{index}" '
                      f'data-caption="{esc(caption)}"{hidden}>\n{inline_svg(svg, f"f{index}-")}\n</figure>')
    return _PAGE.format(title=esc(title), count=len(frames), last=len(frames) - 1, frames="\n".join(frames))
