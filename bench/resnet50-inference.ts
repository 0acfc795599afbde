// ResNet-50 inference paths side by side in one run (eval, no grad, 224 px, batch 1 and 8, 2 threads):
// PyTorch 1.13 eager fp32, channels-last, channels-last + bf16 autocast; onnxruntime-node fp32 on
// the file torch.onnx.export wrote; Iris as it was (plain eval forward), Iris's inference path
// (inferenceSession: conv–BN folded, channels-last) in fp32 and in bf16. Medians, and each one's
// speed relative to ORT fp32 (above 1: faster than ORT).
//   node bench/dist/resnet50-inference.js [--batches=1,8 --size=224 --threads=2 --burst=2 --rounds=10 --warmup=2]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as torch from '@iris/torch';
import { createModel, inferenceSession } from '@iris/vision';
import { PythonBench, median, parseArgs } from './lib/compare.js';

const args = parseArgs({ batches: '1,8', size: 224, threads: 2, burst: 2, rounds: 10, warmup: 2 });
const batches = args.batches.split(',').map(Number);
const dir = mkdtempSync(join(tmpdir(), 'iris-bench-'));
const reference = new PythonBench('resnet50_inference.py', { ...args, batches, dir });
await reference.ready();
const onnxPath = (reference.info as unknown as { onnx: string }).onnx;
const load = [loadavg()[0]];

torch.setNumThreads(args.threads);
torch.manualSeed(0);
const plain = createModel('resnet50').eval();
const fastModel = createModel('resnet50');
fastModel.loadStateDict(plain.stateDict());
const fp32 = inferenceSession(fastModel, { precision: 'fp32' });
const bf16 = inferenceSession(fastModel, { precision: 'bf16' });
if (bf16.fallback) console.warn(`warning: ${bf16.fallback}`);
const ortSession = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: args.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });

type Timer = (batch: number, count: number) => Promise<number[]>;
const timeIris = (forward: (x: torch.Tensor) => unknown): Timer => {
  const inputs = new Map(batches.map((b) => [b, torch.randn([b, 3, args.size, args.size])]));
  return async (batch, count) => {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      torch.tidy(() => torch.noGrad(() => void forward(inputs.get(batch)!)));
      times.push(performance.now() - t0);
    }
    return times;
  };
};
const ortInputs = new Map(batches.map((b) => [b, new ort.Tensor('float32', Float32Array.from({ length: b * 3 * args.size * args.size }, () => Math.random() - 0.5), [b, 3, args.size, args.size])]));
const timeOrt: Timer = async (batch, count) => {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await ortSession.run({ input: ortInputs.get(batch)! });
    times.push(performance.now() - t0);
  }
  return times;
};
const timePython = (variant: string): Timer => async (batch, count) => (await reference.request(`${variant} ${batch}`, count)).times;

const variants: [string, Timer][] = [
  ['PyTorch eager fp32', timePython('eager')],
  ['PyTorch channels-last fp32', timePython('channels_last')],
  ['PyTorch channels-last bf16 autocast', timePython('bf16')],
  ['onnxruntime-node fp32', timeOrt],
  ['Iris before (plain eval forward)', timeIris((x) => plain.call(x))],
  ['Iris inference path fp32', timeIris(fp32.forward)],
  [`Iris inference path ${bf16.precision}`, timeIris(bf16.forward)],
];

console.log(`ResNet-50 inference, eval, no grad, ${args.size}x${args.size}, ${args.threads} threads; libtorch ${torch.libtorchVersion()}, PyTorch ${reference.info.torch}, onnxruntime-node ${ort.env.versions.node ?? ''}; ${fp32.fusedPairs.length} conv-BN pairs folded`);
for (const batch of batches) {
  for (const [, time] of variants) await time(batch, args.warmup);
  // Round-robin bursts: every path sees the same drift of this shared machine's speed.
  const times = variants.map((): number[] => []);
  for (let round = 0; round < args.rounds; round++) {
    for (const [i, [, time]] of variants.entries()) times[i].push(...(await time(batch, args.burst)));
    load.push(loadavg()[0]);
  }
  const ortMs = median(times[3]);
  console.log(`batch ${batch} (${args.rounds * args.burst} passes each):`);
  for (const [i, [name]] of variants.entries()) {
    const ms = median(times[i]);
    console.log(`  ${name.padEnd(38)} ${ms.toFixed(1).padStart(8)} ms   ${(ortMs / ms).toFixed(2)}x ORT fp32 speed`);
  }
}
console.log(`1-minute load average during the run: ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)}`);
reference.close();
await ortSession.release();
rmSync(dir, { recursive: true, force: true });
