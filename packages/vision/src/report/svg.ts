// Plots as SVG, rendered to PNG by sharp (librsvg): no plotting dependency, and the SVG is text
// a test can read.
import sharp from 'sharp';

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export async function svgToPng(svg: string, path: string): Promise<void> {
  await sharp(Buffer.from(svg)).png().toFile(path);
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

export interface Series {
  name: string;
  points: [number, number][];
  /** Line width in px (default 2); a noisy per-step curve reads better thin. */
  strokeWidth?: number;
  /** Line opacity, 0..1 (default 1). */
  opacity?: number;
  /** A dashed line. */
  dashed?: boolean;
  /** The line colour (default: the palette by position). */
  color?: string;
  /** Leave the series out of the legend (many faint per-class curves under one bold mean). */
  hideInLegend?: boolean;
}

export interface LineChartOptions {
  width?: number;
  height?: number;
  /** A label for the y axis, written up the left side. */
  yLabel?: string;
  /** The y axis never extends below this (a loss axis: 0). Data below it still widen the axis. */
  yMin?: number;
  /** The y axis never extends above this (an accuracy axis: 1). Data above it still widen the axis. */
  yMax?: number;
  /** Shorthand for yMin: 0. */
  nonNegative?: boolean;
  /** Integer x ticks only (x counts epochs). Default: when xLabel is "epoch(s)" or every x is an integer. */
  integerX?: boolean;
  /** The x axis limits, when they are known (a confidence or recall axis: [0, 1]). */
  xRange?: [number, number];
  /** The y axis limits, whatever the data (a precision axis: [0, 1]). */
  yRange?: [number, number];
  /** Where the legend goes: "auto" (a free corner of the plot, else a strip above it) or "right" (outside, right of the plot). */
  legend?: 'auto' | 'right';
  /** Title font size in px (default 15); small panels in a grid want less. */
  titleSize?: number;
}

export interface Ticks {
  /** The axis limits: the first and last tick. */
  lo: number;
  hi: number;
  step: number;
  values: number[];
}

/** Heckbert's nice number near x (Graphics Gems, 1990): 1, 2, 5 or 10 times a power of ten. */
export function niceNumber(x: number, round: boolean): number {
  const exponent = Math.floor(Math.log10(x));
  const fraction = x / 10 ** exponent;
  let nice: number;
  if (round) nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  else nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return Number((nice * 10 ** exponent).toPrecision(1));
}

/** x rounded to a multiple of step without float noise: 3 × 0.1 gives 0.3, not 0.30000000000000004. */
function onGrid(k: number, step: number): number {
  const decimals = stepDecimals(step);
  return Number((k * step).toFixed(Math.min(20, decimals)));
}

/** The neighbouring step on the 1/2/5 ladder: 2 → 5 (up) or 2 → 1 (down). */
function nextNiceStep(step: number, direction: 1 | -1): number {
  const exponent = Math.floor(Math.log10(step) + 1e-9);
  const mantissa = Math.round(step / 10 ** exponent);
  const ladder = [1, 2, 5];
  let i = ladder.indexOf(mantissa) + direction;
  let e = exponent;
  if (i < 0) [i, e] = [2, e - 1];
  if (i > 2) [i, e] = [0, e + 1];
  return Number((ladder[i] * 10 ** e).toPrecision(1));
}

function stepDecimals(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/**
 * Loose nice ticks over [min, max]: a 1/2/5 × 10^k step, the limits snapped outward to multiples
 * of it, so the data lie inside the axis and the ends are labelled. Aims at about `target` ticks
 * (5–8 in practice). With `integer`, the step is a whole number (epochs).
 */
export function niceTicks(min: number, max: number, options: { target?: number; integer?: boolean } = {}): Ticks {
  const target = options.target ?? 6;
  if (!Number.isFinite(min) || !Number.isFinite(max)) [min, max] = [0, 1];
  if (min > max) [min, max] = [max, min];
  if (isFlat(min, max)) {
    // A flat line (or one flat but for float noise): a window around it.
    const half = min === 0 ? 1 : niceNumber(Math.abs(min), false) / 2;
    [min, max] = [min - half, max + half];
    if (options.integer) [min, max] = [Math.floor(min), Math.ceil(max)];
  }
  let step = niceNumber(niceNumber(max - min, false) / (target - 1), true);
  if (options.integer) step = Math.max(1, Math.round(step));
  const span = (d: number) => [Math.floor(min / d + 1e-9), Math.ceil(max / d - 1e-9)];
  let [lo, hi] = span(step);
  // Keep to 5–8 ticks where the step ladder (…, 1, 2, 5, 10, …) allows it.
  while (hi - lo + 1 > 8) {
    step = nextNiceStep(step, +1);
    [lo, hi] = span(step);
  }
  while (hi - lo + 1 < 5) {
    const smaller = nextNiceStep(step, -1);
    if (options.integer && smaller < 1) break;
    const [l, h] = span(smaller);
    if (h - l + 1 > 8) break;
    [step, lo, hi] = [smaller, l, h];
  }
  const values: number[] = [];
  for (let k = lo; k <= hi; k++) values.push(onGrid(k, step));
  return { lo: values[0], hi: values[values.length - 1], step, values };
}

/** A range too narrow to label apart from float noise: under a millionth of its magnitude. */
function isFlat(min: number, max: number): boolean {
  return max - min <= 1e-6 * Math.max(Math.abs(min), Math.abs(max)) || max === min;
}

/** A tick label with as many decimals as the step needs and no more: 0.3, 2.5, 1e-5 as 0.00001. */
export function formatTick(value: number, step: number): string {
  const decimals = Math.min(20, stepDecimals(step));
  const text = value.toFixed(decimals);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/** Crude text width at a sans-serif font size: enough to keep labels and legends clear of each other. */
function textWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.56;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A line chart with nice ticks, a grid, an optional y label and a legend placed off the curves where it can be. */
export function lineChart(title: string, xLabel: string, series: Series[], options: LineChartOptions = {}): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const finite = (p: [number, number]) => Number.isFinite(p[0]) && Number.isFinite(p[1]);
  const all = series.flatMap((s) => s.points.filter(finite));
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const integerX = options.integerX ?? (/^epochs?$/i.test(xLabel.trim()) || (xs.length > 0 && xs.every(Number.isInteger)));
  const xTicks = options.xRange
    ? niceTicks(options.xRange[0], options.xRange[1], { integer: integerX, target: 7 })
    : niceTicks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, { integer: integerX, target: 7 });
  // Non-negative data never get a negative axis, even a flat line at 0 (asked for or not).
  const yMinBound = options.yMin ?? (options.nonNegative || (ys.length > 0 && ys.every((y) => y >= 0)) ? 0 : undefined);
  const yTicks = options.yRange ? niceTicks(options.yRange[0], options.yRange[1]) : yAxisTicks(ys, yMinBound, options.yMax);

  const yLabels = yTicks.values.map((v) => formatTick(v, yTicks.step));
  const xLabels = xTicks.values.map((v) => formatTick(v, xTicks.step));
  const legendRowHeight = 18;
  const listed = series.filter((s) => !s.hideInLegend);
  const legendWidth = listed.length ? 12 + 6 + Math.max(...listed.map((s) => textWidth(s.name, 12))) + 12 : 0;
  const legendHeight = listed.length * legendRowHeight + 8;
  const margin = {
    left: Math.ceil(12 + Math.max(...yLabels.map((l) => textWidth(l, 12))) + 6 + (options.yLabel ? 22 : 0)),
    right: Math.ceil(Math.max(20, textWidth(xLabels[xLabels.length - 1], 12) / 2 + 8)),
    top: 40,
    bottom: 50,
  };
  const plot = () => ({ x: margin.left, y: margin.top, w: width - margin.left - margin.right, h: height - margin.top - margin.bottom });
  const px = (x: number) => margin.left + ((x - xTicks.lo) / (xTicks.hi - xTicks.lo)) * plot().w;
  const py = (y: number) => height - margin.bottom - ((y - yTicks.lo) / (yTicks.hi - yTicks.lo)) * plot().h;

  // The legend goes in the plot corner its box covers the least of the curves in; if every corner
  // is taken, in a strip of its own between the title and the plot.
  let legend: Box | null = null;
  if (listed.length && options.legend === 'right') {
    margin.right = Math.max(margin.right, Math.ceil(legendWidth + 24));
    legend = { x: width - legendWidth - 8, y: margin.top, w: legendWidth, h: legendHeight };
  } else if (listed.length) {
    const area = plot();
    const inset = 8;
    const corners: Box[] = [
      { x: area.x + area.w - inset - legendWidth, y: area.y + inset, w: legendWidth, h: legendHeight },
      { x: area.x + inset, y: area.y + inset, w: legendWidth, h: legendHeight },
      { x: area.x + area.w - inset - legendWidth, y: area.y + area.h - inset - legendHeight, w: legendWidth, h: legendHeight },
      { x: area.x + inset, y: area.y + area.h - inset - legendHeight, w: legendWidth, h: legendHeight },
    ];
    const samples = curveSamples(series, px, py);
    const covered = corners.map((box) => samples.filter(([sx, sy]) => sx >= box.x - 4 && sx <= box.x + box.w + 4 && sy >= box.y - 4 && sy <= box.y + box.h + 4).length);
    const best = covered.indexOf(Math.min(...covered));
    if (covered[best] === 0 && legendWidth < area.w * 0.6) legend = corners[best];
    else {
      margin.top += legendHeight;
      legend = { x: width - margin.right - legendWidth, y: 30, w: legendWidth, h: legendHeight };
    }
  }

  const area = plot();
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="${options.titleSize ?? 15}">${escapeXml(title)}</text>`,
    `<text class="x-label" x="${area.x + area.w / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
  ];
  if (options.yLabel) {
    const cy = area.y + area.h / 2;
    parts.push(`<text class="y-label" x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})">${escapeXml(options.yLabel)}</text>`);
  }
  yTicks.values.forEach((v, i) => {
    const y = py(v).toFixed(1);
    parts.push(`<line x1="${area.x}" x2="${area.x + area.w}" y1="${y}" y2="${y}" stroke="#e0e0e0"/>`);
    parts.push(`<text class="y-tick" data-value="${v}" x="${area.x - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end">${yLabels[i]}</text>`);
  });
  xTicks.values.forEach((v, i) => {
    const x = px(v).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${area.y}" y2="${area.y + area.h}" stroke="#f0f0f0"/>`);
    parts.push(`<line x1="${x}" x2="${x}" y1="${area.y + area.h}" y2="${area.y + area.h + 4}" stroke="#444"/>`);
    parts.push(`<text class="x-tick" data-value="${v}" x="${x}" y="${area.y + area.h + 17}" text-anchor="middle">${xLabels[i]}</text>`);
  });
  parts.push(`<rect x="${area.x}" y="${area.y}" width="${area.w}" height="${area.h}" fill="none" stroke="#444"/>`);
  const legendParts: string[] = [];
  let row = 0;
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const style = `fill="none" stroke="${color}" stroke-width="${s.strokeWidth ?? 2}"${s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : ''}${s.dashed ? ' stroke-dasharray="6 4"' : ''} stroke-linejoin="round"`;
    // A non-finite value (a diverged loss) breaks the line rather than being bridged.
    let pen = 'M';
    const d: string[] = [];
    for (const p of s.points) {
      if (!finite(p)) {
        pen = 'M';
        continue;
      }
      d.push(`${pen}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`);
      pen = 'L';
    }
    const name = escapeXml(s.name);
    parts.push(`<path class="series" data-name="${name}" d="${d.join(' ')}" ${style}/>`);
    if (s.points.filter(finite).length === 1) {
      const [x, y] = s.points.filter(finite)[0];
      parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`);
    }
    if (legend && !s.hideInLegend) {
      const ly = legend.y + 4 + row++ * legendRowHeight;
      // The swatch is drawn bolder than a faint curve, so its colour can be read.
      const swatch = `stroke="${color}" stroke-width="3" stroke-opacity="${Math.max(0.8, s.opacity ?? 1)}"${s.dashed ? ' stroke-dasharray="4 2"' : ''}`;
      legendParts.push(`<line x1="${legend.x + 6}" x2="${legend.x + 18}" y1="${ly + 7}" y2="${ly + 7}" ${swatch}/>`);
      legendParts.push(`<text class="legend" x="${legend.x + 24}" y="${ly + 11}">${name}</text>`);
    }
  });
  if (legend) parts.push(`<rect class="legend-box" x="${legend.x}" y="${legend.y}" width="${legend.w}" height="${legend.h}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`, ...legendParts);
  parts.push('</svg>');
  return parts.join('\n');
}

/** The y ticks: nice over the data, kept inside [yMin, yMax] where the data are. */
function yAxisTicks(ys: number[], yMin: number | undefined, yMax: number | undefined): Ticks {
  let lo = ys.length ? Math.min(...ys) : (yMin ?? 0);
  let hi = ys.length ? Math.max(...ys) : (yMax ?? 1);
  if (isFlat(lo, hi)) {
    // A flat line: widen around it, within the bounds.
    const half = lo === 0 ? 0.5 : niceNumber(Math.abs(lo), false) / 4;
    [lo, hi] = [lo - half, hi + half];
    if (yMin !== undefined && lo < yMin && ys.every((y) => y >= yMin)) [lo, hi] = [yMin, Math.max(hi, yMin + 2 * half)];
    if (yMax !== undefined && hi > yMax && ys.every((y) => y <= yMax)) [lo, hi] = [Math.min(lo, yMax - 2 * half), yMax];
  }
  const ticks = niceTicks(lo, hi);
  const clampLo = yMin !== undefined && ys.every((y) => y >= yMin) && ticks.lo < yMin;
  const clampHi = yMax !== undefined && ys.every((y) => y <= yMax) && ticks.hi > yMax;
  if (!clampLo && !clampHi) return ticks;
  // A step that does not divide the bound: keep the ticks inside, and the bound as the axis end.
  const values = ticks.values.filter((v) => (!clampLo || v >= yMin!) && (!clampHi || v <= yMax!));
  if (clampLo && values[0] !== yMin) values.unshift(yMin!);
  if (clampHi && values[values.length - 1] !== yMax) values.push(yMax!);
  return { lo: values[0], hi: values[values.length - 1], step: ticks.step, values };
}

/** Points along every curve, a few px apart, to tell where a legend box would cover a line. */
function curveSamples(series: Series[], px: (x: number) => number, py: (y: number) => number): [number, number][] {
  const out: [number, number][] = [];
  for (const s of series) {
    let prev: [number, number] | null = null;
    for (const p of s.points) {
      if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
        prev = null;
        continue;
      }
      const cur: [number, number] = [px(p[0]), py(p[1])];
      if (prev) {
        const n = Math.max(1, Math.ceil(Math.hypot(cur[0] - prev[0], cur[1] - prev[1]) / 3));
        for (let k = 1; k <= n; k++) out.push([prev[0] + ((cur[0] - prev[0]) * k) / n, prev[1] + ((cur[1] - prev[1]) * k) / n]);
      } else out.push(cur);
      prev = cur;
    }
  }
  return out;
}

