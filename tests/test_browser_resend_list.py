"""「招待メールを再送」 from a filtered users list, in headless Chromium: the OrgAdmin comes back
to the same filtered, ordered page with the confirmation, and the mail has gone out."""
from urllib.parse import parse_qs, urlsplit

from .browser import BROWSER_TEST, logged_in_page
from .conftest import ORGADMIN_A
from .test_auth_links import outbox
from .test_invitation_resend import invited_user

pytestmark = BROWSER_TEST

# 氏名 contains 新人, newest login first: what the OrgAdmin chose in the list's search.
FILTERED = "/users/list/?_flt_2_first_name=新人&_oc_UserMaintenanceView=last_login&_od_UserMaintenanceView=desc"


def test_orgadmin_resends_from_a_filtered_list_and_stays_on_it(app, ctx):
    invited_user()
    with logged_in_page(app, ORGADMIN_A) as (page, base):
        page.goto(base + FILTERED)
        rows = page.locator("table.table-bordered tbody tr")
        assert rows.count() == 1 and "new@sakura-hp.example.jp" in rows.inner_text()
        before = len(outbox(app))
        with page.expect_navigation():
            page.click("form.resend-invitation button")
        assert "new@sakura-hp.example.jp に招待メールを再送しました" in page.inner_text(".alert-success")
        landed = urlsplit(page.url)
        assert landed.path == "/users/list/"
        assert parse_qs(landed.query) == parse_qs(urlsplit(FILTERED).query)
        # still filtered: the seeded users of the hospital are not listed
        listing = page.inner_text("table.table-bordered tbody")
        assert "new@sakura-hp.example.jp" in listing and ORGADMIN_A not in listing
        assert page.input_value(".filters input[name=_flt_2_first_name]") == "新人"
        mails = outbox(app)[before:]
        assert [m["To"] for m in mails] == ["new@sakura-hp.example.jp", ORGADMIN_A]
        assert "/first-login/" in mails[0].get_body().get_content()
