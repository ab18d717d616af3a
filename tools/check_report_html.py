#!/usr/bin/env python3
"""Checks that a Reduce report.html renders in a real browser.

    python3 tools/check_report_html.py REPORT.html [--figures-from DIR] [--screenshot OUT.png]

Opens the page in Debian's headless Chromium, driven over the DevTools
protocol on a pipe (--remote-debugging-pipe: no network port, no extra
Python package), and fails with one line on stderr when
  - the page logs a console error, throws, or fails to load a resource,
  - the page asks for anything outside itself (http, https, other files),
  - the page's screenshot does not differ from a blank page's,
  - a figure is missing: every SVG file beside the page (or in
    --figures-from DIR) must be a <figure data-figure="NAME"> in the page,
  - a figure is not drawn: its region of the screenshot must differ from the
    same region of a blank page's screenshot in enough pixels.
Exit status 0 and one "ok" line on stdout when all hold.

Needs: chromium (Debian package), python3 with numpy and pillow.
"""
import argparse
import base64
import io
import json
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import time

# A figure counts as drawn when at least this share of its pixels differ from
# the blank page there (axes, ticks and labels alone are ~2-4 % of a chart).
DRAWN_SHARE = 0.01
# A pixel differs when some channel differs by more than this (anti-aliasing
# of an empty page is 0; this only tolerates colour rounding).
PIXEL_TOLERANCE = 16
# Every wait on the browser is bounded by this.
TIMEOUT_S = 60
VIEWPORT_WIDTH = 1280


class CheckFailed(Exception):
    pass


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise CheckFailed("chromium not found on PATH (Debian: apt-get install chromium)")


