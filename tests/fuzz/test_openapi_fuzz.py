"""A bounded schemathesis run over the whole OpenAPI document, in the suite (issue 7 item 10).

Every operation gets `YIWANG_FUZZ_EXAMPLES` generated requests that follow the schema and as many
that break it; each is sent, in-process to the app on the test's rolled-back database, as four
identities in turn — anonymous, a government system (a client-credentials token of the demo relying
party), a citizen and the platform administrator. A run fails on any 5xx, on an error answer that
is not problem+json (the OpenID Connect endpoints answer RFC 6749 JSON, as that standard requires),
and on a status or content type the OpenAPI document does not declare. Generation is derandomised:
the same requests every run, so a failure reproduces.
"""

from __future__ import annotations

import base64
import contextlib
import os
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from tests.identity.helpers import login_api

EXAMPLES = int(os.environ.get("YIWANG_FUZZ_EXAMPLES", "6"))
# Operations are dealt round-robin into shards, so pytest-xdist spreads the run over its workers.
SHARDS = 4
OIDC_PREFIXES = ("/oidc/", "/.well-known/")
# Ending the fuzzing identity's own session would turn the rest of its run into 401s.
SKIP = {("POST", "/api/v1/identity/logout")}


@dataclass
class Tally:
    operations: int = 0
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def _system_headers(client, city) -> dict[str, str]:
    basic = base64.b64encode(f"{city.client.client_id}:{city.client.client_secret}".encode()).decode()
    r = client.post(
        "/oidc/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _problems(case, response) -> list[str]:
    """Our own rule on top of schemathesis's checks: every error answer is problem+json."""
    status = response.status_code
    if status >= 500:
        return [f"{status} server error"]
    if status < 400:
        return []
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if case.operation.path.startswith(OIDC_PREFIXES):
        # RFC 6749 JSON to clients, a page to a person's browser, problem+json from the edge guard.
        answers = ("application/json", "text/html", "application/problem+json")
        return [] if content_type.startswith(answers) else [f"{status} {content_type}"]
    if not content_type.startswith("application/problem+json"):
        return [f"{status} answered as {content_type or 'nothing'}"]
    body = response.json()
    if not (isinstance(body, dict) and body.get("status") == status and body.get("title")):
        return [f"{status} problem without status/title"]
    if not any("\u4e00" <= ch <= "\u9fff" for ch in body["title"]):
        return [f"{status} problem title not Chinese: {body['title']}"]
    return []


def _conformance(case, response) -> list[str]:
    """schemathesis's own checks: the status and content type are ones the OpenAPI declares."""
    try:
        case.validate_response(response, checks=[status_code_conformance, content_type_conformance])
    except (AssertionError, BaseExceptionGroup) as exc:  # one failure, or a group of them
        found = []
        for failure in getattr(exc, "exceptions", (exc,)):
            lines = [ln.strip() for ln in str(failure).strip().splitlines() if ln.strip()]
            found.append(" / ".join(lines[:3]))
        return found
    return []


def fuzz(app, operations: list, identities: dict[str, dict[str, str]]) -> Tally:
    """Each generated request is sent once per identity: generation, the costly part, is shared."""
    tally = Tally()
    with asgi.get_client(app) as session:
        for operation in operations:
            tally.operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case) -> None:
                    for who, headers in identities.items():
                        response = case.call(session=session, headers=headers, base_url="http://testserver")
                        tally.requests += 1
                        tally.statuses[f"{response.status_code // 100}xx"] += 1
                        for problem in _problems(case, response) + _conformance(case, response):
                            curl = case.as_curl_command(headers=headers)
                            tally.failures.append(f"{case.operation.label} as {who}: {problem}\n    {curl}")

                with contextlib.suppress(Unsatisfiable):  # nothing to break: the operation takes no input
                    run()
    return tally


def _operations(app) -> list:
    schema = schemathesis.openapi.from_dict(app.openapi())
    found = [result.ok() for result in schema.get_all_operations()]
    return [op for op in found if (op.method.upper(), op.path) not in SKIP]


@pytest.mark.fuzz
@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_operation_answers_5xx_or_an_undocumented_error(app, client, city, shard):
    operations = _operations(app)
    assert len(operations) > 100
    mine = [op for i, op in enumerate(operations) if i % SHARDS == shard]
    identities = {
        "anonymous": {},
        "system": _system_headers(client, city),
        "citizen": login_api(client, city.accounts["citizen"]),
        "admin": login_api(client, city.accounts["admin"]),
    }
    started = time.perf_counter()
    tally = fuzz(app, mine, identities)
    seconds = time.perf_counter() - started
    print(
        f"\nfuzz shard {shard + 1}/{SHARDS}: {tally.operations} of {len(operations)} operations, "
        f"{tally.requests} requests ({len(identities)} identities), {len(tally.failures)} failures, "
        f"{dict(sorted(tally.statuses.items()))}, {seconds:.1f} s"
    )
    assert tally.requests >= tally.operations * EXAMPLES * len(identities)
    unique = sorted(set(tally.failures))
    assert unique == [], "\n".join(unique[:40])
