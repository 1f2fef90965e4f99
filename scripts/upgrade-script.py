#!/usr/bin/env python3
"""Assemble an upgrade script: ff_engine--<from>--<to>.sql.

    scripts/upgrade-script.py FROM TO [EXTRA_SQL ...]

Reads sql/releases/ff_engine--FROM.sql (the previous release's install script, kept in the repository),
the new release's install script as pgrx generated it (`cargo pgrx schema` → /tmp/ff_engine--TO.sql,
or the installed one), and sql/upgrades/FROM--TO.schema.sql (the hand-written schema changes, drops of
functions whose signature changed included). Writes sql/ff_engine--FROM--TO.sql:
  1. the schema changes;
  2. every function the new release declares that the old one did not (CREATE FUNCTION), and every
     function whose signature is unchanged but whose definition is not (a new C symbol, say:
     CREATE OR REPLACE FUNCTION);
  3. the EXTRA_SQL files (new extension_sql files, e.g. sql/conditions.sql), then sql/finalize.sql,
     which re-applies ownership, grants, plan settings and comments to every object, old and new.
tests/upgrade.rs checks that the result equals a fresh install.
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
frm, to, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
old = (root / f"sql/releases/ff_engine--{frm}.sql").read_text()
new_path = pathlib.Path(f"/tmp/ff_engine--{to}.sql")
if not new_path.exists():
    new_path = pathlib.Path(f"/usr/share/postgresql/15/extension/ff_engine--{to}.sql")
new = new_path.read_text()
schema = (root / f"sql/upgrades/{frm}--{to}.schema.sql").read_text()

BLOCK = re.compile(r'(-- ff_engine::\S+\n)(CREATE\s+FUNCTION "(\w+)"\((.*?)\)(.*?);\n)', re.S)


def functions(sql):
    out = {}
    for m in BLOCK.finditer(sql):
        args = re.sub(r"/\*.*?\*/|\s+", " ", m.group(4)).strip()
        out[(m.group(3), args)] = (m.group(1), m.group(2))
    return out


old_fns, new_fns = functions(old), functions(new)
parts = [
    f"-- ff_engine {frm} -> {to} (ALTER EXTENSION ff_engine UPDATE TO '{to}'). Assembled by\n"
    f"-- scripts/upgrade-script.py from sql/upgrades/{frm}--{to}.schema.sql, the {to} install script's\n"
    "-- functions, the new extension_sql files and sql/finalize.sql; tests/upgrade.rs compares the result\n"
    f"-- with a fresh {to} install.\n\n",
    schema,
    f"\n-- Functions new in {to}, or with a new definition.\n",
]
for key, (origin, text) in sorted(new_fns.items()):
    if key not in old_fns:
        parts.append(origin + text + "\n")
    elif old_fns[key][1] != text:
        parts.append(origin + re.sub(r"^CREATE\s+FUNCTION", "CREATE OR REPLACE FUNCTION", text) + "\n")
for f in extra:
    parts.append("\n" + (root / f).read_text())
parts.append("\n" + (root / "sql/finalize.sql").read_text())
(root / f"sql/ff_engine--{frm}--{to}.sql").write_text("".join(parts))
print(f"wrote sql/ff_engine--{frm}--{to}.sql")
