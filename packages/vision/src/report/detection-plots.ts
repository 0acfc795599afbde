// The plots of an Ultralytics detection run folder, as SVG: PR and metric-confidence curves per
// class under a bold all-classes mean, the confusion matrix with its background row and column,
// and the label statistics (class counts, box centres, box sizes).
import type { YoloMetrics } from '../detection/evaluate/yolo-metrics.js';
import { smooth } from '../detection/evaluate/yolo-metrics.js';
import { confusionMatrixChart, escapeXml, lineChart, niceTicks, formatTick, type Series } from './svg.js';

/** matplotlib's tab10: the colours Ultralytics' per-class curves cycle through. */
const TAB10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const MEAN_COLOR = '#0000ff';
/** Past this many classes the per-class curves are drawn grey and unnamed, as Ultralytics does. */
const MAX_LEGEND_CLASSES = 20;

function classSeries(m: YoloMetrics, names: readonly string[], curves: number[][], xs: number[], label: (ci: number) => string): Series[] {
  const named = m.classes.length <= MAX_LEGEND_CLASSES;
  return m.classes.map((c, ci) => ({
    name: named ? label(ci) : names[c] ?? String(c),
    points: curves[ci].map((y, k) => [xs[k], y] as [number, number]),
    strokeWidth: 1,
    color: named ? TAB10[ci % TAB10.length] : '#999999',
    hideInLegend: !named,
  }));
}

const columnMean = (rows: number[][]): number[] => rows[0].map((_, k) => rows.reduce((s, row) => s + row[k], 0) / rows.length);

/** PR_curve.png: precision against recall at IoU 0.5 per class (its AP50 in the legend) and for all classes (mAP50). */
export function prCurveChart(m: YoloMetrics, names: readonly string[], title = 'Precision-Recall Curve'): string {
  const series = m.classes.length ? classSeries(m, names, m.prCurve, m.x, (ci) => `${names[m.classes[ci]] ?? m.classes[ci]} ${m.ap[ci][0].toFixed(3)}`) : [];
  if (m.classes.length) series.push({ name: `all classes ${m.map50.toFixed(3)} mAP@0.5`, points: columnMean(m.prCurve).map((y, k) => [m.x[k], y]), strokeWidth: 3, color: MEAN_COLOR });
  return withNote(lineChart(title, 'Recall', series, { yLabel: 'Precision', yRange: [0, 1], xRange: [0, 1], integerX: false, legend: 'right', width: 900, height: 600 }), m);
}

/** F1_curve.png, P_curve.png, R_curve.png: a metric against confidence per class, and the smoothed mean with its best point. */
export function confidenceCurveChart(m: YoloMetrics, names: readonly string[], metric: 'F1' | 'Precision' | 'Recall', title = `${metric}-Confidence Curve`): string {
  const curves = metric === 'F1' ? m.f1Curve : metric === 'Precision' ? m.pCurve : m.rCurve;
  const series = m.classes.length ? classSeries(m, names, curves, m.x, (ci) => names[m.classes[ci]] ?? String(m.classes[ci])) : [];
  if (m.classes.length) {
    const mean = smooth(columnMean(curves), 0.05);
    const best = mean.indexOf(Math.max(...mean));
    series.push({ name: `all classes ${mean[best].toFixed(2)} at ${m.x[best].toFixed(3)}`, points: mean.map((y, k) => [m.x[k], y]), strokeWidth: 3, color: MEAN_COLOR });
  }
  return withNote(lineChart(title, 'Confidence', series, { yLabel: metric, yRange: [0, 1], xRange: [0, 1], integerX: false, legend: 'right', width: 900, height: 600 }), m);
}

/** An empty chart says why: Ultralytics computes no curves when no prediction is right at any IoU threshold. */
function withNote(svg: string, m: YoloMetrics): string {
  if (m.classes.length) return svg;
  return svg.replace('</svg>', '<text x="50%" y="50%" text-anchor="middle" font-size="14" fill="#555">no prediction matches a label at IoU 0.5 or more: no curves</text>\n</svg>');
}

