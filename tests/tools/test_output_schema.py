#!/usr/bin/python3
"""Real output against doc/output.schema.json (test `test_output_schema`).

genre-classify --json --segments on music (the bundled demo), digital silence, a
0.1-s file, a float WAV of NaN samples and a file that does not exist:
every line validates as $defs/classify_file, each outcome is the expected
one, and model_id names the model with the sha256 of its file and its
labels.  Then genred on the demo: its status objects while warming and
after, and the results a watcher receives, validate as
$defs/daemon_result with the same model_id.

  test_output_schema.py SCHEMA GENRE_CLASSIFY GENRED MODEL DEMO_WAV WORKDIR
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import jsonschema
import numpy as np
import soundfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import daemon_harness  # noqa: E402
from checklist import check, summary  # noqa: E402


def validator(schema, name):
    sub = dict(schema)
    sub["$ref"] = "#/$defs/" + name
    return jsonschema.Draft202012Validator(sub)


def errors_of(v, obj):
    return ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message)
            for e in v.iter_errors(obj)]


def expected_identity(model):
    with open(model, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    return sha


def main():
    schema_path, classify, genred, model, demo, work = sys.argv[1:7]
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    per_file = validator(schema, "classify_file")
    daemon_result = validator(schema, "daemon_result")
    sha = expected_identity(model)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    rate = 16000
    silence = os.path.join(work, "silence.wav")
    soundfile.write(silence, np.zeros(rate * 12, dtype=np.float32), rate, subtype="PCM_16")
    short = os.path.join(work, "short.wav")
    soundfile.write(short, 0.3 * np.sin(np.arange(rate // 10) * 0.1), rate, subtype="PCM_16")
    nan = os.path.join(work, "nan.wav")
    soundfile.write(nan, np.full(rate * 4, np.nan, dtype=np.float32), rate, subtype="FLOAT")
    missing = os.path.join(work, "missing.flac")
    expected = {demo: "genre", silence: "silence", short: "too-short", nan: "invalid-audio",
                missing: "error"}

    r = subprocess.run([classify, "--json", "--segments", "--model", model] + list(expected),
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 1, "genre-classify exits 1 (a file failed)", r.returncode)
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    check(len(lines) == len(expected), "one line per file", r.stdout)
    labels = None
    for obj in lines:
        errs = errors_of(per_file, obj)
        check(not errs, "%s: valid classify_file" % os.path.basename(obj.get("file", "?")), errs)
        check(obj.get("outcome") == expected.get(obj.get("file")),
              "%s: outcome %s" % (os.path.basename(obj.get("file", "?")), obj.get("outcome")),
              obj)
        mid = obj.get("model_id", {})
        check(mid.get("sha256") == sha and mid.get("name") == os.path.basename(model),
              "%s: model_id is the model's file (sha256 %s...)"
              % (os.path.basename(obj.get("file", "?")), sha[:12]), mid)
        labels = labels or mid.get("labels")
        # --segments: every file with windows has segments that tile it.
        if obj.get("outcome") in ("genre", "silence"):
            segs = obj.get("segments") or []
            check(segs and segs[0]["start"] == 0 and abs(segs[-1]["end"] - obj["duration"]) < 1e-3
                  and all(a["end"] == b["start"] for a, b in zip(segs, segs[1:])),
                  "%s: segments cover the file" % os.path.basename(obj["file"]), segs)
            check(obj["outcome"] != "silence" or [s["silent"] for s in segs] == [True],
                  "%s: silence is one silent segment" % os.path.basename(obj["file"]), segs)
        if obj.get("probabilities"):
            check(list(obj["probabilities"]) == mid.get("labels"),
                  "probabilities have the model's labels, in order")

    # genred on the demo: warming, then results (the shared harness starts
    # it and waits until it answers).
    daemon_harness.GENRED = genred
    d = daemon_harness.Daemon(work, "[audio]\nsource = file\nfile = %s\nloop = yes\n[model]\n"
                              "path = %s\n[inference]\ninterval = 0.5\n[socket]\ngroup =\n"
                              % (demo, model))
    try:
        objects = [d.status()] + d.watch(14)
    finally:
        d.close()
    for o in objects:
        o.pop("_received", None)        # the harness's receive time, not genred's
    results = [o for o in objects if o.get("type") in ("status", "result")]
    states = {o["state"] for o in results}
    check("warming" in states and "ok" in states,
          "genred's objects cover warming and ok (%s)" % sorted(states), states)
    bad = [(o.get("seq"), errors_of(daemon_result, o)) for o in results
           if errors_of(daemon_result, o)]
    check(results and not bad, "%d genred status/result objects valid daemon_result"
          % len(results), bad[:3])
    ids = {json.dumps(o.get("model_id"), sort_keys=True) for o in results}
    check(len(ids) == 1 and json.loads(ids.pop()) == {"name": os.path.basename(model),
                                                     "sha256": sha, "labels": labels},
          "genred's model_id equals genre-classify's")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
