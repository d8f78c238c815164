"""Loaders on the real embedded engine: formats, row rules, quarantine, identity, atomicity."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from loaders.formats import kind_from_name
from loaders.ingest import load_files
from tests.conftest import REPO_ROOT

VISITS_HEADER = "Uid,Device,Start Ts,End Ts,Source Id,os,country,region,city"
GOOD_VISITS = [
    "18446744073709551615,touch,2017-06-01 10:00:00,2017-06-01 10:01:00,4,iOS,Russia,Moscow,Moscow",
    "16879256277535980062,desktop,2017-06-02 11:00:00,2017-06-02 11:20:30,3,Windows,Belarus,Minsk Region,Minsk",
]


def write(path: Path, lines: list[str], *, newline: str = "\n", bom: bool = False, compress: bool = False) -> Path:
    data = (("\ufeff" if bom else "") + newline.join(lines) + newline).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def rows(client, sql: str) -> list[tuple]:
    return client.query(sql).result_rows


def load_one(client, path: Path, kind: str | None = None):
    (result,) = load_files(client, [path], kind=kind, quiet=True)
    return result


def test_every_column_arrives_and_20_digit_uids_survive(client, tmp_path: Path) -> None:
    result = load_one(client, write(tmp_path / "visits_log.csv", [VISITS_HEADER, *GOOD_VISITS]))
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("loaded", 2, 2, 0)
    got = rows(client, "SELECT uid, device, start_ts, end_ts, source_id, os, country, region, city "
                       "FROM raw.visits ORDER BY start_ts")
    assert got == [
        (18446744073709551615, "touch", datetime(2017, 6, 1, 10), datetime(2017, 6, 1, 10, 1), 4, "iOS", "Russia",
         "Moscow", "Moscow"),
        (16879256277535980062, "desktop", datetime(2017, 6, 2, 11), datetime(2017, 6, 2, 11, 20, 30), 3, "Windows",
         "Belarus", "Minsk Region", "Minsk"),
    ]


@pytest.mark.parametrize(
    ("header", "delimiter", "newline", "bom", "compress", "suffix"),
    [
        ("Uid,Device,Start Ts,End Ts,Source Id", ",", "\n", False, False, ".csv"),
        ("uid;device;start_ts;end_ts;source_id", ";", "\r\n", True, False, ".csv"),
        ("UID,DEVICE,START-TS,END-TS,SOURCE-ID", ",", "\r\n", False, True, ".csv.gz"),
        ("Source Id,End Ts,Uid,Device,Start Ts", ",", "\n", True, False, ".csv"),
    ],
)
def test_csv_variants_and_header_aliases(client, tmp_path, header, delimiter, newline, bom, compress, suffix) -> None:
    values = {"uid": "12345678901234567890", "device": "touch", "startts": "2017-06-01 10:00:00",
              "endts": "2017-06-01 10:05:00", "sourceid": "7"}
    keys = [h.lower().replace(" ", "").replace("-", "").replace("_", "") for h in header.split(delimiter)]
    line = delimiter.join(values[k] for k in keys)
    path = write(tmp_path / f"visits_log{suffix}", [header, line], newline=newline, bom=bom, compress=compress)
    result = load_one(client, path)
    assert result.status == "loaded", result.error
    assert rows(client, "SELECT uid, device, start_ts, end_ts, source_id, os FROM raw.visits") == [
        (12345678901234567890, "touch", datetime(2017, 6, 1, 10), datetime(2017, 6, 1, 10, 5), 7, "")]


def test_parquet_input(client, tmp_path: Path) -> None:
    frame = pd.DataFrame({"Uid": pd.array([18446744073709551615, 42], dtype="UInt64"),
                          "Buy Ts": ["2017-06-01 10:00:00", "2017-06-02 12:30:00"],
                          "Revenue": ["4.50", "10.01"], "order_id": ["a-1", "a-2"]})
    frame.to_parquet(tmp_path / "orders_log.parquet")
    result = load_one(client, tmp_path / "orders_log.parquet")
    assert (result.status, result.rows_loaded) == ("loaded", 2), result.error
    assert rows(client, "SELECT order_id, uid, buy_ts, revenue FROM raw.orders ORDER BY order_id") == [
        ("a-1", 18446744073709551615, datetime(2017, 6, 1, 10), Decimal("4.50")),
        ("a-2", 42, datetime(2017, 6, 2, 12, 30), Decimal("10.01")),
    ]


def test_timestamp_formats(client, tmp_path: Path) -> None:
    path = write(tmp_path / "orders_log.csv", [
        "Uid,Buy Ts,Revenue,order_id",
        "1,2017-06-01 10:00:00,1.00,o1",
        "2,2017-06-01T10:00:00,2.00,o2",
        "3,01.06.2017 10:00,3.00,o3",
    ])
    assert load_one(client, path).rows_loaded == 3
    assert {r[0] for r in rows(client, "SELECT buy_ts FROM raw.orders")} == {datetime(2017, 6, 1, 10)}


def test_events_are_checked_against_the_event_types_seed(client, tmp_path: Path, monkeypatch) -> None:
    """The loader accepts exactly the events of the dbt project's seeds/event_types.csv: every event the
    seed lists, one added to it, and nothing else (quarantined with the reason)."""
    seed = pd.read_csv(REPO_ROOT / "seeds" / "event_types.csv")
    project = tmp_path / "project"
    (project / "seeds").mkdir(parents=True)
    pd.concat([seed, pd.DataFrame([{"event": "wishlist_add", "event_order": len(seed) + 1}])]).to_csv(
        project / "seeds" / "event_types.csv", index=False)
    monkeypatch.setenv("ECOMLYTICS_PROJECT_DIR", str(project))
    events = [f"1,2017-06-01 10:00:{i:02d},{event}" for i, event in enumerate(seed.event)]
    result = load_one(client, write(tmp_path / "events.csv", [
        "uid,ts,event", *events, "1,2017-06-01 10:01:00,wishlist_add", "1,2017-06-01 10:02:00,teleport"]))
    assert (result.rows_loaded, result.rows_quarantined) == (len(seed) + 1, 1)
    assert rows(client, "SELECT event FROM raw.events ORDER BY ts") == [(e,) for e in [*seed.event, "wishlist_add"]]
    quarantined = rows(client, "SELECT line_number, reason FROM raw.quarantine")
    assert quarantined == [(len(seed) + 3, "unknown event: teleport")]


def test_events_without_the_event_types_seed_fail_with_a_clear_error(client, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ECOMLYTICS_PROJECT_DIR", str(tmp_path / "elsewhere"))
    result = load_one(client, write(tmp_path / "events.csv", ["uid,ts,event", "1,2017-06-01 10:00:00,search"]))
    assert (result.status, result.rows_loaded) == ("failed", 0)
    assert result.error == (f"no dbt seed {tmp_path / 'elsewhere' / 'seeds' / 'event_types.csv'} "
                            "(set ECOMLYTICS_PROJECT_DIR to the dbt project)")
    assert rows(client, "SELECT count() FROM raw.events") == [(0,)]


def test_each_bad_row_kind_is_quarantined_with_its_reason(client, tmp_path: Path) -> None:
    visits = write(tmp_path / "visits_log.csv", [
        VISITS_HEADER, *GOOD_VISITS,
        "5,touch,2017-06-01 10:05:00,2017-06-01 10:00:00,4,,,,",  # line 4: end before start
        "6,touch,2017-13-45 25:61:00,2017-06-01 10:00:00,4,,,,",  # line 5: bad timestamp
        ",touch,2017-06-01 10:00:00,2017-06-01 10:00:00,4,,,,",  # line 6: missing uid
        "abc,touch,2017-06-01 10:00:00,2017-06-01 10:00:00,4,,,,",  # line 7: bad uid
    ])
    orders = write(tmp_path / "orders_log.csv", ["Uid,Buy Ts,Revenue", "1,2017-06-01 10:00:00,-4.50",
                                                 "2,2017-06-01 10:00:00,4.505", "3,2017-06-01 10:00:00,7.00"])
    costs = write(tmp_path / "costs.csv", ["source_id,dt,costs", "1,2017-06-01,-1.00", "1,2017-06-02,2.00"])
    items = write(tmp_path / "order_items.csv", ["order_id,sku,category,quantity,unit_price",
                                                 "o1,s1,c1,-1,1.00", "o1,s2,c1,1,-2.00", "o1,s3,c1,2,3.00"])
    events = write(tmp_path / "events.csv", ["uid,ts,event", "1,2017-06-01 10:00:00,teleport",
                                             "1,2017-06-01 10:00:00,add_to_cart"])
    results = load_files(client, [visits, orders, costs, items, events], quiet=True)
    assert [(r.rows_read, r.rows_loaded, r.rows_quarantined) for r in results] == [
        (6, 2, 4), (3, 1, 2), (2, 1, 1), (3, 1, 2), (2, 1, 1)]
    reasons = rows(client, "SELECT kind, line_number, reason, raw_line FROM raw.quarantine ORDER BY kind, line_number")
    assert [(k, n, r) for k, n, r, _ in reasons] == [
        ("costs", 2, "negative costs: -1.00"),
        ("events", 2, "unknown event: teleport"),
        ("order_items", 2, "negative quantity: -1"),
        ("order_items", 3, "negative unit_price: -2.00"),
        ("orders", 2, "negative revenue: -4.50"),
        ("orders", 3, "unparsable revenue: 4.505"),
        ("visits", 4, "End Ts earlier than Start Ts"),
        ("visits", 5, "unparsable start_ts: 2017-13-45 25:61:00"),
        ("visits", 6, "missing required value: uid"),
        ("visits", 7, "unparsable uid: abc"),
    ]
    assert reasons[0][3] == "1,2017-06-01,-1.00"
    # The load log counts match the files.
    log = rows(client, "SELECT kind, rows_read, rows_loaded, rows_quarantined, status FROM raw.load_log FINAL "
                       "ORDER BY load_id")
    assert log == [("visits", 6, 2, 4, "loaded"), ("orders", 3, 1, 2, "loaded"), ("costs", 2, 1, 1, "loaded"),
                   ("order_items", 3, 1, 2, "loaded"), ("events", 2, 1, 1, "loaded")]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("visits_log.csv", b"Uid,Device,Start Ts,Source Id\n1,touch,2017-06-01 10:00:00,3\n",
         "missing required column"),
        ("visits_log.csv", b"\x00\x01\x02binary", "not a CSV file"),
        ("visits_log.parquet", b"Uid,Device\n1,touch\n", "not a Parquet file"),
        ("visits_log.csv.gz", b"Uid,Device\n", "not a gzip file"),
        ("visits_log.csv", b"", "empty file"),
    ],
)
def test_file_rejected_whole_with_a_clear_error(client, tmp_path: Path, name, content, reason) -> None:
    (tmp_path / name).write_bytes(content)
    result = load_one(client, tmp_path / name)
    assert result.status == "failed"
    assert reason in result.error
    assert rows(client, "SELECT count() FROM raw.visits") == [(0,)]
    assert rows(client, "SELECT status FROM raw.load_log FINAL") == [("failed",)]


def test_reloading_the_same_content_changes_nothing(client, tmp_path: Path) -> None:
    path = write(tmp_path / "visits_log.csv", [VISITS_HEADER, *GOOD_VISITS])
    assert load_one(client, path).status == "loaded"
    copy = tmp_path / "copy" / "visits_log.csv"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    again = load_one(client, copy)
    assert again.status == "skipped"
    assert rows(client, "SELECT count() FROM raw.visits") == [(2,)]


def test_keyed_inputs_are_replaced_by_later_loads(client, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write(tmp_path / "a" / "costs.csv", ["source_id,dt,costs", "1,2017-06-01,10.00", "2,2017-06-01,5.00"])
    second = write(tmp_path / "b" / "costs.csv", ["source_id,dt,costs", "1,2017-06-01,12.50", "1,2017-06-02,1.00"])
    load_files(client, [first, second], quiet=True)
    assert rows(client, "SELECT source_id, dt, costs FROM raw.costs ORDER BY source_id, dt") == [
        (1, datetime(2017, 6, 1).date(), Decimal("12.50")), (1, datetime(2017, 6, 2).date(), Decimal("1.00")),
        (2, datetime(2017, 6, 1).date(), Decimal("5.00"))]


def test_orders_without_id_get_stable_ids(client, tmp_path: Path) -> None:
    path = write(tmp_path / "orders_log.csv", ["Uid,Buy Ts,Revenue", "1,2017-06-01 10:00:00,1.00",
                                               "1,2017-06-01 10:00:00,1.00"])
    load_one(client, path)
    ids = [r[0] for r in rows(client, "SELECT order_id FROM raw.orders ORDER BY order_id")]
    assert len(set(ids)) == 2  # identical rows are two orders
    import hashlib

    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert ids == [f"h{digest}-2", f"h{digest}-3"]  # content hash + line: the same file gives the same ids


def _kill_load_at(fault: str, path: Path) -> None:
    """Run `ecomlytics load` in a subprocess and SIGKILL it at a fault point."""
    env = {**os.environ, "ECOMLYTICS_FAULT_AT": fault}
    proc = subprocess.Popen([sys.executable, "-m", "ecomlytics.cli", "load", str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if f"fault point reached: {fault}" in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.parametrize(("fault", "kind", "visible_after_kill"), [
    ("staged", "visits", 0),  # killed with every row staged, before the atomic commit
    ("committed", "visits", 4),  # killed after the commit, before the load log says so
    ("staged", "orders", 0),  # a keyed input (rewritten and swapped in)
])
def test_a_killed_load_leaves_nothing_partial_and_can_be_rerun(
        warehouse: str, tmp_path: Path, fault: str, kind: str, visible_after_kill: int) -> None:
    from ecomlytics.warehouse.client import close_all, connect

    if kind == "visits":
        path = write(tmp_path / "visits_log.csv", [VISITS_HEADER, *GOOD_VISITS, *GOOD_VISITS,
                                                   "5,touch,2017-06-01 10:05:00,2017-06-01 10:00:00,4,,,,"])
        table, good = "raw.visits", 4
    else:
        path = write(tmp_path / "orders_log.csv", ["Uid,Buy Ts,Revenue,order_id", "1,2017-06-01 10:00:00,1.00,a",
                                                   "2,2017-06-01 10:00:00,-1.00,b"])
        table, good = "raw.orders", 1
    close_all()  # the loader subprocess must own the embedded warehouse
    _kill_load_at(fault, path)
    client = connect(warehouse)
    assert rows(client, f"SELECT count() FROM {table}") == [(visible_after_kill,)]
    result = load_one(client, path)  # recovers the interrupted load, then loads (or skips) cleanly
    assert result.status == ("skipped" if visible_after_kill else "loaded")
    assert rows(client, f"SELECT count() FROM {table}") == [(good,)]
    assert rows(client, "SELECT count() FROM raw.quarantine") == [(1,)]
    assert rows(client, "SELECT count() FROM system.tables WHERE database = 'raw_stage'") == [(0,)]
    statuses = [r[0] for r in rows(client, "SELECT status FROM raw.load_log FINAL ORDER BY load_id")]
    assert statuses == (["loaded"] if visible_after_kill else ["aborted", "loaded"])


def test_a_load_killed_mid_insert_leaves_nothing(warehouse: str, tmp_path: Path) -> None:
    """Killed while the staging INSERT has read part of the file: nothing visible, the next load
    records the interrupted one as aborted and loads every row exactly once."""
    from ecomlytics.warehouse.client import close_all, connect

    path = tmp_path / "visits_log.csv"
    with open(path, "w") as handle:
        handle.write(VISITS_HEADER + "\n" + (GOOD_VISITS[1] + "\n") * 2_000_000)
    close_all()
    proc = subprocess.Popen([sys.executable, "-m", "ecomlytics.cli", "load", str(path)],
                            env={**os.environ, "ECOMLYTICS_FAULT_AT": "inserting"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    reached = next(line for line in proc.stdout if "fault point reached: inserting" in line)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    read = int(reached.split("(read ")[1].split(" rows")[0])
    assert 0 < read < 2_000_000  # the kill came with the file partly read
    client = connect(warehouse)
    assert rows(client, "SELECT count() FROM raw.visits") == [(0,)]
    result = load_one(client, path)
    assert result.status == "loaded"
    assert rows(client, "SELECT count() FROM raw.visits") == [(2_000_000,)]
    assert rows(client, "SELECT count() FROM system.tables WHERE database = 'raw_stage'") == [(0,)]
    statuses = [r[0] for r in rows(client, "SELECT status FROM raw.load_log FINAL ORDER BY load_id")]
    assert statuses == ["aborted", "loaded"]


@pytest.mark.parametrize(("name", "kind"), [
    ("orders_log.csv", "orders"),
    ("orders_log_2018-05-31.csv", "orders"),
    ("Orders-2018-05-31.CSV.GZ", "orders"),
    ("orders.parquet", "orders"),
    ("order_items_2018-05-31.csv", "order_items"),
    ("orders_items.csv", "order_items"),  # `orders` is a prefix: the longest stem wins
    ("VISITS_LOG.csv", "visits"),
    ("visits_2018-05-31.csv.gz", "visits"),
    ("costs_may.csv", "costs"),
    ("customers.csv", "customers"),
    ("events-1.parquet", "events"),
    ("refunds_2018-06.csv", "refunds"),
    ("fx_rates.csv.gz", "fx_rates"),
    ("products.parquet", "products"),
    ("ordersheet.csv", None),  # a stem followed by a letter is another word
    ("orders_log.csv.bak", None),
    ("orders_log.json", None),
    ("notes.csv", None),
])
def test_inputs_are_recognised_by_name_pattern(name: str, kind: str | None) -> None:
    assert kind_from_name(Path(name)) == kind


def _cli_load(*args: str) -> subprocess.CompletedProcess:
    """`ecomlytics load ...` in a subprocess (it opens the embedded warehouse of $ECOMLYTICS_WAREHOUSE)."""
    return subprocess.run([sys.executable, "-m", "ecomlytics.cli", "load", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, timeout=120)


def test_load_dir_accounts_for_every_file(warehouse: str, tmp_path: Path) -> None:
    from ecomlytics.warehouse.client import close_all, connect

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    orders = "Uid,Buy Ts,Revenue,order_id"
    # Daily files: the 31st corrects order A, so the result shows they loaded in name order.
    write(inbox / "orders_log_2018-05-31.csv", [orders, "1,2018-05-31 09:00:00,2.00,A", "2,2018-05-31 10:00:00,3.00,B"])
    write(inbox / "orders_log_2018-05-30.csv", [orders, "1,2018-05-30 09:00:00,1.00,A"])
    write(inbox / "visits_log.csv", [VISITS_HEADER, *GOOD_VISITS])
    write(inbox / "notes.txt", ["not an input"])
    (inbox / "archive").mkdir()  # directories are not files of the inbox
    earlier = write(tmp_path / "visits_log.csv", [VISITS_HEADER, *GOOD_VISITS])  # same content, loaded before
    assert load_one(connect(warehouse), earlier).status == "loaded"
    close_all()  # the CLI subprocess must own the embedded warehouse

    first = _cli_load("--dir", str(inbox))
    assert first.returncode == 1, first.stderr
    lines = [line.split()[:2] for line in first.stderr.splitlines() if line.split()]
    assert lines == [["skipped", "visits_log.csv"], ["loaded", "orders_log_2018-05-30.csv"],
                     ["loaded", "orders_log_2018-05-31.csv"], ["unknown", "notes.txt:"],
                     ["2", "loaded,"]], first.stderr
    assert "notes.txt: not recognised as an input (names: visits_log*, orders_log*, costs*" in first.stderr
    assert first.stderr.splitlines()[-1] == "2 loaded, 1 skipped, 0 failed, 1 unknown"

    again = _cli_load("--dir", str(inbox), "--ignore-unknown")
    assert again.returncode == 0, again.stderr
    assert "0 loaded, 3 skipped, 0 failed, 1 unknown" in again.stderr

    client = connect(warehouse)
    assert rows(client, "SELECT order_id, revenue FROM raw.orders ORDER BY order_id") == [
        ("A", Decimal("2.00")), ("B", Decimal("3.00"))]
    assert rows(client, "SELECT count() FROM raw.visits") == [(2,)]
    assert rows(client, "SELECT file_name, status FROM raw.load_log FINAL ORDER BY load_id") == [
        (str(earlier), "loaded"), (str(inbox / "orders_log_2018-05-30.csv"), "loaded"),
        (str(inbox / "orders_log_2018-05-31.csv"), "loaded")]


def test_a_failed_file_in_the_directory_fails_the_command(warehouse: str, tmp_path: Path) -> None:
    write(tmp_path / "costs.csv", ["source_id,dt", "1,2017-06-01"])  # no costs column
    result = _cli_load("--dir", str(tmp_path), "--ignore-unknown")
    assert result.returncode == 1
    assert "missing required column(s) costs" in result.stderr


def test_loaded_inbox_files_move_to_the_archive(client, tmp_path: Path) -> None:
    from loaders.inbox import archive_done

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox / "costs_2017-06-01.csv", ["source_id,dt,costs", "1,2017-06-01,10.00"])
    write(inbox / "costs_2017-06-02.csv", ["source_id,dt", "1,2017-06-02"])  # rejected: stays
    write(inbox / "readme.md", ["# not an input"])  # unknown: stays
    (inbox / "archive").mkdir()
    write(inbox / "archive" / "costs_2017-06-01.csv", ["source_id,dt,costs"])  # an older file of that name
    results = load_files(client, [], directory=inbox, quiet=True)
    assert [(r.file.name, r.status) for r in results] == [
        ("costs_2017-06-01.csv", "loaded"), ("costs_2017-06-02.csv", "failed"), ("readme.md", "unknown")]
    moved = archive_done(inbox, results)
    assert moved == [inbox / "archive" / f"{results[0].load_id}-costs_2017-06-01.csv"]
    assert sorted(p.name for p in inbox.iterdir()) == ["archive", "costs_2017-06-02.csv", "readme.md"]
    assert moved[0].read_text() == "source_id,dt,costs\n1,2017-06-01,10.00\n"


def load_as(client, path: Path, kind: str, streamed: bool):
    """Load through chDB's file() (embedded) or the server path (lines streamed from this machine)."""
    from loaders.ingest import Loader

    loader = Loader(client)
    loader.prepare()
    loader.embedded = not streamed  # streamed: as with an http(s) warehouse
    return loader.load(path, kind)


