"""Retake ``docs/app.png``: the app with the shipped styles after a fast transfer.

    python docs/screenshot.py --photo PHOTO.jpg --style starry_night [--blend wave --mix 40]
        [--output docs/app.png]

Starts ``python -m gluon_style.app --port 0`` with the checkout's ``params/``,
drives Debian's chromium (``apt-get install chromium chromium-driver``) through
Selenium: uploads the photo, picks the style, transfers and saves the window
(the before/after slider where the page puts it).
"""
import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def start_app(workdir):
    env = dict(os.environ, GLUON_STYLE_PARAMS=os.path.join(ROOT, "params"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "gluon_style.app", "--port", "0",
                             "--workdir", workdir], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if "http://127.0.0.1:" in line:
            return proc, line.split(" on ")[1].split()[0]
    raise SystemExit("the app did not start")


def browser(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-dev-shm-usage",
                 "--window-size=1280,900", "--user-data-dir=" + profile):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photo", required=True)
    p.add_argument("--style", required=True, help="a shipped style's name")
    p.add_argument("--blend", help="a second style of the same multi-style network")
    p.add_argument("--mix", type=int, default=50, help="percent of --blend (default 50)")
    p.add_argument("--output", default=os.path.join(ROOT, "docs", "app.png"))
    args = p.parse_args(argv)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_app(os.path.join(tmp, "work"))
        driver = browser(os.path.join(tmp, "profile"))
        try:
            driver.get(url)
            wait = WebDriverWait(driver, 120)
            wait.until(lambda d: d.execute_script("return document.body.dataset.ready === '1'"))
            driver.find_element(By.ID, "photo-input").send_keys(os.path.abspath(args.photo))
            driver.find_element(By.CSS_SELECTOR,
                                '.style-option[data-name="%s"]' % args.style).click()
            if args.blend:
                from selenium.webdriver.support.ui import Select
                Select(driver.find_element(By.ID, "blend")).select_by_value(args.blend)
                driver.execute_script("const m = document.getElementById('mix'); m.value = "
                                      "arguments[0]; m.dispatchEvent(new Event('input'));",
                                      args.mix)
            driver.find_element(By.ID, "transfer").click()
            wait.until(lambda d: d.find_element(By.ID, "download").is_displayed())
            driver.save_screenshot(args.output)
        finally:
            driver.quit()
            proc.terminate()
            proc.wait(timeout=30)
    print("wrote", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
