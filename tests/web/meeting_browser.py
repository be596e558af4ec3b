"""The seed's story in a real browser (headless Chromium, selenium), between two
postie servers that relay to each other: Alice (a.test) fills in "New meeting" for
Bob (b.test); Bob opens the invitation, sees the card and clicks Accept; Alice sees
"... has accepted" in her inbox and the answer on her week. Run by tests/meetings.rs.
Prints one "ok NAME" line per check; with --screenshots DIR, saves the pages there.
"""

import argparse
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait


def ok(name):
    print("ok " + name, flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--organizer-url", required=True)
    parser.add_argument("--attendee-url", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--screenshots", default="")
    args = parser.parse_args()

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1280,900", "--lang=en-US", "--disable-gpu"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # The reader is in New York; the meeting is made in Berlin.
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
    # Pages reload (a login's redirect, the week's time zone): look again, not fail.
    wait = WebDriverWait(driver, 20, ignored_exceptions=[NoSuchElementException, StaleElementReferenceException])

    def shot(name):
        if args.screenshots:
            os.makedirs(args.screenshots, exist_ok=True)
            driver.save_screenshot(os.path.join(args.screenshots, name + ".png"))

    def login(url, address):
        driver.delete_all_cookies()
        driver.get(url + "/login")
        driver.find_element(By.NAME, "address").send_keys(address)
        driver.find_element(By.NAME, "password").send_keys(args.password)
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        wait.until(lambda d: address in d.find_element(By.CSS_SELECTOR, "header .who").text)

    try:
        # Alice: Meetings, New meeting, the form.
        login(args.organizer_url, "alice@a.test")
        driver.find_element(By.ID, "meetings-link").click()
        wait.until(lambda d: "tz=America" in d.current_url)
        driver.find_element(By.ID, "new-meeting").click()
        wait.until(lambda d: d.find_elements(By.NAME, "title"))
        driver.find_element(By.NAME, "title").send_keys("Launch planning")
        start = driver.find_element(By.NAME, "start")
        driver.execute_script("arguments[0].value = '2026-11-02T09:00';", start)
        zone = driver.find_element(By.NAME, "zone")
        zone.clear()
        zone.send_keys("Europe/Berlin")
        driver.find_element(By.NAME, "location").send_keys("Room 1")
        driver.find_element(By.NAME, "attendees").send_keys("bob@b.test")
        shot("meeting-new")
        driver.find_element(By.CSS_SELECTOR, "form.meeting-form button").click()
        wait.until(lambda d: "created=" in d.current_url)
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "Launch planning" in body and "bob@b.test has not answered" in body, body
        ok("new meeting form")

        # Bob: the invitation in his inbox, the card, Accept.
        login(args.attendee_url, "bob@b.test")
        link = wait.until(lambda d: (d.refresh() or True) and d.find_element(By.PARTIAL_LINK_TEXT, "Invitation: Launch planning"))
        link.click()
        card = wait.until(lambda d: d.find_element(By.ID, "invitation"))
        text = card.text
        for expected in ["Launch planning", "Room 1", "alice@a.test (organizer)", "bob@b.test", "Europe/Berlin", "your time"]:
            assert expected in text, f"{expected!r} not in {text}"
        # 09:00 in Berlin is 03:00 in New York.
        assert "03:00" in text and "EST" in text, text
        shot("meeting-invitation")
        ok("invitation card")
        driver.find_element(By.ID, "accept").click()
        wait.until(lambda d: "answered=" in d.current_url)
        assert "you: ACCEPTED" in driver.find_element(By.TAG_NAME, "body").text
        ok("accepted")

        # Alice: the answer in her inbox, and on her week.
        login(args.organizer_url, "alice@a.test")
        link = wait.until(lambda d: (d.refresh() or True) and d.find_element(By.PARTIAL_LINK_TEXT, "Accepted: Launch planning"))
        link.click()
        answer = wait.until(lambda d: d.find_element(By.ID, "answer")).text
        assert "bob@b.test has accepted" in answer, answer
        shot("meeting-answer")
        driver.get(args.organizer_url + "/meetings?week=2026-11-02")
        wait.until(lambda d: "tz=" in d.current_url)
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "bob@b.test has accepted" in body, body
        assert len(driver.find_elements(By.CSS_SELECTOR, ".week .slot")) == 1
        shot("meeting-week")
        ok("organizer sees it")
    except Exception:
        shot("meeting-failure")
        print("page at failure:", driver.current_url, file=sys.stderr)
        print(driver.find_element(By.TAG_NAME, "body").text[:3000], file=sys.stderr)
        raise
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
