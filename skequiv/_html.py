"""One self-contained HTML page: inline style, figures as data URIs, no scripts.

The page loads nothing: no external stylesheet, script, font or image, so it
can be attached to a CI run or mailed and opened anywhere, offline.
"""

import base64
import html
import io

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; }
.verdict { font-size: 1.2rem; padding: .6rem 1rem; border-radius: .3rem; }
.good { background: #e3f4e1; } .bad { background: #fbe4e1; }
.other { background: #fdf3d8; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; }
pre { background: #f7f7f7; padding: .8rem; overflow-x: auto; font-size: .85rem; }
figure { margin: 1rem 0; } img { max-width: 100%; }
figcaption { color: #555; font-size: .9rem; }
"""


def escape(text):
    """``text`` as HTML text (quotes escaped too)."""
    return html.escape(str(text), quote=True)


def figure_uri(fig, dpi=100):
    """A matplotlib figure as a ``data:image/png;base64,...`` URI; closes it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def figure(uri, caption):
    """An embedded figure with a caption."""
    if not uri.startswith("data:image/png;base64,"):
        raise ValueError("figures are embedded as PNG data URIs only")
    return (
        f'<figure><img src="{uri}" alt="{escape(caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def table(rows, header=None):
    """A table of text cells (escaped)."""
    parts = ["<table>"]
    if header:
        cells = "".join(f"<th>{escape(h)}</th>" for h in header)
        parts.append(f"<tr>{cells}</tr>")
    for row in rows:
        cells = "".join(f"<td>{escape(cell)}</td>" for cell in row)
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</table>")
    return "\n".join(parts)


def preformatted(text):
    """Monospaced text (escaped)."""
    return f"<pre>{escape(text)}</pre>"


def paragraph(text, css_class=None):
    """A paragraph of text (escaped)."""
    attribute = f' class="{escape(css_class)}"' if css_class else ""
    return f"<p{attribute}>{escape(text)}</p>"


def page(title, sections):
    """The whole document: ``sections`` is a list of (heading, HTML body)."""
    body = [f"<h1>{escape(title)}</h1>"]
    for heading, content in sections:
        if heading:
            body.append(f"<h2>{escape(heading)}</h2>")
        body.append(content)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        "<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )
