"""The `texcite web` page as a newcomer uses it, in headless Debian Chromium (Selenium + Debian's chromedriver, never a
downloaded driver), on a copy of the example paper.

Suggest: choose chapters/method.tex, put the caret in the `\\cite{}` of line 9 with the keyboard, click the button,
read the ranked rows from the DOM, click a row for its `\\cite{key}` and copy it; later, uploads over the cap or not a
.bib are refused with a message, and with a broken .bib uploaded, a pasted paragraph with a `[CITATION]` marker is
ranked by a click in it. Rerank, Compare and Evaluate are each run from their tab. Each tab is saved as a screenshot
under docs/ (docs/web.md shows them), and the page must load nothing from another host.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import webserver
from browser import CHROMEDRIVER, CHROMIUM, Browser

pytestmark = pytest.mark.web

DOCS = webserver.REPO / "docs"
TIMEOUT_S = 120
PARAGRAPH = "We distill a large teacher reranker into a compact student [CITATION] that runs on a laptop."


def require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if not missing:
        return
    message = f"{', '.join(missing)} not installed: run `bash tests/editors/install.sh`"
    if webserver.in_ci():
        pytest.fail(message + " (CI=true: a missing browser fails the suite)", pytrace=False)
    pytest.skip(message)


class Page(Browser):
    """The page in headless Chromium with a private profile; helpers that poll the DOM with a deadline."""

    def __init__(self, profile: Path) -> None:
        super().__init__(profile, "1400,1500", TIMEOUT_S)

    def one(self, selector: str):
        return self.wait(selector, lambda: self.css(selector))[0]

    def cell(self, table: str, row: int, column: int) -> str:
        cells = self.css(f"#{table} [data-testid='cell-{row}-{column}']")
        return cells[0].text.strip() if cells else ""

    def text_of(self, selector: str) -> str:
        found = self.css(selector)
        return found[0].text if found else ""

    def tab(self, name: str) -> None:
        self.one(f"#tab-{name}-button").click()

    def screenshot(self, name: str) -> None:
        self.driver.execute_script("window.scrollTo(0, 0)")
        self.driver.save_screenshot(str(DOCS / name))


@pytest.fixture
def page(tmp_path):
    require_browser()
    project = webserver.make_project(tmp_path)
    server = webserver.WebServer(project, tmp_path, "--reranker", "none")
    browser = None
    try:
        browser = Page(tmp_path / "profile")
        browser.driver.get(server.url)
        browser.url = server.url
        yield browser
    finally:
        if browser is not None:
            browser.quit()
        assert server.stop() == 0, server.log()


def test_each_tab_in_a_browser(page, tmp_path):
    from selenium.webdriver.common.keys import Keys

    # -- Suggest: a file of the project, the caret in its \cite{}, the button ------------------------------------
    chooser = page.one("#texcite-file input")
    chooser.click()
    chooser.send_keys(Keys.CONTROL, "a")
    chooser.send_keys("chapters/method.tex", Keys.ENTER)
    area = page.one("#texcite-text textarea")
    page.wait("method.tex in the text",
              lambda: "margin-based distillation loss of \\cite{}" in area.get_property("value"))
    area.click()
    page.keys(Keys.HOME, modifiers=(Keys.CONTROL,))
    page.keys(*[Keys.ARROW_DOWN] * 8, Keys.HOME, *[Keys.ARROW_RIGHT] * 40)
    page.one("#texcite-suggest").click()
    page.wait("the ranking at line 9", lambda: "chapters/method.tex, line 9" in page.text_of("#texcite-status"))
    first = page.wait("the first row", lambda: page.cell("texcite-table", 0, 1))
    assert first == "nguyen2023distillation"
    assert page.cell("texcite-table", 0, 5) == "100" and page.cell("texcite-table", 0, 6)
    cite = page.one("#texcite-cite textarea")
    assert cite.get_property("value") == "\\cite{nguyen2023distillation}"
    second = page.cell("texcite-table", 1, 1)
    page.one("#texcite-table [data-testid='cell-1-1']").click()
    page.wait("the chosen row's \\cite", lambda: cite.get_property("value") == f"\\cite{{{second}}}")
    page.driver.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": page.url.rstrip("/"), "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    page.one("#texcite-cite button[aria-label='Copy']").click()
    copied = page.driver.execute_async_script("navigator.clipboard.readText().then(arguments[0])")
    assert copied == f"\\cite{{{second}}}"
    page.screenshot("web-suggest.png")

    # -- Rerank: the design's example as pre-filled ---------------------------------------------------------------
    page.tab("rerank")
    page.one("#texcite-rerank").click()
    page.wait("four reranked candidates", lambda: page.cell("texcite-rerank-table", 3, 2))
    ranked = [page.cell("texcite-rerank-table", i, 2) for i in range(4)]
    assert sorted(ranked) == sorted(["Attention Is All You Need", "Language Models are Few-Shot Learners",
                                     "BERT: Pre-training of Deep Bidirectional Transformers for Language "
                                     "Understanding", "A Survey on Retrieval-Augmented Generation"])
    assert "Ranked by" in page.text_of("#texcite-rerank-status")
    page.screenshot("web-rerank.png")

    # -- Compare: the project's first citation, pre-filled, by each stage ----------------------------------------
    page.tab("compare")
    page.one("#texcite-compare").click()
    page.wait("the stages side by side", lambda: page.cell("texcite-compare-table", 0, 2))
    headers = [h.text.strip() for h in page.css("#texcite-compare-table th[role='columnheader']")]
    assert headers[:3] == ["rank", "BM25", "BM25 + MiniLM"]
    assert "★" in page.text_of("#texcite-compare-status")
    page.screenshot("web-compare.png")

    # -- Evaluate: the project, with a progress bar, a table and a plot --------------------------------------------
    page.tab("evaluate")
    page.one("#texcite-evaluate").click()
    page.wait("the evaluation report", lambda: "overall (BM25 + MiniLM)" in page.text_of("#texcite-report"))
    page.wait("the Recall@k plot", lambda: page.css("#texcite-plot canvas, #texcite-plot svg"))
    page.screenshot("web-evaluate.png")

    # -- Suggest again: uploads refused with a message, then a broken .bib, a pasted paragraph, a click in it ------
    page.tab("suggest")

    def upload(path: Path) -> None:  # the input is rendered anew after each upload
        page.driver.find_element("css selector", "#texcite-bib input[type=file]").send_keys(str(path))

    huge = tmp_path / "huge.bib"
    huge.write_bytes(b"% padding\n" * ((20 << 20) // 10 + 1))
    upload(huge)
    page.wait("the size error", lambda: "exceed the maximum allowed size of 20.0 Mb" in page.text_of(".toast-body"))
    notes = tmp_path / "notes.txt"
    notes.write_text("@article{a, title = {A}}", encoding="utf-8")
    upload(notes)
    page.wait("the type error", lambda: "Only .bib allowed" in " ".join(e.text for e in page.css(".toast-body")))
    broken = tmp_path / "broken.bib"
    broken.write_text(webserver.BROKEN_BIB, encoding="utf-8")
    upload(broken)
    page.wait("the upload", lambda: "broken\n.bib" in page.text_of("#texcite-bib"))
    area = page.one("#texcite-text textarea")
    area.click()
    page.keys("a", modifiers=(Keys.CONTROL,))
    area.send_keys(Keys.DELETE)
    area.send_keys(PARAGRAPH)
    area.click()  # a click in the text ranks: here at the [CITATION] marker
    page.wait("the upload's ranking", lambda: "broken.bib" in page.text_of("#texcite-status"))
    assert page.cell("texcite-table", 0, 1) == "lee2020distill"
    assert page.cell("texcite-table", 1, 1) == "kim2019graphs" and not page.cell("texcite-table", 2, 1)
    assert "broken.bib:6: Malformed entry" in page.text_of("#texcite-problems")

    # -- Nothing was fetched from another host (fonts, scripts, analytics) ------------------------------------------
    fetched = page.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    foreign = [u for u in fetched if not u.startswith(page.url) and not u.startswith(("data:", "blob:"))]
    assert foreign == []


def test_screenshots_are_in_docs():
    """The screenshots docs/web.md shows exist (the test above writes them)."""
    missing = [n for n in ("web-suggest.png", "web-rerank.png", "web-compare.png", "web-evaluate.png")
               if not (DOCS / n).is_file()]
    assert missing == [], f"run `make test-web` to take {missing}"