class Browser:
    """Headless Chromium and one page, spoken to over fds 3 (in) and 4 (out)."""

    def __init__(self, chromium, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # The protocol pipes must be fds 3 and 4 in the browser; sh puts them there.
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio",
                "--force-device-scale-factor=1", f"--window-size={VIEWPORT_WIDTH},900",
                f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(
            ["sh", "-c", f'exec "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}', "sh"] + args,
            pass_fds=(to_chrome_r, from_chrome_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": VIEWPORT_WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False})

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CheckFailed(f"chromium did not answer within {TIMEOUT_S} s")
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace").strip().splitlines()
                raise CheckFailed("chromium exited: " + (err[-1] if err else f"status {self.proc.poll()}"))
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            message["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise CheckFailed(f"chromium: {method}: {m['error'].get('message')}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_for(self, method):
        deadline = time.monotonic() + TIMEOUT_S
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                del self.events[i]
                return m
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method:
                return m
            if "method" in m:
                self.events.append(m)

    def load(self, url):
        self.events = []
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CheckFailed(f"{url}: cannot load: {result['errorText']}")
        self.wait_for("Page.loadEventFired")
        # Let late console messages and resource failures arrive.
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))", wait=True)

    def evaluate(self, expression, wait=False):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": wait})
        if "exceptionDetails" in r:
            raise CheckFailed(f"script in checker failed: {r['exceptionDetails'].get('text')}")
        return r.get("result", {}).get("value")

    def screenshot(self, width, height):
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        data = self.call("Page.captureScreenshot",
                         {"format": "png", "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        return base64.b64decode(data["data"])

    def close(self):
        try:
            self.call("Browser.close")
        except CheckFailed:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self.to_chrome)
        os.close(self.from_chrome)


def page_errors(events, page_url):
    """One description per error the page caused while loading."""
    errors = []
    for m in events:
        method, p = m.get("method"), m.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            errors.append("uncaught exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append("console error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            errors.append(f"{e.get('source', 'log')} error: {e.get('text', '')} {e.get('url', '')}".strip())
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            errors.append(f"resource failed to load: {p.get('errorText')}")
        elif method == "Network.requestWillBeSent":
            url = p.get("request", {}).get("url", "")
            if url != page_url and not url.startswith("data:") and not url.startswith("about:"):
                errors.append(f"page loads a resource from outside itself: {url[:120]}")
    return errors


def decode_png(data):
    import numpy
    from PIL import Image
    return numpy.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(numpy.int16)


def differing_share(a, b):
    import numpy
    if a.size == 0:
        return 0.0
    return float(numpy.mean(numpy.abs(a - b).max(axis=2) > PIXEL_TOLERANCE))


FIGURES_JS = """
(() => Array.from(document.querySelectorAll('figure[data-figure]')).map(f => {
  // The drawing's own box: the figure's would take in the caption's text.
  const r = (f.querySelector('svg') || f).getBoundingClientRect();
  return {name: f.dataset.figure, svg: f.querySelector('svg') !== null,
          x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height};
}))()
"""


def check(page, figures_dir, screenshot_out=None):
    page = pathlib.Path(page).resolve()
    if not page.is_file():
        raise CheckFailed(f"{page}: no such file")
    expected = sorted(p.name for p in pathlib.Path(figures_dir).glob("*.svg")) if figures_dir else []
    with tempfile.TemporaryDirectory(prefix="fapsim-check-html-") as profile:
        browser = Browser(find_chromium(), profile)
        try:
            url = page.as_uri()
            browser.load(url)
            errors = page_errors(browser.events, url)
            if errors:
                raise CheckFailed(f"{page}: {errors[0]}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
            figures = browser.evaluate(FIGURES_JS) or []
            width = VIEWPORT_WIDTH
            height = int(min(browser.evaluate("document.documentElement.scrollHeight") or 900, 30000))
            shot = browser.screenshot(width, height)
            # The blank page: same size, same white background a browser gives an empty document.
            browser.load("about:blank")
            blank = browser.screenshot(width, height)
        finally:
            browser.close()
    if screenshot_out:
        pathlib.Path(screenshot_out).write_bytes(shot)
    page_img, blank_img = decode_png(shot), decode_png(blank)
    if page_img.shape != blank_img.shape:
        raise CheckFailed(f"{page}: screenshot is {page_img.shape[1]}x{page_img.shape[0]}, blank page {blank_img.shape[1]}x{blank_img.shape[0]}")
    if differing_share(page_img, blank_img) == 0:
        raise CheckFailed(f"{page}: the page renders blank (its screenshot equals a blank page's)")
    names = [f["name"] for f in figures]
    missing = [n for n in expected if n not in names]
    if missing:
        raise CheckFailed(f"{page}: figure {missing[0]} (an SVG beside the page) is not in the page" +
                          (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    if not figures:
        raise CheckFailed(f"{page}: the page has no figures (no <figure data-figure=...>)")
    for f in figures:
        if not f["svg"]:
            raise CheckFailed(f"{page}: figure {f['name']} has no inline SVG")
        x0, y0 = max(0, int(f["x"])), max(0, int(f["y"]))
        x1, y1 = min(width, int(f["x"] + f["w"])), min(height, int(f["y"] + f["h"]))
        if x1 - x0 < 10 or y1 - y0 < 10:
            raise CheckFailed(f"{page}: figure {f['name']} is drawn {f['w']:.0f}x{f['h']:.0f} px, too small to see")
        share = differing_share(page_img[y0:y1, x0:x1], blank_img[y0:y1, x0:x1])
        f["share"] = share
        if share < DRAWN_SHARE:
            raise CheckFailed(f"{page}: figure {f['name']} is not drawn ({share * 100:.2f} % of its "
                              f"{x1 - x0}x{y1 - y0} px region differs from a blank page; expected at least {DRAWN_SHARE * 100:g} %)")
    return figures


def main():
    ap = argparse.ArgumentParser(description="Check that a Reduce report.html renders in headless Chromium.")
    ap.add_argument("page", help="report.html")
    ap.add_argument("--figures-from", metavar="DIR",
                    help="every *.svg in DIR must be a figure of the page (default: the page's own folder)")
    ap.add_argument("--screenshot", metavar="PNG", help="also save the page's screenshot here")
    a = ap.parse_args()
    figures_dir = a.figures_from or str(pathlib.Path(a.page).resolve().parent)
    try:
        figures = check(a.page, figures_dir, a.screenshot)
    except CheckFailed as e:
        # One line whatever the browser said (exception descriptions carry a stack).
        print("check_report_html: " + " ".join(str(e).split()), file=sys.stderr)
        return 1
    drawn = ", ".join(f"{f['name']} {f['share'] * 100:.1f} %" for f in figures)
    print(f"ok: {a.page}: renders without errors, {len(figures)} figures drawn (pixels differing from a blank page: {drawn})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
