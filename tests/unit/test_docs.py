"""README.md and docs/: every Python module they name exists, and every relative link resolves."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# The repository's own top-level Python packages: a dotted name or a path starting with one of
# these is a claim about this code base (django.conf, botocore.* and the like are not checked).
PACKAGES = sorted(p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").is_file())
_PKG = "|".join(map(re.escape, PACKAGES))
DOTTED = re.compile(rf"(?<![\w./-])(?:{_PKG})(?:\.[A-Za-z_]\w*)+(?![\w/-])")
PY_PATH = re.compile(rf"(?<![\w./-])(?:(?:{_PKG})/[\w/.-]*?\w+\.py|manage\.py)(?![\w/-])")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"(?<!!)\[(?:[^\]\n]|\][^(])*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
MD_NAME = re.compile(r"(?<![\w/.-])((?:\.\./)*[\w./-]*?[\w-]+\.md)\b")
README_MOST_LINES = 250  # issue 23: the README is a newcomer's guide; the manual is docs/


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def _module_file(parts: list[str]) -> Path | None:
    """The file of module `a.b.c` (a.b.c.py or a/b/c/__init__.py), or None."""
    base = ROOT.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


@cache
def _top_level_names(module: Path) -> dict[str, ast.AST]:
    """Names a module defines or imports at its top level (inside if/try blocks too)."""
    names: dict[str, ast.AST] = {}

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names[node.name] = node
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            names[name.id] = node
            elif isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    names[(alias.asname or alias.name).split(".")[0]] = node
            elif isinstance(node, ast.If | ast.Try | ast.With):
                for block in ("body", "orelse", "finalbody"):
                    visit(getattr(node, block, []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(ast.parse(module.read_text(encoding="utf-8")).body)
    return names


def dotted_problem(name: str) -> str | None:
    """Why the dotted name `name` (module, or module and attribute) does not exist, or None."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module = _module_file(parts[:cut])
        if module is None:
            continue
        rest = parts[cut:]
        if not rest:
            return None
        found = _top_level_names(module).get(rest[0])
        if found is None:
            return f"{'.'.join(parts[:cut])} has no {rest[0]}"
        if len(rest) > 1 and isinstance(found, ast.ClassDef):
            members = {
                n.name
                for n in found.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            } | {
                t.id
                for n in found.body
                if isinstance(n, ast.Assign | ast.AnnAssign)
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                if isinstance(t, ast.Name)
            }
            if rest[1] not in members:
                return f"{'.'.join(parts[: cut + 1])} has no {rest[1]}"
        return None
    return f"no module {name}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def named_modules(text: str) -> set[str]:
    return set(DOTTED.findall(text))


def named_paths(text: str) -> set[str]:
    return set(PY_PATH.findall(text))


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    problems = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: …
            continue
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.is_relative_to(root.resolve()):
            problems.append(f"{target}: outside the repository")
        elif not linked.exists():
            problems.append(f"{target}: no file {path}")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            problems.append(f"{target}: no heading #{fragment} in {linked.relative_to(root)}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_python_module_a_page_names_exists(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    problems = sorted(
        f"{name}: {problem}"
        for name in named_modules(text)
        if (problem := dotted_problem(name)) is not None
    )
    problems += sorted(
        f"{path}: no such file" for path in named_paths(text) if not (ROOT / path).is_file()
    )
    assert not problems, f"{_page_id(page)} names what does not exist:\n" + "\n".join(problems)


def missing_pages(page: Path, root: Path = ROOT) -> list[str]:
    """Markdown files a page names (linked or not) that are not in the repository: a name is
    read from the page's folder, then from the repository's root."""
    problems = []
    for name in sorted(set(MD_NAME.findall(page.read_text(encoding="utf-8")))):
        places = [(page.parent / name).resolve(), (root / name).resolve()]
        if not any(p.is_relative_to(root.resolve()) and p.is_file() for p in places):
            problems.append(f"{name}: not in the repository")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_markdown_file_a_page_names_is_in_the_repository(page: Path) -> None:
    problems = missing_pages(page)
    assert not problems, f"{_page_id(page)} names pages it does not have:\n" + "\n".join(problems)


def test_the_readme_stays_a_short_guide() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines < README_MOST_LINES, (
        f"README.md has {lines} lines; keep it under {README_MOST_LINES} and move detail to docs/"
    )


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_relative_link_of_a_page_resolves(page: Path) -> None:
    problems = broken_links(page)
    assert not problems, f"{_page_id(page)} has broken links:\n" + "\n".join(problems)


def test_the_checks_catch_a_missing_module_a_missing_file_and_a_broken_link(
    tmp_path: Path,
) -> None:
    # The same checks on made-up text, so a regex that silently matches nothing fails here.
    text = (
        "See `deployments.repository`, `deployments.no_such_module`, "
        "`infra.core.resources.DEPLOYMENTS`, `infra.core.resources.NO_SUCH_NAME`, "
        "deployments/repository.py and deployments/no_such_file.py, but not django.conf."
    )
    assert named_modules(text) == {
        "deployments.repository",
        "deployments.no_such_module",
        "infra.core.resources.DEPLOYMENTS",
        "infra.core.resources.NO_SUCH_NAME",
    }
    assert dotted_problem("deployments.repository") is None
    assert dotted_problem("infra.core.resources.DEPLOYMENTS") is None
    assert dotted_problem("deployments.no_such_module") == "deployments has no no_such_module"
    assert dotted_problem("infra.core.resources.NO_SUCH_NAME") == (
        "infra.core.resources has no NO_SUCH_NAME"
    )
    assert named_paths(text) == {"deployments/repository.py", "deployments/no_such_file.py"}

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A page\n\n## Its `first` part\n", encoding="utf-8")
    page = docs / "b.md"
    page.write_text(
        "[ok](a.md) [ok](a.md#its-first-part) [gone](missing.md) [bad](a.md#nowhere) "
        "[web](https://example.com) [self](#here) [out](../../outside.md)\n\n# Here\n\n"
        "```\n[in code](nowhere.md)\n```\n\nSee `DESIGN.md` and README.md.\n",
        encoding="utf-8",
    )
    (tmp_path / "README.md").write_text("# Read me\n", encoding="utf-8")
    assert broken_links(page, root=tmp_path) == [
        "missing.md: no file missing.md",
        "a.md#nowhere: no heading #nowhere in docs/a.md",
        "../../outside.md: outside the repository",
    ]
    assert missing_pages(page, root=tmp_path) == [
        "../../outside.md: not in the repository",
        "DESIGN.md: not in the repository",
        "missing.md: not in the repository",
        "nowhere.md: not in the repository",
    ]
