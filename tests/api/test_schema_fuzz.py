"""schemathesis over /api/v1: generated requests (bounded examples) against the WSGI app, as an
administrator and as a member: no server error, and every answer matches the OpenAPI document."""
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.test_api import token_for
from tests.courses.conftest import courses  # noqa: F401  (the shipped courses)

EXAMPLES = 12  # per operation and caller: bounded, so the suite stays within CI's time


def test_the_api_answers_as_documented(app, client, tree, rules, courses):  # noqa: F811
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    tokens = {name: token_for(client, name) for name in ("root", "member")}
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            for token in tokens.values():
                case.call_and_validate(headers={"Authorization": f"Bearer {token}"})

        try:
            check()
        except BaseException as exc:  # noqa: B036  (hypothesis raises groups: collect every operation's)
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
