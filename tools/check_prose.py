#!/usr/bin/env python3
"""Check that every result number in a notebook's prose is printed by that notebook.

The notebooks are published with the outputs of one run at the lecture's settings. A number
the markdown states about our results must be one that an output of the same notebook
prints, so that prose cannot quote another run (the CI run, an older run).

Checked numbers, in markdown cells: every number with a decimal point or an exponent (87.20,
0.312, 1.01e-2, 1.5×10⁻³, 9·10⁻⁵), and every number directly followed by `%`, ` %`, `pp` or
` pp` (in a range such as 97–98% both ends). Not checked: other integers (settings such as
100 epochs, 784-100-10, seed 1), a bare power of ten (10⁻⁵), version numbers (2.13.0),
references (fig. 7.3, ch. 12, § 3.2), and text in inline code, fenced code blocks, LaTeX
math ($…$, $$…$$), URLs, link targets and HTML tags, and a heading's section number.

Printed text: every output of every code cell: stream text, text/plain, text/html (tags
stripped, entities decoded) and the values of the results MIME (and of `RESULT name=value`
lines). A prose number matches the same token printed as a whole number: same digits, same
number of decimals ("97.6" does not match a printed "97.61", "7.61" does not match inside
"97.61"); signs (-, −, +, ±) and thousands separators are ignored, and 1.5·10⁻³ is the same
token as 1.5e-3. It also matches a result value rounded to its number of decimals (prose
97.61 matches the result 97.6123).

Quotes (exempt), for notebook authors:
  * Mark a number from the lecture or the literature as a quote: put it in an emphasised
    span that starts with its source and a colon: *lecture: 97.61 %*, *Xie et al. 2020:
    +9.3 pp*, _paper: 0.5_, **lecture's code: 2.5084**. Every number in the span is exempt.
  * In a table, a column whose header names "lecture", "paper" or "literature" is a quote
    column. "lecture settings" does not count (that is our run), nor does a header or span
    label that says ours, our, we or tchlab.
  * Nothing else is exempt: put a setting in `code`, math in $…$, or print the number.

Limits: a number passes if it is printed anywhere in the notebook (an epoch log line, a
timing), so a number of two or three digits can pass by coincidence; read what passes.

Usage: python3 tools/check_prose.py notebooks/*.ipynb   (exit status 1 on any problem)
"""
import html
import json
import re
import sys
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

RESULTS_MIME = "application/vnd.tchlab.results+json"
RESULT_LINE = re.compile(r"^RESULT (\S+)=(\S+)\s*$", re.MULTILINE)  # as tools/run_notebooks.py
SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")

# A number token. It starts after no letter, digit or "." and ends before no digit or
# ".digit", so "7.61" is never found inside "97.61" and "2.13.0" yields no token at all.
NUMBER = re.compile(
    r"""(?<![\w.])
    (?P<mant> [0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?   # 60,000  1,234.5
            | [0-9]+(?:\.[0-9]+)? )                   # 87  87.20
    (?P<exp> [eE][-+−]?[0-9]+                          # 1.01e-2
           | \s?[×·]\s?10[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+ )?         # 1.5×10⁻³  9·10⁻⁵  1.4 × 10⁻³
    (?![0-9]|\.[0-9])""",
    re.VERBOSE,
)
PERCENT_AFTER = re.compile(r"\s?(?:%|pp\b)")  # directly after a token: 12%, 12 %, 4.2 pp
RANGE_TO_PERCENT = re.compile(r"[–-][0-9.,]+\s?(?:%|pp\b)")  # "97" in "97–98%"
REFERENCE_BEFORE = re.compile(r"(?:\b(?:fig|figs|figure|ch|chapter|sec|section|eq|equation|table|slide)\.?|§)\s*$", re.I)

