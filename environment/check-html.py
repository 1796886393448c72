#!/usr/bin/env python3
r"""Checks that exported notebook HTML shows its formulas typeset, offline.

    environment/check-html.py notebooks/executed/*.html

Each page is loaded in headless Chromium (no network needed: the export points at the installed MathJax), and the text a
reader sees after the scripts ran (the DOM without scripts and styles) must hold no raw TeX: no "$$" and none of the TeX
commands the notebooks use (\frac, \lambda, ...).
Exits 1 naming each page that fails, with what it found; a page without formulas passes.
"""
import re
import subprocess
import sys

# "$$" and the TeX commands the notebooks' formulas use (a code cell's "\n" is not one of them)
TEX = re.compile(r"\$\$|\\(?:frac|lambda|mathbb|mathcal|mathrm|text|big|Big|sum|log|max|min|le|ge|hat|sigma|pi|theta|phi|psi|delta|gamma|eta|mu|beta|cdot|quad|left|right)\b")


def visible_text(path):
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=15000",
                          "--dump-dom", "file://" + path], capture_output=True, text=True, timeout=120, check=True).stdout
    dom = re.sub(r"<script.*?</script>", "", dom, flags=re.S)
    dom = re.sub(r"<style.*?</style>", "", dom, flags=re.S)
    return re.sub(r"<[^>]+>", "", dom)


def main(pages):
    failed = 0
    for page in pages:
        raw = TEX.findall(visible_text(__import__("os").path.abspath(page)))
        if raw:
            failed += 1
            print(f"{page}: {len(raw)} raw TeX fragments shown, e.g. {sorted(set(raw))[:5]}")
        else:
            print(f"{page}: formulas typeset")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
