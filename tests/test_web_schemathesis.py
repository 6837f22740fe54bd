"""Property-based tests of the HTTP API from its own OpenAPI spec (schemathesis).

Every operation is called with generated data (valid and invalid) through the ASGI
app with a valid token; no answer may be a server error (5xx). The app is built at
import (schemathesis reads the spec then) over a temporary folder with one batch.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from webapp import SAMPLE, app_with_token, wait_finished, web_settings

from amc.web.runner import BatchRunner

_tmp = Path(tempfile.mkdtemp(prefix="amc-schemathesis-"))
atexit.register(shutil.rmtree, _tmp, ignore_errors=True)
app, TOKEN = app_with_token(web_settings(_tmp, web_max_upload_bytes=256 * 1024))
AUTH = {"Authorization": f"Bearer {TOKEN}"}
schema = schemathesis.openapi.from_asgi("/api/openapi.json", app, headers=AUTH)

pytestmark = pytest.mark.slow
#: (method path, status) of every generated call, checked by the last test
SEEN: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="module", autouse=True)
def one_batch() -> None:
    """A finished batch, so that the batch and paper routes also meet real data."""
    from amc.web.submissions import submit_uploads

    class _File:
        filename = "sample.jsonl"
        file = SAMPLE.open("rb")

    runner: BatchRunner = app.state.runner
    sub = submit_uploads(app.state.store, runner, app.state.settings, [_File()], [])
    wait_finished(app.state.store, sub.batch_id)


@schema.parametrize()
@settings(
    max_examples=25,
    database=None,  # no .hypothesis folder in the checkout
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_every_generated_request_without_a_server_error(
    case: schemathesis.Case,
) -> None:
    response = case.call(headers=AUTH)
    SEEN[(f"{case.method} {case.path}", response.status_code)] += 1
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500, response.text


def test_generated_requests_reached_the_handlers() -> None:
    """Not vacuous: calls carried the token (schemathesis also tries some without it, which
    must be 401) and reached the handlers, some with success."""
    assert SEEN, "run with the test above"
    unauthorised = sum(n for (_, status), n in SEEN.items() if status == 401)
    assert unauthorised < 0.25 * sum(SEEN.values()), SEEN
    ok = {op for (op, status) in SEEN if status < 300}
    assert {"GET /api/batches", "GET /api/health"} <= ok, SEEN
    assert {op for (op, status) in SEEN if status in (400, 404, 422)} >= {
        "POST /api/labels",
        "POST /api/batches",
        "GET /api/batches/{batch_id}/rows",
    }, SEEN
