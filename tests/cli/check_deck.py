#!/usr/bin/env python3
"""Opens a Flyte deck.html in headless Chromium (--dump-dom: the page as the browser built it) and
checks its "Log History" table against a run's log_history: one column per key (trainer_state.json
sorts keys, the deck keeps the order they were logged in: columns are matched by name), one row per
entry, each cell the value (Python's repr for floats) or NaN.

usage: check_deck.py DECK_HTML TRAINER_STATE_JSON
"""
import html.parser
import json
import os
import subprocess
import sys
import tempfile


class Table(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.cell, self.title = [], None, ""
        self.in_h2 = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = ""
        elif tag == "h2":
            self.in_h2 = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell)
            self.cell = None
        elif tag == "h2":
            self.in_h2 = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        if self.in_h2:
            self.title += data


def cell(value):
    return repr(value) if isinstance(value, float) else str(value)


def main():
    deck, state = sys.argv[1:3]
    chromium = os.environ.get("CHROMIUM", "chromium")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--user-data-dir=" + profile, "--dump-dom",
                              "file://" + os.path.abspath(deck)],
                             check=True, capture_output=True, text=True, timeout=120).stdout
    table = Table()
    table.feed(dom)
    history = json.load(open(state))["log_history"]
    columns = []
    for entry in history:
        columns += [k for k in entry if k not in columns]
    if table.title != "Log History":
        sys.exit(f"check_deck: title {table.title!r}")
    header = table.rows[0]
    if header[0] != "" or sorted(header[1:]) != sorted(columns):
        sys.exit(f"check_deck: header {header} does not name the keys {columns}")
    body = table.rows[1:]
    if len(body) != len(history):
        sys.exit(f"check_deck: {len(body)} rows shown, {len(history)} in log_history")
    for i, (row, entry) in enumerate(zip(body, history)):
        want = [str(i)] + [cell(entry[c]) if c in entry else "NaN" for c in header[1:]]
        if row != want:
            sys.exit(f"check_deck: row {i}: {row} != {want}")
    print(f"check_deck: {len(body)} rows, {len(columns)} columns as log_history")


if __name__ == "__main__":
    main()
