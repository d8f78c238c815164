"""One Superset served by `ecomlytics serve` over a freshly built embedded warehouse, for every test module.

The app runs as its own process (as a user runs it) and holds the chDB warehouse, so every
expectation comes from the input files (pandas), never from reading the warehouse. Tests that
change the served data are marked ``changes_served_data`` and run last (conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
USERS, DAYS, END = 3000, 240, "2018-01-26"  # pinned: 2017-06-01 .. 2018-01-26, as the tests' periods expect


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """`ecomlytics serve` in its own process, on a warehouse built by `ecomlytics run --no-serve`."""

    def __init__(self, home: Path, password: str) -> None:
        self.home, self.admin_password = home, password
        self.env = {**os.environ, "ECOMLYTICS_HOME": str(home), "ECOMLYTICS_WAREHOUSE": f"chdb://{home / 'warehouse'}",
                    "ECOMLYTICS_ADMIN_PASSWORD": password}
        self.data = home / "data" / f"sample-u{USERS}-d{DAYS}-e{END}-s42"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        (home / "inbox").mkdir(exist_ok=True)  # the serving process refreshes from here every minute

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """An `ecomlytics` command with this instance's settings (embedded: only while stopped)."""
        return subprocess.run([sys.executable, "-m", "ecomlytics.cli", *args], env=self.env, capture_output=True,
                              text=True)

    def start(self) -> None:
        log = open(self.home / "serve.log", "a")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ecomlytics.cli", "serve", "--port", str(self.port), "--refresh-every", "1",
             "--inbox", str(self.home / "inbox")], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("serve exited:\n" + (self.home / "serve.log").read_text()[-3000:])
            try:
                if requests.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(1)
        raise RuntimeError("serve did not come up:\n" + (self.home / "serve.log").read_text()[-3000:])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None

    def users(self) -> dict[str, str]:
        return json.loads((self.home / "superset" / "users.json").read_text())

    def session(self, username: str, password: str | None = None) -> requests.Session:
        session = requests.Session()
        response = session.post(f"{self.base}/api/v1/security/login", json={
            "username": username, "password": password or self.users()[username], "provider": "db"})
        response.raise_for_status()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        csrf = session.get(f"{self.base}/api/v1/security/csrf_token/").json()["result"]
        session.headers["X-CSRFToken"] = csrf
        session.headers["Referer"] = self.base
        return session

    def admin(self) -> requests.Session:
        return self.session("admin", self.admin_password)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    instance = Served(tmp_path_factory.mktemp("superset-home"), "admin-test-password")
    built = instance.cli("run", "--no-serve", "--users", str(USERS), "--days", str(DAYS), "--end", END)
    assert built.returncode == 0, built.stderr[-3000:]
    instance.start()
    yield instance
    instance.stop()
    artifacts = REPO / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    shutil.copy(instance.home / "serve.log", artifacts / "serve.log")  # for a look after CI


def charts(session: requests.Session, base: str) -> dict[str, int]:
    result = session.get(f"{base}/api/v1/chart/?q=(page_size:500)").json()["result"]
    return {c["slice_name"]: c["id"] for c in result}


def chart_data(session: requests.Session, base: str, chart_id: int) -> list[dict]:
    response = session.get(f"{base}/api/v1/chart/{chart_id}/data/")
    assert response.status_code == 200, response.text[:500]
    return response.json()["result"][0]["data"]


def dataset_id(session: requests.Session, base: str, table: str) -> int:
    query = f"(filters:!((col:table_name,opr:eq,value:{table})))"
    return session.get(f"{base}/api/v1/dataset/?q={query}").json()["result"][0]["id"]
