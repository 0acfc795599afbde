// Detection inference (eval, no grad): fasterrcnn_resnet50_fpn and ssdlite320_mobilenet_v3_large,
// Iris vs torchvision 0.14 in one run. torchvision builds each model seeded (norms and head
// perturbed so there is something to detect), saves the weights, images and its detections; Iris
// loads the weights strictly, must give the same detections (boxes and scores within 1e-4 of the
// largest, labels equal), then both time the forward on the same list of images in alternating bursts.
//   node bench/dist/detection-forward.js [--models=fasterrcnn_resnet50_fpn,ssdlite320_mobilenet_v3_large
//     --images=2 --height=480 --width=640 --threads=2 --burst=1 --rounds=7 --warmup=1 --stages]
//   --stages: instead of whole forwards, time each part on both sides (transform, backbone, RPN, RoI
//   heads, postprocess for Faster R-CNN; transform, backbone, head, anchors, postprocess for SSD).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { createDetector, FasterRCNN, SSD, type Detection, type Detector } from '@iris/vision/detection';
import { PythonBench, alternateBursts, median, parseArgs, report } from './lib/compare.js';

const args = parseArgs({
  models: 'fasterrcnn_resnet50_fpn,ssdlite320_mobilenet_v3_large',
  images: 2,
  height: 480,
  width: 640,
  threads: 2,
  burst: 1,
  rounds: 7,
  warmup: 1,
  stages: false,
  seed: 0,
});

/** max |a - b| / max |b| over two tensors of one shape, or Infinity if the shapes differ. */
function maxRelDiff(actual: Tensor, expected: Tensor): number {
  if (actual.shape.join() !== expected.shape.join()) return Infinity;
  const a = actual.toFlatArray();
  const e = expected.toFlatArray();
  let diff = 0;
  let ref = 0;
  a.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(v - e[i]));
    ref = Math.max(ref, Math.abs(e[i]));
  });
  return ref === 0 ? diff : diff / ref;
}

/** Throws unless Iris's detections are torchvision's; returns the worst relative box and score differences. */
function checkDetections(name: string, out: Detection[], io: Map<string, Tensor>): { boxes: number; scores: number; counts: number[] } {
  let boxes = 0;
  let scores = 0;
  out.forEach((det, i) => {
    const labels = io.get(`labels.${i}`)!;
    if (det.boxes.shape[0] !== labels.shape[0]) throw new Error(`${name} image ${i}: Iris detects ${det.boxes.shape[0]} objects, torchvision ${labels.shape[0]}; the timings would not be of the same computation`);
    if (det.labels.toFlatArray().join() !== labels.toFlatArray().join()) throw new Error(`${name} image ${i}: labels differ from torchvision's`);
    boxes = Math.max(boxes, maxRelDiff(det.boxes, io.get(`boxes.${i}`)!));
    scores = Math.max(scores, maxRelDiff(det.scores, io.get(`scores.${i}`)!));
  });
  if (!(boxes <= 1e-4 && scores <= 1e-4)) throw new Error(`${name}: detections differ from torchvision's (boxes ${boxes.toExponential(2)}, scores ${scores.toExponential(2)} relative to the largest; allowed 1e-4)`);
  return { boxes, scores, counts: out.map((d) => d.boxes.shape[0]) };
}

/** The detector's eval forward cut at its parts, in ms each (the part names are the Python side's). */
function stageTimes(model: Detector, images: Tensor[], faults: number[]): Record<string, number> {
  const before = process.resourceUsage().minorPageFault;
  const times = torch.tidy(() =>
    torch.noGrad(() => {
      const t = [performance.now()];
      const lap = () => t.push(performance.now());
      const originalSizes = images.map((img) => img.shape.slice(-2) as [number, number]);
      let names: string[];
      if (model instanceof FasterRCNN) {
        const [imageList] = model.transform.call(images);
        lap();
        const out = model.backbone.call(imageList.tensors);
        const features = out instanceof torch.Tensor ? new Map([['0', out]]) : out;
        lap();
        const [proposals] = model.rpn.call(imageList, features);
        lap();
        const [detections] = model.roiHeads.call(features, proposals, imageList.imageSizes);
        lap();
        model.transform.postprocess(detections, imageList.imageSizes, originalSizes);
        lap();
        names = ['transform', 'backbone', 'rpn', 'roi_heads', 'postprocess'];
      } else if (model instanceof SSD) {
        const [imageList] = model.transform.call(images);
        lap();
        const out = model.backbone.call(imageList.tensors);
        const features = out instanceof torch.Tensor ? [out] : out instanceof Map ? [...out.values()] : out;
        lap();
        const headOutputs = model.head.call(features);
        lap();
        const anchors = model.anchorGenerator.call(imageList, features);
        lap();
        model.transform.postprocess(model.postprocessDetections(headOutputs, anchors, imageList.imageSizes), imageList.imageSizes, originalSizes);
        lap();
        names = ['transform', 'backbone', 'head', 'anchors', 'postprocess'];
      } else {
        throw new Error(`--stages: no cut into parts for ${model.constructor.name}`);
      }
      return Object.fromEntries(names.map((n, i) => [n, t[i + 1] - t[i]]));
    }),
  );
  faults.push(process.resourceUsage().minorPageFault - before);
  return times;
}

