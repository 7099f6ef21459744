"""Tests for core.devstack: config loading and a real dev server start/stop."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
import yaml
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus

from core.devstack import DevServer, DevStackConfig, find_temporal_cli, port_open
from tests.core.support import REAL_YML, REPO_ROOT, stop, wait_for
from tests.core.support import free_port as _free_port
from tests.core.support import write_yml as _write_yml

EXPECTED_TYPES = {
    "CaseType": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "DueAt": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "Overdue": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "EscalationLevel": IndexedValueType.INDEXED_VALUE_TYPE_INT,
}


def _flag_values(argv: list[str], flag: str) -> list[str]:
    """Return every value passed after ``flag`` in ``argv``."""
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_load_real_config() -> None:
    cfg = DevStackConfig.load(REAL_YML)
    assert cfg.namespace == "cityloop"
    assert cfg.address == "127.0.0.1:7233"
    assert cfg.ui_url == "http://127.0.0.1:8233"
    assert cfg.db_file == REPO_ROOT / "var" / "temporal.db"
    assert cfg.search_attributes["DueAt"] == "Datetime"


def test_command_has_all_flags() -> None:
    cfg = DevStackConfig.load(REAL_YML)
    argv = cfg.command("/bin/temporal")
    assert argv[:3] == ["/bin/temporal", "server", "start-dev"]
    assert _flag_values(argv, "--namespace") == ["cityloop"]
    assert _flag_values(argv, "--port") == ["7233"]
    assert _flag_values(argv, "--ui-port") == ["8233"]
    assert _flag_values(argv, "--log-level") == ["warn"]
    assert _flag_values(argv, "--db-filename") == [str(REPO_ROOT / "var" / "temporal.db")]
    assert _flag_values(argv, "--sqlite-pragma") == ["journal_mode=wal", "synchronous=full"]
    attrs = _flag_values(argv, "--search-attribute")
    assert "CaseStatus=Keyword" in attrs and "EscalationLevel=Int" in attrs
    assert len(attrs) == len(cfg.search_attributes)
    # Dynamic config values must be JSON (lower-case true), not Python reprs.
    assert "frontend.enableUpdateWorkflowExecution=true" in _flag_values(
        argv, "--dynamic-config-value"
    )
    # The Web UI decodes payloads through cityloop's codec endpoint (docs/codec.md).
    assert _flag_values(argv, "--ui-codec-endpoint") == ["http://127.0.0.1:8000/codec"]


def test_codec_endpoint_is_optional(tmp_path: Path) -> None:
    data = yaml.safe_load(REAL_YML.read_text(encoding="utf-8"))
    del data["ui_codec_endpoint"]
    path = tmp_path / "temporal-dev.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert "--ui-codec-endpoint" not in DevStackConfig.load(path).command("/bin/temporal")
    with pytest.raises(ValueError, match="'ui_codec_endpoint' must be str"):
        DevStackConfig.load(_write_yml(tmp_path, ui_codec_endpoint=8000))


def test_db_file_relative_to_root(tmp_path: Path) -> None:
    cfg = DevStackConfig.load(REAL_YML, root=tmp_path)
    assert cfg.db_file == tmp_path.resolve() / "var" / "temporal.db"


@pytest.mark.parametrize(
    ("overrides", "drop", "key"),
    [
        ({}, "port", "port"),
        ({"port": "seven"}, None, "port"),
        ({"ui_port": 70000}, None, "ui_port"),
        ({"uiport": 8233}, None, "uiport"),
        ({"search_attributes": {"CaseType": "String"}}, None, "search_attributes.CaseType"),
        ({"sqlite_pragmas": "wal"}, None, "sqlite_pragmas"),
    ],
)
def test_bad_key_raises(
    tmp_path: Path, overrides: dict[str, object], drop: str | None, key: str
) -> None:
    path = _write_yml(tmp_path, **overrides)
    if drop:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        del data[drop]
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ValueError, match=key):
        DevStackConfig.load(path)


def test_find_temporal_cli() -> None:
    assert Path(find_temporal_cli()).name.startswith("temporal")


def test_start_refuses_busy_port(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = int(sock.getsockname()[1])
        path = _write_yml(tmp_path, port=busy, ui_port=_free_port(), db_file="var/t.db")
        server = DevServer(DevStackConfig.load(path))
        with pytest.raises(RuntimeError, match="already listening"):
            server.start()
    server.stop()  # idempotent even though nothing was started


async def _search_attribute_types(client: Client, namespace: str) -> dict[str, int]:
    """Return the namespace's custom search attributes, name to indexed type."""
    resp = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(resp.custom_attributes)


@pytest.mark.asyncio
async def test_dev_server_start_stop_persists(tmp_path: Path) -> None:
    path = _write_yml(
        tmp_path,
        namespace="cityloop-test",
        port=_free_port(),
        ui_port=_free_port(),
        db_file="var/temporal.db",
    )
    cfg = DevStackConfig.load(path)
    server = DevServer(cfg)

    with server:
        assert port_open(cfg.ip, cfg.port)
        client = await Client.connect(cfg.address, namespace=cfg.namespace)
        types = await _search_attribute_types(client, cfg.namespace)
        assert set(cfg.search_attributes) <= set(types)
        for name, expected in EXPECTED_TYPES.items():
            assert types[name] == expected
        # No worker runs, so the workflow just sits there: proof data survives a restart.
        await client.start_workflow("NoSuchWorkflow", id="persist-probe", task_queue="nobody")

    assert cfg.db_file.is_file()
    assert (cfg.db_file.parent / "temporal.log").is_file()
    assert not port_open(cfg.ip, cfg.port)
    server.stop()  # second stop is a no-op

    with DevServer(cfg):
        client = await Client.connect(cfg.address, namespace=cfg.namespace)
        desc = await client.get_workflow_handle("persist-probe").describe()
        assert desc.status == WorkflowExecutionStatus.RUNNING
        assert set(cfg.search_attributes) <= set(
            await _search_attribute_types(client, cfg.namespace)
        )


def test_start_stops_a_leftover_server_on_the_same_database(tmp_path: Path) -> None:
    """A server an owner left behind (no lifeline: an older `cityloop run`, another OS)."""
    path = _write_yml(tmp_path, port=_free_port(), ui_port=_free_port(), db_file="var/t.db")
    cfg = DevStackConfig.load(path)
    cfg.db_file.parent.mkdir(parents=True)
    leftover = subprocess.Popen(
        cfg.command(find_temporal_cli()),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        (cfg.db_file.with_suffix(".pid")).write_text(f"{leftover.pid}\n")
        wait_for(lambda: port_open(cfg.ip, cfg.port), "the leftover server's port")
        with DevServer(cfg) as server:
            assert leftover.poll() is not None  # stopped (and reaped) before ours started
            assert server.pid is not None and server.pid != leftover.pid
            assert (cfg.db_file.with_suffix(".pid")).read_text().strip() == str(server.pid)
        assert not (cfg.db_file.with_suffix(".pid")).exists()
    finally:
        stop(leftover)


def test_a_pid_file_naming_another_program_is_left_alone(tmp_path: Path) -> None:
    path = _write_yml(tmp_path, port=_free_port(), ui_port=_free_port(), db_file="var/t.db")
    cfg = DevStackConfig.load(path)
    cfg.db_file.parent.mkdir(parents=True)
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        (cfg.db_file.with_suffix(".pid")).write_text(f"{bystander.pid}\n")
        with DevServer(cfg):
            assert bystander.poll() is None
    finally:
        stop(bystander)
