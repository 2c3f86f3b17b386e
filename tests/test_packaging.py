"""setup.cfg must list every package folder, or a normal (non-editable) install silently lacks it."""
import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# installed name -> folder in the repository (setup.cfg's package_dir)
TOP_LEVEL = {"tinygrad_dl": "tinygrad_dl", "tinygrad_dl.nn": "nn", "tinygrad_dl.optim": "optim"}


def _declared():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    options = config["options"]
    packages = {line.strip() for line in options["packages"].splitlines() if line.strip()}
    package_dir = dict(line.replace(" ", "").split("=") for line in options["package_dir"].splitlines() if line.strip())
    return packages, package_dir


def _package_folders():
    found = set()
    for name, folder in TOP_LEVEL.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            relative = init.parent.relative_to(base).parts
            if name == "tinygrad_dl" and relative[:1] in (("nn",), ("optim",)):
                continue
            found.add(".".join((name,) + relative))
    return found


def test_every_package_folder_is_declared():
    packages, _ = _declared()
    assert _package_folders() == packages


def test_nn_and_optim_map_to_their_top_level_folders():
    _, package_dir = _declared()
    assert package_dir == TOP_LEVEL
