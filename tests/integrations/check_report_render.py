#!/usr/bin/env python3
"""Renders report.html in headless Chromium and checks, in the pixels, that its curves are drawn.

Each series of the report has its own colour; a curve that is drawn leaves far more pixels of its
colour than its 10x10 legend swatch. The screenshot is decoded here (PNG, zlib), with no imaging
library.

usage: check_report_render.py REPORT_HTML SCREENSHOT_PNG [SERIES_COLOUR ...]
  SERIES_COLOUR: name=#rrggbb; default: the loss, eval loss, learning rate and grad norm colours
Exits 0 when every colour covers at least MIN_PIXELS pixels; prints the counts.
"""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

MIN_PIXELS = 400  # a legend swatch is 100
DEFAULT = ["train loss=#1f77b4", "eval loss=#d62728", "learning rate=#2ca02c", "grad norm=#9467bd"]


def screenshot(html, png):
    chromium = os.environ.get("CHROMIUM", "chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + profile,
             "--window-size=1240,1500", "--screenshot=" + os.path.abspath(png),
             "file://" + os.path.abspath(html)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def decode_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    i, idat, width = 8, b"", 0
    while i < len(data):
        (length,) = struct.unpack(">I", data[i:i + 4])
        kind, body = data[i + 4:i + 8], data[i + 8:i + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if depth != 8 or colour not in (2, 6):
                raise ValueError("unsupported PNG: depth %d colour type %d" % (depth, colour))
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        i += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if f == 1:
                line[x] = (line[x] + a) & 0xFF
            elif f == 2:
                line[x] = (line[x] + b) & 0xFF
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def count_colours(png, colours, tolerance=10):
    width, height, channels, rows = decode_png(png)
    counts = dict((name, 0) for name in colours)
    for row in rows:
        for x in range(0, width * channels, channels):
            r, g, b = row[x], row[x + 1], row[x + 2]
            for name, (cr, cg, cb) in colours.items():
                if abs(r - cr) <= tolerance and abs(g - cg) <= tolerance and abs(b - cb) <= tolerance:
                    counts[name] += 1
    return counts


def main():
    html, png = sys.argv[1], sys.argv[2]
    wanted = {}
    for spec in (sys.argv[3:] or DEFAULT):
        name, hex_colour = spec.rsplit("=", 1)
        wanted[name] = tuple(int(hex_colour[k:k + 2], 16) for k in (1, 3, 5))
    screenshot(html, png)
    counts = count_colours(png, wanted)
    ok = True
    for name, n in counts.items():
        drawn = n >= MIN_PIXELS
        ok &= drawn
        print("%-14s %6d pixels %s" % (name, n, "drawn" if drawn else "NOT DRAWN"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
