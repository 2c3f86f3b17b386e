"""Rendering through Graphviz's ``dot`` program, and a clear message when it is not installed."""
import os
import platform
from pathlib import Path

import graphviz

FORMATS = ("svg", "png", "pdf")


def install_hint():
    """How to install Graphviz's `dot` program, for this system first and then for the others."""
    commands = {
        "Debian/Ubuntu": "sudo apt-get install graphviz",
        "Fedora/RHEL": "sudo dnf install graphviz",
        "Arch": "sudo pacman -S graphviz",
        "macOS": "brew install graphviz",
        "Windows": "winget install graphviz  (or: choco install graphviz), then add its bin folder to PATH",
        "conda": "conda install -c conda-forge graphviz",
    }
    system = platform.system()
    if system == "Darwin":
        first = "macOS"
    elif system == "Windows":
        first = "Windows"
    elif os.path.exists("/etc/fedora-release") or os.path.exists("/etc/redhat-release"):
        first = "Fedora/RHEL"
    elif os.path.exists("/etc/arch-release"):
        first = "Arch"
    else:
        first = "Debian/Ubuntu"
    lines = [f"  {first}: {commands.pop(first)}"] + [f"  {name}: {cmd}" for name, cmd in commands.items()]
    return "\n".join(lines)


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """Rendering needs Graphviz's ``dot`` program and it is not on PATH.

    A subclass of ``graphviz.ExecutableNotFound`` (so code that catches that still works) whose message says
    how to install Graphviz on the user's system.
    """

    def __init__(self, action="render the graph"):
        RuntimeError.__init__(
            self,
            f"viz: cannot {action}: Graphviz's `dot` program was not found on PATH. The pip package `graphviz` "
            f"is only its Python interface; install Graphviz itself:\n{install_hint()}\n"
            "then restart Python. Without it the picture is still available as DOT source: `picture.source`.")


class GraphPicture(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose rendering explains how to install Graphviz when ``dot`` is missing.

    It displays inline in Jupyter like any Digraph; ``.render()``, ``.pipe()`` and ``.source`` work as usual.
    Without ``dot``, Jupyter shows the install instructions and the DOT source instead of a traceback.
    """

    def pipe(self, *args, **kwargs):
        try:
            return super().pipe(*args, **kwargs)
        except GraphvizNotFoundError:
            raise
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFoundError() from None

    def render(self, *args, **kwargs):
        try:
            return super().render(*args, **kwargs)
        except GraphvizNotFoundError:
            raise
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFoundError() from None

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include=include, exclude=exclude, **kwargs)
        except graphviz.ExecutableNotFound as err:
            return {"text/plain": f"{err}\n\nDOT source:\n{self.source}"}


def dot_available():
    """True when Graphviz's ``dot`` program can be run."""
    try:
        graphviz.version()
    except graphviz.ExecutableNotFound:
        return False
    return True


def save(picture, path, format=None):
    """Write ``picture`` (a Digraph) to ``path`` as SVG, PNG or PDF (from the suffix unless ``format`` is given).

    Exactly one file is written (``Digraph.render`` would also leave the DOT source next to it). Returns the
    path. Raises ``GraphvizNotFoundError`` with install instructions when ``dot`` is missing.
    """
    path = Path(path)
    format = (format or path.suffix.lstrip(".")).lower()
    if format not in FORMATS:
        raise ValueError(f"viz.save: cannot tell the format of {str(path)!r}; use a .svg, .png or .pdf file name "
                         f"or pass format= (one of {', '.join(FORMATS)})")
    if not isinstance(picture, graphviz.Digraph):
        raise TypeError(f"viz.save: expected a graphviz.Digraph (from draw_graph), got {type(picture).__name__}")
    try:
        data = picture.pipe(format=format)
    except GraphvizNotFoundError:
        raise
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError(f"write {path.name}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def to_svg(picture):
    """The picture as an SVG string (needs ``dot``)."""
    try:
        return picture.pipe(format="svg", encoding="utf-8")
    except GraphvizNotFoundError:
        raise
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError("make the SVG") from None
