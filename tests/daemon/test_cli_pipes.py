"""Every `ltcgw` command piped into a reader that stops early (`| head`) ends quietly (issue 15): no traceback,
nothing on stderr, the status of a pipe-closed program (141, as the shell shows `yes | head`'s)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.workspace.city_system import CitySystem
from gateway.domain.envelope import MessageType
from gateway.entrypoints.cli import main
from gateway.workspace.layout import write_workspace

from .conftest import JINAN, PERIOD, ZIBO

PIPE_CLOSED = 128 + signal.SIGPIPE  # 141


def start(*args: str) -> subprocess.Popen[bytes]:
    """`ltcgw ARGS | READER` through a real pipe whose reader is gone before the command writes anything."""
    reader, writer = os.pipe()
    process = subprocess.Popen([sys.executable, "-m", "gateway.entrypoints.cli", *args], stdout=writer,
                               stderr=subprocess.PIPE)
    os.close(writer)
    os.close(reader)
    return process


def ltcgw_head(*args: str) -> tuple[int, bytes, bytes]:
    """`ltcgw ARGS | head -n 1` through a real pipe: (status, the line read, stderr)."""
    reader, writer = os.pipe()
    process = subprocess.Popen([sys.executable, "-m", "gateway.entrypoints.cli", *args], stdout=writer,
                               stderr=subprocess.PIPE)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        line = pipe.readline()
    _, err = process.communicate(timeout=120)
    return process.returncode, line, err


@pytest.fixture(scope="module")
def exchanged(tmp_path_factory) -> Path:
    """A workspace where 淄博 has sent claims (some left in its drop for `run --once`)."""
    root = tmp_path_factory.mktemp("pipes")
    path = write_workspace(root, [JINAN, ZIBO], retry=["10m", "1h"])
    zibo = CitySystem(ZIBO, root / "keys", root / "drops" / ZIBO)
    for seed in range(6):
        zibo.send(MessageType.A3, JINAN, PERIOD, seed=seed)
    subprocess.run([sys.executable, "-m", "gateway.entrypoints.cli", "run", "-c", str(path), "--once", "--quiet"],
                   check=True, capture_output=True)
    for seed in range(6, 12):
        zibo.send(MessageType.A3, JINAN, PERIOD, seed=seed)
    return path


def test_views_end_quietly_when_the_reader_is_gone(exchanged: Path, capsys) -> None:
    config = str(exchanged)
    commands = [
        ("deadlines", "-c", config, "--json", "--period", PERIOD),
        ("messages", "-c", config, "--json"),
        ("status", "-c", config),
        ("config", "check", "-c", config),
        ("run", "-c", config, "--once"),  # its log goes to the terminal: the run still completes
    ]
    running = [start(*args) for args in commands]  # side by side: each starts a Python of its own
    for args, process in zip(commands, running):
        _, err = process.communicate(timeout=120)
        assert b"Traceback" not in err and b"Broken pipe" not in err, (args, err)
        assert (process.returncode, err) == (PIPE_CLOSED, b""), args
    capsys.readouterr()
    assert main(["messages", "-c", config, "--state", "DELIVERED"]) == 0
    assert capsys.readouterr().out.count("DELIVERED") == 12  # the claims left for that run --once were taken


def test_a_reader_that_stops_after_a_line_ends_a_large_output_quietly(tmp_path: Path) -> None:
    # A sample of 3,000 persons is far more than a pipe holds: the writer is blocked when the reader leaves.
    status, out, err = ltcgw_head("sample", "A3", "--sender", ZIBO, "--receiver", JINAN, "--period", PERIOD,
                                  "--persons", "3000")
    assert out.startswith(b"<?xml") and (status, err) == (PIPE_CLOSED, b"")


def test_a_broken_pipe_elsewhere_is_not_hidden(monkeypatch) -> None:
    from gateway.entrypoints import cli, operations

    def broken(_args) -> int:
        raise BrokenPipeError(32, "Broken pipe (a socket)")

    monkeypatch.setattr(operations, "_cmd_status", broken)
    with pytest.raises(BrokenPipeError):  # stdout is fine: the fault is reported, not swallowed
        cli.main(["status"])
