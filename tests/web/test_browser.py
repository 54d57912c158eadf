"""A notary's phone, played by a real Chromium (Debian's package, driven by Playwright):
scan the printed QR code, open the address, read the verdict; upload the PDF to the form.

`.ci/run` installs Chromium like PostgreSQL; only where it is missing is this skipped.
The phone-sized screenshot is kept in artifacts/ (CI keeps that folder).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO, Cli
from tests.helpers.certificates import issue as _issue
from tests.helpers.certificates import qr_text as _qr_text
from tests.helpers.web import served

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium missing: apt-get install chromium (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright not installed: pip install -e '.[test]'")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def server(loaded: Cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with served(loaded.url, "--burst", "200", verify_here=True) as base:
        # What the QR codes printed here will hold (the server was given the same).
        monkeypatch.setenv("ARAYIS_VERIFY_URL", f"{base}/verify/")
        yield base


def test_notary_checks_certificates_on_a_phone(
    loaded: Cli, server: str, browser: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    out = _issue(loaded)
    pdf = Path(out["path"])
    url = _qr_text(pdf)  # what the phone's camera reads from the printed page
    assert url.startswith(f"{server}/verify/{out['certificate_number']}.")

    # A phone without JavaScript: everything must still work. Set to Azerbaijani, it asks
    # for az in Accept-Language (an English phone gets the English page).
    phone = browser.new_context(
        locale="az-AZ",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        java_script_enabled=False,
    )
    page = phone.new_page()
    response = page.goto(url)
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == "az"
    assert page.get_by_role("heading", level=2).first.inner_text().startswith("✓")
    assert "Arayış etibarlıdır" in page.inner_text("main")
    assert out["certificate_number"] in page.inner_text("dl")
    assert "127.0.0.1" in page.inner_text(".domain")  # the host to look for
    body = page.content().replace(url.rsplit("/", 1)[1], "")  # the random token may spell "AZN"
    for personal in ("Süleymanov", "6HV4DVC", "AZN", "@"):
        assert personal not in body
    # Fits the phone's width: nothing to scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "verify-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nphone screenshot: {shot}")
    assert shot.stat().st_size > 10_000

    page.goto(url + "?lang=en")
    assert "The certificate is valid" in page.inner_text("main")

    # A forged QR: a later expiry under the original signature.
    number, issued, _valid, abonent, kid, sig = url.rsplit("/", 1)[1].split(".")
    forged = f"{server}/verify/" + ".".join((number, issued, "20301231", abonent, kid, sig))
    page.goto(forged)
    text = page.inner_text("main")
    assert "Arayış etibarsızdır" in text and "imza yanlışdır" in text

    # Upload the genuine PDF, then an altered copy, through the form.
    page.goto(f"{server}/verify")
    assert page.get_by_label("və ya arayışın PDF faylı").count() == 1  # labelled inputs
    page.screenshot(path=str(ARTIFACTS / "verify-form-phone.png"), full_page=True)
    page.set_input_files("#pdf", str(pdf))
    page.click("button[type=submit]")
    assert "Arayış etibarlıdır" in page.inner_text("main")
    changed = bytearray(pdf.read_bytes())
    changed[len(changed) // 2] ^= 0x01
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(bytes(changed))
    page.goto(f"{server}/verify?lang=en")
    page.set_input_files("#pdf", str(altered))
    page.click("button[type=submit]")
    assert "the file was altered" in page.inner_text("main").lower()
    page.goto(f"{server}/verify")
    page.fill("#number", out["certificate_number"])
    page.click("button[type=submit]")
    assert "abonent kodunu da yazın" in page.inner_text("main")  # a number alone is no proof
    page.fill("#number", out["certificate_number"])
    page.fill("#abonent", "0011276516")  # the code printed on the paper
    page.click("button[type=submit]")
    assert "Arayış etibarlıdır" in page.inner_text("main")

    # Revoked: the same QR now says why.
    loaded("revoke", out["certificate_number"], "--reason", "Səhv abonentə verilib")
    page.goto(url)
    text = page.inner_text("main")
    assert "Arayış etibarsızdır" in text and "ləğv edilib" in text
    page.screenshot(path=str(ARTIFACTS / "verify-phone-revoked.png"), full_page=True)
    phone.close()
