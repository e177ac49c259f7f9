"""Check that the built HTML docs work with no network, formulas included.

Run after ``make html`` (``make -C docs check-offline`` does both checks):

1. no page loads a script, a stylesheet or an image from http(s);
2. every page with a formula loads MathJax from ``_static/`` and that file is
   there;
3. every formula typesets without a TeX error with that local MathJax copy,
   run by node (skipped, and said so, where node is not installed).

Prints one line per check and exits 1 if any fails.
"""

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

_REMOTE = re.compile(
    r"<(?:script|img)\b[^>]*\bsrc=\"(https?://[^\"]*)\"|"
    r"<link\b[^>]*\bhref=\"(https?://[^\"]*)\"[^>]*\brel=\"stylesheet\"|"
    r"<link\b[^>]*\brel=\"stylesheet\"[^>]*\bhref=\"(https?://[^\"]*)\""
)
_MATHJAX = re.compile(r"<script\b[^>]*\bsrc=\"([^\"]*mathjax[^\"]*\.js)[^\"]*\"")
# Sphinx's mathjax extension writes \(...\) inline and \[...\] displayed
_MATH = re.compile(
    r"<(span|div) class=\"math notranslate nohighlight\">\s*(.*?)\s*</\1>", re.S
)

# Typesets each formula of a JSON list read from stdin with the MathJax copy in
# the last argument; TeX errors and undefined macros throw instead of rendering in red.
_TYPESET = r"""
const mathjax = process.argv[process.argv.length - 1];
require(mathjax + "/node-main.js").init({
  loader: {paths: {mathjax}, load: ["input/tex", "output/chtml"]},
  tex: {
    packages: {"[-]": ["noundefined"]},
    formatError: (jax, err) => { throw err; },
  },
}).then(async (MathJax) => {
  const formulas = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const failed = [];
  for (const [page, tex, display] of formulas) {
    try {
      await MathJax.tex2chtmlPromise(tex, {display});
    } catch (err) {
      failed.push(`${page}: ${tex}: ${err.message}`);
    }
  }
  console.log(JSON.stringify(failed));
}).catch((err) => { console.error(err); process.exit(2); });
"""


def _formulas(page, text):
    for match in _MATH.finditer(text):
        tex = html.unescape(match.group(2))
        display = tex.startswith(r"\[")
        yield str(page), tex[2:-2], display


def _scan(page, build_dir):
    """Remote assets, formulas and MathJax scripts of one page."""
    name = page.relative_to(build_dir)
    text = page.read_text(encoding="utf-8")
    remote = [
        f"{name} loads {next(url for url in match.groups() if url)}"
        for match in _REMOTE.finditer(text)
    ]
    formulas = list(_formulas(name, text))
    scripts = {(page.parent / src).resolve() for src in _MATHJAX.findall(text)}
    if formulas and not scripts:
        remote.append(f"{name} has formulas but loads no MathJax")
    return remote, formulas, scripts


def check(build_dir):
    """Return the list of problems found in the HTML under ``build_dir``."""
    build_dir = Path(build_dir).resolve()
    pages = sorted(build_dir.rglob("*.html"))
    if not pages:
        return [f"no HTML pages under {build_dir}: build the docs first"]
    problems, formulas, scripts = [], [], set()
    for page in pages:
        remote, found, loaded = _scan(page, build_dir)
        problems += remote
        formulas += found
        scripts |= loaded
    problems += [f"missing {path}" for path in sorted(scripts) if not path.is_file()]
    listed = ", ".join(str(path.relative_to(build_dir)) for path in sorted(scripts))
    print(f"{len(pages)} pages, {len(formulas)} formulas, MathJax: {listed}")
    if formulas and len(scripts) == 1 and not problems:
        problems += _typeset(formulas, next(iter(scripts)).parent)
    return problems


def _typeset(formulas, mathjax_dir):
    node = shutil.which("node")
    if node is None:
        print("node is not installed: formulas not typeset")
        return []
    result = subprocess.run(
        [node, "-e", _TYPESET, "--", str(mathjax_dir)],
        input=json.dumps(formulas),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return [f"node failed: {result.stderr.strip()}"]
    failed = json.loads(result.stdout)
    print(
        f"{len(formulas) - len(failed)} of {len(formulas)} formulas typeset "
        "with the local MathJax"
    )
    return failed


if __name__ == "__main__":
    found = check(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
    for problem in found:
        print(problem)
    print("offline: OK" if not found else f"offline: {len(found)} problem(s)")
    sys.exit(1 if found else 0)
