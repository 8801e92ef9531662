#!/usr/bin/env python3
"""Writes memsynth.tosc, a TouchOSC (the 2021+ app, not mk1) layout for memsynth.

    python3 examples/touchosc/make_layout.py            # writes memsynth.tosc next to it
    python3 examples/touchosc/make_layout.py --xml      # prints the XML instead
    python3 examples/touchosc/make_layout.py --messages # what the shipped file sends, JSON
    python3 examples/touchosc/make_layout.py --check    # the shipped file is valid and current

A .tosc file is zlib-compressed XML (`<lexml>`: nodes with properties, values and OSC
messages). The layout is one 1280×800 page; every control sends a memsynth address:

    PLAY, STOP, TAP      /transport/play, /transport/stop, /transport/tap   (1 on press;
                         the 0 on release is ignored by memsynth)
    TEMPO fader          /transport/tempo f 40–240
    WEIGHTS XY pad       /retrieval/weights f f f: rhythm = x·2, harmony = y·2, timbre 1
    XFADE fader          /mixer/xfade f 0–16 beats
    GUIDANCE fader       /1/fader1 f 0–1  → patch mapping to conductor.guidance
    MASTER fader         /1/fader2 f 0–1  → patch mapping to mixer.master

The last two go through the running patch's `osc` mappings (README.md lists them), so the
performer can change their range and curve by editing the patch. Node ids are derived
from the control names, so the output is the same on every run.
"""

import json
import sys
import uuid
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
NAMESPACE = uuid.UUID("6d656d73-796e-7468-746f-7563686f7363")  # "memsynthtouchosc"

WIDTH, HEIGHT = 1280, 800


def cdata(text):
    return f"<![CDATA[{text}]]>"


def prop(kind, key, value):
    if kind == "r":
        x, y, w, h = value
        v = f"<x>{x}</x><y>{y}</y><w>{w}</w><h>{h}</h>"
    elif kind == "c":
        r, g, b, a = value
        v = f"<r>{r}</r><g>{g}</g><b>{b}</b><a>{a}</a>"
    elif kind == "s":
        v = cdata(value)
    else:
        v = str(value)
    return f"<property type='{kind}'><key>{cdata(key)}</key><value>{v}</value></property>"


def value(key, default):
    return (f"<value><key>{cdata(key)}</key><locked>0</locked>"
            f"<lockedDefaultCurrent>0</lockedDefaultCurrent><default>{cdata(default)}</default>"
            "<defaultPull>0</defaultPull></value>")


def partial(kind, conversion, val, lo=0, hi=1):
    return (f"<partial><type>{kind}</type><conversion>{conversion}</conversion>"
            f"<value>{cdata(val)}</value><scaleMin>{lo}</scaleMin><scaleMax>{hi}</scaleMax>"
            "</partial>")


def osc(address, args, triggers=("x",)):
    """An OSC message: `args` are ("x", lo, hi) for a control value scaled to lo..hi, or
    ("const", number) for a constant float."""
    parts = []
    for a in args:
        if a[0] == "const":
            parts.append(partial("CONSTANT", "FLOAT", a[1]))
        else:
            parts.append(partial("VALUE", "FLOAT", a[0], a[1], a[2]))
    trig = "".join(f"<trigger><var>{cdata(t)}</var><condition>ANY</condition></trigger>"
                   for t in triggers)
    return ("<osc><enabled>1</enabled><send>1</send><receive>0</receive><feedback>0</feedback>"
            "<noDuplicates>0</noDuplicates><connections>1111111111</connections>"
            f"<triggers>{trig}</triggers>"
            f"<path>{partial('CONSTANT', 'STRING', escape(address))}</path>"
            f"<arguments>{''.join(parts)}</arguments></osc>")


COMMON = (("b", "background", 1), ("f", "cornerRadius", 1), ("b", "grabFocus", 1),
          ("b", "interactive", 1), ("b", "locked", 0), ("i", "orientation", 0),
          ("b", "outline", 1), ("i", "outlineStyle", 0), ("i", "pointerPriority", 0),
          ("i", "shape", 1), ("b", "visible", 1))


def node(kind, name, frame, color, extra=(), values=(), message="", children=""):
    given = [("s", "name", name), ("r", "frame", frame), ("c", "color", color), *extra]
    given += [c for c in COMMON if c[1] not in {g[1] for g in given}]
    # Sorted by key, as the TouchOSC editor writes them.
    props = [prop(k, key, v) for k, key, v in sorted(given, key=lambda g: g[1])]
    node_id = uuid.uuid5(NAMESPACE, name)
    body = f"<properties>{''.join(props)}</properties>"
    body += f"<values>{''.join(value(k, d) for k, d in values)}</values>"
    if message:
        body += f"<messages>{message}</messages>"
    if children:
        body += f"<children>{children}</children>"
    return f"<node ID='{node_id}' type='{kind}'>{body}</node>"


def label(name, text, frame):
    return node("LABEL", name, frame, (0, 0, 0, 0),
                extra=(("b", "background", 0), ("b", "interactive", 0), ("b", "outline", 0),
                       ("c", "textColor", (1, 1, 1, 1)), ("i", "textSize", 20),
                       ("i", "textAlignH", 2), ("i", "textAlignV", 2)),
                values=(("text", text), ("touch", "false")))