def quarantined(client) -> list[tuple[int, str, str]]:
    return rows(client, "SELECT line_number, reason, raw_line FROM raw.quarantine ORDER BY line_number")


both_paths = pytest.mark.parametrize("streamed", [False, True], ids=["file", "streamed"])


@pytest.mark.parametrize("compress", [False, True])
def test_server_streaming_path_gives_the_same_rows_and_quarantine(client, tmp_path: Path, compress: bool) -> None:
    """The path used against a ClickHouse server (file streamed from this machine), run on chDB."""
    end_before_start = "5,touch,2017-06-01 10:05:00,2017-06-01 10:00:00,4,,,,"
    bad_uid = "x,touch,2017-06-01 10:00:00,2017-06-01 10:00:00,4,,,,"
    lines = [VISITS_HEADER, *GOOD_VISITS, end_before_start, bad_uid, GOOD_VISITS[0].replace("2017-06-01", "2017-06-03")]
    path = write(tmp_path / f"visits_log.csv{'.gz' if compress else ''}", lines, compress=compress)
    result = load_as(client, path, "visits", streamed=True)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("loaded", 5, 3, 2)
    assert rows(client, "SELECT line_number, reason FROM raw.quarantine ORDER BY line_number") == [
        (4, "End Ts earlier than Start Ts"), (5, "unparsable uid: x")]
    assert rows(client, "SELECT uid FROM raw.visits ORDER BY start_ts") == [
        (18446744073709551615,), (16879256277535980062,), (18446744073709551615,)]


