#!/usr/bin/env python3
"""Tests tools/check_report_html.py: it must pass a good report and catch broken ones.

    python3 tools/test_check_report_html.py REPORT_DIR

REPORT_DIR holds a report.html and its SVG figures (as `fapsim report`
writes them). The good page must pass; each broken copy (a figure taken out,
a figure emptied, a figure hidden by CSS, a figure as an external image, a
script error, a blank page) must fail with one line naming the problem.
Prints one line per case; exits 1 if any case goes the wrong way.
"""
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

CHECKER = pathlib.Path(__file__).resolve().parent / "check_report_html.py"
FIGURE = re.compile(r'<figure id="[^"]*" data-figure="([^"]+)">.*?</figure>', re.S)
SVG = re.compile(r"(<svg\b[^>]*>).*?</svg>", re.S)


def run_checker(page):
    r = subprocess.run([sys.executable, str(CHECKER), str(page)], capture_output=True, text=True, timeout=180)
    return r.returncode, r.stdout, r.stderr


def broken_pages(html):
    """(case, page text, what the checker's message must contain)."""
    figures = list(FIGURE.finditer(html))
    if len(figures) < 2:
        raise SystemExit(f"test_check_report_html: the good page has {len(figures)} figures; expected at least 2")
    first, last = figures[0], figures[-1]
    name = last.group(1)
    last_id = re.search(r'id="([^"]+)"', last.group(0)).group(1)
    # The last figure's <svg> with nothing inside, at its full size: present but blank.
    emptied = SVG.sub(lambda m: m.group(1) + "</svg>", last.group(0), count=1)
    return [
        ("figure taken out of the page", html[:last.start()] + html[last.end():], f"figure {name} (an SVG beside the page) is not in the page"),
        ("figure emptied", html[:last.start()] + emptied + html[last.end():], f"figure {name} is not drawn"),
        ("figure hidden by CSS", html.replace("</style>", f"#{last_id} svg {{ visibility: hidden; }}\n</style>", 1),
         f"figure {name} is not drawn"),
        ("figure as an image file instead of inline", html[:first.start()] +
         f'<figure id="x" data-figure="{first.group(1)}"><img src="{first.group(1)}" alt="x"/></figure>' + html[first.end():],
         "page loads a resource from outside itself"),
        ("script error", html.replace("</body>", "<script>notAFunction();</script>\n</body>", 1), "uncaught exception"),
        ("blank page", "<!DOCTYPE html>\n<html><head><title>x</title></head><body></body></html>\n", "renders blank"),
    ]


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: tools/test_check_report_html.py REPORT_DIR")
    report = pathlib.Path(sys.argv[1])
    html = (report / "report.html").read_text(encoding="utf-8")
    failures = 0
    rc, out, err = run_checker(report / "report.html")
    if rc == 0:
        print(f"ok: good page passes: {out.strip()}")
    else:
        failures += 1
        print(f"FAIL: good page rejected: {err.strip()}")
    with tempfile.TemporaryDirectory(prefix="fapsim-check-html-test-") as tmp:
        for i, (case, page, expected) in enumerate(broken_pages(html)):
            d = pathlib.Path(tmp) / f"case{i}"
            d.mkdir()
            for svg in report.glob("*.svg"):
                shutil.copy(svg, d / svg.name)
            (d / "report.html").write_text(page, encoding="utf-8")
            rc, out, err = run_checker(d / "report.html")
            lines = err.strip().splitlines()
            if rc != 0 and len(lines) == 1 and expected in lines[0]:
                print(f"ok: {case}: caught: {lines[0]}")
            else:
                failures += 1
                print(f"FAIL: {case}: expected a one-line failure containing {expected!r}, got status {rc}, stderr {err.strip()!r}")
    if failures:
        print(f"test_check_report_html: {failures} case(s) went the wrong way", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
