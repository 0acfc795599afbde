// Trainer precision and memory format on CPU: one bf16-autocast step against PyTorch's
// torch.autocast('cpu', dtype=torch.bfloat16) step from the same weights, channels-last against
// NCHW, and the fp32 fallback where the CPU has no native bf16.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as torch from '@iris/torch';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { Trainer, resolvePrecision, type BatchSource, type TrainerOptions } from '../src/train/index.js';
import { runPython, tempDir, assertMaxRelClose } from './helpers/reference.js';

const { nn } = torch;
const F = nn.functional;
torch.setNumThreads(2);

const LR = 0.1;
const MOMENTUM = 0.9;
const WEIGHT_DECAY = 1e-3;
const CLASSES = 10;
/** bfloat16 keeps 8 significant bits (2^-8 ≈ 4e-3): bf16 results are compared to 1e-2 of their largest value. */
const BF16_TOL = 1e-2;
/** fp32 with another summation order (oneDNN's NHWC kernels vs NCHW): 1e-4 of the largest value. */
const FP32_TOL = 1e-4;

/** train_precision_ref.py's SmallNet, with the same state-dict keys; records what its forward pass saw. */
class SmallNet extends nn.Module {
  conv1 = new nn.Conv2d(3, 16, 3, { padding: 1, bias: false });
  bn1 = new nn.BatchNorm2d(16);
  conv2 = new nn.Conv2d(16, 32, 3, { stride: 2, padding: 1, bias: false });
  bn2 = new nn.BatchNorm2d(32);
  conv3 = new nn.Conv2d(32, 32, 1);
  fc = new nn.Linear(32, CLASSES);
  seen: { inputChannelsLast: boolean; autocast: boolean; logitsDtype: string; logits: Tensor }[] = [];

  forward(x: Tensor): Tensor {
    let h = F.relu(this.bn1.forward(this.conv1.forward(x)));
    h = F.relu(this.bn2.forward(this.conv2.forward(h)));
    h = F.relu(this.conv3.forward(h));
    const logits = this.fc.forward(F.adaptiveAvgPool2d(h, [1, 1]).flatten(1));
    this.seen.push({
      inputChannelsLast: x.isContiguous('channelsLast') && !x.isContiguous(),
      autocast: torch.isAutocastEnabled('cpu'),
      logitsDtype: logits.dtype,
      logits: torch.keep(logits.detach().to({ dtype: 'float32', copy: true })),
    });
    return logits;
  }
}

const dir = tempDir();
after(() => dir.cleanup());
const CASES = [
  { id: 'fp32', bf16: false, channels_last: false },
  { id: 'bf16', bf16: true, channels_last: false },
  { id: 'bf16_cl', bf16: true, channels_last: true },
];
let ref: { cases: Record<string, { logits_dtype: string }>; channels_last_strides: Record<string, number[]> };
let init: Map<string, Tensor>;
let batch: Map<string, Tensor>;
before(() => {
  ref = runPython('train_precision_ref.py', {
    dir: dir.path, input: [16, 3, 16, 16], classes: CLASSES, lr: LR, momentum: MOMENTUM, weight_decay: WEIGHT_DECAY, cases: CASES,
  });
  init = loadStateDictFile(join(dir.path, 'init.pt'));
  batch = loadStateDictFile(join(dir.path, 'batch.pt'));
});

function oneBatch(): BatchSource {
  return {
    length: 1,
    setEpoch: () => {},
    state: () => ({}),
    loadState: () => {},
    async *[Symbol.asyncIterator]() {
      yield { images: batch.get('images')!.clone(), labels: batch.get('labels')!.clone() };
    },
  };
}

/** A SmallNet with the reference's initial weights, its optimizer made before the Trainer (as the CLI does), after one Trainer step. */
async function trainOneStep(options: Partial<TrainerOptions>): Promise<{ model: SmallNet; trainer: Trainer; loss: number; optimizer: InstanceType<typeof torch.optim.SGD> }> {
  const model = new SmallNet();
  model.loadStateDict(init);
  const optimizer = new torch.optim.SGD(model.parameters(), { lr: LR, momentum: MOMENTUM, weightDecay: WEIGHT_DECAY });
  let loss = NaN;
  const trainer = new Trainer({
    model, optimizer, maxSteps: 1, numClasses: CLASSES, outDir: mkdtempSync(join(tmpdir(), 'iris-precision-')),
    onStep: (info) => void (loss = info.loss),
    ...options,
  });
  await trainer.fit(oneBatch());
  return { model, trainer, loss, optimizer };
}