/**
 * confusion_matrix.png / confusion_matrix_normalized.png: rows the predicted class, columns the
 * true class, each with "background" last; normalised by column as Ultralytics does.
 * @param matrix [nc + 1][nc + 1] DetectionConfusionMatrix.matrix.
 */
export function detectionConfusionChart(matrix: number[][], names: readonly string[], normalize: boolean, title?: string): string {
  const sums = matrix[0].map((_, j) => matrix.reduce((s, row) => s + row[j], 0));
  const values = normalize ? matrix.map((row) => row.map((v, j) => v / (sums[j] + 1e-9))) : matrix;
  const labels = [...names.slice(0, matrix.length - 1), 'background'];
  return confusionMatrixChart(values, labels, title ?? (normalize ? 'Confusion Matrix Normalized' : 'Confusion Matrix'), {
    rowLabel: 'Predicted',
    columnLabel: 'True',
    decimals: normalize ? 2 : 0,
    blankBelow: normalize ? 0.005 : 0.5,
    annotate: matrix.length <= 30,
  });
}

/** One image's labels for the statistics figure. */
export interface LabelStatsItem {
  /** [x1, y1, x2, y2] pixel boxes. */
  boxes: number[][];
  /** A class index (into `names`) per box. */
  labels: number[];
  width: number;
  height: number;
}

const BINS = 50;

/** labels.png: instances per class, box shapes, box centres (x, y) and sizes (width, height), all normalised by the image. */
export function labelsChart(items: readonly LabelStatsItem[], names: readonly string[]): string {
  const counts = new Array<number>(names.length).fill(0);
  const centres: [number, number][] = [];
  const sizes: [number, number][] = [];
  for (const item of items) {
    item.boxes.forEach((b, k) => {
      const c = item.labels[k];
      if (!(c >= 0 && c < names.length)) throw new RangeError(`labelsChart: label ${c} is not a class index (0..${names.length - 1})`);
      counts[c]++;
      centres.push([(b[0] + b[2]) / 2 / item.width, (b[1] + b[3]) / 2 / item.height]);
      sizes.push([(b[2] - b[0]) / item.width, (b[3] - b[1]) / item.height]);
    });
  }
  const panel = 360;
  const gap = 30;
  const width = 2 * panel + 3 * gap;
  const height = 2 * panel + 3 * gap + 40;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15">Labels: ${centres.length} boxes in ${items.length} images</text>`,
    classBars(counts, names, gap, 40 + gap, panel),
    boxShapes(sizes, 2 * gap + panel, 40 + gap, panel),
    histogram2d(centres, 'x', 'y', gap, 40 + 2 * gap + panel, panel),
    histogram2d(sizes, 'width', 'height', 2 * gap + panel, 40 + 2 * gap + panel, panel),
    '</svg>',
  ];
  return parts.join('\n');
}

