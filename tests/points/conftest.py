import pytest

from learning.config import REPO_ROOT
from learning.points.services import load_rules


@pytest.fixture
def rules(db):
    load_rules(REPO_ROOT / "content" / "points" / "rules.yaml")
    db.session.commit()