# Strict rows: each malformed case on its own, every line accounted for (read = loaded + quarantined).
SHORT_HEADER = "Uid,Device,Start Ts,End Ts,Source Id,os"  # 6 fields


def visit(uid: int, device: str = "touch", os_name: str = "iOS", source: str = "4") -> str:
    return f"{uid},{device},2017-06-01 10:00:00,2017-06-01 10:01:00,{source},{os_name}"


@both_paths
def test_a_row_with_more_fields_than_the_header_is_quarantined(client, tmp_path: Path, streamed: bool) -> None:
    shifted = "5,touch,2017-06-01 10:00:00,2017-06-01 10:01:00,3,iOS,extra"  # one field too many
    # An empty line is no row, but line numbers stay those of the file.
    path = write(tmp_path / "visits_log.csv", [SHORT_HEADER, visit(1), shifted, "", visit(2), visit(3) + ",,"])
    result = load_as(client, path, "visits", streamed)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("loaded", 4, 2, 2)
    assert quarantined(client) == [(3, "7 fields, header has 6", shifted),
                                   (6, "8 fields, header has 6", visit(3) + ",,")]
    assert rows(client, "SELECT uid, source_id, os FROM raw.visits ORDER BY uid") == [(1, 4, "iOS"), (2, 4, "iOS")]


