"""The inbox of scheduled refreshes: files that are done with move to ``archive/``.

Moving is optional (``serve --archive-loaded``): loading is idempotent by content, so an inbox
left as it is stays correct, only slower to scan and hash on every refresh.
"""

from __future__ import annotations

from pathlib import Path

from loaders.load_log import LoadResult

ARCHIVE_DIR = "archive"
DONE = ("loaded", "skipped")  # skipped = the same content is already in the warehouse


def archive_done(inbox: Path, results: list[LoadResult]) -> list[Path]:
    """Move the inbox files that were loaded or already loaded to ``inbox/archive/``; their new paths.

    Failed and unrecognised files stay, so the next refresh reports them again. A name already in
    the archive (yesterday's file re-exported with new content) gets the load id as a prefix
    rather than overwriting the archived file.
    """
    target_dir = inbox / ARCHIVE_DIR
    moved = []
    for result in results:
        if result.status not in DONE or result.file.parent.resolve() != inbox.resolve():
            continue
        target_dir.mkdir(exist_ok=True)
        target = target_dir / result.file.name
        if target.exists():
            target = target_dir / f"{result.load_id}-{result.file.name}"
        moved.append(result.file.replace(target))
    return moved
