"""Motion benchmark: motion OSC message -> query update latency on a live server.

A benchmark, not a test: it prints the figures (and with `--out` writes them as JSON);
nothing fails on a missed goal. Standard library only:

    cargo build --release
    python3 benches/motion_latency.py --seconds 20

Options: `--db DIR` (default: a tiny demo database built into a temp folder: 2 tracks,
seed 3), `--bin PATH` (default target/release/memsynth, else target/debug/memsynth),
`--tempo BPM` (240: a beat line every 250 ms), `--rate HZ` (100 messages per second, a
phone's rate), `--out FILE`.

What is measured. `serve --no-audio` on a free port; a client subscribes, sends
`/transport/play`, and streams ZIG SIM `/ZIGSIM/bench/accel` messages (a bounce on the
beat), one per datagram, paced on perf_counter. The motion input encodes the bar that ends
on each beat line the performer hears and the phrase mapper sets the conductor's query and
pushes `/motion/query update received rhythm harmony timbre`, where `received` counts the
motion messages the server had taken when it encoded. So message number `received` (from 1)
is the newest reading in that query, and its latency is the time from sending it to
receiving the push: that is the message -> query update latency (UDP in, decode, motion
input, the beat-line check every 2 ms, the anchor read and mapping on the PhraseMapper
thread, the query handed to the conductor, the push out). p50 / p99 / max over the pushes.

A reading that is not the newest in its window waits for the next beat line on top of this:
the query follows motion once per beat (on average half a beat, 125 ms at 240 BPM, later
than the closing message). That wait is a design choice (the window is a bar, updated on
every beat), not processing time, and is reported separately as the beat period.
"""

import argparse
import json
import math
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pad(b: bytes) -> bytes:
    return b + b"\0" * (4 - len(b) % 4)


def encode(address: str, *args) -> bytes:
    tags, data = ",", b""
    for a in args:
        if isinstance(a, int):
            tags, data = tags + "i", data + struct.pack(">i", a)
        elif isinstance(a, float):
            tags, data = tags + "f", data + struct.pack(">f", a)
        else:
            tags, data = tags + "s", data + pad(a.encode())
    return pad(address.encode()) + pad(tags.encode()) + data


def decode(packet: bytes):
    """(address, args) of a plain OSC message with i/f/s arguments; None otherwise."""
    try:
        end = packet.index(b"\0")
        address = packet[:end].decode()
        pos = (end // 4 + 1) * 4
        end = packet.index(b"\0", pos)
        tags = packet[pos + 1 : end].decode()
        pos = (end // 4 + 1) * 4
        args = []
        for t in tags:
            if t == "i":
                args.append(struct.unpack(">i", packet[pos : pos + 4])[0])
                pos += 4
            elif t == "f":
                args.append(struct.unpack(">f", packet[pos : pos + 4])[0])
                pos += 4
            elif t == "s":
                end = packet.index(b"\0", pos)
                args.append(packet[pos:end].decode())
                pos = (end // 4 + 1) * 4
            else:
                return None
        return address, args
    except (ValueError, struct.error, UnicodeDecodeError):
        return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_db(binary: Path) -> Path:
    root = Path(tempfile.mkdtemp(prefix="memsynth-motion-bench-"))
    lib, db = root / "library", root / "db"
    run = lambda *a: subprocess.run([str(binary), *a], check=True, stdout=subprocess.DEVNULL)
    run("demo-library", "--out", str(lib), "--tracks", "2", "--seed", "3")
    run("analyze", str(lib), "--db", str(db), "--quiet")
    return db


def percentile(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path)
    ap.add_argument("--bin", type=Path)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--tempo", type=float, default=240.0)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    binary = args.bin or next(
        (p for p in (ROOT / "target/release/memsynth", ROOT / "target/debug/memsynth") if p.exists()),
        None,
    )
    if binary is None:
        print("build memsynth first (cargo build --release)", file=sys.stderr)
        return 1
    db = args.db or tiny_db(binary)
    port = free_port()
    server = subprocess.Popen(
        [str(binary), "serve", "--db", str(db), "--osc-port", str(port), "--no-audio",
         "--tempo", str(args.tempo), "--oscquery-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        for line in server.stdout:
            if line.startswith("OSC on"):
                break
        threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.05)
        to = ("127.0.0.1", port)
        sock.sendto(encode("/subscribe", 0), to)
        sock.sendto(encode("/transport/play"), to)

        sent = []  # perf_counter of message k (k from 0)
        pushes = []  # (arrival, update, received)
        done = threading.Event()

        def listen():
            while not done.is_set():
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    continue
                t = time.perf_counter()
                m = decode(data)
                if m and m[0] == "/motion/query":
                    pushes.append((t, m[1][0], m[1][1]))

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        beat_hz = args.tempo / 60.0
        start = time.perf_counter()
        k = 0
        while True:
            due = start + k / args.rate
            now = time.perf_counter()
            if now - start > args.seconds:
                break
            if due > now:
                time.sleep(due - now)
            t = k / args.rate
            z = 0.5 * math.sin(2 * math.pi * beat_hz * t)
            sent.append(time.perf_counter())
            sock.sendto(encode("/ZIGSIM/bench/accel", 0.0, 0.0, z), to)
            k += 1
        time.sleep(1.0)
        done.set()
        listener.join()
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()

    # Only windows closed while messages were still coming: after the stream stops, the
    # server keeps encoding the last bar for one more bar (then leaves the query alone),
    # and those updates are not a message's latency.
    stream_end = sent[-1] + 2.0 / args.rate
    lat = [
        (arrival - sent[received - 1]) * 1e3
        for arrival, _, received in pushes
        if 0 < received <= len(sent) and arrival <= stream_end
    ]
    if not lat:
        print("no /motion/query pushes came back", file=sys.stderr)
        return 1
    figures = {
        "messages": len(sent),
        "pushes": len(pushes),
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "max_ms": max(lat),
        "mean_ms": statistics.fmean(lat),
        "beat_ms": 60e3 / args.tempo,
        "binary": str(binary),
        "tempo": args.tempo,
        "rate_hz": args.rate,
    }
    print(f"motion message -> query update ({len(lat)} updates from {len(sent)} messages at "
          f"{args.rate:.0f} Hz, {binary.parent.name} build):")
    print(f"  p50 {figures['p50_ms']:.2f} ms   p99 {figures['p99_ms']:.2f} ms   "
          f"max {figures['max_ms']:.2f} ms   mean {figures['mean_ms']:.2f} ms")
    print(f"  (plus the wait for the next beat line for readings that do not close a window: "
          f"up to {figures['beat_ms']:.0f} ms at {args.tempo:.0f} BPM)")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
