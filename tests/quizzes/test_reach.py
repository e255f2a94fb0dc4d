"""A secretary sees the park's campaign through their own members: who plays, how far, who has not started."""
from tests.conftest import login
from tests.factories import PASSWORD
from tests.quizzes.conftest import member
from tests.quizzes.test_challenges import play


def test_a_secretary_sees_the_park_campaign_for_their_own_members(client, db, tree, campaign, clock):
    # The committee's campaign (org C); B1 has 李书记, 王党员 and 赵小组 (its group): 3 members.
    play(member(db, tree, "b1_member"), campaign.levels[0])
    play(member(db, tree, "b1_member"), campaign.levels[1])
    play(member(db, tree, "g1_member"), campaign.levels[0], right=False)
    play(member(db, tree, "b2_member"), campaign.levels[0])  # another branch: not in B1's figures
    db.session.commit()
    login(client, "secretary", PASSWORD)
    page = client.get("/admin/challenges/ours").get_data(as_text=True)
    assert "学党章 守纪律 答题闯关" in page
    assert '<span class="stat-value" id="our-playing">2 / 3</span>' in page
    assert "67%" in page
    rows = page.split('id="our-players"')[1].split("</table>")[0]
    assert rows.index("王党员") < rows.index("赵小组") and "钱二支" not in rows
    assert '<p id="our-waiting">李书记</p>' in page
    assert client.get(f"/admin/challenges/ours?challenge={campaign.id + 999}").status_code == 404
    assert client.get(f"/admin/challenges/ours?org={tree['orgs']['B2']}").status_code == 404  # not theirs
    # The campaign's own page stays with those who run it at the committee.
    assert client.get(f"/admin/challenges/{campaign.id}").status_code == 404


def test_a_branch_with_no_campaign_above_it_is_told_so(client, db, tree):
    login(client, "secretary", PASSWORD)
    page = client.get("/admin/challenges/ours").get_data(as_text=True)
    assert "没有上级组织的闯关活动面向一支部的党员" in page
