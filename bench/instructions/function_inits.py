#!/usr/bin/env python3
"""Per-cycle function and operator set-ups of a workload, from two runs of bench/instructions/function_inits.c
(n and 2n cycles): by PL/pgSQL function, by function set up, and by PL/pgSQL statement (function:line,
the line counted from the function body's first line, the one `$$` opens).

Usage: function_inits.py COUNTS_N COUNTS_2N N NAMES [TOP]
  COUNTS_*  the module's output files ("function line callee count" per line)
  NAMES     "oid|regprocedure" per line (pg_proc of the measured database)
"""
import collections
import sys


def load(path):
    counts = collections.Counter()
    with open(path) as f:
        for line in f:
            function, lineno, callee, count = map(int, line.split())
            counts[(function, lineno, callee)] += count
    return counts


def main():
    first, second, n, names_path = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    top = int(sys.argv[5]) if len(sys.argv) > 5 else 25
    names = {}
    with open(names_path) as f:
        for line in f:
            oid, name = line.rstrip("\n").split("|", 1)
            names[int(oid)] = name.split("(")[0]
    name = lambda oid: names.get(oid, "(outside PL/pgSQL)" if oid == 0 else str(oid))
    per_cycle = {k: (second[k] - first[k]) / n for k in set(first) | set(second) if second[k] != first[k]}
    by_function, by_callee, by_line = collections.Counter(), collections.Counter(), collections.Counter()
    for (function, lineno, callee), v in per_cycle.items():
        by_function[function] += v
        by_callee[callee] += v
        by_line[(function, lineno)] += v
    print(f"function and operator set-ups per cycle: {sum(per_cycle.values()):.0f}")
    for title, counter, label in (
        ("by PL/pgSQL function", by_function, lambda k: name(k)),
        ("by function set up", by_callee, lambda k: name(k)),
        ("by PL/pgSQL statement", by_line, lambda k: f"{name(k[0])}:{k[1]}"),
    ):
        print(f"  {title}:")
        for key, v in counter.most_common(top):
            print(f"    {v:8.1f}  {label(key)}")


if __name__ == "__main__":
    main()
