// YOLO exported as Ultralytics exports it (decoded [B, 4 + nc, A], no NMS) and raw: onnxruntime's
// outputs equal Iris's own decodeDetect / per-level maps at batch 1 and 2, and ONNX's checker
// accepts the file. Weights: the seeded initialisation with BatchNorm statistics randomised.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as torch from '@iris/torch';
import { decodeModel } from '@iris/torch/onnx';
import { buildYolo, decodeDetect, exportYoloOnnx } from '../src/detection/models/yolo/index.js';
import { runPython, tempDir } from './helpers/reference.js';

function maxRelDiff(want: Float32Array, got: Float32Array): number {
  let d = 0;
  let m = 0;
  want.forEach((v, i) => {
    d = Math.max(d, Math.abs(v - got[i]!));
    m = Math.max(m, Math.abs(v));
  });
  return d / m;
}

for (const name of ['yolo11n', 'yolov8n'] as const) {
  test(`${name} exports to ONNX equal to Iris (decoded and raw) and passes onnx's checker`, async () => {
    torch.manualSeed(0);
    const net = buildYolo(name, { numClasses: 3 });
    torch.noGrad(() => {
      for (const [key, b] of net.namedBuffers()) {
        if (key.endsWith('running_mean')) b.copy_(torch.randn(b.shape).mul(0.1));
        if (key.endsWith('running_var')) b.copy_(torch.rand(b.shape).add(0.5));
      }
    });
    net.eval();
    const decoded = exportYoloOnnx(net, { imgsz: 128 });
    const raw = exportYoloOnnx(net, { imgsz: 128, raw: true });
    const graph = decodeModel(decoded).graph;
    assert.equal(graph.input[0].name, 'images');
    assert.deepEqual(graph.output[0].type.tensorType.shape.dim.map((d: { dimParam?: string; dimValue?: number }) => d.dimParam || Number(d.dimValue)), ['batch', 7, 336]);
    const sessions = await Promise.all([ort.InferenceSession.create(decoded), ort.InferenceSession.create(raw)]);
    try {
      for (const batch of [1, 2]) {
        const x = torch.rand([batch, 3, 128, 128]);
        const feed = { images: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) };
        const levels = torch.noGrad(() => net.call(x) as torch.Tensor[]);
        const ref = torch.noGrad(() => decodeDetect(net.detect, levels));
        const rawOut = await sessions[1]!.run(feed);
        levels.forEach((level, i) => {
          const r = maxRelDiff(level.dataSync() as Float32Array, rawOut[`level${i}`]!.data as Float32Array);
          assert.ok(r <= 1e-4, `level ${i} batch ${batch}: ${r}`);
        });
        const out = (await sessions[0]!.run(feed))['output0']!;
        assert.deepEqual([...out.dims], ref.shape);
        const rel = maxRelDiff(ref.dataSync() as Float32Array, out.data as Float32Array);
        assert.ok(rel <= 1e-4, `decoded batch ${batch}: ${rel}`);
      }
    } finally {
      await Promise.all(sessions.map((s) => s.release()));
    }
    const dir = tempDir();
    try {
      const path = join(dir.path, `${name}.onnx`);
      writeFileSync(path, decoded);
      const [verdict] = runPython<{ ok: boolean; error?: string; outputs: unknown }[]>('onnx_check.py', { paths: [path] });
      assert.ok(verdict!.ok, verdict!.error);
      assert.deepEqual(verdict!.outputs, [['batch', 7, 336]]);
    } finally {
      dir.cleanup();
    }
  });
}

test('exportYoloOnnx refuses an input size that is not a multiple of 32', () => {
  const net = buildYolo('yolo11n', { numClasses: 2 });
  assert.throws(() => exportYoloOnnx(net, { imgsz: 100 }), /imgsz 100 must be a multiple of 32/);
});
