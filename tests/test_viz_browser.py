"""The step-through page of tinygrad_dl.viz in a real browser (headless Chromium).

Chromium opens the page with a URL fragment that presses buttons once the page has loaded (#press=next)
or opens a step (#step=3), runs its scripts, and prints the resulting DOM; the test reads which frame is
visible. Without Chromium or Graphviz's `dot` these tests skip on a developer's machine; on CI (CI=true)
they fail instead, because .ci/run installs both.
"""
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from tinygrad_dl import Tensor, name_scope, viz

pytestmark = pytest.mark.browser

ON_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")  # CI sets CI=true
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _missing(what):
    if ON_CI:
        pytest.fail(f"{what} is not installed; CI installs it in .ci/run")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="module")
def browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    _missing("Headless Chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The page of a tiny two-layer net: 8 backward steps, so 9 frames."""
    if not viz.dot_available():
        _missing("Graphviz's `dot` program (apt-get install graphviz)")
    X = Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]))
    W1 = Tensor(np.array([[0.5, -0.25], [1.0, 0.75]]), requires_grad=True)
    W2 = Tensor(np.array([[1.5, -1.0]]), requires_grad=True)
    with name_scope("layer1"):
        A1 = (W1 @ X).tanh()
    with name_scope("layer2"):
        out = (W2 @ A1).sigmoid()
    loss = ((out - 1.0) * (out - 1.0)).mean()
    trace = viz.trace(loss, names={"X": X, "W1": W1, "W2": W2, "A1": A1})
    path = viz.save_html(trace, tmp_path_factory.mktemp("page") / "steps.html", title="tiny net")
    return path, len(trace) + 1


def dump_dom(browser, path, fragment, tmp_path, window=(1400, 1000)):
    """The DOM after the page's scripts ran (virtual time lets timers fire without waiting)."""
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=2000",
               f"--window-size={window[0]},{window[1]}", "--dump-dom", path.as_uri() + fragment]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    assert "</html>" in result.stdout, f"no DOM from chromium: {result.stderr[-2000:]}"
    return result.stdout


def visible_frames(dom):
    """Ids of the frames without the `hidden` attribute."""
    frames = re.findall(r'<figure class="frame" id="frame-(\d+)"([^>]*)>', dom)
    return [int(index) for index, attributes in frames if "hidden" not in attributes], len(frames)


def test_page_opens_on_the_first_frame_with_every_frame_present(browser, page, tmp_path):
    path, count = page
    dom = dump_dom(browser, path, "", tmp_path)
    shown, total = visible_frames(dom)
    assert total == count == 9
    assert shown == [0]
    assert dom.count("<svg") == count
    assert 'data-current="0"' in dom
    assert f">step 0 / {count - 1}<" in dom
    assert re.search(r'<p id="caption">Step 0 of 8: the forward pass is done', dom)


def test_pressing_next_shows_the_next_step(browser, page, tmp_path):
    path, count = page
    dom = dump_dom(browser, path, "#press=next", tmp_path)
    assert visible_frames(dom)[0] == [1]
    assert 'data-current="1"' in dom and f">step 1 / {count - 1}<" in dom
    assert re.search(r'<p id="caption">Step 1 of 8: Mean receives the gradient of its output', dom)
    # the highlighted op of step 1 is inside the visible frame
    frame = dom[dom.index('id="frame-1"'):dom.index('id="frame-2"')]
    assert 'id="f1-current"' in frame

    dom = dump_dom(browser, path, "#press=next,next,next,prev", tmp_path)
    assert visible_frames(dom)[0] == [2]


def test_slider_position_and_bounds(browser, page, tmp_path):
    path, count = page
    dom = dump_dom(browser, path, "#step=5", tmp_path)
    assert visible_frames(dom)[0] == [5]
    dom = dump_dom(browser, path, f"#step={count - 1}&press=next", tmp_path)  # next on the last step stays
    assert visible_frames(dom)[0] == [count - 1]
    assert re.search(r'<p id="caption">Step 8 of 8: MatMul \(in layer1\) receives', dom)


def body_attribute(dom, name):
    return re.search(rf'<body[^>]* {name}="([^"]*)"', dom).group(1)


@pytest.fixture(scope="module")
def mlp_page(tmp_path_factory):
    """The page of a 5-layer MLP (nn.Sequential of Linear and ReLU layers): 10 backward steps."""
    if not viz.dot_available():
        _missing("Graphviz's `dot` program (apt-get install graphviz)")
    from tinygrad_dl import nn
    np.random.seed(0)
    sizes = [4, 8, 8, 8, 8, 1]
    layers = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(n_in, n_out, dtype=np.float64)] + ([nn.ReLU()] if index < 4 else [])
    model = nn.Sequential(*layers)
    X = Tensor(np.random.randn(16, 4))
    Y = Tensor((np.random.rand(16, 1) > 0.5).astype(np.float64))
    trace = viz.trace(nn.BCEWithLogitsLoss()(model(X), Y), model=model, names={"X": X, "Y": Y})
    return viz.save_html(trace, tmp_path_factory.mktemp("mlp") / "mlp.html", title="5-layer MLP")


def test_a_five_layer_mlp_fits_the_window_and_zooms(browser, mlp_page, tmp_path):
    dom = dump_dom(browser, mlp_page, "#step=3", tmp_path, window=(1400, 1000))
    assert visible_frames(dom)[0] == [3]
    assert body_attribute(dom, "data-fits") == "yes"  # the whole picture is inside the window
    width, height = (int(n) for n in body_attribute(dom, "data-viewport").split("x"))
    assert width == 1400 and 600 < height < 1000  # the picture gets the window below the controls
    fitted = float(body_attribute(dom, "data-scale"))
    assert 0.3 < fitted <= 1.5  # readable, not a thumbnail
    assert "0: Linear(4→8)" in dom and "8: Linear(8→1)" in dom  # layers titled by their module

    dom = dump_dom(browser, mlp_page, "#step=3&press=zoom-in,zoom-in", tmp_path)
    assert float(body_attribute(dom, "data-scale")) == pytest.approx(fitted * 1.25 ** 2, rel=1e-2)
    assert visible_frames(dom)[0] == [3]  # zooming does not change the step
    dom = dump_dom(browser, mlp_page, "#step=3&press=zoom-in,fit", tmp_path)
    assert float(body_attribute(dom, "data-scale")) == pytest.approx(fitted, rel=1e-3)


def test_a_long_chain_opens_readable_on_the_outputs_side_and_fit_shows_it_all(browser, tmp_path):
    if not viz.dot_available():
        _missing("Graphviz's `dot` program (apt-get install graphviz)")
    h = Tensor(np.linspace(-1, 1, 4), requires_grad=True)
    for _ in range(16):
        h = (h * 0.9).tanh()
    path = viz.save_html(h.sum(), tmp_path / "chain.html")
    assert re.search(r'data-direction="(RL|BT)"', path.read_text(encoding="utf-8"))  # a chain is long either way
    dom = dump_dom(browser, path, "", tmp_path)
    assert float(body_attribute(dom, "data-scale")) == 0.5 and body_attribute(dom, "data-fits") == "no"
    dom = dump_dom(browser, path, "#press=fit", tmp_path)
    assert float(body_attribute(dom, "data-scale")) < 0.5 and body_attribute(dom, "data-fits") == "yes"
