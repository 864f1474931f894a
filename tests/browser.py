"""Selenium on headless Debian Chromium with Debian's chromedriver (never a downloaded driver), a private profile,
and the polling helpers the real-editor and web-page tests share."""

from __future__ import annotations

import os
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class Browser:
    """One headless Chromium window; ``env`` (when given) is the environment of chromedriver and Chromium."""

    def __init__(self, profile: Path, window: str, timeout_s: float, env: dict[str, str] | None = None) -> None:
        os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not download anything
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.timeout_s = timeout_s
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    f"--window-size={window}", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    f"--user-data-dir={profile}"):
            options.add_argument(arg)
        service = Service(executable_path=CHROMEDRIVER,
                          **({"env": {**env, "SE_OFFLINE": "true"}} if env is not None else {}))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(timeout_s)

    def wait(self, what: str, condition, timeout: float | None = None):
        """Poll ``condition`` (exceptions count as not yet) until it returns something truthy."""
        deadline = time.monotonic() + (timeout or self.timeout_s)
        last_error = None
        while time.monotonic() < deadline:
            try:
                value = condition()
                if value:
                    return value
            except Exception as err:  # stale elements while the page re-renders
                last_error = err
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}" + (f" (last error: {last_error!r})" if last_error else ""))

    def css(self, selector: str):
        from selenium.webdriver.common.by import By

        return [e for e in self.driver.find_elements(By.CSS_SELECTOR, selector) if e.is_displayed()]

    def keys(self, *keys: str, modifiers: tuple[str, ...] = ()) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        chain = ActionChains(self.driver)
        for m in modifiers:
            chain = chain.key_down(m)
        chain = chain.send_keys(*keys)
        for m in reversed(modifiers):
            chain = chain.key_up(m)
        chain.perform()

    def quit(self) -> None:
        self.driver.quit()
