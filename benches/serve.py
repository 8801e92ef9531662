"""Live-server benchmark: OSC latency, render speed, CPU while serving, JACK underruns.

A benchmark, not a test: it prints a table and (with `--out`) writes the figures as JSON;
nothing fails on a missed goal. Build the release binary first, then run it with a Python
that has python-osc:

    cargo build --release
    .venv-test/bin/python benches/serve.py --jack-minutes 1 --out target/serve-bench.json

Options: `--db DIR` (default: a tiny demo database built into a temp folder: 2 tracks,
seed 3), `--bin PATH` (default target/release/memsynth), `--seconds S` for part 1,
`--cpu-seconds S` for part 3, `--jack-minutes M` (0 skips part 4), `--load`, `--skip`.
The issue's full run is `--jack-minutes 10 --load`.

1. OSC message -> parameter applied latency. `serve --no-audio` on a free port; for
   `--seconds` (10) a client sends `/transport/tempo f` with changing values at 1000 msg/s
   (paced on perf_counter, sleeping between sends), and every 10th tempo message
   (`--probe-every`) is followed at once by `/status`. A probe's latency is the time from
   sending its tempo message until the first `/status` reply showing that tempo, or a later
   one, arrives. Commands are applied in order, so a reply showing tempo k proves that
   every message up to k was applied before it. `/status` is answered by the Conductor
   actor itself, in order after every command that arrived before it (not from a snapshot
   on the OSC thread), so the reply to a probe's own `/status` already shows its tempo:
   the figure is the round trip send -> applied -> reply, an upper bound on the applied
   latency. p50 / p99 / max over the probes; also the bare `/status` round trip (matched
   to requests in order). "Lost" is the share of `/status` requests whose reply never came
   (1 s grace after the last send).
   Goal: p99 <= 2 ms. Tempos step by 1/8 BPM through 60-188, exact in f32, so a reply
   maps back to the newest message that sent its value.
2. Render speed. `memsynth render --bars 64` on the same database, timed here with
   perf_counter (process start to exit, so it includes opening the database) and parsed
   from its own "rendered in X s (Y x real time)" line; audio length is read from the WAV.
3. CPU use while serving. `serve --no-audio`, `/transport/play` at 120 BPM, then the server
   process's utime+stime from /proc/PID/stat over `--cpu-seconds` (20) of playing, as % of
   one core (100 % = one core busy).
4. Underruns over a paced JACK run. `jackd -n NAME -d dummy -r 48000 -p 256` with a unique
   NAME, `serve --jack` (JACK_DEFAULT_SERVER=NAME), `/transport/play`, then `/status`
   after `--jack-minutes`; the underrun counter is read right after play starts and at the
   end, and both plus the difference are reported. With `--load`, `memsynth analyze` of
   `../shared/data` (`--data`) into a fresh temp database runs in a loop, pinned to the last
   CPU, for the whole run. jackd is stopped with SIGTERM (SIGKILL leaks its shm registry).
   Skipped with a printed reason if `jackd` is not on PATH.

On a shared machine the tails pick up preemption by other work; say what else ran when
quoting the figures.
"""

import argparse
import collections
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

ROOT = Path(__file__).resolve().parent.parent
TEMPO_LO = 60.0  # part 1 tempos: TEMPO_LO + k/8, k < TEMPO_STEPS (exact in f32)
TEMPO_STEPS = 1024


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def encode(address: str, *args) -> bytes:
    builder = OscMessageBuilder(address=address)
    for a in args:
        builder.add_arg(a)
    return builder.build().dgram


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


class Client:
    """A UDP socket that sends to the server and collects replies."""

    def __init__(self, port: int):
        self.addr = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)

    def send(self, address: str, *args) -> None:
        self.sock.sendto(encode(address, *args), self.addr)

    def status(self, timeout: float = 2.0):
        """Ask `/status` and wait for the reply: [playing, tempo, bar, beat, phrase, underruns]."""
        self.sock.settimeout(0.2)
        deadline = time.monotonic() + timeout
        self.send("/status")
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                self.send("/status")
                continue
            msg = OscMessage(data)
            if msg.address == "/status":
                return list(msg.params)
        return None

    def close(self) -> None:
        self.sock.close()


def start_server(args, db: Path, extra, env=None):
    port = free_port()
    cmd = [str(args.bin), "serve", "--db", str(db), "--osc-port", str(port), *extra]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    client = Client(port)
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.read()}")
        if client.status(timeout=0.5) is not None:
            return proc, client
    stop(proc)
    raise RuntimeError(f"{' '.join(cmd)}: no /status reply within 30 s")


