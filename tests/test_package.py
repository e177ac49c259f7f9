"""The package surface: version, lazy imports, the command line."""

import subprocess
import sys

import pytest

import skequiv
from skequiv._cli import main


def test_version_is_a_release_string():
    major, minor, patch = skequiv.__version__.split(".")
    assert all(part.isdigit() for part in (major, minor, patch))


def test_import_does_not_import_torch_or_matplotlib():
    code = (
        "import sys, skequiv; "
        "print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]


def test_every_public_name_resolves():
    for name in skequiv.__all__:
        assert getattr(skequiv, name) is not None, name


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        skequiv.Nope


def test_cli_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"skequiv {skequiv.__version__}"


def test_python_dash_m_runs_the_cli():
    out = subprocess.run(
        [sys.executable, "-m", "skequiv", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == f"skequiv {skequiv.__version__}"


def test_cli_without_command_prints_help(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out