/** Compares the step's loss, logits and state after the step with the reference case's. */
function assertMatchesReference(id: string, model: SmallNet, loss: number, tol: number): void {
  const expected = loadStateDictFile(join(dir.path, `${id}.pt`));
  const refLoss = expected.get('loss')!.item();
  assert.ok(Math.abs(loss - refLoss) <= tol * Math.abs(refLoss), `${id}: loss ${loss}, PyTorch ${refLoss}`);
  assertMaxRelClose(model.seen[0].logits, expected.get('logits')!, { tol, what: `${id} logits` });
  for (const [key, value] of model.stateDict()) {
    const after = expected.get(`after.${key}`)!;
    if (!value.isFloatingPoint()) {
      assert.ok(value.equal(after), `${id}: ${key}`);
      continue;
    }
    // The step's change (-lr · (grad + wd · w), running-stat updates) is what the two sides computed.
    const start = init.get(key)!;
    assertMaxRelClose(value.sub(start), after.sub(start), { tol, what: `${id}: change of ${key} in the step` });
  }
}

test('bf16 autocast on CPU: one Trainer step matches torch.autocast("cpu", dtype=torch.bfloat16), logits in bfloat16', { skip: !torch.cpu.isBf16Supported() && 'no native bf16 on this CPU (the fallback is tested below)' }, async () => {
  const { model, trainer, loss } = await trainOneStep({ precision: 'bf16' });
  assert.deepEqual(trainer.precision, { requested: 'bf16', used: 'bf16', autocast: { deviceType: 'cpu', dtype: 'bfloat16' } });
  assert.equal(model.seen.length, 1);
  assert.equal(model.seen[0].autocast, true, 'the forward pass runs inside CPU autocast');
  assert.equal(model.seen[0].logitsDtype, 'bfloat16');
  assert.equal(ref.cases.bf16.logits_dtype, 'bfloat16');
  assert.equal(torch.isAutocastEnabled(), false, 'autocast ends with the forward pass');
  assertMatchesReference('bf16', model, loss, BF16_TOL);
  for (const p of model.parameters()) assert.equal(p.dtype, 'float32', 'master weights stay fp32');
});

test("the older spelling autocast: 'bfloat16' means precision 'bf16', now on CPU as well", { skip: !torch.cpu.isBf16Supported() && 'no native bf16 on this CPU' }, async () => {
  const { model, trainer } = await trainOneStep({ autocast: 'bfloat16' });
  assert.equal(trainer.precision.used, 'bf16');
  assert.equal(model.seen[0].logitsDtype, 'bfloat16');
  assert.throws(() => new Trainer({ model, optimizer: new torch.optim.SGD(model.parameters(), { lr: 1 }), maxSteps: 1, numClasses: CLASSES, outDir: dir.path, precision: 'fp32', autocast: 'bfloat16' }), /disagree/);
});

test('fp32 (the default) matches PyTorch to float32 rounding', async () => {
  const { model, trainer, loss } = await trainOneStep({});
  assert.equal(trainer.precision.used, 'fp32');
  assert.equal(model.seen[0].autocast, false);
  assert.equal(model.seen[0].logitsDtype, 'float32');
  assertMatchesReference('fp32', model, loss, FP32_TOL);
});

test('Module.toMemoryFormat converts in place: the same Parameter objects, PyTorch’s channels-last strides', () => {
  const model = new SmallNet();
  model.loadStateDict(init);
  const before = model.namedParameters();
  model.toMemoryFormat('channelsLast');
  const afterward = model.namedParameters();
  assert.deepEqual(afterward.map(([k]) => k), before.map(([k]) => k));
  afterward.forEach(([k, p], i) => {
    assert.equal(p, before[i][1], `${k}: the same Parameter object`);
    assert.deepEqual(p.stride(), ref.channels_last_strides[k], `${k}: strides after model.to(memory_format=torch.channels_last)`);
    if (p.ndim === 4) assert.ok(p.isContiguous('channelsLast'), `${k} is channels-last`);
    assert.ok(p.equal(init.get(k)!), `${k}: values unchanged`);
  });
  assert.ok(!model.conv1.weight.isContiguous(), 'a 3x3 kernel is no longer NCHW-contiguous');
  model.toMemoryFormat('contiguous');
  for (const [k, p] of model.namedParameters()) assert.ok(p.isContiguous(), `${k} back to contiguous`);
});