@both_paths
def test_invalid_utf8_and_nul_bytes_are_quarantined(client, tmp_path: Path, streamed: bool) -> None:
    lines = [f"{SHORT_HEADER},note".encode(), visit(1).encode() + b",",
             visit(2, device="tou\xffch").encode("latin-1") + b",",  # line 3: invalid UTF-8 in a text field
             visit(3, os_name="i\x00OS").encode() + b",",  # line 4: NUL byte
             b"\xff" + visit(4).encode() + b",",  # line 5: invalid UTF-8 in a number
             visit(5).encode() + b",caf\xe9",  # line 6: a column the contract does not read may hold anything
             visit(6, device="caf\u00e9").encode() + b","]  # valid UTF-8 beyond ASCII loads
    path = tmp_path / "visits_log.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = load_as(client, path, "visits", streamed)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("loaded", 6, 3, 3)
    assert quarantined(client) == [
        (3, "invalid UTF-8 in device", visit(2, device="tou\ufffdch") + ","),  # kept readable: U+FFFD
        (4, "NUL byte in os", visit(3, os_name="i\x00OS") + ","),
        (5, "invalid UTF-8 in uid", "\ufffd" + visit(4) + ","),
    ]
    assert rows(client, "SELECT uid, device FROM raw.visits ORDER BY uid") == [
        (1, "touch"), (5, "touch"), (6, "caf\u00e9")]


