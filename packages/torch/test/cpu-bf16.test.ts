// torch.cpu.isBf16Supported: oneDNN's effective ISA where libtorch's oneDNN can be asked, the
// CPU's feature bits otherwise; bf16 autocast (forward and backward) on CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as torch from '../src/index.js';
import { decideBf16Support } from '../src/runtime.js';
import type { NativeBf16Facts } from '../src/native.js';

const cpuFlags = existsSync('/proc/cpuinfo') ? new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/)) : null;
const capped = ['ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA'].some((k) => process.env[k]);

test('isBf16Supported agrees with /proc/cpuinfo (avx512_bf16 or amx_bf16) and names its evidence', { skip: (!cpuFlags || capped) && 'needs /proc/cpuinfo and no oneDNN ISA cap' }, () => {
  const support = torch.cpu.bf16Support();
  const flags = cpuFlags!;
  assert.equal(torch.cpu.isBf16Supported(), support.supported);
  assert.equal(support.avx512Bf16, flags.has('avx512_bf16'), 'CPUID avx512_bf16 bit vs the kernel’s flags');
  assert.equal(support.amxBf16, flags.has('amx_bf16'), 'CPUID amx_bf16 bit vs the kernel’s flags');
  assert.equal(support.supported, flags.has('avx512_bf16') || flags.has('amx_bf16'), support.reason);
  if (support.source === 'onednn') assert.match(support.reason, /^oneDNN ISA \S+ \(CPU: /);
});

const facts = (over: Partial<NativeBf16Facts>): NativeBf16Facts => ({
  mkldnn: true, onednnIsa: null, onednnIsaCode: null, avx512Bf16: false, amxBf16: false, amxTile: false, osAvx512: false, osAmx: false, ...over,
});

test('the decision: oneDNN’s ISA first (names or dnnl_cpu_isa_t bits), then CPUID with the OS’s register state, never without oneDNN', () => {
  const amx = decideBf16Support(facts({ onednnIsa: 'cpu_isa_avx512_core_amx', onednnIsaCode: 0x3e7, avx512Bf16: true, amxBf16: true }));
  assert.deepEqual([amx.supported, amx.source, amx.onednnIsa], [true, 'onednn', 'avx512_core_amx']);
  assert.equal(decideBf16Support(facts({ onednnIsa: 'cpu_isa_avx512_core_bf16', avx512Bf16: true })).supported, true);
  const vnni = decideBf16Support(facts({ onednnIsa: 'cpu_isa_avx512_core_vnni', onednnIsaCode: 0x67, avx512Bf16: true }));
  assert.equal(vnni.supported, false);
  assert.match(vnni.reason, /ONEDNN_MAX_CPU_ISA/, 'a CPU that has bf16 but oneDNN held back says so');
  assert.equal(decideBf16Support(facts({ onednnIsa: 'cpu_isa_avx2', onednnIsaCode: 0x7 })).reason, 'oneDNN ISA avx2 (CPU: neither avx512_bf16 nor amx_bf16)');
  // Without dnnl_cpu_isa2str: the code's bf16 bit.
  assert.equal(decideBf16Support(facts({ onednnIsa: '231', onednnIsaCode: 0xe7 })).supported, true);
  assert.equal(decideBf16Support(facts({ onednnIsa: '103', onednnIsaCode: 0x67 })).supported, false);
  // oneDNN not queryable (linked statically): CPUID, and only with the OS saving the registers.
  assert.deepEqual([decideBf16Support(facts({ avx512Bf16: true, osAvx512: true })).supported, decideBf16Support(facts({ avx512Bf16: true, osAvx512: true })).source], [true, 'cpuid']);
  assert.equal(decideBf16Support(facts({ avx512Bf16: true, osAvx512: false })).supported, false);
  assert.equal(decideBf16Support(facts({ amxBf16: true, amxTile: true, osAmx: true })).supported, true);
  assert.equal(decideBf16Support(facts({})).supported, false);
  const none = decideBf16Support(facts({ mkldnn: false, onednnIsa: 'cpu_isa_avx512_core_amx', avx512Bf16: true }));
  assert.deepEqual([none.supported, none.source], [false, 'none']);
});

test('bf16 autocast on CPU: a conv net forward in bfloat16, backward to float32 gradients of float32 weights', () => {
  torch.manualSeed(0);
  const { nn } = torch;
  const net = new nn.Sequential(new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.Flatten(), new nn.Linear(8 * 6 * 6, 4));
  const x = torch.randn([2, 3, 6, 6]);
  const out = torch.autocast('cpu', () => net.forward(x), { dtype: 'bfloat16' });
  assert.equal(out.dtype, 'bfloat16');
  nn.functional.crossEntropy(out.float(), torch.tensor([1, 3], { dtype: 'int64' })).backward();
  for (const [k, p] of net.namedParameters()) {
    assert.equal(p.grad?.dtype, 'float32', `${k}: gradient dtype`);
    assert.ok(p.grad!.abs().sum().item() > 0, `${k}: a gradient arrived`);
  }
  const fp32 = net.forward(x);
  assert.equal(fp32.dtype, 'float32', 'autocast ends with its scope');
  const scale = fp32.abs().amax().item();
  assert.ok(out.float().sub(fp32).abs().amax().item() <= 2e-2 * scale, 'the bf16 forward is fp32’s to bf16 rounding');
});
