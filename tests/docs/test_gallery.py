"""The gallery shows the seed paper's experiments in its order: (a), (b), (c)."""

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _title(example):
    # sphinx-gallery's title: the line under the first rule of the docstring
    lines = ast.get_docstring(ast.parse(example.read_text(encoding="utf-8")))
    lines = lines.splitlines()
    rule = next(i for i, line in enumerate(lines) if set(line) == {"="})
    return lines[rule + 1].strip()


def test_examples_sort_by_title_into_the_papers_order():
    conf = (ROOT / "docs" / "conf.py").read_text(encoding="utf-8")
    assert '"sphinx_gallery.sorting.ExampleTitleSortKey"' in conf
    examples = sorted((ROOT / "examples").glob("plot_*.py"), key=_title)
    assert [path.stem for path in examples[:3]] == [
        "plot_scalar",
        "plot_vector_field",
        "plot_rotating_object",
    ]
    assert [_title(path)[:3] for path in examples[:3]] == ["(a)", "(b)", "(c)"]
