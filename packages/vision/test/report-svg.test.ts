// The training plots, read back from their SVG text: nice ticks, axes that hold the data and do
// not go below 0 for a loss, labels without float noise, curves named by their split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lineChart, niceTicks, formatTick, svgToPng, trainingCurveCharts, type MetricsRow, type Series } from '../src/report/index.js';

interface Tick {
  label: string;
  value: number;
  /** Pixel position along the axis (y for the y axis, x for the x axis). */
  at: number;
}

function ticks(svg: string, axis: 'x' | 'y'): Tick[] {
  const re = new RegExp(`<text class="${axis}-tick" data-value="[^"]*" x="([^"]+)" y="([^"]+)"[^>]*>([^<]*)</text>`, 'g');
  return [...svg.matchAll(re)].map((m) => ({ label: m[3], value: Number(m[3]), at: axis === 'y' ? Number(m[2]) - 4 : Number(m[1]) }));
}

function plotRect(svg: string): { x: number; y: number; w: number; h: number } {
  const m = svg.match(/<rect x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)" fill="none" stroke="#444"\/>/);
  assert.ok(m, 'plot frame');
  return { x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), h: Number(m[4]) };
}

function pathPoints(svg: string): [number, number][] {
  return [...svg.matchAll(/<path class="series" [^>]*d="([^"]*)"/g)].flatMap((m) =>
    [...m[1].matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((p) => [Number(p[1]), Number(p[2])] as [number, number]),
  );
}

