// results.csv and results.png of an Ultralytics run folder, from Iris's metrics.jsonl epoch rows.
// Ultralytics' names: train/<part>_loss, metrics/precision(B), metrics/recall(B),
// metrics/mAP50(B), metrics/mAP50-95(B), val/<part>_loss, lr/pg<i>; a run gets the columns it has
// (a torchvision detector's loss terms are its own: train/classifier_loss, train/box_reg_loss, ...).
import { lineChart } from './svg.js';
import type { MetricsRow } from './svg.js';

export interface ResultsTable {
  columns: string[];
  /** One row per epoch; NaN where an epoch lacks the column. */
  rows: number[][];
}

/** A loss term's Ultralytics name: "box" and "box_loss" both give "box_loss". */
const lossName = (part: string) => (/loss$/.test(part) ? part : `${part}_loss`);

/** Ultralytics' column for a metrics.jsonl key, or undefined for keys it has no column for. */
function columnOf(key: string, keys: ReadonlySet<string>): string | undefined {
  if (key === 'epoch') return 'epoch';
  const train = key.match(/^train_loss_(.+)$/);
  if (train) return `train/${lossName(train[1])}`;
  const val = key.match(/^val_loss_(.+)$/);
  if (val) return `val/${lossName(val[1])}`;
  if (key === 'val_precision') return 'metrics/precision(B)';
  if (key === 'val_recall') return 'metrics/recall(B)';
  // Ultralytics' own mAP when the task logs it beside COCO's; COCO's otherwise.
  if (key === 'val_map50_yolo' || (key === 'val_map50' && !keys.has('val_map50_yolo'))) return 'metrics/mAP50(B)';
  if (key === 'val_map_yolo' || (key === 'val_map' && !keys.has('val_map_yolo'))) return 'metrics/mAP50-95(B)';
  if (key === 'lr') return 'lr/pg0';
  const group = key.match(/^lr_pg(\d+)$/);
  if (group) return `lr/pg${group[1]}`;
  return undefined;
}

const ORDER = ['epoch', 'train/', 'metrics/precision', 'metrics/recall', 'metrics/mAP50(', 'metrics/mAP50-95', 'val/', 'lr/'];
const rank = (column: string) => ORDER.findIndex((prefix) => column.startsWith(prefix));

/** The results table of a run's metrics.jsonl rows (its "epoch" rows), in Ultralytics' column order. */
export function resultsTable(metrics: readonly MetricsRow[]): ResultsTable {
  const epochs = metrics.filter((r) => r.type === 'epoch');
  const keys = new Set(epochs.flatMap((r) => Object.keys(r).filter((k) => typeof r[k] === 'number')));
  const mapped = [...keys].flatMap((k) => {
    const column = columnOf(k, keys);
    return column ? [[k, column] as const] : [];
  });
  mapped.sort((a, b) => rank(a[1]) - rank(b[1]) || (a[1].startsWith('lr/') ? a[1].localeCompare(b[1], 'en', { numeric: true }) : 0));
  return {
    columns: mapped.map(([, c]) => c),
    rows: epochs.map((r) => mapped.map(([k]) => (typeof r[k] === 'number' ? (r[k] as number) : NaN))),
  };
}

/** results.csv text: a header, then a row per epoch; an empty cell where an epoch lacks the value. */
export function formatResultsCsv(table: ResultsTable): string {
  const cell = (v: number) => (Number.isNaN(v) ? '' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6))));
  return [table.columns.join(','), ...table.rows.map((row) => row.map(cell).join(','))].join('\n') + '\n';
}

/** results.png: one small chart per column (the learning rates left out, as Ultralytics does), five to a row. */
export function resultsChart(table: ResultsTable, { columns: perRow = 5, panelWidth = 300, panelHeight = 230 } = {}): string {
  const epochAt = table.columns.indexOf('epoch');
  const shown = table.columns.map((c, i) => [c, i] as const).filter(([c]) => c !== 'epoch' && !c.startsWith('lr/'));
  const rows = Math.max(1, Math.ceil(shown.length / perRow));
  const cols = Math.max(1, Math.min(perRow, shown.length));
  const panels = shown.map(([name, i], k) => {
    const points = table.rows.map((row, r) => [epochAt >= 0 ? row[epochAt] : r + 1, row[i]] as [number, number]).filter((p) => Number.isFinite(p[1]));
    const svg = lineChart(name, 'epoch', [{ name, points, strokeWidth: 2, hideInLegend: true }], { width: panelWidth, height: panelHeight, integerX: true, titleSize: 13, ...(name.startsWith('metrics/') ? { yMin: 0, yMax: 1 } : {}) });
    return svg.replace('<svg ', `<svg x="${(k % cols) * panelWidth}" y="${Math.floor(k / cols) * panelHeight}" `);
  });
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${cols * panelWidth}" height="${rows * panelHeight}">`, '<rect width="100%" height="100%" fill="white"/>', ...panels, '</svg>'].join('\n');
}
