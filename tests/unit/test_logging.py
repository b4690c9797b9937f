import json
import logging

from services.reporting.celery_app import (
    _bind_correlation_id,
    _carry_correlation_id,
    _unbind_correlation_id,
)
from shared.logging import JsonFormatter, correlation, current_correlation_id


def _record(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "levelno": 20,
                                    "msg": msg, **extra})
    return record


def test_json_log_line_carries_service_correlation_and_extras():
    with correlation("cid-123"):
        line = JsonFormatter("intake").format(_record("unggah %s", args=("selesai",),
                                                      tenant="t1"))
    doc = json.loads(line)
    assert doc["service"] == "intake"
    assert doc["msg"] == "unggah selesai"
    assert doc["correlation_id"] == "cid-123"
    assert doc["tenant"] == "t1"


def test_correlation_is_scoped_to_its_block():
    assert current_correlation_id() is None
    with correlation(None) as made:
        assert current_correlation_id() == made
    assert current_correlation_id() is None


class _Request:
    correlation_id = "from-publisher"


class _Task:
    def __init__(self) -> None:
        self.request = _Request()


def test_celery_tasks_carry_the_publishers_correlation_id():
    headers: dict[str, str] = {}
    with correlation("from-publisher"):
        _carry_correlation_id(headers=headers)
    assert headers == {"correlation_id": "from-publisher"}
    task = _Task()
    with correlation("other"):
        _bind_correlation_id(task=task)
        assert current_correlation_id() == "from-publisher"
        _unbind_correlation_id(task=task)
        assert current_correlation_id() == "other"
