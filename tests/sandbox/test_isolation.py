"""The product never imports the sandbox: it reaches an emulator only through URLs."""

from __future__ import annotations

import re

from django.conf import settings

PRODUCT = ("dayflow", "integrations", "sync", "webhooks", "audit")
IMPORT = re.compile(r"^\s*(from|import)\s+integrations\.sandbox\b", re.MULTILINE)


def test_no_product_module_imports_the_sandbox():
    base = settings.BASE_DIR
    offenders = [
        str(path.relative_to(base))
        for app in PRODUCT
        for path in (base / app).rglob("*.py")
        if "sandbox" not in path.relative_to(base).parts and IMPORT.search(path.read_text())
    ]

    assert offenders == []