test('channelsLast: forward, backward and the optimizer step equal the NCHW step (fp32); weights and batches really are channels-last', async () => {
  const nchw = await trainOneStep({});
  const cl = await trainOneStep({ channelsLast: true });
  assert.equal(nchw.model.seen[0].inputChannelsLast, false);
  assert.equal(cl.model.seen[0].inputChannelsLast, true, 'the batch reaches the model channels-last');
  // The optimizer made before the Trainer still holds the model's parameters (converted in place).
  const held = (cl.optimizer.paramGroups[0] as { params: Tensor[] }).params;
  const params = cl.model.parameters();
  assert.ok(held.length === params.length && held.every((p, i) => p === params[i]), 'the optimizer holds the model’s parameters');
  for (const [k, p] of cl.model.namedParameters()) {
    if (p.ndim === 4) assert.ok(p.isContiguous('channelsLast'), `${k} is channels-last after the step`);
  }
  assert.ok(!cl.model.conv2.weight.isContiguous(), 'conv2.weight is not NCHW-contiguous');
  const scale = nchw.model.seen[0].logits.abs().amax().item();
  assertMaxRelClose(cl.model.seen[0].logits, nchw.model.seen[0].logits, { tol: FP32_TOL, what: 'channels-last logits' });
  assert.ok(Math.abs(cl.loss - nchw.loss) <= FP32_TOL * nchw.loss, `loss ${cl.loss} vs ${nchw.loss}`);
  const reference = nchw.model.stateDict();
  for (const [key, value] of cl.model.stateDict()) {
    if (!value.isFloatingPoint()) continue;
    const start = init.get(key)!;
    assertMaxRelClose(value.sub(start), reference.get(key)!.sub(start), { tol: FP32_TOL, what: `channels-last change of ${key} (the gradient step)` });
  }
  assert.ok(scale > 0.1, `logits should not be degenerate (max ${scale})`);
});

test('bf16 + channelsLast: one Trainer step matches PyTorch’s bf16 channels-last step', { skip: !torch.cpu.isBf16Supported() && 'no native bf16 on this CPU' }, async () => {
  const { model, loss } = await trainOneStep({ precision: 'bf16', channelsLast: true });
  assert.equal(model.seen[0].inputChannelsLast, true);
  assert.equal(model.seen[0].logitsDtype, 'bfloat16');
  assertMatchesReference('bf16_cl', model, loss, BF16_TOL);
});

test('resolvePrecision: fp16 needs CUDA, other devices fall back to fp32 with a printable reason', () => {
  assert.deepEqual(resolvePrecision('fp32'), { requested: 'fp32', used: 'fp32', autocast: null });
  assert.deepEqual(resolvePrecision('bf16', 'cuda:1'), { requested: 'bf16', used: 'bf16', autocast: { deviceType: 'cuda', dtype: 'bfloat16' } });
  assert.deepEqual(resolvePrecision('fp16', 'cuda'), { requested: 'fp16', used: 'fp16', autocast: { deviceType: 'cuda', dtype: 'float16' } });
  const fp16 = resolvePrecision('fp16', 'cpu');
  assert.equal(fp16.used, 'fp32');
  assert.match(fp16.fallback!, /^fp16 autocast needs CUDA .*: training in fp32$/);
  assert.equal(resolvePrecision('bf16', 'mps').used, 'fp32');
  assert.throws(() => resolvePrecision('int8' as never), /precision must be/);
});

test('where the CPU has no native bf16 (oneDNN held to AVX512_CORE_VNNI), bf16 falls back to fp32 and says why', { skip: torch.cpu.bf16Support().source !== 'onednn' && 'libtorch’s oneDNN cannot be asked here' }, () => {
  const url = (p: string) => pathToFileURL(join(import.meta.dirname, p)).href;
  const script = `
    import * as torch from '@iris/torch';
    import { resolvePrecision } from ${JSON.stringify(url('../src/train/index.js'))};
    console.log(JSON.stringify({ supported: torch.cpu.isBf16Supported(), support: torch.cpu.bf16Support(), plan: resolvePrecision('bf16') }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: import.meta.dirname,
    env: { ...process.env, ONEDNN_MAX_CPU_ISA: 'AVX512_CORE_VNNI' },
  });
  const { supported, support, plan } = JSON.parse(out.toString());
  assert.equal(supported, false);
  assert.equal(support.onednnIsa, 'avx512_core_vnni');
  assert.deepEqual({ ...plan, fallback: undefined }, { requested: 'bf16', used: 'fp32', autocast: null, fallback: undefined });
  assert.match(plan.fallback, /^bf16 not supported on this CPU \(no avx512_bf16\/amx: oneDNN ISA avx512_core_vnni .*\): training in fp32$/);
});