function stageTable(iris: Record<string, number>[], ref: Record<string, number>[]): string {
  const rows = Object.keys(iris[0]).map((k) => {
    const a = median(iris.map((s) => s[k]));
    const b = median(ref.map((s) => s[k]));
    return `  ${k.padEnd(12)} Iris ${a.toFixed(2).padStart(9)} ms   torchvision ${b.toFixed(2).padStart(9)} ms   ratio ${(a / b).toFixed(3)}`;
  });
  return rows.join('\n');
}

async function benchModel(name: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'iris-detection-bench-'));
  try {
    const shapes = Array.from({ length: args.images }, () => [3, args.height, args.width]);
    const reference = new PythonBench('detection_forward.py', { model: name, images: shapes, threads: args.threads, warmup: args.warmup, seed: args.seed, dir });
    await reference.ready();
    const model = createDetector(name);
    const loaded = model.loadStateDict(loadStateDictFile(join(dir, 'weights.pt')));
    if (loaded.missingKeys.length || loaded.unexpectedKeys.length) {
      throw new Error(`${name}: torchvision's state dict does not load strictly (missing ${loaded.missingKeys.join(', ')}; unexpected ${loaded.unexpectedKeys.join(', ')})`);
    }
    model.eval();
    const io = loadStateDictFile(join(dir, 'io.pt'));
    const images = shapes.map((_, i) => io.get(`image.${i}`)!);
    const check = torch.tidy(() => checkDetections(name, torch.noGrad(() => model.call(images)) as Detection[], io));
    const step = () => torch.tidy(() => torch.noGrad(() => void model.call(images)));
    for (let i = 0; i < args.warmup; i++) step();

    const what = `${name} forward (eval, no grad, ${args.images} images ${args.height}x${args.width}, ${args.threads} threads; libtorch ${torch.libtorchVersion()}, PyTorch ${reference.info.torch}, torchvision ${(reference.info as { torchvision?: string }).torchvision}`;
    const checked = `detections equal: ${check.counts.join(' + ')}, max relative difference boxes ${check.boxes.toExponential(1)}, scores ${check.scores.toExponential(1)}`;
    if (args.stages) {
      const iris: Record<string, number>[] = [];
      const ref: Record<string, number>[] = [];
      const irisFaults: number[] = [];
      const refFaults: number[] = [];
      for (let round = 0; round < args.rounds; round++) {
        for (let i = 0; i < args.burst; i++) iris.push(stageTimes(model, images, irisFaults));
        const reply = await reference.request('stages', args.burst);
        ref.push(...reply.stages);
        refFaults.push(...reply.faults);
      }
      reference.close();
      const total = (s: Record<string, number>) => Object.values(s).reduce((a, b) => a + b, 0);
      const faults = `\n  minor page faults per pass (medians): Iris ${median(irisFaults)}, torchvision ${median(refFaults)}`;
      report(`${what}, by part; ${checked})`, iris.map(total), ref.map(total), `\n${stageTable(iris, ref)}${faults}`);
    } else {
      const { iris, ref } = await alternateBursts(step, reference, args);
      reference.close();
      report(`${what}; ${iris.length} passes each, alternating bursts of ${args.burst}; ${checked})`, iris, ref);
    }
    for (const t of [...model.parameters(), ...model.buffers(), ...io.values()]) t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

torch.setNumThreads(args.threads);
for (const name of args.models.split(',')) await benchModel(name);
