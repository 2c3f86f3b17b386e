"""The step-through page: every frame of a backward pass as inline SVG, with a few lines of plain JavaScript.

The page is one self-contained file (no network access): previous / next / play buttons, a slider, the
arrow keys, and a caption per step. For tests and links, the URL fragment picks a step (``#step=3``) or
presses buttons once the page has loaded (``#press=next,next``).
"""
import itertools
import re

from ._format import esc

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  html, body {{ height: 100%; }}
  body {{ font-family: Helvetica, Arial, sans-serif; margin: 0; color: #222; overflow: hidden; }}
  header {{ padding: 0.5em 1em 0.2em; }}
  h1 {{ font-size: 1.2em; margin: 0 0 0.3em; }}
  #controls {{ display: flex; align-items: center; gap: 0.5em; flex-wrap: wrap; }}
  #controls button {{ font-size: 0.95em; padding: 0.2em 0.8em; }}
  #slider {{ flex: 1; min-width: 10em; }}
  #caption {{ min-height: 2.5em; margin: 0.3em 0 0; font-size: 1em; }}
  .hint {{ color: #666; font-size: 0.8em; margin: 0.2em 0 0; }}
  #viewport {{ position: relative; overflow: hidden; border-top: 1px solid #ddd; cursor: grab;
               touch-action: none; background: white; }}
  #viewport.dragging {{ cursor: grabbing; }}
  #stage {{ position: absolute; left: 0; top: 0; transform-origin: 0 0; }}
  .frame {{ margin: 0; }}
  .frame svg {{ display: block; }}
</style>
</head>
<body data-current="0" data-frames="{count}" data-direction="{direction}">
<header>
<h1>{title}</h1>
<div id="controls">
  <button id="prev" type="button" title="previous step (left arrow)">&#9664; prev</button>
  <button id="play" type="button" title="play / pause (space)">&#9654; play</button>
  <button id="next" type="button" title="next step (right arrow)">next &#9654;</button>
  <input id="slider" type="range" min="0" max="{last}" value="0" aria-label="backward step">
  <span id="counter">step 0 / {last}</span>
  <button id="zoom-out" type="button" title="zoom out (-)">&minus;</button>
  <button id="fit" type="button" title="fit the picture to the window (0)">fit</button>
  <button id="zoom-in" type="button" title="zoom in (+)">+</button>
</div>
<p id="caption"></p>
<p class="hint">The backward pass starts at the output ({where}); arrows point the way the gradient flows, back to
the inputs. Orange: the op the backward pass is processing (its input edges red); grey: ops already done. Each tensor shows the gradient that has
reached it so far, coloured by its norm (legend above the graph). Mouse wheel or + / &minus; zoom, drag to pan.</p>
</header>
<div id="viewport"><div id="stage">
{frames}
</div></div>
<script>
(function () {{
  "use strict";
  var frames = document.querySelectorAll(".frame");
  var last = frames.length - 1;
  var slider = document.getElementById("slider");
  var counter = document.getElementById("counter");
  var caption = document.getElementById("caption");
  var playButton = document.getElementById("play");
  var viewport = document.getElementById("viewport");
  var stage = document.getElementById("stage");
  var current = 0;
  var timer = null;
  var view = {{scale: 1, x: 0, y: 0, fitted: true}};

  // -- zoom and pan: one transform on the stage, kept from frame to frame --------------------------
  function layoutViewport() {{
    var top = viewport.getBoundingClientRect().top;
    viewport.style.height = Math.max(200, window.innerHeight - top) + "px";
  }}
  function naturalSize() {{
    var svg = frames[current].querySelector("svg");
    return {{width: svg.width.baseVal.value, height: svg.height.baseVal.value}};
  }}
  function apply() {{
    stage.style.transform = "translate(" + view.x + "px," + view.y + "px) scale(" + view.scale + ")";
    var box = frames[current].querySelector("svg").getBoundingClientRect();
    var port = viewport.getBoundingClientRect();
    var fits = box.left >= port.left - 1 && box.top >= port.top - 1 && box.right <= port.right + 1 &&
               box.bottom <= port.bottom + 1;
    document.body.setAttribute("data-scale", view.scale.toFixed(3));
    document.body.setAttribute("data-fits", fits ? "yes" : "no");
    document.body.setAttribute("data-viewport", Math.round(port.width) + "x" + Math.round(port.height));
  }}
  function fit() {{
    var size = naturalSize();
    var width = viewport.clientWidth, height = viewport.clientHeight;
    view.scale = Math.min(width / size.width, height / size.height, 1.5);
    view.x = (width - size.width * view.scale) / 2;
    view.y = Math.max(0, (height - size.height * view.scale) / 2);
    view.fitted = true;
    apply();
  }}
  // a long graph fitted to the window would be too small to read: open it at a readable size instead, on
  // the output's side (where the backward pass starts), and follow the op being processed
  var READABLE = 0.5;
  function openView() {{
    fit();
    if (view.scale >= READABLE) {{ return; }}
    var size = naturalSize();
    view.scale = READABLE;
    var outputOnLeft = document.body.getAttribute("data-direction") === "RL";
    view.x = outputOnLeft ? 0 : (viewport.clientWidth - size.width * READABLE) / 2;
    view.y = outputOnLeft ? Math.max(0, (viewport.clientHeight - size.height * READABLE) / 2) : 0;
    view.fitted = false;
    apply();
  }}
  function zoom(factor, atX, atY) {{
    var scale = Math.min(8, Math.max(0.05, view.scale * factor));
    if (atX === undefined) {{ atX = viewport.clientWidth / 2; atY = viewport.clientHeight / 2; }}
    view.x = atX - (atX - view.x) * scale / view.scale;
    view.y = atY - (atY - view.y) * scale / view.scale;
    view.scale = scale;
    view.fitted = false;
    apply();
  }}
  function bringIntoView(node) {{
    var box = node.getBoundingClientRect(), port = viewport.getBoundingClientRect();
    if (box.left >= port.left && box.right <= port.right && box.top >= port.top && box.bottom <= port.bottom) {{
      return;
    }}
    view.x += (port.left + port.width / 2) - (box.left + box.width / 2);
    view.y += (port.top + port.height / 2) - (box.top + box.height / 2);
    apply();
  }}
  viewport.addEventListener("wheel", function (event) {{
    event.preventDefault();
    var port = viewport.getBoundingClientRect();
    zoom(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - port.left, event.clientY - port.top);
  }}, {{passive: false}});
  var drag = null;
  viewport.addEventListener("pointerdown", function (event) {{
    drag = {{x: event.clientX - view.x, y: event.clientY - view.y}};
    viewport.classList.add("dragging");
    viewport.setPointerCapture(event.pointerId);
  }});
  viewport.addEventListener("pointermove", function (event) {{
    if (!drag) {{ return; }}
    view.x = event.clientX - drag.x;
    view.y = event.clientY - drag.y;
    view.fitted = false;
    apply();
  }});
  viewport.addEventListener("pointerup", function () {{ drag = null; viewport.classList.remove("dragging"); }});
  window.addEventListener("resize", function () {{
    layoutViewport();
    if (view.fitted) {{ fit(); }} else {{ apply(); }}
  }});

  // -- stepping -------------------------------------------------------------------------------------
  function show(index) {{
    current = Math.max(0, Math.min(last, index));
    for (var k = 0; k < frames.length; k++) {{ frames[k].hidden = (k !== current); }}
    slider.value = current;
    counter.textContent = "step " + current + " / " + last;
    caption.textContent = frames[current].getAttribute("data-caption");
    document.body.setAttribute("data-current", current);
    apply();
    var node = document.getElementById("f" + current + "-current");  // the op being processed
    if (node && !view.fitted) {{ bringIntoView(node); }}
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
  document.getElementById("zoom-in").addEventListener("click", function () {{ zoom(1.25); }});
  document.getElementById("zoom-out").addEventListener("click", function () {{ zoom(1 / 1.25); }});
  document.getElementById("fit").addEventListener("click", fit);
  playButton.addEventListener("click", play);
  slider.addEventListener("input", function () {{ stop(); show(parseInt(slider.value, 10)); }});
  document.addEventListener("keydown", function (event) {{
    if (event.key === "ArrowRight") {{ stop(); show(current + 1); }}
    else if (event.key === "ArrowLeft") {{ stop(); show(current - 1); }}
    else if (event.key === " ") {{ event.preventDefault(); play(); }}
    else if (event.key === "+" || event.key === "=") {{ zoom(1.25); }}
    else if (event.key === "-") {{ zoom(1 / 1.25); }}
    else if (event.key === "0") {{ fit(); }}
  }});

  // #step=3 opens that step; #press=next,next presses those buttons after loading (used by the tests)
  var options = {{}};
  location.hash.replace(/^#/, "").split("&").forEach(function (part) {{
    var pair = part.split("=");
    if (pair[0]) {{ options[pair[0]] = decodeURIComponent(pair[1] || ""); }}
  }});
  layoutViewport();
  show(options.step ? parseInt(options.step, 10) : 0);
  openView();
  var opened = document.getElementById("f" + current + "-current");
  if (opened && !view.fitted) {{ bringIntoView(opened); }}
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


_OUTPUT_SIDE = {"RL": "on the left", "LR": "on the right", "BT": "on top", "TB": "at the bottom"}


def page(svgs, captions, title, direction="RL"):
    """The whole HTML page for frames given as SVG strings with one caption each (``direction``: the
    pictures' rankdir, so the page opens a long graph on the output's side)."""
    frames = []
    for index, (svg, caption) in enumerate(zip(svgs, captions)):
        hidden = "" if index == 0 else " hidden"
        frames.append(f'<figure class="frame" id="frame-{index}" data-step="{index}" '
                      f'data-caption="{esc(caption)}"{hidden}>\n{inline_svg(svg, f"f{index}-")}\n</figure>')
    return _PAGE.format(title=esc(title), count=len(frames), last=len(frames) - 1, frames="\n".join(frames),
                        direction=esc(direction), where=_OUTPUT_SIDE.get(direction, "drawn in bold"))


_PLAYER_STYLE = """
#{uid} {{ font-family: Helvetica, Arial, sans-serif; color: #222; }}
#{uid} > input {{ position: absolute; opacity: 0; pointer-events: none; }}
#{uid} .tg-frame {{ display: none; }}
#{uid} .tg-bar {{ display: flex; gap: 0.8em; align-items: center; margin: 0.2em 0; }}
#{uid} .tg-bar label {{ border: 1px solid #999; border-radius: 4px; padding: 0.1em 0.6em; cursor: pointer;
                        background: #f4f4f4; user-select: none; }}
#{uid} .tg-bar label.tg-off {{ visibility: hidden; }}
#{uid} .tg-caption {{ margin: 0.2em 0 0.4em; min-height: 2.4em; }}
#{uid} .tg-svg {{ overflow: auto; max-height: 85vh; }}
#{uid} .tg-svg svg {{ max-width: 100%; height: auto; }}
#{uid}-zoom:checked ~ .tg-frames .tg-svg svg {{ max-width: none; }}
"""


def notebook_player(recorded, options=None):
    """A step-through player for Jupyter: HTML and CSS only (radio buttons pick the visible frame), so it
    works where notebooks strip scripts. Every frame carries first / prev / next / last controls and a zoom
    toggle (full size, scrolling, instead of fitted to the cell)."""
    from . import frame_svgs, step_captions  # the package's drawing entry points (imported late: no cycle)

    svgs = frame_svgs(recorded, options, caller="trace display")
    captions = step_captions(recorded)
    uid = f"tgviz-{next(_PLAYER_NUMBERS)}-{id(recorded) % 100000}"
    last = len(svgs) - 1
    radios = "".join(f'<input type="radio" name="{uid}" id="{uid}-{k}"{" checked" if k == 0 else ""}>'
                     for k in range(len(svgs)))
    radios += f'<input type="checkbox" id="{uid}-zoom">'  # full size (scrolls) instead of fitted to the cell
    rules = "\n".join(f"#{uid}-{k}:checked ~ .tg-frames .tg-f{k} {{ display: block; }}" for k in range(len(svgs)))

    def control(target, text, enabled):
        return f'<label for="{uid}-{target}"{"" if enabled else " class=tg-off"}>{text}</label>'

    frames = []
    for k, (svg, caption) in enumerate(zip(svgs, captions)):
        bar = (control(0, "&#171; first", k > 0) + control(max(k - 1, 0), "&#9664; prev", k > 0)
               + f"<span>step {k} / {last}</span>"
               + control(min(k + 1, last), "next &#9654;", k < last) + control(last, "last &#187;", k < last)
               + f'<label for="{uid}-zoom" title="full size / fit to the cell">zoom</label>')
        frames.append(f'<div class="tg-frame tg-f{k}"><div class="tg-bar">{bar}</div>'
                      f'<div class="tg-caption">{esc(caption)}</div>'
                      f'<div class="tg-svg">{inline_svg(svg, f"{uid}-f{k}-")}</div></div>')
    style = _PLAYER_STYLE.format(uid=uid) + rules
    return (f'<div id="{uid}" class="tinygrad-dl-trace"><style>{style}</style>{radios}'
            f'<div class="tg-frames">{"".join(frames)}</div></div>')


_PLAYER_NUMBERS = itertools.count(1)
