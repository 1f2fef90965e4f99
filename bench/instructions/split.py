#!/usr/bin/env python3
"""Split a callgrind profile of ff_engine's workload (scripts/instructions.sh) into three figures:

    total  all instructions of the run
    spi    instructions inside the engine's own SQL statements (SPI_execute_plan: PL/pgSQL, which drives
           the workload, uses other SPI entry points, so everything under SPI_execute_plan is ours)
    setup  the part of `spi` that only prepares and tears down a statement, whatever the statement does:
           the plan-cache look-up (GetCachedPlan), ExecutorStart (plan tree and expression set-up,
           relation and index opening, permission checks) and ExecutorEnd

`setup` is the most that not running SQL statements at all could save (writing rows through the table
access method instead): the rows, index entries, WAL and commits stay.

Usage: split.py CALLGRIND_OUT  ->  prints "total spi setup"
"""
import re
import subprocess
import sys

SETUP = {"GetCachedPlan", "ExecutorStart", "ExecutorEnd"}


def blocks(path):
    """{function: (inclusive cost, {callee: cost})} from callgrind_annotate's calling tree."""
    text = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--tree=calling", "--threshold=100", path],
        check=True, capture_output=True, text=True,
    ).stdout
    line_re = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+([*>])\s+(?:\?\?\?|[^:]*):(\S+)")
    out, callees = {}, None
    for line in text.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        cost, kind, name = int(m.group(1).replace(",", "")), m.group(2), m.group(3)
        if kind == "*":
            callees = out.setdefault(name, (cost, {}))[1]
        elif callees is not None:
            callees[name] = callees.get(name, 0) + cost
    return out


def main():
    path = sys.argv[1]
    by_name = blocks(path)
    total = next(int(l.split()[1]) for l in open(path) if l.startswith(("summary:", "totals:")))
    if "SPI_execute_plan" not in by_name:
        sys.exit("split.py: no SPI_execute_plan in the profile")
    spi, spi_callees = by_name["SPI_execute_plan"]
    inner = max(spi_callees, key=spi_callees.get)  # the static _SPI_execute_plan
    setup = sum(c for n, c in by_name[inner][1].items() if n in SETUP)
    print(total, spi, setup)


if __name__ == "__main__":
    main()
