// The text `COCOeval.summarize()` prints, character for character.
import { statSettings, type CocoEvalResult } from './coco-eval.js';

/** Lines as `COCOeval.summarize()` prints them, one per stat. */
export function formatCocoSummary(result: CocoEvalResult): string {
  const p = result.params;
  const fmt2 = (x: number) => x.toFixed(2);
  return statSettings(p)
    .map(([ap, iouThr, area, maxDets], i) => {
      const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
      const type = ap ? '(AP)' : '(AR)';
      const iou = (iouThr === undefined ? `${fmt2(p.iouThrs[0])}:${fmt2(p.iouThrs[p.iouThrs.length - 1])}` : fmt2(iouThr)).padEnd(9);
      return ` ${title} ${type} @[ IoU=${iou} | area=${area.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${formatFixed3(result.stats[i])}`;
    })
    .join('\n');
}

/**
 * Python's '{:0.3f}': correctly rounded, exact ties to even. JS toFixed rounds exact ties up; a
 * double is an exact tie at 3 decimals only when it is an odd multiple of 1/16.
 */
export function formatFixed3(x: number): string {
  if (Number.isInteger(x * 16) && (x * 16) % 2 !== 0) {
    const down = Math.floor(x * 1000);
    return ((down % 2 === 0 ? down : down + 1) / 1000).toFixed(3);
  }
  return x.toFixed(3);
}
