"""Regenerate service/api/spec_fields.json (the OpenAPI spec field descriptions) from the
field tables of docs/spec.md. Run from the checkout: python scripts/spec_field_docs.py"""

from pathlib import Path

from service.api.spec_docs import FIELDS_FILE, write_field_docs

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    count = write_field_docs(ROOT / "docs" / "spec.md")
    print(f"{count} field descriptions -> {FIELDS_FILE.relative_to(ROOT)}")
