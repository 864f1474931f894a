"""Why adding a key to a multi-key command scores lower than the default mode (issue #23's add-one analysis).

`texcite eval --add-one` ranks each key of a multi-key command with the command's other keys kept; the default mode
empties the whole command and counts the best-ranked of all its keys. The two differ in two ways: the number of
targets (one key against the best of several) and the context (the other keys kept as anchors, or none). This
script separates them, for every key of every multi-key command of the projects given, through the engine's own
pipeline (`texcite eval`'s settings, the project's adaptation included):

- **add-one**: the other keys kept, this key the only target (what `--add-one` reports);
- **single**: the command emptied, this key the only target (the same target, the default's context);
- **best of all**: the command emptied, the best of its keys (what the default mode reports for these commands).

add-one against single is the effect of the kept keys; single against best of all is the effect of counting one
target instead of the best of several.

    python bench/add_one.py ../shared/eval/dev [--out bench/results/add-one.md]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from dataclasses import dataclass

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))

from texcite.evaluation.examples import Example, ExampleSources  # noqa: E402
from texcite.evaluation.metrics import best_rank  # noqa: E402
from texcite.evaluation.projects import find_projects  # noqa: E402
from texcite.evaluation.run import (  # noqa: E402
    evaluation_engine, every_entry_ranked, project_examples, project_name)
from texcite.engine import Engine  # noqa: E402
from texcite.settings import Settings  # noqa: E402

WAYS = ("add-one", "single", "best of all")


@dataclass
class Key:
    """One key of a multi-key command and its rank each way."""

    project: str
    keys: int  # how many keys its command cites
    ranks: dict[str, int]


def rank(engine: Engine, read: ExampleSources, ex: Example, targets: tuple[str, ...]) -> int:
    read.show(ex)
    result = engine.suggest(ex.path, ex.text, ex.offset)
    return best_rank([s.entry.key for s in result.suggestions] if result is not None else [], targets)


def measure(paths: list[str]) -> list[Key]:
    engine, read = evaluation_engine(every_entry_ranked(Settings()))
    out: list[Key] = []
    try:
        for path in paths:
            for folder, root in find_projects(os.path.abspath(path)).projects:
                name = project_name(folder)
                _, adding = project_examples(engine, read, folder, root, None, "add-one", name)
                _, whole = project_examples(engine, read, folder, root, None, "default", name)
                emptied = {(ex.path, ex.line, key): ex for ex in whole if len(ex.keys) > 1 for key in ex.keys}
                for ex in adding:
                    key = ex.keys[0]
                    full = emptied.get((ex.path, ex.line, key))
                    if full is None:  # its command is not among the default mode's examples
                        continue
                    out.append(Key(name, len(full.keys), {
                        "add-one": rank(engine, read, ex, (key,)), "single": rank(engine, read, full, (key,)),
                        "best of all": rank(engine, read, full, full.keys)}))
                read.show(None)
                print(f"{name}: {sum(k.project == name for k in out)} keys", file=sys.stderr)
    finally:
        engine.close(wait=True)
    return out


def figures(ranks: list[int]) -> str:
    n = len(ranks)
    r1 = sum(r == 1 for r in ranks) / n
    r10 = sum(0 < r <= 10 for r in ranks) / n
    mrr = sum(1.0 / r for r in ranks if r) / n
    return f"{r1:.3f} | {r10:.3f} | {mrr:.3f}"


def report(keys: list[Key], paths: list[str]) -> str:
    lines = ["# Adding a key to a multi-key command (`texcite eval --add-one`), analysed", "",
             f"`python bench/add_one.py {' '.join(paths)}`: {len(keys)} keys of multi-key commands, each ranked "
             "three ways (see the script's docstring): with the command's other keys kept (add-one), with the "
             "command emptied and this key the only target (single), and with the command emptied counting the "
             "best of all its keys (best of all, what the default mode reports).", "",
             "| way | R@1 | R@10 | MRR |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {way} | {figures([k.ranks[way] for k in keys])} |" for way in WAYS]
    better = sum(1 for k in keys if k.ranks["add-one"] and (not k.ranks["single"]
                                                             or k.ranks["add-one"] < k.ranks["single"]))
    worse = sum(1 for k in keys if k.ranks["single"] and (not k.ranks["add-one"]
                                                           or k.ranks["add-one"] > k.ranks["single"]))
    lines += ["", f"The kept keys rank the added key higher for {better} keys and lower for {worse} "
              f"(the rest tie).", "", "By the command's number of keys (MRR):", "",
              "| keys in the command | keys | add-one | single | best of all |", "| ---: | ---: | ---: | ---: | ---: |"]
    by_size: dict[int, list[Key]] = collections.defaultdict(list)
    for k in keys:
        by_size[min(k.keys, 5)].append(k)
    for size in sorted(by_size):
        group = by_size[size]
        mrrs = [figures([k.ranks[way] for k in group]).rsplit("| ", 1)[1] for way in WAYS]
        lines.append(f"| {size if size < 5 else '5 or more'} | {len(group)} | " + " | ".join(mrrs) + " |")
    lines += ["", "By project (MRR):", "", "| project | keys | add-one | single | best of all |",
              "| --- | ---: | ---: | ---: | ---: |"]
    by_project: dict[str, list[Key]] = collections.defaultdict(list)
    for k in keys:
        by_project[k.project].append(k)
    for name, group in by_project.items():
        mrrs = [figures([k.ranks[way] for k in group]).rsplit("| ", 1)[1] for way in WAYS]
        lines.append(f"| {name} | {len(group)} | " + " | ".join(mrrs) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="LaTeX projects, or folders of them")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "add-one.md"))
    args = parser.parse_args()
    keys = measure(args.paths)
    if not keys:
        sys.exit("no multi-key command found")
    text = report(keys, args.paths)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