/** One run's metrics.jsonl rows (type "step" and "epoch", as MetricsLog writes them). */
export type MetricsRow = Record<string, number | string>;

export interface TrainingCurveLabels {
  /** The split the training curves are computed on (default "train"). */
  train?: string;
  /** The split the val_* numbers come from (default "validation"), e.g. "validation (held out from train)" or "test". */
  validation?: string;
}

/**
 * The loss and accuracy charts of a run, from its metrics.jsonl rows. The curves are named by the
 * split the caller says they show, so a chart never calls test numbers "validation". Loss starts
 * at 0 or above; accuracy (a fraction) stays within [0, 1].
 */
export function trainingCurveCharts(rows: MetricsRow[], labels: TrainingCurveLabels = {}): { loss: string; accuracy: string } {
  const train = labels.train ?? 'train';
  const validation = labels.validation ?? 'validation';
  const epochs = rows.filter((r) => r.type === 'epoch');
  const steps = rows.filter((r) => r.type === 'step');
  const stepsPerEpoch = Math.max(1, steps.length / Math.max(1, epochs.length));
  const column = (x: string, y: string) => epochs.filter((r) => typeof r[y] === 'number').map((r) => [Number(r[x]), Number(r[y])] as [number, number]);
  const withPoints = (list: Series[]) => list.filter((s) => s.points.length > 0);
  const loss = lineChart(
    'Loss',
    'epoch',
    withPoints([
      { name: `${train} (per step)`, points: steps.map((r) => [Number(r.step) / stepsPerEpoch, Number(r.loss)] as [number, number]), strokeWidth: 1, opacity: 0.45 },
      { name: `${train} (epoch mean)`, points: column('epoch', 'train_loss') },
      { name: validation, points: column('epoch', 'val_loss') },
    ]),
    { yLabel: 'cross-entropy loss', nonNegative: true, integerX: true },
  );
  const accuracy = lineChart(
    'Accuracy',
    'epoch',
    withPoints([
      { name: `${train} (running, top-1)`, points: column('epoch', 'train_accuracy') },
      { name: `${validation} top-1`, points: column('epoch', 'val_top1') },
    ]),
    { yLabel: 'top-1 accuracy', yMin: 0, yMax: 1, integerX: true },
  );
  return { loss, accuracy };
}

