"""The admin area's tree and member pages show the viewer's scope and nothing else."""
import pytest

from learning.orgs.models import Organisation
from learning.orgs.services import create_member
from tests.conftest import login
from tests.factories import PASSWORD


def test_a_secretary_lists_only_their_branch(client, tree):
    login(client, "secretary", PASSWORD)
    html = client.get("/admin/members").get_data(as_text=True)
    for name in ("李书记", "王党员", "赵小组"):
        assert name in html
    for name in ("钱二支", "孙书记", "周三支", "吴外部"):
        assert name not in html


@pytest.mark.parametrize("key", ["b2_member", "bx_member", "b3_member"])
def test_guessing_a_member_id_outside_the_branch_is_404(client, tree, key):
    login(client, "secretary", PASSWORD)
    response = client.get(f"/admin/members/{tree['members'][key]}")
    assert response.status_code == 404
    assert "钱二支" not in response.get_data(as_text=True)


def test_guessing_an_organisation_id_outside_the_scope_is_404(client, tree):
    login(client, "secretary", PASSWORD)
    assert client.get(f"/admin/orgs/{tree['orgs']['B2']}").status_code == 404
    assert client.get(f"/admin/members?org={tree['orgs']['C']}").status_code == 404


def test_a_plain_member_has_no_admin_area(client, tree):
    login(client, "member", PASSWORD)
    assert client.get("/admin/members").status_code == 403
    assert client.get(f"/admin/members/{tree['members']['b1_member']}").status_code == 403


def test_the_tree_starts_at_the_top_of_the_scope(client, tree):
    login(client, "orgadmin", PASSWORD)
    html = client.get("/admin/orgs").get_data(as_text=True)
    assert "第一党总支" in html and "中共测试委员会" not in html
    html = client.get(f"/admin/orgs/{tree['orgs']['GB']}").get_data(as_text=True)
    assert "一支部" in html and "二支部" in html and "三支部" not in html


def test_search_by_name_and_registry_id(client, tree):
    login(client, "reviewer", PASSWORD)
    html = client.get("/admin/members?q=书记").get_data(as_text=True)
    assert "李书记" in html and "孙书记" in html and "王党员" not in html
    html = client.get("/admin/members?q=M-B3-1").get_data(as_text=True)
    assert "周三支" in html and "李书记" not in html
    html = client.get("/admin/members?q=%25").get_data(as_text=True)  # a literal %, not a wildcard
    assert "没有符合条件的党员" in html


def test_status_filter_and_pagination(app, client, db, tree):
    b3 = db.session.get(Organisation, tree["orgs"]["B3"])
    for i in range(45):
        create_member(f"分页{i:02d}", b3)
    db.session.commit()
    login(client, "reviewer", PASSWORD)
    first = client.get("/admin/members?q=分页").get_data(as_text=True)
    assert "共找到 45 名党员" in first and "第 1 页，共 3 页" in first
    third = client.get("/admin/members?q=分页&page=3").get_data(as_text=True)
    assert third.count("分页") >= 5 and "分页44" in third
    html = client.get("/admin/members?status=activist").get_data(as_text=True)
    assert "周三支" in html and "王党员" not in html


def test_an_empty_search_says_so(client, tree):
    login(client, "secretary", PASSWORD)
    assert "没有符合条件的党员" in client.get("/admin/members?q=不存在的名字").get_data(as_text=True)
