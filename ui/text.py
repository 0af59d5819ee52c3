"""User text shown safely: file, sheet and column names, ids, cell values and error messages.

Streamlit renders markdown (and images, links, LaTeX) in st.markdown, st.caption, st.info,
st.warning, st.error, st.subheader and metric help. A column named `![x](http://host/x.png)` would
make every viewer's browser fetch that address. `plain()` escapes every markdown-significant
character so user text shows literally; pass user text through it wherever it is mixed into
markdown. Tables (st.dataframe) do not render markdown, but their toolbar's CSV download writes
cells raw: `safe_table()` neutralises formula-leading text cells (OWASP CSV injection).
"""

from __future__ import annotations

import re

import pandas as pd

from analytics.reports.export import neutralise_formulas

# CommonMark lets a backslash escape any ASCII punctuation. Escaped here: what makes links and
# images ([ ] !), HTML and autolinks (< >), code (`), emphasis (*), strike-through (~), LaTeX ($)
# and the backslash itself. Intraword underscores, hyphens and dots are left alone (they only mean
# something at the start of a line, handled below), so messages keep reading as written.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]!<>~$])")
_LINE_START = re.compile(r"^(\s*)([#>+\-=|]|\d+(?=[.)]))")


def plain(text: object) -> str:
    """`text` as markdown that displays exactly these characters (no link, image, HTML, LaTeX).

    Line breaks become spaces so a multi-line name stays on its line.
    """
    value = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    value = _MARKDOWN_SPECIAL.sub(r"\\\1", value)
    return _LINE_START.sub(_escape_line_start, value)


def _escape_line_start(match: re.Match[str]) -> str:
    marker = match.group(2)
    if marker[0].isdigit():  # "12." -> "12\." (an ordered list marker)
        return match.group(1) + marker + "\\"
    return match.group(1) + "\\" + marker


def safe_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and column names cannot run as spreadsheet formulas when downloaded."""
    return neutralise_formulas(frame)
