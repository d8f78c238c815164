"""Mutation harness: for each guard in catalogue.toml, copy the repository to a temporary directory,
replace the exact text that implements the guard with its guard-disabling version, run the tests
named for it with PYTHONPATH at the copy, and report whether they failed (killed) or not (survived).

    python -m tests.mutations                 # every runnable entry
    python -m tests.mutations --only NAME     # one entry (repeatable)
    python -m tests.mutations --list          # the catalogue
    python -m tests.mutations --all           # also the entries marked run = false

Never edits the working tree. Exit status 0 only when every entry run was killed (and, unless
--no-baseline, the named tests pass on the unmutated copy).

Result per entry:
  killed    the named tests failed, and the output contains the entry's `expect` text (if given):
            they failed for the guard's reason
  survived  the named tests passed with the guard switched off
  wrong     the tests failed, but without the `expect` text (e.g. another error): not proof
  stale     the entry's `find` text is not in the file exactly once (the code changed: update it)
  error     pytest could not run the tests (exit status other than 0 or 1: bad node id, crash)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = Path(__file__).with_name("catalogue.toml")
IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "var", "target", "logs", "__pycache__", ".pytest_cache",
                                ".ruff_cache", "node_modules", "dbt_packages")


@dataclass
class Mutation:
    name: str
    guard: str
    file: str
    find: str
    replace: str
    tests: list[str]
    expect: str = ""
    run: bool = True
    note: str = ""
    timeout: int = 900
    result: str = ""
    seconds: float = 0.0
    detail: str = field(default="", repr=False)


def load_catalogue(path: Path = CATALOGUE) -> list[Mutation]:
    entries = tomllib.loads(path.read_text())["mutation"]
    mutations = [Mutation(**entry) for entry in entries]
    names = [m.name for m in mutations]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SystemExit(f"duplicate mutation names in {path}: {sorted(duplicates)}")
    return mutations


def copy_repo(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=IGNORE, symlinks=True)
    return target


def apply(mutation: Mutation, root: Path) -> str | None:
    """Replace the entry's text in the copy; None when done, else why not (stale entry)."""
    path = root / mutation.file
    if not path.exists():
        return f"{mutation.file} does not exist"
    text = path.read_text()
    count = text.count(mutation.find)
    if count != 1:
        return f"find text occurs {count} times in {mutation.file} (must be exactly once)"
    path.write_text(text.replace(mutation.find, mutation.replace))
    return None


def pytest(root: Path, tests: list[str], timeout: int) -> tuple[int, str, float]:
    """Run the tests of the copy at `root` with its own code first on the import path."""
    env = {k: v for k, v in os.environ.items() if k not in ("ECOMLYTICS_PROJECT_DIR", "ECOMLYTICS_HOME",
                                                            "ECOMLYTICS_WAREHOUSE", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(root)
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    start = time.monotonic()
    try:
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout + done.stderr, time.monotonic() - start
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return -1, out + f"\ntimeout after {timeout} s", time.monotonic() - start


def run_one(mutation: Mutation, keep: bool = False) -> Mutation:
    work = Path(tempfile.mkdtemp(prefix=f"mutation-{mutation.name}-"))
    try:
        root = copy_repo(REPO, work / "repo")
        stale = apply(mutation, root)
        if stale:
            mutation.result, mutation.detail = "stale", stale
            return mutation
        code, output, mutation.seconds = pytest(root, mutation.tests, mutation.timeout)
        mutation.detail = output
        if code == 0:
            mutation.result = "survived"
        elif code == 1:
            mutation.result = "killed" if re.search(mutation.expect, output) else "wrong"
        else:
            mutation.result = "error"
        return mutation
    finally:
        if keep:
            print(f"  kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def salient(output: str, limit: int = 40) -> list[str]:
    """The lines of a test run that say what failed (dbt FAIL / ERROR lines, assertions, summary)."""
    marks = re.compile(r" FAIL \d| ERROR |Error|^E |^FAILED|^ERROR|differ|passed|failed|stale|times in")
    lines = [line for line in output.splitlines() if marks.search(line)]
    return lines[-limit:] or output.splitlines()[-limit:]


def baseline(mutations: list[Mutation]) -> tuple[bool, float, str]:
    """The named tests (all entries' together, once) pass on an unmutated copy."""
    tests = sorted({t for m in mutations for t in m.tests})
    work = Path(tempfile.mkdtemp(prefix="mutation-baseline-"))
    try:
        root = copy_repo(REPO, work / "repo")
        code, output, seconds = pytest(root, tests, 3600)
        return code == 0, seconds, output
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="run this entry (repeatable)")
    parser.add_argument("--all", action="store_true", help="also run entries marked run = false")
    parser.add_argument("--list", action="store_true", help="list the catalogue and exit")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run of the named tests")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copies")
    parser.add_argument("--verbose", action="store_true", help="print the test output of entries not killed")
    args = parser.parse_args(argv)

    mutations = load_catalogue()
    if args.list:
        for m in mutations:
            flag = "" if m.run else "  [run = false: " + m.note + "]"
            print(f"{m.name}: {m.guard}\n    {m.file}; tests: {' '.join(m.tests)}{flag}")
        return 0
    unknown = set(args.only) - {m.name for m in mutations}
    if unknown:
        parser.error(f"no such mutation: {', '.join(sorted(unknown))}")
    chosen = [m for m in mutations if (m.name in args.only if args.only else (m.run or args.all))]

    started = time.monotonic()
    ok = True
    if not args.no_baseline:
        passed, seconds, output = baseline(chosen)
        print(f"baseline (named tests, unmutated): {'pass' if passed else 'FAIL'} in {seconds:.0f} s", flush=True)
        if not passed:
            print(output[-4000:])
            return 2
    for m in chosen:
        run_one(m, keep=args.keep)
        ok &= m.result == "killed"
        print(f"{m.result:8} {m.seconds:6.0f} s  {m.name}  ({m.file})", flush=True)
        if m.result != "killed" and (args.verbose or m.result in ("stale", "error")):
            print("    " + "\n    ".join(salient(m.detail)))
    survivors = [m.name for m in chosen if m.result != "killed"]
    print(f"\n{len(chosen) - len(survivors)} of {len(chosen)} killed"
          f"{'; not killed: ' + ', '.join(survivors) if survivors else ''}; "
          f"{time.monotonic() - started:.0f} s in all")
    skipped = [m for m in mutations if m not in chosen and not m.run]
    for m in skipped:
        print(f"not run: {m.name} ({m.note})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
