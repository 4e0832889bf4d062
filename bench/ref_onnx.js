#!/usr/bin/env node
// ONNX Runtime reference for the one-window inference benchmark: the model
// file's torch module exported to ONNX (bench_model.py --onnx), run by
// onnxruntime-node (CPU execution provider) with intraOpNumThreads = N and
// interOpNumThreads = 1, timed per window like bench/ref_net.py.  Prints
// one JSON object: {"threads", "runs", "median_ms", "p99_ms", "probs",
// "ort_version"}; probs are those of the given window, so bench/run can
// check that libgenre computes the same function.
//
//     ref_onnx.js MODEL.onnx --window FILE.f32 --frames T --mels F
//                 [--threads N] [--runs R] [--warmup W]
//
// onnxruntime-node is found through NODE_PATH (bench/run installs it into
// its cache directory).  Each timed run is one awaited session.run() of a
// [1, 1, T, F] float32 input: it includes onnxruntime-node's hand-off to
// and from its worker thread (some tens of microseconds).
'use strict';

const fs = require('fs');

function usage(msg) {
  process.stderr.write(`ref_onnx.js: ${msg}\nusage: ref_onnx.js MODEL.onnx --window FILE.f32 ` +
                       '--frames T --mels F [--threads N] [--runs R] [--warmup W]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const a = { threads: 1, runs: 200, warmup: 10 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k.startsWith('--')) {
      if (i + 1 >= argv.length) usage(`${k} needs a value`);
      a[k.slice(2)] = argv[++i];
    } else if (!a.model) {
      a.model = k;
    } else {
      usage(`unexpected argument ${k}`);
    }
  }
  for (const k of ['threads', 'runs', 'warmup', 'frames', 'mels']) a[k] = Number(a[k]);
  if (!a.model || !a.window || !(a.frames > 0) || !(a.mels > 0) || !(a.threads >= 1) ||
      !(a.runs >= 1) || !(a.warmup >= 0)) usage('bad arguments');
  return a;
}

// Linear-interpolation percentile, as numpy.percentile's default.
function percentile(sorted, p) {
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const ort = require('onnxruntime-node');
  const raw = fs.readFileSync(a.window);
  const n = a.frames * a.mels;
  if (raw.length !== 4 * n) usage(`${a.window}: ${raw.length} bytes, expected ${4 * n}`);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = raw.readFloatLE(4 * i);

  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, 1, a.frames, a.mels]) };
  const outName = session.outputNames[0];

  const first = await session.run(feeds);
  const probs = Array.from(first[outName].data, Number);
  const times = [];
  for (let i = 0; i < a.warmup + a.runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= a.warmup) times.push(dt);
  }
  times.sort((x, y) => x - y);
  process.stdout.write(JSON.stringify({
    threads: a.threads, runs: a.runs,
    median_ms: percentile(times, 50), p99_ms: percentile(times, 99),
    probs, ort_version: ort.env.versions ? ort.env.versions.node : undefined,
  }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`ref_onnx.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
