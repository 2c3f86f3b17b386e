"""Every ```python block of README.md runs, in file order, in ONE namespace: the README is one tutorial.

One test per block (named after its line in README.md); each reuses the namespace the earlier blocks built,
and runs in a temporary working directory so files the examples write land there. When a block fails, the
blocks after it are skipped (they would fail for the same reason) and the failure names the README line.
"""
import os
import re
import traceback
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\s*$")


def python_blocks(text):
    """(line of the opening fence, code) for every ```python block, in order."""
    blocks, language, lines, start = [], None, [], None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if language is None:
            if match and match.group(1):
                language, lines, start = match.group(1), [], number
        elif match and not match.group(1):
            if language == "python":
                blocks.append((start, "\n".join(lines) + "\n"))
            language = None
        else:
            lines.append(line)
    if language is not None:
        raise ValueError(f"README.md: the code block opened at line {start} is never closed")
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory):
    """The namespace shared by the blocks, and the temporary folder they run in."""
    return {"namespace": {"__name__": "readme"}, "folder": tmp_path_factory.mktemp("readme"), "failed": None}


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 6
    assert all(code.strip() for _, code in BLOCKS)


ON_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")  # CI sets CI=true
RENDERS = ("viz.save(", "save_html(")  # blocks that need Graphviz's `dot` program


def _skip_without_dot(code):
    if not any(call in code for call in RENDERS):
        return
    from tinygrad_dl import viz
    if viz.dot_available():
        return
    if ON_CI:
        pytest.fail("Graphviz's `dot` program is not installed; CI installs it in .ci/run")
    pytest.skip("this README block renders pictures: it needs Graphviz's `dot` program (apt-get install graphviz)")


@pytest.mark.parametrize("line, code", BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS])
def test_readme_block(line, code, tutorial):
    if tutorial["failed"] is not None:
        pytest.skip(f"an earlier README block failed (line {tutorial['failed']})")
    _skip_without_dot(code)
    compiled = compile(code, f"README.md:{line}", "exec")
    previous = os.getcwd()
    os.chdir(tutorial["folder"])
    try:
        exec(compiled, tutorial["namespace"])
    except Exception as error:
        tutorial["failed"] = line
        # the frame inside the block says which README line failed: line + 1 + its line in the block
        inner = [frame.lineno for frame in traceback.extract_tb(error.__traceback__)
                 if frame.filename == f"README.md:{line}"]
        where = f"README.md line {line + inner[-1]}" if inner else f"the README block at line {line}"
        raise AssertionError(f"{where}: {type(error).__name__}: {error}") from error
    finally:
        os.chdir(previous)


def test_block_collection_keeps_only_python_blocks_with_their_lines():
    text = "intro\n```python\na = 1\n```\n```sh\nmake test\n```\n```text\n>>> x\n```\n```python\nb = a\n```\n"
    assert python_blocks(text) == [(2, "a = 1\n"), (11, "b = a\n")]
    with pytest.raises(ValueError, match="line 2 is never closed"):
        python_blocks("intro\n```python\na = 1\n")
