"""What the appraisal year's API blueprints share: a refusal as problem+json, the organisation a list is for."""
from __future__ import annotations

from flask_babel import gettext as _

from learning.api import current_api_account
from learning.api.problems import problem
from learning.evaluation.errors import EvaluationError
from learning.extensions import db
from learning.orgs.scoping import Permission, scope_for


def refused(exc: EvaluationError):
    """The transaction rolled back and the refusal answered: field errors for a 422, a detail otherwise."""
    db.session.rollback()
    return problem(exc.status, detail=str(exc.message),
                   errors={exc.field: [str(exc.message)]} if exc.field and exc.status == 422 else None)


def scored_org(org_id: int | None):
    """(organisation, None), or (None, a 404 problem) when it is not in the caller's scope of scores."""
    org = scope_for(current_api_account()).org_or_first_root(Permission.VIEW_SCORES, org_id)
    if org is None:
        return None, problem(404, detail=_("No such organisation in your scope."))
    return org, None
