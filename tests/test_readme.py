"""The README as a reader meets it: CI runs its test command, and every measured figure in it
points to the committed output it was read from."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A measured figure: a decimal number (0.1752, 6.5, 1.4), a duration, a size in GB or a percentage.
# Versions (torch 2.13.0, Python 3.11) are facts of the install, not measurements.
FIGURE = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])|\b\d+ min(?:utes?)?\b|\b\d+ s\b|\bGB\b|\d%")
NOT_FIGURES = re.compile(r"\btorch \d+\.\d+\.\d+|\bPython \d+\.\d+|\bCVPR \d+|\d+\.\d+\.\d+")
OUTPUT = re.compile(r"benchmarks/(?:runs|table)/[\w./-]*")


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


def unsourced_figures(text: str, root: Path) -> list[str]:
    """Paragraphs and output blocks with a measured figure but no path to an existing committed
    output (benchmarks/runs/... or benchmarks/table/...) in them or, for an output block, in the
    two blocks before it or the one after (the sentence that introduces or follows it); commands (bash blocks) and tables
    of the layout are not figures; a named path that does not exist is reported too."""
    problems = []
    seen = blocks(text)
    for k, (line, kind, body) in enumerate(seen):
        paths = OUTPUT.findall(body)
        for p in paths:
            if not (root / p.rstrip(".")).exists():
                problems.append(f"README.md:{line}: {p} does not exist")
        if kind == "bash" or body.startswith("|") or not FIGURE.search(NOT_FIGURES.sub("", body)):
            continue
        around = " ".join(seen[j][2] for j in (k - 2, k - 1, k + 1) if 0 <= j < len(seen)) if kind != "prose" else ""
        if not paths and not OUTPUT.search(around):
            problems.append(f"README.md:{line}: {FIGURE.search(NOT_FIGURES.sub('', body)).group(0)!r} with no committed output named: {body[:70]!r}")
    return problems


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in (ROOT / "README.md").read_text()


def test_every_figure_in_the_readme_names_its_committed_output():
    problems = unsourced_figures((ROOT / "README.md").read_text(), ROOT)
    assert not problems, "\n".join(problems)


def test_the_figure_check_catches_a_bare_number_and_a_missing_output(tmp_path):
    (tmp_path / "benchmarks" / "runs" / "x").mkdir(parents=True)
    ok = "The job took 2 min 13 s (benchmarks/runs/x/).\n\n```text\nbest AP 0.1752\n```\n"
    assert unsourced_figures(ok, tmp_path) == []
    assert unsourced_figures("Suite: about 6.5 min here.\n", tmp_path)  # a figure, no output
    assert unsourced_figures("See benchmarks/runs/y/ for 0.17.\n", tmp_path) == ["README.md:1: benchmarks/runs/y/ does not exist"]
    assert unsourced_figures("Python 3.11 and torch 2.13.0.\n\n```bash\nspinenas search trials=32 proxy.noise=0.02\n```\n", tmp_path) == []
