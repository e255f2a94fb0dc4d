"""The server-drawn charts: honest bins, whole labels with units, escaped text."""
import re

from learning import charts


def test_a_histogram_counts_every_value_once_in_whole_bins():
    labels, counts = charts.histogram([0, 5, 5, 10, 10, 10, 15, 15, 15])
    assert labels == ["0", "2", "4", "6", "8", "10", "12", "14"]  # width 2: 0–1, 2–3, …, 14–15
    assert counts == [1, 0, 2, 0, 0, 3, 0, 3] and sum(counts) == 9
    assert charts.histogram([3, 4, 4]) == (["3", "4"], [1, 2])
    assert charts.histogram([]) == ([], [])


def test_a_bar_list_keeps_whole_escaped_labels_with_their_unit_and_says_what_it_leaves_out(app):
    names = ["第二党总支（服务业）", "<b>一支部</b>"] + [f"支部{i}" for i in range(30)]
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        html = str(charts.bar_list(names, [90, 45] + [1] * 30, title="得分", unit="分", limit=20))
    labels = re.findall(r'<span class="bar-label">(.*?)</span>', html)
    assert labels[0] == "第二党总支（服务业）" and labels[1] == "&lt;b&gt;一支部&lt;/b&gt;" and len(labels) == 20
    assert re.findall(r'<span class="bar-value">(.*?)</span>', html)[:2] == ["90分", "45分"]
    assert '<progress max="90" value="45"' in html
    assert "另有 12 项未显示" in html


def test_drawn_charts_use_legible_text_and_name_their_unit(app):
    with app.test_request_context():
        bars = str(charts.bar_chart(["A", "B", "C", "D"], [3, 0, 7, 1], title="选项", unit="次", highlight=2))
        line = str(charts.line_chart(["09-01", "09-02", "09-03"], [1, 4, 9], title="积分", unit="分"))
    sizes = {int(s) for s in re.findall(r'font-size="(\d+)"', bars + line)}
    # 340 units drawn in a 360 px phone's ~293 px of content: 14 units are 12 px there (13.3 px at 390 px).
    assert sizes == {14} and charts.WIDTH == 340
    assert ">次</text>" in bars and ">分</text>" in line
    assert bars.count('fill="#b71c1c"') == 1  # the highlighted option
    assert "<title>D: 1次</title>" in bars and "<title>09-03: 9分</title>" in line
    assert "<title>" in charts.bar_chart(["x"], [1], title="<t>") and "&lt;t&gt;" in charts.bar_chart(["x"], [1], title="<t>")
