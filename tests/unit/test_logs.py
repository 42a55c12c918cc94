"""Structured logs: one JSON object per line, extra fields kept."""

from __future__ import annotations

import json
import logging

from cineflux.logs import JsonFormatter


def test_json_lines_carry_message_level_and_extra_fields() -> None:
    record = logging.makeLogRecord(
        {
            "name": "cineflux.http",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "%s %s",
            "args": ("GET", "/"),
            "request_id": "abc",
            "status": 200,
        }
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "GET /"
    assert entry["level"] == "info"
    assert entry["request_id"] == "abc" and entry["status"] == 200
