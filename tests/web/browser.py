"""A real browser against postie's web view: headless Chromium driven by selenium.

Run by tests/web_clients.rs, which starts two postie servers (one without accounts,
one with) and passes their addresses. Prints one "ok NAME" line per check and exits
non-zero on the first failure. With --screenshots DIR, saves the pages it sees there.
"""

import argparse
import http.server
import os
import smtplib
import sys
import threading
import time
from email.message import EmailMessage

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def ok(name):
    print("ok " + name, flush=True)


class Beacon(http.server.BaseHTTPRequestHandler):
    """Counts every request: a mail's script or image that reached us would show here."""

    hits = []

    def do_GET(self):
        Beacon.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


def send(port, subject, text=None, html=None, sender=("Alice Example", "alice@example.org")):
    message = EmailMessage()
    message["From"] = f"{sender[0]} <{sender[1]}>"
    message["To"] = "Bob <bob@localhost>"
    message["Subject"] = subject
    message.set_content(text or "Hello Bob,\n\nthis came over SMTP.\n")
    if html:
        message.add_alternative(html, subtype="html")
    with smtplib.SMTP("127.0.0.1", port, local_hostname="laptop.example") as smtp:
        smtp.send_message(message)


def smuggle(port):
    """A session that tries to end its message with a bare LF and start a second one."""
    import socket
    with socket.create_connection(("127.0.0.1", port)) as raw:
        reader = raw.makefile("rb")

        def reply():
            while True:
                line = reader.readline()
                if line[3:4] != b"-":
                    return line

        reply()
        for command in [b"EHLO smuggler.example", b"MAIL FROM:<eve@example.org>", b"RCPT TO:<bob@localhost>", b"DATA"]:
            raw.sendall(command + b"\r\n")
            reply()
        raw.sendall(b"Subject: one\r\n\r\nhello\n.\nMAIL FROM:<eve@example.org>\r\n")
        assert reply().startswith(b"5")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--login-url", required=True)
    parser.add_argument("--login-smtp-port", type=int, required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--screenshots", default="")
    args = parser.parse_args()

    beacon = http.server.HTTPServer(("127.0.0.1", 0), Beacon)
    threading.Thread(target=beacon.serve_forever, daemon=True).start()
    beacon_url = f"http://127.0.0.1:{beacon.server_port}"

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1280,860", "--lang=en-US", "--disable-gpu"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(driver, 15)

    def shot(name):
        if args.screenshots:
            os.makedirs(args.screenshots, exist_ok=True)
            driver.save_screenshot(os.path.join(args.screenshots, name + ".png"))

    try:
        # Some mail first, as a reader would have.
        send(args.smtp_port, "Quarterly report", "The numbers are in; see you Monday.\n")
        send(args.smtp_port, "你好，世界", "这是一封中文邮件。\n", sender=("张三", "zhang@example.cn"))
        send(args.smtp_port, "Lunch on Friday?", "Pizza at noon?\n", sender=("Carol", "carol@example.net"))

        driver.get(args.url + "/")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#messages tbody tr")) >= 3)
        assert "postie" in driver.title, driver.title
        ok("list loads")

        # A message sent now appears without a reload: the marker survives.
        wait.until(lambda d: d.find_element(By.ID, "live").is_displayed())
        driver.execute_script("window.notReloaded = true;")
        send(args.smtp_port, "Arrived while you watched", "Live, over Server-Sent Events.\n")
        wait.until(lambda d: "Arrived while you watched" in d.find_element(By.CSS_SELECTOR, "#messages tbody tr").text)
        assert driver.execute_script("return window.notReloaded === true;"), "the page reloaded"
        time.sleep(0.5)
        shot("list")
        ok("live")

        # An HTML mail whose scripts try to change the page and reach loopback.
        hostile = f"""<h1>Your invoice</h1><p>Totally harmless.</p>
<script>parent.document.title='owned'; document.title='owned';
fetch('{beacon_url}/fetch'); new Image().src='{beacon_url}/script-img';</script>
<img src="{beacon_url}/img" onerror="parent.document.title='owned'">
<p onmouseover="fetch('{beacon_url}/hover')">Hover here</p>
<iframe src="{beacon_url}/frame"></iframe>"""
        send(args.smtp_port, "Invoice <script>alert(1)</script>", "See the HTML part.\n", html=hostile)
        link = wait.until(lambda d: d.find_element(By.PARTIAL_LINK_TEXT, "Invoice <script>"))
        link.click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "iframe.html"))
        frame = driver.find_element(By.CSS_SELECTOR, "iframe.html")
        assert frame.get_attribute("sandbox") == "", "sandboxed without allow-scripts"
        driver.switch_to.frame(frame)
        assert "Your invoice" in driver.find_element(By.TAG_NAME, "body").text
        driver.switch_to.default_content()
        time.sleep(1.5)
        assert "owned" not in driver.title, driver.title
        assert "owned" not in driver.find_element(By.TAG_NAME, "body").text
        assert not driver.find_elements(By.TAG_NAME, "script") or all(
            s.get_attribute("src").endswith("/static/app.js") for s in driver.find_elements(By.TAG_NAME, "script")
        )
        assert Beacon.hits == [], f"the mail reached loopback: {Beacon.hits}"
        shot("message")
        ok("html mail runs nothing")

        # From the message to the SMTP session that brought it.
        driver.find_element(By.ID, "session-link").click()
        transcript = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "pre.transcript")).text
        for expected in ["C: ehlo laptop.example", "S: 354", "RFC 5321", "message text:"]:
            assert expected in transcript, f"{expected!r} not in {transcript}"
        driver.find_element(By.CSS_SELECTOR, "a.delivered").click()
        wait.until(lambda d: "Invoice" in d.find_element(By.TAG_NAME, "h1").text)
        driver.back()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "pre.transcript"))
        shot("session")
        smuggle(args.smtp_port)
        driver.get(args.url + "/sessions")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "table.sessions tbody tr")) >= 6)
        assert "refused" in driver.find_element(By.CSS_SELECTOR, "table.sessions tbody tr").text
        shot("sessions")
        ok("session page")

        # With accounts: the login form, a wrong password, the right one, logout.
        send(args.login_smtp_port, "Only for Bob", "Private.\n")
        driver.get(args.login_url + "/")
        wait.until(lambda d: d.current_url.endswith("/login"))
        driver.find_element(By.NAME, "address").send_keys("bob@localhost")
        driver.find_element(By.NAME, "password").send_keys("wrong")
        shot("login")
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        wait.until(lambda d: d.find_elements(By.ID, "error"))
        driver.find_element(By.NAME, "password").send_keys(args.password)
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        wait.until(lambda d: "Only for Bob" in d.find_element(By.ID, "messages").text)
        assert "bob@localhost" in driver.find_element(By.CSS_SELECTOR, "header .who").text
        cookies = driver.get_cookies()
        assert any(c["name"] == "postie_session" and c["httpOnly"] and c["sameSite"] == "Strict" for c in cookies), cookies
        assert driver.execute_script("return document.cookie;") == "", "scripts cannot read the login"
        ok("login")
        driver.find_element(By.CSS_SELECTOR, "header form button").click()
        wait.until(lambda d: d.current_url.endswith("/login"))
        driver.get(args.login_url + "/")
        wait.until(lambda d: d.current_url.endswith("/login"))
        ok("logout")
    except Exception:
        shot("failure")
        print("page at failure:", driver.current_url, file=sys.stderr)
        raise
    finally:
        driver.quit()
        beacon.shutdown()


if __name__ == "__main__":
    main()