def button(name, address, frame, color):
    return name, frame, node("BUTTON", name, frame, color,
                extra=(("i", "buttonType", 0), ("b", "press", 1), ("b", "release", 1),
                       ("b", "valuePosition", 0)),
                values=(("x", "0"), ("touch", "false")),
                message=osc(address, [("x", 0, 1)]))


def fader(name, address, lo, hi, default, frame, color):
    return name, frame, node("FADER", name, frame, color,
                extra=(("b", "bar", 1), ("c", "barColor", (1, 1, 1, 0.3)),
                       ("i", "response", 0), ("b", "centered", 0)),
                values=(("x", str(default)), ("touch", "false")),
                message=osc(address, [("x", lo, hi)]))


def xy(name, address, frame, color):
    return name, frame, node("XY", name, frame, color,
                values=(("x", "0.5"), ("y", "0.5"), ("touch", "false")),
                message=osc(address, [("x", 0, 2), ("y", 0, 2), ("const", 1)],
                            triggers=("x", "y")))


GREEN, RED, BLUE = (0.2, 0.7, 0.3, 1), (0.8, 0.2, 0.2, 1), (0.2, 0.4, 0.8, 1)
ORANGE, PURPLE, GREY = (0.9, 0.6, 0.1, 1), (0.6, 0.3, 0.8, 1), (0.5, 0.5, 0.5, 1)

# (label text, control): frames in a 1280×800 page; labels sit above tall controls.
CONTROLS = [
    ("PLAY", button("play", "/transport/play", (20, 20, 180, 120), GREEN)),
    ("STOP", button("stop", "/transport/stop", (20, 160, 180, 120), RED)),
    ("TAP", button("tap", "/transport/tap", (20, 300, 180, 200), ORANGE)),
    ("TEMPO", fader("tempo", "/transport/tempo", 40, 240, 0.4, (230, 60, 150, 700), BLUE)),
    ("RHYTHM ↔  HARMONY ↕", xy("weights", "/retrieval/weights", (400, 60, 500, 500), PURPLE)),
    ("XFADE", fader("xfade", "/mixer/xfade", 0, 16, 0.0625, (940, 60, 90, 700), GREY)),
    ("GUIDE", fader("guidance", "/1/fader1", 0, 1, 0.5, (1050, 60, 90, 700), ORANGE)),
    ("MASTER", fader("master", "/1/fader2", 0, 1, 1.0, (1160, 60, 90, 700), GREEN)),
]


def label_frame(frame):
    x, y, w, h = frame
    return (x, max(0, y - 40), w, 36) if h > 300 else (x, y + h // 2 - 18, w, 36)


def layout_xml():
    children = []
    for text, (name, frame, control) in CONTROLS:
        children.append(control)
        children.append(label(f"{name}_label", text, label_frame(frame)))
    root = node("GROUP", "memsynth", (0, 0, WIDTH, HEIGHT), (0.08, 0.08, 0.1, 1),
                extra=(("b", "interactive", 0), ("b", "outline", 0)),
                values=(("touch", "false"),), children="".join(children))
    return f"<?xml version='1.0' encoding='UTF-8'?>\n<lexml version='3'>{root}</lexml>\n"


def messages(xml):
    """What each control sends at its extremes: [{control, address, args}] with the
    arguments at the value 0 and at 1 (constants as they are)."""
    import xml.etree.ElementTree as ET

    out = []
    for n in ET.fromstring(xml).iter("node"):
        for o in n.findall("messages/osc"):
            name = next(p.find("value").text for p in n.find("properties")
                        if p.find("key").text == "name")
            address = "".join(p.find("value").text for p in o.find("path"))
            for at in (0.0, 1.0):
                args = []
                for p in o.find("arguments"):
                    if p.find("type").text == "CONSTANT":
                        args.append(float(p.find("value").text))
                    else:
                        lo, hi = float(p.find("scaleMin").text), float(p.find("scaleMax").text)
                        args.append(lo + at * (hi - lo))
                out.append({"control": name, "type": n.get("type"), "address": address,
                            "args": args})
    return out


def read_tosc(path):
    """The XML inside a .tosc file."""
    return zlib.decompress(Path(path).read_bytes()).decode("utf-8")


def main():
    xml = layout_xml()
    shipped = HERE / "memsynth.tosc"
    if "--xml" in sys.argv:
        sys.stdout.write(xml)
    elif "--messages" in sys.argv:
        # From the shipped file, so that a test checks what a phone would load.
        print(json.dumps(messages(read_tosc(shipped))))
    elif "--check" in sys.argv:
        import xml.etree.ElementTree as ET

        inside = read_tosc(shipped)
        ET.fromstring(inside)  # raises on malformed XML
        if inside != xml:
            sys.exit(f"{shipped} is stale: run python3 {Path(__file__).name}")
        print(f"{shipped}: valid, up to date")
    else:
        out = HERE / "memsynth.tosc"
        out.write_bytes(zlib.compress(xml.encode("utf-8"), 9))
        print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
