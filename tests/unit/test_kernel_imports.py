"""The kernel (infra.core) stands on nothing but libraries: no app, and of Django only settings
and signing (import-linter checks the apps; it cannot tell Django's submodules apart)."""

from __future__ import annotations

import ast
from pathlib import Path

import infra.core

KERNEL = Path(infra.core.__file__).parent
ALLOWED_DJANGO = {"django.conf", "django.core.signing", "django.core"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return found


def test_the_kernel_imports_of_django_only_settings_and_signing():
    offending = {
        f"{path.name}: {name}"
        for path in sorted(KERNEL.glob("*.py"))
        for name in _imports(path)
        if name.startswith("django")
        and not any(name == a or name.startswith(a + ".") for a in ALLOWED_DJANGO)
    }
    # "django.core" alone is how `from django.core import signing` reads; anything else from
    # django.core (handlers, management...) shows up as its own name and is refused.
    offending |= {
        f"{path.name}: {name}"
        for path in sorted(KERNEL.glob("*.py"))
        for name in _imports(path)
        if name.startswith("django.core.") and name != "django.core.signing"
    }
    assert not offending, offending


def test_the_kernel_check_would_see_a_view_import(tmp_path: Path):
    module = tmp_path / "bad.py"
    module.write_text("from django.http import HttpResponse\nfrom django.core import signing\n")
    assert "django.http.HttpResponse" in _imports(module)
    assert "django.core.signing" in _imports(module)
