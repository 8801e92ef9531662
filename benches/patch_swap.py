#!/usr/bin/env python3
"""Patch swap latency: from saving a patch to the bar line it is applied on.

Runs `memsynth render --follow` (paced to wall time, so the bar lines come as they would
on stage) with a patch, saves an edit N times at random points in the bar, and reads the
latency the render prints for each swap: save → staged (debounce + read + validate) and
save → bar line (what the audience hears). Prints median and p99 of both.

    python3 benches/patch_swap.py --db data/demo-db --edits 20 [--tempo 120] [--speed 1]
    python3 benches/patch_swap.py --serve --edits 20    # the live server (--no-audio) instead

With `--serve`, `memsynth serve --no-audio --patch live.ron` plays and its log line
`patch: live.ron applied on bar N (…); save → bar line X ms` gives the figure (the bar
line as the mixer renders it, ≈ 43 ms before it is heard through the ring). In a render,
`save → staged` also counts the offline engine's own stalls (it loads and stretches the
next phrase on the same thread); the server's is the watcher alone.

The bar-line figure is dominated by waiting for the next bar (uniform over one bar:
2 s at 120 BPM); `--speed 4` runs the clock 4x faster, which shortens that wait 4x while the
debounce stays in wall time.
"""

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=os.path.join(ROOT, "data/demo-db"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/debug/memsynth"))
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--tempo", type=float, default=120.0)
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--serve", action="store_true", help="measure the live server")
    args = ap.parse_args()
    if args.serve:
        return serve(args)

    bar_s = 4 * 60.0 / args.tempo / args.speed
    folder = tempfile.mkdtemp(prefix="memsynth-swap-")
    live = os.path.join(folder, "live.ron")
    with open(live, "w") as f:
        f.write("(mixer: (master: 0.0))\n")
    bars = int((args.edits + 2) * 1.6) + 4
    out = os.path.join(folder, "out.wav")
    proc = subprocess.Popen(
        [args.bin, "render", "--db", args.db, "--tempo", str(args.tempo), "--bars", str(bars),
         "--patch", live, "--follow", "--speed", str(args.speed), "--out", out],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    rng = random.Random(1)
    time.sleep(1.0)
    for i in range(args.edits):
        # Alternate in-place writes and rename-saves, as editors do.
        text = f"(mixer: (master: {-1.0 - i % 7}))\n"
        if i % 2:
            tmp = live + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, live)
        else:
            with open(live, "w") as f:
                f.write(text)
        time.sleep(bar_s * (1.2 + 0.6 * rng.random()))
    stdout, _ = proc.communicate()
    staged, line = [], []
    for m in re.finditer(r"save → staged ([\d.]+) ms, save → bar line ([\d.]+) ms", stdout):
        staged.append(float(m.group(1)))
        line.append(float(m.group(2)))
    if not line:
        print(stdout, file=sys.stderr)
        sys.exit("no swaps measured")
    print(f"patch swap latency over {len(line)} saves ({args.tempo} BPM, clock x{args.speed}, "
          f"bar = {bar_s * 1e3:.0f} ms wall):")
    print(f"  save → staged (debounce + parse + validate): median {statistics.median(staged):.1f} ms, "
          f"p99 {pct(staged, 99):.1f} ms")
    print(f"  save → applied bar line:                    median {statistics.median(line):.1f} ms, "
          f"p99 {pct(line, 99):.1f} ms")


def osc_message(address, *args):
    def pad(b):
        return b + b"\0" * (4 - len(b) % 4)
    tags = "," + "".join("i" if isinstance(a, int) else "f" for a in args)
    import struct
    body = b"".join(struct.pack(">i", a) if isinstance(a, int) else struct.pack(">f", a) for a in args)
    return pad(address.encode()) + pad(tags.encode()) + body


def save(live, text, rename):
    if rename:
        tmp = live + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, live)
    else:
        with open(live, "w") as f:
            f.write(text)


def serve(args):
    import socket
    import threading
    folder = tempfile.mkdtemp(prefix="memsynth-swap-")
    live = os.path.join(folder, "live.ron")
    with open(live, "w") as f:
        f.write("(mixer: (master: 0.0))\n")
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    proc = subprocess.Popen(
        [args.bin, "serve", "--db", args.db, "--no-audio", "--osc-port", str(port),
         "--oscquery-port", "0", "--tempo", str(args.tempo), "--patch", live],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("OSC on"):
            break
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    latencies, staged = [], []
    def read_log():
        for line in proc.stderr:
            m = re.search(r"live\.ron staged for bar \d+ \(save → staged ([\d.]+) ms\)", line)
            if m:
                staged.append(float(m.group(1)))
            m = re.search(r"live\.ron applied on bar \d+ .*save → bar line ([\d.]+) ms", line)
            if m:
                latencies.append(float(m.group(1)))
    threading.Thread(target=read_log, daemon=True).start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.sendto(osc_message("/transport/play"), ("127.0.0.1", port))
    bar_s = 4 * 60.0 / args.tempo
    rng = random.Random(1)
    time.sleep(1.0)
    for i in range(args.edits):
        save(live, f"(mixer: (master: {-1.0 - i % 7}))\n", i % 2 == 1)
        time.sleep(bar_s * (1.2 + 0.6 * rng.random()))
    time.sleep(bar_s)
    proc.terminate()
    proc.wait(timeout=10)
    if not latencies:
        sys.exit("no swaps measured")
    print(f"patch swap latency, live server, over {len(latencies)} saves ({args.tempo} BPM, "
          f"bar = {bar_s * 1e3:.0f} ms):")
    if staged:
        print(f"  save → staged (debounce + parse + validate): median {statistics.median(staged):.1f} ms, "
              f"p99 {pct(staged, 99):.1f} ms")
    print(f"  save → applied bar line:                    median {statistics.median(latencies):.1f} ms, "
          f"p99 {pct(latencies, 99):.1f} ms")


if __name__ == "__main__":
    main()