# Regions of markdown that are not prose; each is blanked before numbers are looked for.
SKIPPED = [
    re.compile(r"^ {0,3}(```|~~~).*?(?:^ {0,3}\1[^\n]*$|\Z)", re.M | re.S),  # fenced code
    re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S),  # inline code, any number of backticks
    re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)", re.S),  # display / inline LaTeX
    re.compile(r"(?<![\\$])\$(?!\s)[^$\n]+?(?<![\s\\])\$"),  # $…$ inline math
    re.compile(r"<!--.*?-->", re.S),  # HTML comment
    re.compile(r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)"),  # a link's target: [text](url "title")
    re.compile(r"<(?:https?://|[A-Za-z/!])[^>\n]*>"),  # <autolink> or an HTML tag
    re.compile(r"\b(?:https?|ftp)://[^\s)>\]]+|\bwww\.[^\s)>\]]+"),  # a bare URL
    re.compile(r"^ {0,3}#{1,6}[ \t]+\d+(?:\.\d+)*\.?", re.M),  # "## 4.1" section number
]
# A quote span: *source: …*, **source: …**, _source: …_ or __source: …__. The source is
# 1-60 characters up to the first colon; the span may run over lines of one paragraph.
QUOTE_SPANS = [
    re.compile(rf"(?<![\w{d}\\])(?P<d>{d}{d}?)(?P<source>[^\s{d}:][^{d}:\n]{{0,59}}):\s[^{d}]*?(?<!\s)(?P=d)(?![\w{d}])")
    for d in (r"\*", "_")
]
OWN_RUN = re.compile(r"\b(?:ours?|we|tchlab)\b", re.I)
SOURCE_HEADER = re.compile(r"\b(?:lecture|paper|literature)", re.I)
LECTURE_SETTINGS = re.compile(r"\blecture(?:'s)?\s+settings?\b", re.I)  # our run, not a quote
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")


def text_of(value) -> str:
    """A notebook field that is a string or a list of strings."""
    return "".join(value) if isinstance(value, list) else str(value or "")


def blank(text: str, start: int, end: int) -> str:
    """`text` with [start, end) replaced by spaces (line breaks kept, positions unchanged)."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def mask_skipped(source: str) -> str:
    """Blank code, math, URLs, heading numbers and quote spans of a markdown cell."""
    for pattern in SKIPPED:
        for m in reversed(list(pattern.finditer(source))):
            source = blank(source, m.start(), m.end())
    for pattern in QUOTE_SPANS:
        for m in reversed(list(pattern.finditer(source))):
            if "\n\n" not in m.group(0) and not OWN_RUN.search(m.group("source")):
                source = blank(source, m.start(), m.end())
    return mask_quote_columns(source)


def cell_spans(line: str, offset: int) -> list[tuple[int, int]]:
    """The (start, end) positions of a table row's cells, split at unescaped pipes."""
    bars = [m.start() for m in re.finditer(r"(?<!\\)\|", line)]
    if not line.lstrip().startswith("|"):
        bars.insert(0, -1)
    if not line.rstrip().endswith("|"):
        bars.append(len(line))
    return [(offset + a + 1, offset + b) for a, b in zip(bars, bars[1:])]


def is_quote_header(header: str) -> bool:
    return bool(SOURCE_HEADER.search(LECTURE_SETTINGS.sub("", header))) and not OWN_RUN.search(header)


def mask_quote_columns(source: str) -> str:
    """Blank the cells of quote columns (header names lecture / paper / literature)."""
    lines = source.split("\n")
    starts = [sum(len(l) + 1 for l in lines[:i]) for i in range(len(lines))]
    i = 0
    while i + 1 < len(lines):
        if "|" not in lines[i] or not TABLE_RULE.match(lines[i + 1]):
            i += 1
            continue
        header = cell_spans(lines[i], starts[i])
        quoted = [k for k, (a, b) in enumerate(header) if is_quote_header(source[a:b])]
        row = i
        while row < len(lines) and "|" in lines[row] and lines[row].strip():
            spans = cell_spans(lines[row], starts[row])
            for k in quoted:
                if k < len(spans):
                    source = blank(source, *spans[k])
            row += 1
        i = row
    return source


