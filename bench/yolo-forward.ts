// YOLO inference (eval, no grad): yolo11n and yolov8n at 640 px, batch 1 and 8, Iris vs the same
// network in PyTorch 1.13 (the parity tests' rewrite of Ultralytics' modules) in one run. PyTorch
// builds each seeded, saves the weights, input and outputs; Iris loads the weights strictly and must
// give the same outputs (1e-4 of the largest) before both time the forward in alternating bursts.
//   node bench/dist/yolo-forward.js [--models=yolo11n,yolov8n --batches=1,8 --size=640 --threads=2 --burst=2 --rounds=7 --warmup=2]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { buildYolo } from '@iris/vision/detection';
import { PythonBench, alternateBursts, parseArgs, report } from './lib/compare.js';

const args = parseArgs({ models: 'yolo11n,yolov8n', batches: '1,8', size: 640, threads: 2, burst: 2, rounds: 7, warmup: 2 });
torch.setNumThreads(args.threads);

for (const name of args.models.split(',')) {
  for (const batch of args.batches.split(',').map(Number)) {
    const dir = mkdtempSync(join(tmpdir(), 'iris-yolo-bench-'));
    const reference = new PythonBench('yolo_forward.py', { model: name, batch, size: args.size, threads: args.threads, warmup: args.warmup, dir });
    try {
      await reference.ready();
      const model = buildYolo(name);
      const weights = loadStateDictFile(join(dir, 'weights.pt'));
      model.loadStateDict(weights);
      model.eval();
      const io = loadStateDictFile(join(dir, 'io.pt'));
      const x = io.get('input')!;
      const outs = torch.noGrad(() => model.forward(x));
      outs.forEach((o: Tensor, i: number) => {
        const ref = io.get(`out${i}`)!;
        const diff = o.sub(ref).abs().amax().item();
        const scale = ref.abs().amax().item();
        if (!(diff <= 1e-4 * scale)) throw new Error(`${name} level ${i}: Iris's output differs from PyTorch's (max |Δ| ${diff} > 1e-4 · ${scale}); the timings would not be of the same computation`);
      });
      const step = () => torch.tidy(() => torch.noGrad(() => void model.forward(x)));
      for (let i = 0; i < args.warmup; i++) step();
      const { iris, ref } = await alternateBursts(step, reference, args);
      report(`${name} forward (eval, no grad, batch ${batch}, ${args.size}x${args.size}, ${args.threads} threads; libtorch ${torch.libtorchVersion()}, PyTorch ${reference.info.torch}; ${iris.length} passes each, alternating bursts of ${args.burst})`, iris, ref);
    } finally {
      reference.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
