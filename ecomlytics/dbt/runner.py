"""Run dbt in-process against the configured warehouse.

In-process on purpose: in embedded mode the chDB engine belongs to this process, and the serving
process runs scheduled refreshes through this same function. dbt's target and logs go to the
state dir so a checkout stays clean.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ecomlytics.settings import state_dir
from ecomlytics.warehouse.client import config

PROJECT_DIR = Path(__file__).resolve().parents[2]
# Commands that run nodes from a parsed manifest; the manifest of the first is reused by later ones
# in the same process (the serving process's scheduled refreshes) while the project is unchanged.
MANIFEST_COMMANDS = {"build", "run", "test", "seed"}
# Commands that build models: with publish (the default) into the shadow of the published databases,
# swapped in when every node passed (ecomlytics/dbt/publish.py).
PUBLISHING_COMMANDS = {"build", "run"}
SELECTION_ARGS = {"--select", "-s", "--exclude", "--selector", "--resource-type", "--exclude-resource-type"}
PROJECT_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/dbt", "analyses")
_manifests: dict[tuple, object] = {}


def project_dir() -> Path:
    """The dbt project: $ECOMLYTICS_PROJECT_DIR or the repository this package runs from."""
    path = Path(os.environ.get("ECOMLYTICS_PROJECT_DIR", PROJECT_DIR))
    if not (path / "dbt_project.yml").exists():
        raise FileNotFoundError(f"no dbt_project.yml in {path} (set ECOMLYTICS_PROJECT_DIR)")
    return path


def dbt_environment(dsn: str | None = None) -> dict[str, str]:
    """Environment for profiles.yml: the target and its connection, from the warehouse DSN."""
    cfg = config(dsn)
    env = {
        "DBT_TARGET_PATH": str(state_dir() / "dbt" / "target"),
        "DBT_LOG_PATH": str(state_dir() / "dbt" / "logs"),
        # dbt.log at info (node results, errors) rather than dbt's debug, which formats and writes every
        # statement and adapter event (~5% of a refresh; the SQL run is in target/run/ anyway).
        # DBT_LOG_LEVEL_FILE=debug brings it back.
        "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE", "info"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if cfg.embedded:
        env |= {"ECOMLYTICS_DBT_TARGET": "embedded", "ECOMLYTICS_CHDB_PATH": str(cfg.path)}
    else:
        env |= {
            "ECOMLYTICS_DBT_TARGET": "server",
            "ECOMLYTICS_CH_HOST": cfg.host,
            "ECOMLYTICS_CH_PORT": str(cfg.port),
            "ECOMLYTICS_CH_USER": cfg.username,
            "ECOMLYTICS_CH_PASSWORD": cfg.password,
            "ECOMLYTICS_CH_SECURE": "true" if cfg.interface == "https" else "false",
        }
    return env


def project_fingerprint(project: Path) -> tuple:
    """Path, size and mtime of every file dbt parses: changes whenever the parsed manifest would."""
    files = []
    for name in PROJECT_SOURCES:
        root = project / name
        for path in sorted(root.rglob("*")) if root.is_dir() else [root] if root.exists() else []:
            if path.is_file():
                stat = path.stat()
                files.append((str(path.relative_to(project)), stat.st_size, stat.st_mtime_ns))
    return tuple(files)


def cached_manifest(project: str, base_args: list[str], fingerprint: tuple | None = None):
    """The parsed manifest for this project, environment and vars: dbt's documented way to skip
    parsing (and writing manifest.json) on repeated in-process invocations; None if parsing fails.
    ``fingerprint``: the project's, when the caller has it already (project_fingerprint)."""
    from dbt.cli.main import dbtRunner

    if fingerprint is None:
        fingerprint = project_fingerprint(Path(project))
    key = (project, fingerprint, tuple(base_args), tuple(sorted(dbt_environment().items())))
    if key not in _manifests:
        with scoped_environ(dbt_environment()):
            result = dbtRunner().invoke(["parse", *base_args, "--quiet"])
        if not result.success:
            return None
        if len(_manifests) >= 2:  # builds (shadow vars) and tests (none) alternate; older states go
            _manifests.pop(next(iter(_manifests)))
            gc.unfreeze()  # the dropped manifest's objects become collectable again
        _manifests[key] = result.result
        # The manifest (hundreds of thousands of objects) lives as long as the process: frozen out of the
        # collector's generations, it is no longer walked by every collection during a build.
        gc.collect()
        gc.freeze()
    return _manifests[key]