def test_a_header_naming_a_column_twice_rejects_the_file(client, tmp_path: Path) -> None:
    path = write(tmp_path / "visits_log.csv", [SHORT_HEADER + ",UID", visit(1) + ",2"])
    result = load_one(client, path)
    assert (result.status, result.error) == ("failed", "header names column 'UID' twice (fields 1 and 7, as 'Uid')")
    assert rows(client, "SELECT count() FROM raw.visits") == [(0,)]
    assert rows(client, "SELECT status, error FROM raw.load_log FINAL") == [("failed", result.error)]


def _damaged_gzip(how: str) -> bytes:
    import random

    rng = random.Random(7)  # random uids: the compressed data is long enough to damage past the header
    data = bytearray(gzip.compress("\n".join([SHORT_HEADER, *(visit(rng.getrandbits(63)) for _ in range(20_000))])
                                   .encode() + b"\n"))
    if how == "truncated":
        return bytes(data[: len(data) // 2])
    if how == "no trailer":
        return bytes(data[:-8])  # every row there, but CRC and length missing
    data[len(data) // 2: len(data) // 2 + 16] = bytes(16)
    return bytes(data)


@both_paths
@pytest.mark.parametrize("how", ["truncated", "no trailer", "corrupt"])
def test_a_damaged_gzip_loads_nothing_with_a_clear_error(client, tmp_path: Path, how: str, streamed: bool) -> None:
    path = tmp_path / "visits_log.csv.gz"
    path.write_bytes(_damaged_gzip(how))
    result = load_as(client, path, "visits", streamed)
    assert (result.status, result.error) == ("failed", "compressed file is truncated or corrupt: visits_log.csv.gz")
    assert rows(client, "SELECT count() FROM raw.visits") == [(0,)]
    assert rows(client, "SELECT count() FROM raw.quarantine") == [(0,)]
    assert rows(client, "SELECT count() FROM system.tables WHERE database = 'raw_stage'") == [(0,)]


@both_paths
def test_an_unterminated_quote_is_quarantined_and_the_next_lines_load(client, tmp_path: Path, streamed: bool) -> None:
    opened = '2,"touch,2017-06-01 10:00:00,2017-06-01 10:01:00,4,iOS'  # the quote never closes
    quoted = '3,"desk""top, x",2017-06-01 10:00:00,2017-06-01 10:01:00,4," Mac OS "'  # well-formed quoting
    path = write(tmp_path / "visits_log.csv", [SHORT_HEADER, visit(1), opened, visit(4), quoted, visit(5)],
                 newline="\r\n")
    result = load_as(client, path, "visits", streamed)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("loaded", 5, 4, 1)
    assert quarantined(client) == [(3, "unterminated quote opened on line 3", opened)]
    assert rows(client, "SELECT uid, device, os FROM raw.visits ORDER BY uid") == [
        (1, "touch", "iOS"), (3, 'desk"top, x', "Mac OS"), (4, "touch", "iOS"), (5, "touch", "iOS")]


@both_paths
def test_decimal_commas_are_read_in_semicolon_files_only(client, tmp_path: Path, streamed: bool) -> None:
    (tmp_path / "a").mkdir()
    semicolons = write(tmp_path / "a" / "orders_log.csv", [
        "Uid;Buy Ts;Revenue;order_id", "1;2017-06-01 10:00:00;4,50;a", "2;2017-06-01 10:00:00;10.25;b",
        "3;2017-06-01 10:00:00;1.234,50;c", "4;2017-06-01 10:00:00;\"7,5\";d"])
    commas = write(tmp_path / "orders_log.csv", [
        "Uid,Buy Ts,Revenue,order_id", '5,2017-06-01 10:00:00,"4,50",e', "6,2017-06-01 10:00:00,4.50,f"])
    results = [load_as(client, path, "orders", streamed) for path in (semicolons, commas)]
    assert [(r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) for r in results] == [
        ("loaded", 4, 3, 1), ("loaded", 2, 1, 1)]
    assert rows(client, "SELECT order_id, revenue FROM raw.orders ORDER BY order_id") == [
        ("a", Decimal("4.50")), ("b", Decimal("10.25")), ("d", Decimal("7.50")), ("f", Decimal("4.50"))]
    assert rows(client, "SELECT file_name, line_number, reason FROM raw.quarantine ORDER BY file_name") == [
        (str(semicolons), 4, "unparsable revenue: 1.234,50"), (str(commas), 2, "unparsable revenue: 4,50")]


@both_paths
@pytest.mark.parametrize("lines", [
    ['"3","desk,top","2017-06-01 10:00:00","2017-06-01 10:01:00","4",""'],  # quote-all, delimiter inside
    ['3,"desk,top",2017-06-01 10:00:00,2017-06-01 10:01:00,4,'],  # quoted where needed
    ['3,"desk,top", "2017-06-01 10:00:00" ,2017-06-01 10:01:00,"4",""'],  # spaces around quotes
], ids=["quote-all", "minimal", "spaced"])
def test_quoting_styles_give_the_same_values(client, tmp_path: Path, lines: list[str], streamed: bool) -> None:
    escaped = '7,"say ""hi""",2017-06-01 10:00:00,2017-06-01 10:01:00,"4","a;b"'  # "" inside quotes is one "
    strings = '8,"touch",2017-06-01 10:00:00,2017-06-01 10:01:00,4,"iOS"'  # only text quoted
    path = write(tmp_path / "visits_log.csv", [SHORT_HEADER, *lines, escaped, strings])
    result = load_as(client, path, "visits", streamed)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("loaded", 3, 3, 0)
    assert rows(client, "SELECT uid, device, start_ts, source_id, os FROM raw.visits ORDER BY uid") == [
        (3, "desk,top", datetime(2017, 6, 1, 10), 4, ""), (7, 'say "hi"', datetime(2017, 6, 1, 10), 4, "a;b"),
        (8, "touch", datetime(2017, 6, 1, 10), 4, "iOS")]


def test_the_serving_inbox_follows_the_same_rules(warehouse: str, tmp_path: Path, monkeypatch, capsys) -> None:
    """serve --refresh-every --inbox --archive-loaded: one scheduled refresh (dbt stubbed out)."""
    import ecomlytics.dbt.runner
    from ecomlytics.bi.serve import refresh_once
    from ecomlytics.warehouse.client import connect

    builds = []
    monkeypatch.setattr(ecomlytics.dbt.runner, "run_dbt", lambda command, **_: builds.append(command) or True)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    orders = "Uid,Buy Ts,Revenue,order_id"
    write(inbox / "orders_log_2018-05-30.csv", [orders, "1,2018-05-30 09:00:00,1.00,A"])
    write(inbox / "orders_log_2018-05-31.csv", [orders, "1,2018-05-31 09:00:00,2.00,A", "2,2018-05-31 10:00:00,x,B"])
    write(inbox / "orders.xlsx", ["not an input"])
    refresh_once(inbox, archive_loaded=True)
    log = capsys.readouterr().err
    assert "unknown  orders.xlsx: not recognised as an input" in log
    assert "scheduled refresh, inbox: 2 loaded, 0 skipped, 0 failed, 1 unknown" in log
    assert builds == ["build"]
    assert sorted(p.name for p in inbox.rglob("*") if p.is_file()) == [
        "orders.xlsx", "orders_log_2018-05-30.csv", "orders_log_2018-05-31.csv"]
    assert sorted(p.name for p in (inbox / "archive").iterdir()) == [
        "orders_log_2018-05-30.csv", "orders_log_2018-05-31.csv"]
    client = connect(warehouse)
    assert rows(client, "SELECT order_id, revenue FROM raw.orders") == [("A", Decimal("2.00"))]
    assert rows(client, "SELECT line_number, reason FROM raw.quarantine") == [(3, "unparsable revenue: x")]


# ---- money inputs (contract section 1): refunds, fx rates, products, optional order / visit columns ----
ORDERS_MONEY_HEADER = "Uid,Buy Ts,Revenue,order_id,status,currency,discount,coupon,shipping,tax,sales_channel"


def test_money_inputs_load_normalised_and_bad_rows_are_quarantined_with_their_reason(client, tmp_path: Path) -> None:
    orders = write(tmp_path / "orders_log.csv", [
        ORDERS_MONEY_HEADER,
        "1,2017-06-01 10:00:00,10.00,o1,Cancelled,eur,1.00,SPRING,0.50,1.60,Pickup",
        "1,2017-06-01 11:00:00,12.00,o2,,,,,,,",
        "1,2017-06-01 12:00:00,10.00,o3,lost,,,,,,",  # line 4: unknown status
        "1,2017-06-01 12:00:00,10.00,o4,,US$,,,,,",  # line 5: unparsable currency
        "1,2017-06-01 12:00:00,10.00,o5,,,-1.00,,,,",  # line 6: negative discount
        "1,2017-06-01 12:00:00,10.00,o6,,,,,-0.50,,",  # line 7: negative shipping
        "1,2017-06-01 12:00:00,10.00,o7,,,,,,-2.00,",  # line 8: negative tax
    ])
    refunds = write(tmp_path / "refunds.csv", [
        "refund_id,order_id,refund_ts,amount,reason",
        "r1,o1,2017-06-02 10:00:00,1.00,broken",
        "r2,,2017-06-02 10:00:00,1.00,",  # line 3: refund without order_id
        "r3,o2,2017-06-02 10:00:00,-1.00,",  # line 4: negative amount
        "r4,o2,yesterday,1.00,",  # line 5: unparsable refund_ts
    ])
    fx = write(tmp_path / "fx_rates.csv", ["date,currency,rate", "2017-06-01,eur,1.081234", "2017-06-01,GBP,0",
                                           "2017-06-01,JPY,-0.1", "2017-06-01,EURO,1.1", "2017-06-02,EUR,1.0812345"])
    products = write(tmp_path / "products.csv", ["sku,product_name,category,brand,unit_cost", "s1,A,Cinema,B,1.20",
                                                 "s2,,,,", "s3,,,,-1"])
    visits = write(tmp_path / "visits_log.csv", [VISITS_HEADER + ",campaign", GOOD_VISITS[0] + ",summer"])
    results = load_files(client, [orders, refunds, fx, products, visits], quiet=True)
    assert [(r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) for r in results] == [
        ("loaded", 7, 2, 5), ("loaded", 4, 1, 3), ("loaded", 5, 1, 4), ("loaded", 3, 2, 1), ("loaded", 1, 1, 0)]
    assert rows(client, "SELECT kind, line_number, reason FROM raw.quarantine ORDER BY kind, line_number") == [
        ("fx_rates", 3, "non-positive rate: 0"),
        ("fx_rates", 4, "non-positive rate: -0.1"),
        ("fx_rates", 5, "unparsable currency: EURO"),
        ("fx_rates", 6, "unparsable rate: 1.0812345"),
        ("orders", 4, "unknown status: lost"),
        ("orders", 5, "unparsable currency: US$"),
        ("orders", 6, "negative discount: -1.00"),
        ("orders", 7, "negative shipping: -0.50"),
        ("orders", 8, "negative tax: -2.00"),
        ("products", 4, "negative unit_cost: -1"),
        ("refunds", 3, "missing required value: order_id"),
        ("refunds", 4, "negative amount: -1.00"),
        ("refunds", 5, "unparsable refund_ts: yesterday"),
    ]
    assert rows(client, "SELECT order_id, status, currency, discount, coupon, shipping, tax, sales_channel "
                        "FROM raw.orders ORDER BY order_id") == [
        ("o1", "cancelled", "EUR", Decimal("1.00"), "SPRING", Decimal("0.50"), Decimal("1.60"), "pickup"),
        ("o2", "", "", Decimal("0"), "", Decimal("0"), Decimal("0"), "")]
    assert rows(client, "SELECT refund_id, order_id, refund_ts, amount, reason FROM raw.refunds") == [
        ("r1", "o1", datetime(2017, 6, 2, 10), Decimal("1.00"), "broken")]
    assert rows(client, "SELECT date, currency, rate FROM raw.fx_rates") == [
        (datetime(2017, 6, 1).date(), "EUR", Decimal("1.081234"))]
    assert rows(client, "SELECT sku, product_name, category, brand, unit_cost FROM raw.products ORDER BY sku") == [
        ("s1", "A", "Cinema", "B", Decimal("1.20")), ("s2", "", "", "", None)]
    assert rows(client, "SELECT campaign FROM raw.visits") == [("summer",)]


def test_money_inputs_are_keyed_and_refunds_without_id_get_stable_ids(client, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = [
        write(tmp_path / "a" / "refunds.csv", ["refund_id,order_id,refund_ts,amount", "r1,o1,2017-06-02 10:00:00,1.00",
                                               ",o1,2017-06-03 10:00:00,2.00", ",o1,2017-06-03 10:00:00,2.00"]),
        write(tmp_path / "a" / "fx_rates.csv", ["date,currency,rate", "2017-06-01,EUR,1.08", "2017-06-02,EUR,1.09"]),
        write(tmp_path / "a" / "products.csv", ["sku,unit_cost", "s1,1.00", "s2,2.00"]),
    ]
    second = [
        write(tmp_path / "b" / "refunds.csv",
              ["refund_id,order_id,refund_ts,amount", "r1,o1,2017-06-02 10:00:00,1.50"]),
        write(tmp_path / "b" / "fx_rates.csv", ["date,currency,rate", "2017-06-02,EUR,1.10", "2017-06-02,GBP,1.30"]),
        write(tmp_path / "b" / "products.csv", ["sku,unit_cost", "s2,2.50", "s2,2.75"]),  # the last row of a key wins
    ]
    load_files(client, first + second, quiet=True)
    import hashlib

    digest = hashlib.sha256(first[0].read_bytes()).hexdigest()[:16]
    assert rows(client, "SELECT refund_id, amount FROM raw.refunds ORDER BY refund_id") == [
        (f"h{digest}-3", Decimal("2.00")), (f"h{digest}-4", Decimal("2.00")), ("r1", Decimal("1.50"))]
    assert rows(client, "SELECT toString(date), currency, rate FROM raw.fx_rates ORDER BY currency, date") == [
        ("2017-06-01", "EUR", Decimal("1.08")), ("2017-06-02", "EUR", Decimal("1.10")),
        ("2017-06-02", "GBP", Decimal("1.30"))]
    assert rows(client, "SELECT sku, unit_cost FROM raw.products ORDER BY sku") == [
        ("s1", Decimal("1.00")), ("s2", Decimal("2.75"))]
    # The same content again adds nothing.
    assert [r.status for r in load_files(client, first, quiet=True)] == ["skipped"] * 3


def test_raw_tables_of_an_older_warehouse_get_the_new_columns(client, tmp_path: Path) -> None:
    from loaders.schema import RAW_DB

    client.command(f"CREATE DATABASE {RAW_DB}")
    # raw.visits and raw.orders as an earlier release created them (before the optional money columns).
    lc = "LowCardinality(String)"
    client.command(f"CREATE TABLE {RAW_DB}.visits (uid UInt64, device {lc}, start_ts DateTime('UTC'), "
                   f"end_ts DateTime('UTC'), source_id UInt32, os {lc}, country {lc}, region {lc}, city {lc}, "
                   "load_id UInt64) ENGINE = MergeTree PARTITION BY load_id ORDER BY (uid, start_ts)")
    client.command(f"CREATE TABLE {RAW_DB}.orders (order_id String, uid UInt64, buy_ts DateTime('UTC'), "
                   "revenue Decimal(18, 2), country LowCardinality(String), region LowCardinality(String), "
                   "city LowCardinality(String), load_id UInt64) ENGINE = MergeTree ORDER BY (order_id)")
    client.command(f"INSERT INTO {RAW_DB}.orders VALUES ('o0', 1, '2017-06-01 09:00:00', 3.00, '', '', '', 1)")
    visits = write(tmp_path / "visits_log.csv", [VISITS_HEADER + ",campaign", GOOD_VISITS[0] + ",summer"])
    orders = write(tmp_path / "orders_log.csv",
                   ["Uid,Buy Ts,Revenue,order_id,currency", "1,2017-06-01 10:00:00,1.00,o1,EUR"])
    assert [r.status for r in load_files(client, [visits, orders], quiet=True)] == ["loaded", "loaded"]
    assert rows(client, "SELECT campaign FROM raw.visits") == [("summer",)]
    assert rows(client, "SELECT order_id, revenue, currency FROM raw.orders ORDER BY order_id") == [
        ("o0", Decimal("3.00"), ""), ("o1", Decimal("1.00"), "EUR")]
    columns = [r[0] for r in rows(client, "SELECT name FROM system.columns WHERE database = 'raw' AND table = 'orders' "
                                          "ORDER BY position")]
    assert columns[-2:] == ["sales_channel", "load_id"]