function legendNames(svg: string): string[] {
  return [...svg.matchAll(/<text class="legend"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

/** 1, 2 or 5 times a power of ten. */
function isNiceStep(step: number): boolean {
  const exponent = Math.floor(Math.log10(step) + 1e-9);
  const mantissa = step / 10 ** exponent;
  return [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9);
}

/** A label as a person would write the number: no 0.30000000000000004, no 2.4999999. */
function assertClean(label: string): void {
  assert.match(label, /^-?\d+(\.\d+)?$/, `label ${label}`);
  const decimals = label.split('.')[1]?.length ?? 0;
  assert.ok(decimals <= 6, `label ${label} has ${decimals} decimals`);
}

function assertNiceAxis(list: Tick[], dataMin: number, dataMax: number, what: string): void {
  assert.ok(list.length >= 2, `${what}: ${list.length} ticks`);
  const values = list.map((t) => t.value);
  const step = values[1] - values[0];
  assert.ok(isNiceStep(Number(step.toPrecision(6))), `${what}: step ${step} (${values.join(', ')})`);
  for (let i = 1; i < values.length; i++) assert.ok(Math.abs(values[i] - values[i - 1] - step) < step * 1e-6, `${what}: even steps ${values.join(', ')}`);
  for (const v of values) assert.ok(Math.abs(v / step - Math.round(v / step)) < 1e-6, `${what}: ${v} is a multiple of ${step}`);
  for (const t of list) assertClean(t.label);
  assert.ok(values[0] <= dataMin + 1e-12 && values[values.length - 1] >= dataMax - 1e-12, `${what}: [${values[0]}, ${values.at(-1)}] holds [${dataMin}, ${dataMax}]`);
}

/** The per-step loss of the run in the issue: from about 2.35 down to about 0.03, noisy. */
function issueLoss(): Series[] {
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.1;
  const perStep: [number, number][] = [];
  const steps = 200;
  for (let s = 1; s <= steps; s++) perStep.push([s / 20, Math.max(0.0332, 2.354 * Math.exp(-s / 25) + 0.05 + noise())]);
  perStep[0][1] = 2.354;
  perStep[steps - 1][1] = 0.0332;
  const epochs: [number, number][] = [];
  for (let e = 1; e <= 10; e++) epochs.push([e, 2.354 * Math.exp(-(e * 20) / 25) + 0.06]);
  return [
    { name: 'train (per step)', points: perStep, strokeWidth: 1, opacity: 0.45 },
    { name: 'train (epoch mean)', points: epochs },
    { name: 'validation', points: epochs.map(([e, l]) => [e, l + 0.12] as [number, number]) },
  ];
}

test('niceTicks: 1/2/5 × 10^k steps, 5 to 8 ticks, limits on ticks around the data', () => {
  const ranges: [number, number][] = [
    [0.0332, 2.354], [0, 1], [0.1, 0.7], [0.83, 0.97], [-3.2, 14.9], [1e-5, 3e-4], [1234, 98765], [-0.004, 0.004], [0.5, 0.5000001], [2, 2], [0, 0],
  ];
  for (const [min, max] of ranges) {
    const t = niceTicks(min, max);
    assert.ok(isNiceStep(t.step), `[${min}, ${max}]: step ${t.step}`);
    assert.ok(t.values.length >= 5 && t.values.length <= 8, `[${min}, ${max}]: ${t.values.length} ticks ${t.values.join(', ')}`);
    assert.equal(t.lo, t.values[0]);
    assert.equal(t.hi, t.values.at(-1));
    assert.ok(t.lo <= min && t.hi >= max, `[${min}, ${max}] inside [${t.lo}, ${t.hi}]`);
    for (const v of t.values) assertClean(formatTick(v, t.step));
  }
  assert.deepEqual(niceTicks(0.0332, 2.354).values, [0, 0.5, 1, 1.5, 2, 2.5]);
  assert.deepEqual(niceTicks(0.1, 0.7).values, [0, 0.2, 0.4, 0.6, 0.8]);
  // 3 × 0.1 is 0.30000000000000004 in floating point; the tick is 0.3.
  const tenths = niceTicks(0.1, 0.5);
  assert.deepEqual(tenths.values, [0.1, 0.2, 0.3, 0.4, 0.5]);
  assert.deepEqual(tenths.values.map((v) => formatTick(v, tenths.step)), ['0.1', '0.2', '0.3', '0.4', '0.5']);
});

test('niceTicks with integer steps: whole epochs only', () => {
  for (const [min, max] of [[1, 3], [1, 10], [0.05, 10], [1, 37], [1, 1], [0, 250]] as [number, number][]) {
    const t = niceTicks(min, max, { integer: true, target: 7 });
    assert.ok(t.step >= 1 && Number.isInteger(t.step), `[${min}, ${max}]: step ${t.step}`);
    assert.ok(t.values.every(Number.isInteger), `[${min}, ${max}]: ${t.values.join(', ')}`);
    assert.ok(t.lo <= min && t.hi >= max);
    assert.ok(t.values.length <= 8);
  }
});

test('formatTick prints what a person would write', () => {
  assert.equal(formatTick(0.1 + 0.2, 0.1), '0.3');
  assert.equal(formatTick(3 * 0.1, 0.1), '0.3');
  assert.equal(formatTick(0.7000000000000001, 0.1), '0.7');
  assert.equal(formatTick(2.5, 0.5), '2.5');
  assert.equal(formatTick(2, 0.5), '2.0');
  assert.equal(formatTick(-1e-17, 0.2), '0.0');
  assert.equal(formatTick(20000, 5000), '20000');
  assert.equal(formatTick(0.00015, 0.00005), '0.00015');
});

test('the loss plot of the issue: 0 to 2.5 in steps of 0.5, not -0.0828 to 2.47', () => {
  const series = issueLoss();
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const [min, max] = [Math.min(...ys), Math.max(...ys)];
  // The old axis: the data range padded by 5% each way, cut in five.
  const pad = (max - min) * 0.05;
  assert.equal((min - pad).toPrecision(3), '-0.0828');
  assert.equal((max + pad).toPrecision(3), '2.47');

  const svg = lineChart('Loss', 'epoch', series, { nonNegative: true, yLabel: 'loss' });
  const y = ticks(svg, 'y');
  assert.deepEqual(y.map((t) => t.label), ['0.0', '0.5', '1.0', '1.5', '2.0', '2.5']);
  assertNiceAxis(y, min, max, 'y');
  assert.ok(!svg.includes('-0.0828') && !svg.includes('2.47') && !svg.includes('0.428'));
  const x = ticks(svg, 'x');
  assertNiceAxis(x, 0.05, 10, 'x');
  assert.ok(x.every((t) => Number.isInteger(t.value) && !t.label.includes('.')), `integer epochs: ${x.map((t) => t.label).join(', ')}`);

  // Every point of every curve is inside the frame, and the frame ends on the first and last tick.
  const frame = plotRect(svg);
  for (const [px, py] of pathPoints(svg)) {
    assert.ok(px >= frame.x - 0.1 && px <= frame.x + frame.w + 0.1, `x ${px}`);
    assert.ok(py >= frame.y - 0.1 && py <= frame.y + frame.h + 0.1, `y ${py}`);
  }
  assert.ok(Math.abs(y[0].at - (frame.y + frame.h)) < 0.2 && Math.abs(y.at(-1)!.at - frame.y) < 0.2);
  assert.ok(Math.abs(x[0].at - frame.x) < 0.2 && Math.abs(x.at(-1)!.at - (frame.x + frame.w)) < 0.2);
});

test('non-negative data never get a negative y axis', () => {
  let seed = 3;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const cases: [number, number][][] = [
    [[0, 0], [1, 0], [2, 0]], // a flat line at zero
    [[1, 1e-4], [2, 5]],
    [[1, 0.001], [2, 0.002], [3, 0.0015]],
    [[1, 0.4], [2, 0.4]],
  ];
  for (let c = 0; c < 40; c++) {
    const lo = rand() ** 3 * 10;
    const span = rand() * 20 + 1e-3;
    cases.push(Array.from({ length: 12 }, (_, i) => [i + 1, lo + rand() * span] as [number, number]));
  }
  for (const points of cases) {
    for (const options of [{}, { nonNegative: true }, { yMin: 0 }]) {
      const svg = lineChart('Loss', 'epoch', [{ name: 'train', points }], options);
      const y = ticks(svg, 'y');
      const ys = points.map((p) => p[1]);
      assert.ok(y[0].value >= 0, `lowest tick ${y[0].label} for ${ys.join(', ')}`);
      assertNiceAxis(y, Math.min(...ys), Math.max(...ys), `y of ${ys.join(', ')}`);
    }
  }
  // Negative data still get an axis that holds them.
  const svg = lineChart('Margin', 'epoch', [{ name: 'm', points: [[1, -0.3], [2, 0.8]] }]);
  assertNiceAxis(ticks(svg, 'y'), -0.3, 0.8, 'signed y');
});

test('an accuracy axis stays inside [0, 1]', () => {
  for (const points of [
    [[1, 0.62], [2, 0.81], [3, 0.93], [4, 0.985]],
    [[1, 0.1], [2, 0.99]],
    [[1, 1], [2, 1]],
    [[1, 0], [2, 0]],
    [[1, 0.97], [2, 0.975]],
  ] as [number, number][][]) {
    const svg = lineChart('Accuracy', 'epoch', [{ name: 'validation top-1', points }], { yMin: 0, yMax: 1 });
    const y = ticks(svg, 'y');
    const ys = points.map((p) => p[1]);
    assert.ok(y[0].value >= 0 && y.at(-1)!.value <= 1, `[${y[0].label}, ${y.at(-1)!.label}] for ${ys.join(', ')}`);
    assert.ok(y[0].value <= Math.min(...ys) && y.at(-1)!.value >= Math.max(...ys));
    for (const t of y) assertClean(t.label);
  }
});

test('x ticks are whole epochs when x is epochs, even with per-step points between them', () => {
  for (const epochs of [1, 2, 3, 5, 7, 12, 30, 90]) {
    const points: [number, number][] = Array.from({ length: epochs * 10 }, (_, i) => [(i + 1) / 10, 1 / (i + 1)]);
    const svg = lineChart('Loss', 'epoch', [{ name: 'train', points }]);
    const x = ticks(svg, 'x');
    assert.ok(x.every((t) => /^\d+$/.test(t.label)), `${epochs} epochs: ${x.map((t) => t.label).join(', ')}`);
    assert.ok(x[0].value <= 0.1 && x.at(-1)!.value >= epochs);
    assert.ok(x.length <= 8);
  }
  // A fractional x that is not epochs gets decimal ticks.
  const svg = lineChart('Schedule', 'fraction of training', [{ name: 'lr', points: [[0, 1], [0.5, 0.5], [1, 0.1]] }]);
  assertNiceAxis(ticks(svg, 'x'), 0, 1, 'x');
  assert.ok(ticks(svg, 'x').some((t) => t.label.includes('.')));
});

test('the legend sits in a corner the curves leave free', () => {
  const svg = lineChart('Loss', 'epoch', issueLoss(), { nonNegative: true });
  const m = svg.match(/<rect class="legend-box" x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)"/);
  assert.ok(m);
  const [bx, by, bw, bh] = m.slice(1).map(Number);
  const frame = plotRect(svg);
  assert.ok(bx >= frame.x && bx + bw <= frame.x + frame.w && by >= frame.y, 'inside the plot');
  for (const [px, py] of pathPoints(svg)) assert.ok(!(px > bx && px < bx + bw && py > by && py < by + bh), `point ${px},${py} under the legend`);
  // Curves through every corner: the legend moves out of the plot, above it.
  const crowded = lineChart('Busy', 'epoch', [
    { name: 'a long series name one', points: [[1, 0], [10, 1]] },
    { name: 'a long series name two', points: [[1, 1], [10, 0]] },
  ]);
  const c = crowded.match(/<rect class="legend-box" x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)"/)!.slice(1).map(Number);
  assert.ok(c[1] + c[3] <= plotRect(crowded).y, 'legend above the plot frame');
});

function runRows(): MetricsRow[] {
  const rows: MetricsRow[] = [];
  let step = 0;
  for (let epoch = 1; epoch <= 8; epoch++) {
    for (let i = 0; i < 25; i++) rows.push({ type: 'step', step: ++step, epoch: epoch - 1, loss: 2.3 * Math.exp(-step / 40) + 0.1 + 0.08 * Math.sin(step), lr: 0.1 });
    rows.push({ type: 'epoch', epoch, train_loss: 2.3 * Math.exp(-(epoch * 25) / 40) + 0.15, train_accuracy: 1 - 0.9 * Math.exp(-epoch / 2), lr: 0.1, val_loss: 2.3 * Math.exp(-(epoch * 25) / 40) + 0.3, val_top1: 0.95 - 0.85 * Math.exp(-epoch / 2) });
  }
  return rows;
}

test('the run charts name the curves by the split the caller says they show', () => {
  const defaults = trainingCurveCharts(runRows());
  assert.deepEqual(legendNames(defaults.loss), ['train (per step)', 'train (epoch mean)', 'validation']);
  assert.deepEqual(legendNames(defaults.accuracy), ['train (running, top-1)', 'validation top-1']);

  const heldOut = trainingCurveCharts(runRows(), { validation: 'validation (held out from train)' });
  assert.ok(legendNames(heldOut.loss).includes('validation (held out from train)'));
  assert.ok(legendNames(heldOut.accuracy).includes('validation (held out from train) top-1'));

  const onTest = trainingCurveCharts(runRows(), { validation: 'test' });
  assert.ok(!/validation/.test(legendNames(onTest.loss).join(' ') + legendNames(onTest.accuracy).join(' ')), 'no curve is called validation when it is test');
  assert.ok(legendNames(onTest.accuracy).includes('test top-1'));

  // No validation numbers: no empty validation curve in the legend.
  const trainOnly = trainingCurveCharts(runRows().map(({ val_loss, val_top1, ...r }) => r));
  assert.deepEqual(legendNames(trainOnly.loss), ['train (per step)', 'train (epoch mean)']);

  // Loss from 0 up, accuracy inside [0, 1], whole epochs.
  assert.ok(ticks(heldOut.loss, 'y')[0].value >= 0);
  const acc = ticks(heldOut.accuracy, 'y');
  assert.ok(acc[0].value >= 0 && acc.at(-1)!.value <= 1);
  assert.ok(ticks(heldOut.accuracy, 'x').every((t) => /^\d+$/.test(t.label)));
  // Names are escaped.
  assert.ok(trainingCurveCharts(runRows(), { validation: 'val <5%> & co' }).loss.includes('val &lt;5%&gt; &amp; co'));
});

test('the charts render to PNG', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-report-'));
  const charts = trainingCurveCharts(runRows(), { validation: 'validation (held out from train)' });
  for (const [name, svg] of Object.entries({ ...charts, issue: lineChart('Loss', 'epoch', issueLoss(), { nonNegative: true, yLabel: 'loss' }) })) {
    const path = join(dir, `${name}.png`);
    await svgToPng(svg, path);
    const png = readFileSync(path);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.readUInt32BE(16), 640);
    assert.equal(png.readUInt32BE(20), 400);
  }
  if (process.env.IRIS_REPORT_PNG_DIR) {
    for (const [name, svg] of Object.entries({ ...charts, issue: lineChart('Loss', 'epoch', issueLoss(), { nonNegative: true, yLabel: 'loss' }) })) await svgToPng(svg, join(process.env.IRIS_REPORT_PNG_DIR, `${name}.png`));
  }
});