def stop(proc, sig=signal.SIGTERM, wait=10.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pct(sorted_xs, q: float) -> float:
    if not sorted_xs:
        return float("nan")
    i = min(len(sorted_xs) - 1, max(0, int(round(q * (len(sorted_xs) - 1)))))
    return sorted_xs[i]


# ---- 1. OSC latency -------------------------------------------------------------------


def bench_latency(args, db: Path) -> dict:
    proc, client = start_server(args, db, ["--no-audio"])
    try:
        sock = client.sock
        sock.settimeout(0.1)
        probes = collections.deque()  # (message index, send time), unresolved, in order
        latencies = []
        sent = {"last": -1, "status": 0}
        status_times = []  # send time of every /status, for the round trip
        round_trips = []
        got = {"status": 0, "errors": 0, "foreign": 0}
        done = threading.Event()

        def receive():
            while not done.is_set():
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                now = time.perf_counter()
                msg = OscMessage(data)
                if msg.address == "/error":
                    got["errors"] += 1
                if msg.address != "/status":
                    continue
                if got["status"] < len(status_times):
                    round_trips.append(now - status_times[got["status"]])
                got["status"] += 1
                idx = round((f32(msg.params[1]) - TEMPO_LO) * 8)
                last = sent["last"]
                if not 0 <= idx < TEMPO_STEPS or last < 0:
                    got["foreign"] += 1
                    continue
                # the newest message with that tempo: all before it were applied too
                j = last - ((last - idx) % TEMPO_STEPS)
                if j < 0:
                    got["foreign"] += 1
                    continue
                while probes and probes[0][0] <= j:
                    latencies.append(now - probes.popleft()[1])

        rx = threading.Thread(target=receive, daemon=True)
        rx.start()
        rate = args.rate
        n = int(args.seconds * rate)
        period = 1.0 / rate
        status = encode("/status")
        n_probes = 0
        late = 0
        t0 = time.perf_counter()
        for i in range(n):
            due = t0 + i * period
            while True:
                wait = due - time.perf_counter()
                if wait <= 0:
                    break
                if wait > 0.0002:
                    time.sleep(wait - 0.0001)
            if time.perf_counter() - due > 0.001:
                late += 1
            packet = encode("/transport/tempo", TEMPO_LO + (i % TEMPO_STEPS) / 8.0)
            if i % args.probe_every == 0:
                n_probes += 1
                probes.append((i, time.perf_counter()))
                sent["last"] = i
                sock.sendto(packet, client.addr)
                status_times.append(time.perf_counter())
                sock.sendto(status, client.addr)
                sent["status"] += 1
            else:
                sent["last"] = i
                sock.sendto(packet, client.addr)
        elapsed = time.perf_counter() - t0
        # a last probe or two so the final tempo is seen, then the grace second
        for _ in range(3):
            time.sleep(0.01)
            status_times.append(time.perf_counter())
            sock.sendto(status, client.addr)
            sent["status"] += 1
        time.sleep(1.0)
        done.set()
        rx.join()
        lat = sorted(x * 1e3 for x in latencies)
        rtt = sorted(x * 1e3 for x in round_trips)
        return {
            "messages": n,
            "send_seconds": elapsed,
            "send_rate": n / elapsed,
            "sends_late_over_1ms": late,
            "probe_every": args.probe_every,
            "probes": n_probes,
            "probes_resolved": len(lat),
            "status_sent": sent["status"],
            "status_replies": got["status"],
            "lost_share": 1.0 - got["status"] / sent["status"],
            "p50_ms": pct(lat, 0.50),
            "p99_ms": pct(lat, 0.99),
            "max_ms": lat[-1] if lat else float("nan"),
            "mean_ms": statistics.fmean(lat) if lat else float("nan"),
            "status_round_trip_p50_ms": pct(rtt, 0.50),
            "status_round_trip_p99_ms": pct(rtt, 0.99),
            "status_round_trip_max_ms": rtt[-1] if rtt else float("nan"),
            "replies_not_matching_a_sent_tempo": got["foreign"],
            "error_replies": got["errors"],
            "goal_p99_ms": 2.0,
        }
    finally:
        client.close()
        stop(proc)


# ---- 2. Render speed ------------------------------------------------------------------


def bench_render(args, db: Path, tmp: Path) -> dict:
    out = tmp / "render.wav"
    cmd = [str(args.bin), "render", "--db", str(db), "--bars", str(args.bars), "--out", str(out)]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {run.returncode}: {run.stderr}")
    text = run.stdout + run.stderr
    m = re.search(r"rendered in ([0-9.]+) s \(([0-9.]+)\S* real time\)", text)
    with wave.open(str(out)) as w:
        audio = w.getnframes() / w.getframerate()
    return {
        "bars": args.bars,
        "audio_seconds": audio,
        "wall_seconds": wall,
        "x_real_time": audio / wall,
        "reported_seconds": float(m.group(1)) if m else None,
        "reported_x_real_time": float(m.group(2)) if m else None,
    }


# ---- 3. CPU while serving -------------------------------------------------------------


def cpu_ticks(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def bench_cpu(args, db: Path) -> dict:
    proc, client = start_server(args, db, ["--no-audio", "--tempo", "120"])
    try:
        client.send("/transport/play")
        # play starts on the next bar: wait until the status says playing
        deadline = time.monotonic() + 10.0
        playing = False
        while time.monotonic() < deadline and not playing:
            st = client.status()
            playing = bool(st and st[0])
            if not playing:
                time.sleep(0.1)
        hz = os.sysconf("SC_CLK_TCK")
        c0, t0 = cpu_ticks(proc.pid), time.perf_counter()
        time.sleep(args.cpu_seconds)
        c1, t1 = cpu_ticks(proc.pid), time.perf_counter()
        st = client.status()
        return {
            "seconds": t1 - t0,
            "cpu_seconds": (c1 - c0) / hz,
            "cpu_percent_of_one_core": 100.0 * (c1 - c0) / hz / (t1 - t0),
            "playing": playing,
            "bar_at_end": st[2] if st else None,
            "underruns": st[5] if st else None,
        }
    finally:
        client.close()
        stop(proc)


# ---- 4. JACK underruns ----------------------------------------------------------------


def analysis_load(args, tmp: Path, stop_event: threading.Event, counts: dict) -> None:
    cpu = max(os.sched_getaffinity(0))

    def pin():
        os.sched_setaffinity(0, {cpu})

    while not stop_event.is_set():
        db = Path(tempfile.mkdtemp(prefix="loaddb-", dir=tmp))
        p = subprocess.Popen(
            [str(args.bin), "analyze", str(args.data), "--db", str(db), "--quiet", "--jobs", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=pin,
        )
        while p.poll() is None and not stop_event.is_set():
            time.sleep(0.2)
        if p.poll() is None:
            stop(p)
        else:
            counts["completed"] += 1
        shutil.rmtree(db, ignore_errors=True)
    counts["cpu"] = cpu


def bench_jack(args, db: Path, tmp: Path) -> dict:
    jackd = shutil.which("jackd")
    if jackd is None:
        return {"skipped": "jackd not on PATH"}
    name = f"memsynth-bench-{os.getpid()}"
    env = dict(os.environ, JACK_DEFAULT_SERVER=name)
    jack = subprocess.Popen(
        [jackd, "-n", name, "-d", "dummy", "-r", "48000", "-p", "256"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    load_stop = threading.Event()
    load_counts = {"completed": 0}
    loader = None
    proc = client = None
    try:
        time.sleep(1.5)
        if jack.poll() is not None:
            return {"skipped": f"jackd exited {jack.returncode} at start"}
        proc, client = start_server(args, db, ["--jack"], env=env)
        if args.load:
            loader = threading.Thread(
                target=analysis_load, args=(args, tmp, load_stop, load_counts), daemon=True
            )
            loader.start()
        client.send("/transport/play")
        start = None
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            start = client.status()
            if start and start[0]:
                break
            time.sleep(0.1)
        t0 = time.perf_counter()
        time.sleep(args.jack_minutes * 60.0)
        end = client.status()
        seconds = time.perf_counter() - t0
        return {
            "minutes": seconds / 60.0,
            "load": bool(args.load),
            "load_runs_completed": load_counts["completed"] if args.load else None,
            "playing": bool(end and end[0]),
            "bars": end[2] if end else None,
            "underruns_at_play": start[5] if start else None,
            "underruns_at_end": end[5] if end else None,
            "underruns_during": (end[5] - start[5]) if (start and end) else None,
        }
    finally:
        load_stop.set()
        if loader is not None:
            loader.join()
        if client is not None:
            client.close()
        if proc is not None:
            stop(proc)
        stop(jack, signal.SIGTERM, wait=15.0)


# ---- driver ---------------------------------------------------------------------------


def tiny_db(args, tmp: Path) -> Path:
    lib, db = tmp / "lib", tmp / "db"
    for cmd in (
        [str(args.bin), "demo-library", "--out", str(lib), "--tracks", "2", "--seed", "3"],
        [str(args.bin), "analyze", str(lib), "--db", str(db), "--quiet"],
    ):
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return db


def fmt(x, spec=".3f") -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return format(x, spec)
    return str(x)


def print_table(res: dict) -> None:
    rows = []
    lat = res.get("latency")
    if lat:
        ok = "met" if lat["p99_ms"] <= lat["goal_p99_ms"] else "MISSED"
        rows += [
            ("OSC tempo -> /status p50", fmt(lat["p50_ms"]) + " ms", ""),
            ("OSC tempo -> /status p99", fmt(lat["p99_ms"]) + " ms", f"goal <= 2 ms: {ok}"),
            ("OSC tempo -> /status max", fmt(lat["max_ms"]) + " ms", ""),
            (
                "  /status round trip p50/p99/max",
                f"{fmt(lat['status_round_trip_p50_ms'])} / {fmt(lat['status_round_trip_p99_ms'])}"
                f" / {fmt(lat['status_round_trip_max_ms'])} ms",
                "send /status -> reply (no tempo wait)",
            ),
            (
                "  /status replies lost",
                f"{100 * lat['lost_share']:.2f} % of {lat['status_sent']}",
                f"{lat['messages']} msgs at {lat['send_rate']:.0f}/s",
            ),
        ]
    ren = res.get("render")
    if ren:
        rows += [
            (
                f"render --bars {ren['bars']}",
                f"{ren['wall_seconds']:.2f} s wall",
                f"{ren['x_real_time']:.1f}x real time ({ren['audio_seconds']:.1f} s audio)",
            ),
            (
                "  as reported by render",
                f"{fmt(ren['reported_seconds'], '.2f')} s",
                f"{fmt(ren['reported_x_real_time'], '.1f')}x real time",
            ),
        ]
    cpu = res.get("cpu")
    if cpu:
        rows.append(
            (
                "CPU serving (120 BPM, playing)",
                f"{cpu['cpu_percent_of_one_core']:.1f} % of a core",
                f"over {cpu['seconds']:.0f} s, underruns {fmt(cpu['underruns'])}",
            )
        )
    jack = res.get("jack")
    if jack:
        if "skipped" in jack:
            rows.append(("JACK dummy underruns", "skipped", jack["skipped"]))
        else:
            load = (
                f"with analyze load ({jack['load_runs_completed']} runs done)"
                if jack["load"]
                else "no load"
            )
            rows.append(
                (
                    f"JACK dummy underruns, {jack['minutes']:.1f} min",
                    fmt(jack["underruns_during"]),
                    f"{load}; at play {fmt(jack['underruns_at_play'])}, "
                    f"end {fmt(jack['underruns_at_end'])}, playing {jack['playing']}",
                )
            )
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:>{w1}}  {c}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", type=Path, default=ROOT / "target/release/memsynth")
    ap.add_argument("--db", type=Path, help="phrase database (default: a tiny demo one)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data",
                    help="library analysed by --load")
    ap.add_argument("--seconds", type=float, default=10.0, help="part 1 duration")
    ap.add_argument("--rate", type=float, default=1000.0, help="part 1 messages per second")
    ap.add_argument("--probe-every", type=int, default=10,
                    help="part 1: follow every Nth tempo message with /status")
    ap.add_argument("--bars", type=int, default=64, help="part 2 bars to render")
    ap.add_argument("--cpu-seconds", type=float, default=20.0, help="part 3 duration")
    ap.add_argument("--jack-minutes", type=float, default=1.0, help="part 4 (0 skips it)")
    ap.add_argument("--load", action="store_true", help="analysis load during part 4")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: "
                    "latency,render,cpu,jack")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = ap.parse_args()
    if not args.bin.exists():
        sys.exit(f"{args.bin} missing: run `cargo build --release` first")
    skip = set(filter(None, args.skip.split(",")))

    res = {"bin": str(args.bin), "cpus": len(os.sched_getaffinity(0))}
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as t:
        tmp = Path(t)
        db = args.db if args.db else tiny_db(args, tmp)
        res["db"] = str(db) if args.db else "tiny demo (2 tracks, seed 3)"
        if "latency" not in skip:
            res["latency"] = bench_latency(args, db)
        if "render" not in skip:
            res["render"] = bench_render(args, db, tmp)
        if "cpu" not in skip:
            res["cpu"] = bench_cpu(args, db)
        if "jack" not in skip:
            if args.jack_minutes > 0:
                res["jack"] = bench_jack(args, db, tmp)
            else:
                res["jack"] = {"skipped": "--jack-minutes 0"}
    print_table(res)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
