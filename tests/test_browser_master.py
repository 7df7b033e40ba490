"""Screen 10 in headless Chromium: the move targets, listed once on the page, are offered in
each class's move choice, and moving a class there works."""
from __future__ import annotations

from playwright import sync_api

from app.extensions import db
from app.models import Classification

from .browser import ARGS, BROWSER_TEST, CHROMIUM, browser_login, serve
from .conftest import OPERATOR

pytestmark = BROWSER_TEST


def common(name: str) -> Classification:
    return db.session.query(Classification).filter_by(hospital_id=None, name=name).one()


def test_moving_a_class_to_another_parent(app, ctx):
    pump, target = common("輸液ポンプ"), common("生体情報モニター")
    assert pump.parent_id != target.id and target.level < 3
    pump_id, target_id = pump.id, target.id
    db.session.remove()
    errors: list[str] = []
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text)
                    if m.type == "error" and "Failed to load" not in m.text else None)  # the favicon
            browser_login(page, base, OPERATOR)
            page.goto(f"{base}/smds-classifications/")
            node = page.locator(f'li.smds-node[data-id="{pump_id}"]')
            node.locator(":scope > details > summary").click()
            move = node.locator(":scope > details > .smds-actions select[name=parent_id]")
            move.click()
            labels = move.locator("option").all_inner_texts()
            assert any(label.startswith("生体情報モニター") for label in labels)
            assert not any(label.startswith("輸液ポンプ（") for label in labels)  # not under itself
            move.select_option(str(target_id))
            node.locator(":scope > details > .smds-actions form:has(select) button").click()
            page.wait_for_load_state()
            assert "分類を移動しました。" in page.inner_text("body")
        finally:
            browser.close()
    db.session.expire_all()
    assert db.session.get(Classification, pump_id).parent_id == target_id
    assert not errors, errors


def test_a_class_under_a_deactivated_parent_keeps_it_as_its_current_choice(app, ctx):
    """A deactivated parent is no move target, but a class under it showed （最上位） as its
    current choice, and pressing 移動 moved it to the top level."""
    pump, parent = common("輸液ポンプ"), common("生体情報モニター")
    pump.parent_id, pump.level = parent.id, parent.level + 1
    parent.is_active = False
    db.session.commit()
    pump_id, parent_id, label = pump.id, parent.id, f"{parent.name}（{parent.level}・無効）"
    db.session.remove()
    with serve(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            browser_login(page, base, OPERATOR)
            page.goto(f"{base}/smds-classifications/")
            page.locator(f'li.smds-node[data-id="{parent_id}"] > details > summary').click()
            node = page.locator(f'li.smds-node[data-id="{pump_id}"]')
            node.locator(":scope > details > summary").click()
            move = node.locator(":scope > details > .smds-actions select[name=parent_id]")
            assert move.input_value() == str(parent_id)
            move.click()  # the move targets are copied in: the current choice stays
            page.keyboard.press("Escape")
            assert move.input_value() == str(parent_id)
            assert move.locator("option:checked").inner_text() == label
            assert move.locator("option").count() > 2
        finally:
            browser.close()
    db.session.expire_all()
    assert db.session.get(Classification, pump_id).parent_id == parent_id