def canonical(m: re.Match) -> tuple[str, int]:
    """A number token as (digits without separators, power of ten): 1.5·10⁻³ -> ("1.5", -3)."""
    exp = (m.group("exp") or "").translate(SUPERSCRIPT).replace("−", "-")
    power = int(re.sub(r"^.*?(?:[eE]|10)(?=[-+]?[0-9]+$)", "", exp)) if exp else 0
    return m.group("mant").replace(",", ""), power


def is_checked(masked: str, m: re.Match) -> bool:
    """Whether a number token of the prose is checked: a decimal, an exponent, a percentage."""
    if REFERENCE_BEFORE.search(masked[max(0, m.start() - 12) : m.start()]):
        return False
    rest = masked[m.end() :]
    return bool("." in m.group("mant") or m.group("exp") or PERCENT_AFTER.match(rest) or RANGE_TO_PERCENT.match(rest))


def prose_numbers(source: str):
    """Yield (match, token) for every checked number of a markdown cell."""
    masked = mask_skipped(source)
    for m in NUMBER.finditer(masked):
        if is_checked(masked, m):
            yield m, canonical(m)


def strip_html(text: str) -> str:
    text = re.sub(r"<(style|script)\b.*?</\1\s*>", " ", text, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]*>", " ", text))


def printed(nb: dict) -> tuple[set[tuple[str, int]], list[Decimal], bool]:
    """(tokens printed, result values, whether any code cell has an output) of a notebook."""
    texts, values, any_output = [], [], False
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            any_output = True
            data = out.get("data", {})
            texts += [text_of(out.get("text")), text_of(data.get("text/plain")), strip_html(text_of(data.get("text/html")))]
            results = data.get(RESULTS_MIME) or {}
            results = json.loads(results) if isinstance(results, str) else results
            raw = [str(v) for v in results.values()] if isinstance(results, dict) else []
            raw += [v for _, v in RESULT_LINE.findall(text_of(out.get("text")))]
            for v in raw:
                try:
                    if Decimal(v).is_finite():
                        values.append(abs(Decimal(v)))
                except InvalidOperation:
                    pass
    tokens = {canonical(m) for m in NUMBER.finditer("\n".join(texts))}
    return tokens, values, any_output


def rounds_to(value: Decimal, token: tuple[str, int]) -> bool:
    """Whether `value`, rounded like the token (decimals, power of ten), gives the token."""
    mant, power = token
    step = Decimal(1).scaleb(-len(mant.partition(".")[2]))
    try:
        return any(format(value.scaleb(-power).quantize(step, rounding=r), "f") == mant for r in (ROUND_HALF_UP, ROUND_HALF_EVEN))
    except InvalidOperation:  # too many digits for the context
        return False


def context(source: str, start: int, end: int, width: int = 50) -> str:
    """About 100 characters of the paragraph around [start, end), on one line."""
    before, after = source.rfind("\n\n", 0, start), source.find("\n\n", end)
    first, last = (0 if before < 0 else before + 2), (len(source) if after < 0 else after)
    a, b = max(first, start - width), min(last, end + width)
    return ("…" if a > first else "") + " ".join(source[a:b].split()) + ("…" if b < last else "")


def check_notebook(nb: dict) -> list[str]:
    """The problems of one notebook: each checked prose number that no output prints."""
    tokens, values, any_output = printed(nb)
    if not any_output:
        return ["not published: no code cell has any output"]
    problems = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        source = text_of(cell.get("source"))
        for m, token in prose_numbers(source):
            if token in tokens or any(rounds_to(v, token) for v in values):
                continue
            problems.append(f'cell {index}: "{m.group(0).strip()}" is printed by no output of this notebook: {context(source, m.start(), m.end())}')
    return problems


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    failed = False
    for path in map(Path, paths):
        try:
            problems = check_notebook(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:
            problems = [f"cannot read: {e}"]
        print(f"{'FAILED' if problems else 'ok'} {path.name}")
        for p in problems:
            print(f"  - {p}")
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
