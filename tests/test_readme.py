"""The README and the docs as a reader meets them: CI runs the README's test command, and every
measured figure in README.md, docs/ and benchmarks/RESULTS.md points to the committed output it was
read from."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A measured figure: a decimal number (0.1752, 6.5, 1.4), a duration, a size in GB or a percentage.
# Versions (torch 2.13.0, Python 3.11) are facts of the install, not measurements.
FIGURE = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])|\b\d+ min(?:utes?)?\b|\b\d+ s\b|\bGB\b|\d%")
NOT_FIGURES = re.compile(r"\btorch \d+\.\d+\.\d+|\bPython \d+\.\d+|\bCVPR \d+|\d+\.\d+\.\d+")
OUTPUT = re.compile(r"benchmarks/(?:runs|table)/[\w./-]*|tests/[\w/]*test_\w+\.py")  # a run's output, or the test that computes the figure
CODE = ("bash", "python", "yaml", "toml")  # commands and code: their numbers are settings, not measurements
INLINE_CODE = re.compile(r"`[^`\n]*`")


def bare(body: str) -> str:
    """A block's text without what is not a measured figure: versions and inline code (settings
    such as `proxy.noise=0.02`, defaults such as `trial.gpus=0.25`)."""
    return NOT_FIGURES.sub("", INLINE_CODE.sub("", body))


def blocks(text: str) -> list[tuple[int, str, str]]:
    """(first line, kind, text) of each paragraph and fenced block; kind is the fence's language
    (`bash`, `text`) or `prose`."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("```"):
            kind, start = lines[i][3:].strip() or "text", i
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
            out.append((start + 1, kind, "\n".join(lines[start + 1 : i])))
            i += 1
        elif lines[i].strip():
            start = i
            while i < len(lines) and lines[i].strip() and not lines[i].startswith("```"):
                i += 1
            out.append((start + 1, "prose", "\n".join(lines[start:i])))
        else:
            i += 1
    return out


def sections(text: str) -> list[tuple[int, str]]:
    """(first line, text) of each part of a page between two headings (`#` lines outside fences)."""
    out, start, fenced, lines = [], 0, False, text.splitlines()
    for i, line in enumerate(lines):
        fenced ^= line.startswith("```")
        if not fenced and line.startswith("#") and i > start:
            out.append((start + 1, "\n".join(lines[start:i])))
            start = i
    out.append((start + 1, "\n".join(lines[start:])))
    return out


def unsourced_figures(text: str, root: Path, name: str = "README.md", scope: str = "paragraph") -> list[str]:
    """Paragraphs and output blocks with a measured figure but no path to an existing committed
    output (benchmarks/runs/... or benchmarks/table/...) near them; a named path that does not exist
    is reported too. Commands and code (bash, python, yaml blocks, inline code) and tables of the
    layout are not figures. Near: with
    `scope="paragraph"` (the README), in the paragraph itself or, for an output block, in the two
    blocks before it or the one after (the sentence that introduces or follows it); with
    `scope="section"` (docs, RESULTS: a measured section names its runs once), anywhere in the part of
    the page between its headings."""
    problems = []
    for first, part in sections(text) if scope == "section" else [(1, text)]:
        seen = blocks(part)
        for k, (line, kind, body) in enumerate(seen):
            line += first - 1
            paths = OUTPUT.findall(body)
            for p in paths:
                if not (root / p.rstrip(".")).exists():
                    problems.append(f"{name}:{line}: {p} does not exist")
            if kind in CODE or body.startswith("|") or not FIGURE.search(bare(body)):
                continue
            if scope == "section":
                near = part
            else:
                near = " ".join(seen[j][2] for j in (k - 2, k - 1, k + 1) if 0 <= j < len(seen)) if kind != "prose" else ""
            if not paths and not OUTPUT.search(near):
                problems.append(f"{name}:{line}: {FIGURE.search(bare(body)).group(0)!r} with no committed output named: {body[:70]!r}")
    return problems


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in (ROOT / "README.md").read_text()


def test_every_figure_in_the_readme_names_its_committed_output():
    problems = unsourced_figures((ROOT / "README.md").read_text(), ROOT)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", [*sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")), "benchmarks/RESULTS.md"])
def test_every_figure_in_the_docs_and_results_names_its_committed_output_in_its_section(page):
    problems = unsourced_figures((ROOT / page).read_text(), ROOT, page, scope="section")
    assert not problems, "\n".join(problems)


def test_the_figure_check_catches_a_bare_number_and_a_missing_output(tmp_path):
    (tmp_path / "benchmarks" / "runs" / "x").mkdir(parents=True)
    ok = "The job took 2 min 13 s (benchmarks/runs/x/).\n\n```text\nbest AP 0.1752\n```\n"
    assert unsourced_figures(ok, tmp_path) == []
    assert unsourced_figures("Suite: about 6.5 min here.\n", tmp_path)  # a figure, no output
    assert unsourced_figures("See benchmarks/runs/y/ for 0.17.\n", tmp_path) == ["README.md:1: benchmarks/runs/y/ does not exist"]
    assert unsourced_figures("Python 3.11 and torch 2.13.0.\n\n```bash\nspinenas search trials=32 proxy.noise=0.02\n```\n", tmp_path) == []


def test_a_section_names_its_output_once_and_code_is_not_a_figure(tmp_path):
    (tmp_path / "benchmarks" / "runs" / "x").mkdir(parents=True)
    page = "# A\n\nRan in 3 min (benchmarks/runs/x/).\n\nAP 0.1752 over 3 seeds.\n\n# B\n\nAP 0.1822 here.\n"
    assert unsourced_figures(page, tmp_path, "p.md", scope="section") == ["p.md:9: '0.1822' with no committed output named: 'AP 0.1822 here.'"]
    assert unsourced_figures(page, tmp_path, "p.md") != []  # paragraph by paragraph, the second paragraph of A is bare too
    code = "# C\n\n```python\nlr: float = 0.003\n```\n\nSet `trial.gpus=0.25` for four trials per GPU.\n"
    assert unsourced_figures(code, tmp_path, "p.md", scope="section") == []