@contextmanager
def fewer_collections(young_threshold: int = 50_000) -> Iterator[None]:
    """Python's cyclic garbage collector runs less often during a dbt invocation, then as before.
    dbt allocates a context of ~600 macros per node; at the default threshold (700 allocations) the
    collector ran every few milliseconds. With the manifest frozen (cached_manifest), measured side by
    side in docs/decisions.md."""
    saved = gc.get_threshold()
    gc.set_threshold(young_threshold, *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


@contextmanager
def scoped_environ(values: dict[str, str]) -> Iterator[None]:
    """dbt reads its profile (connection, password) and paths from the environment: set them for one
    in-process invocation and restore what was there before, so nothing stays in os.environ."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _dbt_setup(vars: dict | None = None) -> tuple[str, list[str]]:
    """Bridge and the arguments every invocation shares: (project dir, base args)."""
    from ecomlytics.dbt.chdb_bridge import install_import_hook

    install_import_hook()
    project = str(project_dir())
    base_args = ["--project-dir", project, "--profiles-dir", project]
    if vars:
        base_args += ["--vars", json.dumps(vars)]
    return project, base_args


def parse_project(vars: dict | None = None) -> bool:
    """Parse the dbt project now, so later builds in this process reuse the manifest; True if it parsed."""
    project, base_args = _dbt_setup(build_vars("build", vars, publish=True))
    return cached_manifest(project, base_args) is not None


def build_vars(command: str, vars: dict | None, publish: bool) -> dict | None:
    """The vars of a dbt command: builds that publish send the marts to their shadow (publish.py)."""
    if not publish or command.split()[0] not in PUBLISHING_COMMANDS:
        return vars
    from ecomlytics.dbt.publish import SHADOW_VARS

    return {**SHADOW_VARS, **(vars or {})}


class NodeProgress:
    """dbt's node log folded into one live status line (``--verbose`` shows dbt's own log instead)."""

    def __init__(self, command: str) -> None:
        self.command, self.done, self.failed, self.current = command, 0, 0, ""
        self._status = None

    def __enter__(self) -> NodeProgress:
        from rich.console import Console

        self._status = Console(stderr=True).status(f"dbt {self.command} ...")
        self._status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._status.__exit__(*exc)

    def on_event(self, event) -> None:  # noqa: ANN001 - dbt's EventMsg
        name = event.info.name
        if name == "NodeStart":
            self.current = event.data.node_info.node_name
        elif name == "NodeFinished":
            self.done += 1
            if getattr(event.data.run_result, "status", "") in ("error", "fail", "runtime error"):
                self.failed += 1
        else:
            return
        failed = f", [red]{self.failed} failed[/]" if self.failed else ""
        self._status.update(f"dbt {self.command}: {self.done} nodes done{failed} ({self.current})")


def _kill_after_model(model: str):  # noqa: ANN202 - a dbt callback
    """Crash-test hook (``ECOMLYTICS_FAULT_AT=refresh-after:<model>``, off unless set): the process kills
    itself the moment ``model`` is built, as a power cut or `kill -9` would, mid-refresh."""
    import signal

    def on_event(event) -> None:  # noqa: ANN001 - dbt's EventMsg
        if event.info.name == "NodeFinished" and event.data.node_info.node_name == model:
            print(f"fault point reached: refresh-after:{model}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    return on_event


def run_dbt(
    command: str = "build",
    *,
    full_refresh: bool = False,
    select: str | None = None,
    vars: dict | None = None,
    extra_args: list[str] | None = None,
    verbose: bool = False,
    progress: bool = False,
    publish: bool = True,
) -> bool:
    """Run a dbt command (build, run, test, seed, docs generate ...); True when it succeeded.

    ``build`` and ``run`` build the marts in their shadow and publish them all at once when every node
    passed (``publish=False`` or a ``select``: in place, as a plain ``dbt build``). Quiet by default (dbt prints
    errors and failed tests only; every node's result is in dbt.log); ``progress`` shows a live line of
    nodes done, ``verbose`` dbt's own node log.
    """
    from contextlib import nullcontext

    from dbt.cli.main import dbtRunner

    # A selection builds in place: its models would read unselected parents from the shadow, which holds
    # the previous generation of the marts.
    vars = build_vars(command, vars, publish and not select)
    publishing = vars is not None and "shadow_suffix" in vars
    project, base_args = _dbt_setup(vars)
    args = [*command.split(), *base_args]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    args += extra_args or []
    if not verbose and "--quiet" not in args:
        args.append("--quiet")
    manifest = fingerprint = None
    if command in MANIFEST_COMMANDS:
        fingerprint = project_fingerprint(Path(project))  # one walk of the project's files, for both keys
        manifest = cached_manifest(project, base_args, fingerprint)
    if manifest is not None:
        # manifest.json is the parse's (same project state); dbt would rewrite it after every run
        # (~0.3 s of serialising the whole manifest, after the last node). run_results.json is kept.
        args.append("--no-write-json")
    # A complete build records which project built the views and seeds; a refresh of the same project
    # leaves them as they are (project_state.py).
    complete_build = (publishing and manifest is not None and command.split()[0] == "build"
                      and not SELECTION_ARGS.intersection(extra_args or []))
    static_unchanged = False
    if complete_build:
        from ecomlytics.dbt.project_state import STATIC_NODES_EXCLUDED, project_key, unchanged_since_last_build
        from ecomlytics.warehouse.client import connect

        key = project_key(fingerprint, base_args)
        static_unchanged = not full_refresh and unchanged_since_last_build(connect(), manifest, key)
        if static_unchanged:
            args += STATIC_NODES_EXCLUDED
    tracker = NodeProgress(command) if progress and not verbose else None
    callbacks = [tracker.on_event] if tracker else []
    fault = os.environ.get("ECOMLYTICS_FAULT_AT", "")
    if fault.startswith("refresh-after:"):
        callbacks.append(_kill_after_model(fault.split(":", 1)[1]))
    env = dbt_environment()
    with scoped_environ(env), fewer_collections(), tracker or nullcontext():
        result = dbtRunner(manifest=manifest, callbacks=callbacks).invoke(args)
    if manifest is not None and hasattr(result.result, "write"):
        result.result.write(os.path.join(env["DBT_TARGET_PATH"], "run_results.json"))
    if tracker is not None:
        state = "[green]done[/]" if result.success else "[red]failed[/]"
        from rich.console import Console

        Console(stderr=True).print(f"dbt {command} {state}: {tracker.done} nodes, {tracker.failed} failed "
                                   f"(node log: {state_dir() / 'dbt' / 'logs' / 'dbt.log'})")
    if publishing and result.success:  # dbt's success: every node passed (a failed test fails the run)
        publish_results(result.result.results, full_refresh=full_refresh)
        if complete_build and not static_unchanged:
            from ecomlytics.dbt.project_state import record_build
            from ecomlytics.warehouse.client import connect

            record_build(connect(), key)
    elif full_refresh and result.success and command.split()[0] in PUBLISHING_COMMANDS:  # in place
        from ecomlytics.dbt.publish import drop_shadow_twins
        from ecomlytics.warehouse.client import connect

        drop_shadow_twins(connect(), result.result.results)
    return bool(result.success)


def publish_results(results: list, *, full_refresh: bool) -> None:
    """Swap what a shadow build built into the published databases."""
    from ecomlytics.dbt.publish import built_relations, publish
    from ecomlytics.warehouse.client import connect

    publish(connect(), built_relations(results), refill_shadow=full_refresh)