/** Frame and 0..1 ticks of a square panel whose plot area is [x0, x0 + s] x [y0, y0 + s]. */
function unitAxes(x0: number, y0: number, s: number, xLabel: string, yLabel: string): string {
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1];
  const out = [`<rect x="${x0}" y="${y0}" width="${s}" height="${s}" fill="none" stroke="#444"/>`];
  for (const t of ticks) {
    out.push(`<text x="${x0 + t * s}" y="${y0 + s + 14}" text-anchor="middle">${t.toFixed(1)}</text>`);
    out.push(`<text x="${x0 - 4}" y="${y0 + s - t * s + 4}" text-anchor="end">${t.toFixed(1)}</text>`);
  }
  out.push(`<text x="${x0 + s / 2}" y="${y0 + s + 30}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  out.push(`<text x="${x0 - 30}" y="${y0 + s / 2}" text-anchor="middle" transform="rotate(-90 ${x0 - 30} ${y0 + s / 2})">${escapeXml(yLabel)}</text>`);
  return out.join('');
}

/** A 2-D histogram of points in [0, 1]^2 (y up), shaded by count. */
function histogram2d(points: [number, number][], xLabel: string, yLabel: string, px: number, py: number, panel: number): string {
  const s = panel - 50;
  const [x0, y0] = [px + 40, py];
  const grid = new Array<number>(BINS * BINS).fill(0);
  for (const [x, y] of points) {
    const i = Math.min(BINS - 1, Math.max(0, Math.floor(x * BINS)));
    const j = Math.min(BINS - 1, Math.max(0, Math.floor(y * BINS)));
    grid[j * BINS + i]++;
  }
  const max = Math.max(1, ...grid);
  const cell = s / BINS;
  const rects = grid.flatMap((v, k) => {
    if (v === 0) return [];
    // A square-root ramp, so a few boxes in a cell still show beside a crowded one.
    const t = Math.sqrt(v / max);
    const shade = (a: number, b: number) => Math.round(a + (b - a) * t);
    const [i, j] = [k % BINS, Math.floor(k / BINS)];
    return [`<rect x="${(x0 + i * cell).toFixed(1)}" y="${(y0 + s - (j + 1) * cell).toFixed(1)}" width="${cell.toFixed(2)}" height="${cell.toFixed(2)}" fill="rgb(${shade(198, 8)},${shade(219, 48)},${shade(239, 107)})"/>`];
  });
  return rects.join('') + unitAxes(x0, y0, s, xLabel, yLabel);
}

/** Up to 500 box outlines of their normalised size, centred, as Ultralytics' labels.jpg shows box shapes. */
function boxShapes(sizes: [number, number][], px: number, py: number, panel: number): string {
  const s = panel - 50;
  const [x0, y0] = [px + 40, py];
  const shown = sizes.slice(0, 500);
  const rects = shown.map(([w, h], k) => `<rect x="${(x0 + (0.5 - w / 2) * s).toFixed(1)}" y="${(y0 + (0.5 - h / 2) * s).toFixed(1)}" width="${(w * s).toFixed(1)}" height="${(h * s).toFixed(1)}" fill="none" stroke="${TAB10[k % TAB10.length]}" stroke-opacity="0.35"/>`);
  return rects.join('') + unitAxes(x0, y0, s, 'box width (centred)', 'box height (centred)');
}

/** Instances per class as bars, names under them. */
function classBars(counts: number[], names: readonly string[], px: number, py: number, panel: number): string {
  const [x0, y0, w, h] = [px + 40, py, panel - 50, panel - 90];
  const ticks = niceTicks(0, Math.max(1, ...counts), { integer: true });
  const out = [`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#444"/>`];
  for (const v of ticks.values) {
    const y = y0 + h - (v / ticks.hi) * h;
    out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${x0 - 4}" y="${(y + 4).toFixed(1)}" text-anchor="end">${formatTick(v, ticks.step)}</text>`);
  }
  const slot = w / Math.max(1, counts.length);
  const nameEvery = Math.max(1, Math.ceil(counts.length / 40));
  counts.forEach((c, i) => {
    const bh = (c / ticks.hi) * h;
    const x = x0 + i * slot;
    out.push(`<rect class="bar" data-count="${c}" x="${(x + slot * 0.1).toFixed(1)}" y="${(y0 + h - bh).toFixed(1)}" width="${(slot * 0.8).toFixed(1)}" height="${bh.toFixed(1)}" fill="${TAB10[i % TAB10.length]}"/>`);
    if (i % nameEvery === 0) {
      const cx = x + slot / 2;
      out.push(`<text x="${cx.toFixed(1)}" y="${y0 + h + 10}" text-anchor="end" font-size="10" transform="rotate(-60 ${cx.toFixed(1)} ${y0 + h + 10})">${escapeXml(names[i])}</text>`);
    }
  });
  out.push(`<text x="${x0 - 30}" y="${y0 + h / 2}" text-anchor="middle" transform="rotate(-90 ${x0 - 30} ${y0 + h / 2})">instances</text>`);
  return out.join('');
}