export interface ConfusionChartOptions {
  /** What the rows and the columns are (default "true" and "predicted"; Ultralytics' detection matrix has them the other way). */
  rowLabel?: string;
  columnLabel?: string;
  /** Decimals of the cell values (default 0: counts; 2 for a normalised matrix). */
  decimals?: number;
  /** Cells below this are left blank (Ultralytics: 0.005, which would print as 0.00). Default: none. */
  blankBelow?: number;
  /** Write the values in the cells (default true). */
  annotate?: boolean;
}

/** A confusion matrix heatmap, rows = truth, columns = prediction (unless the options say otherwise), values in the cells. */
export function confusionMatrixChart(matrix: number[][], classNames: string[], title = 'Confusion matrix', options: ConfusionChartOptions = {}): string {
  const n = matrix.length;
  const decimals = options.decimals ?? 0;
  const annotate = options.annotate ?? true;
  const cell = Math.max(28, Math.min(60, Math.floor(600 / n)));
  const left = 130;
  const top = 130;
  const width = left + n * cell + 20;
  const height = top + n * cell + 40;
  const max = Math.max(1, ...matrix.flat());
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    `<text x="${left + (n * cell) / 2}" y="40" text-anchor="middle">${escapeXml(options.columnLabel ?? 'predicted')}</text>`,
    `<text x="14" y="${top + (n * cell) / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + (n * cell) / 2})">${escapeXml(options.rowLabel ?? 'true')}</text>`,
  ];
  // A frame, so empty (white) cells still read as a grid.
  parts.push(`<rect x="${left}" y="${top}" width="${n * cell}" height="${n * cell}" fill="#fbfbff" stroke="#bbb"/>`);
  for (let i = 0; i < n; i++) {
    const name = escapeXml(classNames[i] ?? String(i));
    parts.push(`<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">${name}</text>`);
    parts.push(`<text x="${left + i * cell + cell / 2}" y="${top - 6}" text-anchor="start" transform="rotate(-50 ${left + i * cell + cell / 2} ${top - 6})">${name}</text>`);
    for (let j = 0; j < n; j++) {
      const v = matrix[i][j];
      const shade = Math.round(255 - (v / max) * 200);
      parts.push(`<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#e4e4ee"/>`);
      if (annotate && !(options.blankBelow !== undefined && v < options.blankBelow)) {
        parts.push(`<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" text-anchor="middle" fill="${v / max > 0.6 ? 'white' : 'black'}">${v.toFixed(decimals)}</text>`);
      }
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}
