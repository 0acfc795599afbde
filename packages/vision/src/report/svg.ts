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
}

/** A line chart with axes, ticks and a legend. */
export function lineChart(title: string, xLabel: string, series: Series[], width = 640, height = 400): string {
  const margin = { left: 60, right: 20, top: 40, bottom: 50 };
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  const px = (x: number) => margin.left + ((x - x0) / (x1 - x0)) * (width - margin.left - margin.right);
  const py = (y: number) => height - margin.bottom - ((y - y0) / (y1 - y0)) * (height - margin.top - margin.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const y = y0 + ((y1 - y0) * i) / 5;
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${py(y)}" y2="${py(y)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${py(y) + 4}" text-anchor="end">${y.toPrecision(3)}</text>`);
    const x = x0 + ((x1 - x0) * i) / 5;
    parts.push(`<text x="${px(x)}" y="${height - margin.bottom + 16}" text-anchor="middle">${Number(x.toFixed(2))}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${width - margin.left - margin.right}" height="${height - margin.top - margin.bottom}" fill="none" stroke="#444"/>`);
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const d = s.points.filter((p) => Number.isFinite(p[1])).map((p, k) => `${k ? 'L' : 'M'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<rect x="${width - margin.right - 150}" y="${margin.top + 8 + i * 18}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${width - margin.right - 132}" y="${margin.top + 18 + i * 18}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** A confusion matrix heatmap, rows = truth, columns = prediction, counts in the cells. */
export function confusionMatrixChart(matrix: number[][], classNames: string[], title = 'Confusion matrix'): string {
  const n = matrix.length;
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
    `<text x="${left + (n * cell) / 2}" y="40" text-anchor="middle">predicted</text>`,
    `<text x="14" y="${top + (n * cell) / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + (n * cell) / 2})">true</text>`,
  ];
  for (let i = 0; i < n; i++) {
    const name = escapeXml(classNames[i] ?? String(i));
    parts.push(`<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">${name}</text>`);
    parts.push(`<text x="${left + i * cell + cell / 2}" y="${top - 6}" text-anchor="start" transform="rotate(-50 ${left + i * cell + cell / 2} ${top - 6})">${name}</text>`);
    for (let j = 0; j < n; j++) {
      const v = matrix[i][j];
      const shade = Math.round(255 - (v / max) * 200);
      parts.push(`<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="white"/>`);
      parts.push(`<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" text-anchor="middle" fill="${v / max > 0.6 ? 'white' : 'black'}">${v}</text>`);
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}
