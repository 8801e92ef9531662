#!/usr/bin/env python3
"""Writes the OSC seed corpus (fuzz/seeds/osc_dispatch/*.osc): one packet per file, covering
memsynth's own addresses, the phone formats, bundles with time tags (nested, immediate, in
the past) and a few malformed packets. The patch target's seeds are patches/*.ron and
fuzz/seeds/patch_parse/*.ron. Run it again after changing the address table."""

import struct
from pathlib import Path

OUT = Path(__file__).resolve().parent / "osc_dispatch"


def pad(b):
    return b + b"\0" * (4 - len(b) % 4)


def msg(address, *args):
    tags, data = ",", b""
    for a in args:
        if isinstance(a, bool):
            tags += "T" if a else "F"
        elif isinstance(a, int):
            tags, data = tags + "i", data + struct.pack(">i", a)
        elif isinstance(a, float):
            tags, data = tags + "f", data + struct.pack(">f", a)
        elif isinstance(a, tuple) and a[0] == "d":
            tags, data = tags + "d", data + struct.pack(">d", a[1])
        elif isinstance(a, tuple) and a[0] == "h":
            tags, data = tags + "h", data + struct.pack(">q", a[1])
        else:
            tags, data = tags + "s", data + pad(a.encode())
    return pad(address.encode()) + pad(tags.encode()) + data


def bundle(seconds, fraction, *elements):
    body = b"".join(struct.pack(">i", len(e)) + e for e in elements)
    return pad(b"#bundle") + struct.pack(">II", seconds, fraction) + body


SEEDS = {
    "play": msg("/transport/play"),
    "play_touchosc_release": msg("/transport/play", 0.0),
    "stop_true": msg("/transport/stop", True),
    "tempo": msg("/transport/tempo", 128.0),
    "tempo_int": msg("/transport/tempo", 90),
    "tempo_double": msg("/transport/tempo", ("d", 100.5)),
    "tap": msg("/transport/tap"),
    "accel": msg("/motion/accel", 0.1, -9.8, 0.3),
    "quat": msg("/motion/quat", 1.0, 0.0, 0.0, 0.0),
    "attitude": msg("/motion/attitude", 0.1, 0.2, 0.3),
    "mode": msg("/conductor/mode", "hybrid"),
    "steps": msg("/conductor/steps", 50),
    "guidance": msg("/conductor/guidance", 3.5),
    "seed_h": msg("/conductor/seed", ("h", 1 << 40)),
    "k": msg("/retrieval/k", 8),
    "weights": msg("/retrieval/weights", 1.0, 0.5, 0.0),
    "phrase": msg("/retrieval/phrase", 3),
    "gain": msg("/mixer/gain", "master", 0.8),
    "xfade": msg("/mixer/xfade", 2.0),
    "patch_load": msg("/patch/load", "groove.ron"),
    "patch_load_escape": msg("/patch/load", "../etc/passwd"),
    "patch_set": msg("/patch/set", "conductor.guidance", 2.0),
    "patch_get": msg("/patch/get", "mixer.master"),
    "record": msg("/record/start", "take.wav"),
    "status": msg("/status"),
    "subscribe": msg("/subscribe", 9100),
    "touchosc_accxyz": msg("/accxyz", 0.0, 0.0, -1.0),
    "touchosc_fader": msg("/1/fader1", 0.5),
    "zigsim_quat": msg("/ZIGSIM/phone1/quaternion", 0.0, 0.0, 0.0, 1.0),
    "gyrosc_rrate": msg("/gyrosc/rrate", 0.1, 0.2, 0.3),
    "sensors2osc_rotv": msg("/rotationvector", 0.1, 0.2, 0.3),
    "pattern": msg("/transport/*"),
    "read_only": msg("/bar", 3),
    "bundle_now": bundle(0, 1, msg("/transport/tempo", 120.0), msg("/transport/play")),
    "bundle_future": bundle(3_900_000_010, 0, msg("/retrieval/k", 4)),
    "bundle_past": bundle(3_800_000_000, 7, msg("/transport/tap"), msg("/transport/tap")),
    "bundle_nested": bundle(3_900_000_001, 0, bundle(0, 1, msg("/transport/stop")),
                            bundle(3_900_000_000, 0, msg("/status"))),
    "bad_size": bundle(0, 1, msg("/status"))[:-3] + b"\0\0\0\xff",
    "bad_tags": pad(b"/transport/tempo") + pad(b",q") + b"\0\0\0\0",
    "empty": b"",
}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, packet in SEEDS.items():
        (OUT / f"{name}.osc").write_bytes(packet)
    print(f"wrote {len(SEEDS)} seeds to {OUT}")


if __name__ == "__main__":
    main()
