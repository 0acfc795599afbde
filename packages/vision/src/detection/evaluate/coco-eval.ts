// COCOeval's bbox protocol (pycocotools/cocoeval.py: evaluate, accumulate, summarize), step for
// step, so each number equals pycocotools': the same stable sorts, the same greedy matching with
// its crowd and ignore rules, the same 101-point interpolation and the same -1 for "no ground truth".
import { describe } from './arrays.js';
import { readCocoInput, type CocoCategory, type CocoColumns, type CocoDetection, type CocoGroundTruth } from './coco-input.js';

export interface CocoEvaluateOptions {
  /** Images to evaluate (default: all of the ground truth's). */
  imgIds?: readonly number[];
  /** Categories to evaluate (default: all of the ground truth's). */
  catIds?: readonly number[];
  /** false: evaluate class-agnostic, one pooled category (pycocotools' `useCats = 0`). Default true. */
  useCats?: boolean;
  /** The three detection budgets per image (default [1, 10, 100]); stats 0 always reads maxDets 100, as pycocotools' does. */
  maxDets?: readonly number[];
  /**
   * Honour annotations' `ignore` field as an ignore region (matched detections are not counted).
   * pycocotools overwrites `ignore` with `iscrowd`, so the default false reproduces it.
   */
  useIgnoreFlag?: boolean;
}

/** pycocotools' `Params` for iouType 'bbox', after `evaluate()` sorted and de-duplicated them. */
export interface CocoEvalParams {
  imgIds: number[];
  catIds: number[];
  /** np.linspace(.5, .95, 10): 0.5, 0.55, …, 0.95. */
  iouThrs: Float64Array;
  /** np.linspace(0, 1, 101). */
  recThrs: Float64Array;
  maxDets: number[];
  areaRng: [number, number][];
  areaRngLbl: string[];
  useCats: boolean;
}

export interface CocoClassResult {
  categoryId: number;
  name: string;
  /** AP@[.5:.95], area all, the largest maxDets; -1 when the category has no ground truth. */
  ap: number;
  ap50: number;
  ap75: number;
  /** Recall averaged over IoU thresholds, area all, the largest maxDets. */
  ar: number;
}

export interface CocoEvalResult {
  /** The 12 numbers of `COCOeval.stats`, in its order (see COCO_STAT_NAMES). */
  stats: number[];
  params: CocoEvalParams;
  /** [T, R, K, A, M]: IoU thresholds, recall thresholds, categories (1 without useCats), area ranges, maxDets. */
  counts: [number, number, number, number, number];
  /** Interpolated precision, row-major [T, R, K, A, M]; -1 where a category and area have no ground truth. */
  precision: Float64Array;
  /** Recall reached, row-major [T, K, A, M]; -1 as for precision. */
  recall: Float64Array;
  /** The detection score at each precision point, row-major [T, R, K, A, M]. */
  scores: Float64Array;
  /** Per category (empty without useCats). */
  perClass: CocoClassResult[];
}

/** What each entry of `stats` is, as `summarize()` prints it. */
export const COCO_STAT_NAMES = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'] as const;

/** numpy's linspace: i * step + start, with the last value set to stop exactly. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

const AREA_RANGES: [number, number][] = [
  [0, 1e10],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e10],
];
const AREA_LABELS = ['all', 'small', 'medium', 'large'];
// numpy's np.spacing(1), the guard in accumulate's tp / (tp + fp + eps).
const SPACING_1 = 2.220446049250313e-16;

function sortedUnique(ids: readonly number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

function readParams(input: CocoColumns, options: CocoEvaluateOptions): CocoEvalParams {
  const known = (what: string, ids: readonly number[] | undefined, all: number[]): number[] => {
    if (ids === undefined) return sortedUnique(all);
    if (!Array.isArray(ids)) throw new TypeError(`options.${what}: expected an array of ids, got ${describe(ids)}`);
    const set = new Set(all);
    ids.forEach((id, i) => {
      if (!set.has(id)) throw new RangeError(`options.${what}[${i}]: ${describe(id)} is not in the ground truth`);
    });
    return sortedUnique(ids);
  };
  const maxDets = options.maxDets ?? [1, 10, 100];
  if (!Array.isArray(maxDets) || maxDets.length !== 3 || !maxDets.every((m) => Number.isInteger(m) && m > 0)) {
    throw new TypeError(`options.maxDets: expected three positive integers such as [1, 10, 100], got ${describe(maxDets)}`);
  }
  if (options.useCats !== undefined && typeof options.useCats !== 'boolean') throw new TypeError(`options.useCats: expected a boolean, got ${describe(options.useCats)}`);
  return {
    imgIds: known('imgIds', options.imgIds, input.imageIds),
    catIds: known('catIds', options.catIds, input.categories.map((c) => c.id)),
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0, 1, Math.round(1 / 0.01) + 1),
    maxDets: [...maxDets].sort((a, b) => a - b),
    areaRng: AREA_RANGES.map((r) => [r[0], r[1]]),
    areaRngLbl: [...AREA_LABELS],
    useCats: options.useCats ?? true,
  };
}

/**
 * Rows of one table (gt or dt) bucketed into evaluation groups in pycocotools' order. A group is
 * (category, image) with useCats, else an image with its categories concatenated in catIds order.
 * Rows outside the evaluated images or categories are dropped.
 */
interface Groups {
  /** Row indices, group after group. */
  rows: Int32Array;
  /** Group g holds rows[start[g] .. start[g] + size[g]). */
  start: Int32Array;
  size: Int32Array;
}

function groupRows(
  count: number,
  imageId: Float64Array,
  categoryId: Float64Array,
  score: Float64Array | undefined,
  imgIndex: Map<number, number>,
  catIndex: Map<number, number>,
  useCats: boolean,
  groupCount: number,
): Groups {
  const imageCount = imgIndex.size;
  const group = new Int32Array(count).fill(-1);
  const catOf = new Int32Array(count);
  const kept: number[] = [];
  for (let i = 0; i < count; i++) {
    const img = imgIndex.get(imageId[i]);
    const cat = catIndex.get(categoryId[i]);
    if (img === undefined || cat === undefined) continue;
    group[i] = useCats ? cat * imageCount + img : img;
    catOf[i] = useCats ? 0 : cat;
    kept.push(i);
  }
  const rows = Int32Array.from(kept);
  // Detections: highest score first, ties in their concatenated order (numpy's stable mergesort).
  rows.sort((a, b) => group[a] - group[b] || (score ? score[b] - score[a] : 0) || catOf[a] - catOf[b] || a - b);
  const start = new Int32Array(groupCount);
  const size = new Int32Array(groupCount);
  for (let j = rows.length - 1; j >= 0; j--) {
    const g = group[rows[j]];
    start[g] = j;
    size[g]++;
  }
  return { rows, start, size };
}

/** maskUtils.iou for boxes (pycocotools' bbIou): [D, G], crowd columns divide by the detection's area. */
function boxIou(input: CocoColumns, dtRows: Int32Array, dtStart: number, D: number, gtRows: Int32Array, gtStart: number, G: number, out: Float64Array): void {
  const db = input.dt.bbox;
  const gb = input.gt.bbox;
  for (let g = 0; g < G; g++) {
    const gr = gtRows[gtStart + g] * 4;
    const gx = gb[gr], gy = gb[gr + 1], gw = gb[gr + 2], gh = gb[gr + 3];
    const ga = gw * gh;
    const crowd = input.gt.iscrowd[gtRows[gtStart + g]] !== 0;
    for (let d = 0; d < D; d++) {
      const dr = dtRows[dtStart + d] * 4;
      const dx = db[dr], dy = db[dr + 1], dw = db[dr + 2], dh = db[dr + 3];
      out[d * G + g] = 0;
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const inter = w * h;
      const union = crowd ? dw * dh : dw * dh + ga - inter;
      out[d * G + g] = inter / union;
    }
  }
}

const MATCHED = 1;
const IGNORED = 2;

/** What evaluate() leaves for accumulate(): the grouped rows and who is ignored. */
interface Evaluation {
  input: CocoColumns;
  p: CocoEvalParams;
  imageCount: number;
  gts: Groups;
  dts: Groups;
  /** Per annotation: crowd (or flagged ignore), before the area ranges. */
  gtIgnore: Uint8Array;
}

/** evaluateImg's results for one category over every image, detections laid end to end in image order. */
interface CategoryMatches {
  n: number;
  dtScore: Float64Array;
  /** Each detection's place in its image's list, for the smaller maxDets. */
  dtRank: Int32Array;
  /** [A, T, n]: MATCHED | IGNORED per area range, IoU threshold and detection. */
  flags: Uint8Array;
  /** [A]: ground truth not ignored. */
  npig: Int32Array;
}

/**
 * evaluateImg for category k (or the pooled one) on every image: greedy matching, highest score
 * first, to the best-IoU ground truth still free (crowds stay free), preferring regular ground
 * truth to ignored; undefined when no image has ground truth or detections.
 */
function matchCategory(e: Evaluation, k: number): CategoryMatches | undefined {
  const { input, p, imageCount: I, gts, dts, gtIgnore } = e;
  const T = p.iouThrs.length;
  const A = p.areaRng.length;
  const maxDet = p.maxDets[p.maxDets.length - 1];
  const thresholds = Float64Array.from(p.iouThrs, (t) => Math.min(t, 1 - 1e-10));
  let n = 0;
  let maxG = 0;
  let evaluated = false;
  for (let i = 0; i < I; i++) {
    n += Math.min(dts.size[k * I + i], maxDet);
    maxG = Math.max(maxG, gts.size[k * I + i]);
    evaluated ||= dts.size[k * I + i] + gts.size[k * I + i] > 0;
  }
  if (!evaluated) return undefined;
  const dtScore = new Float64Array(n);
  const dtRank = new Int32Array(n);
  const flags = new Uint8Array(A * T * n);
  const npig = new Int32Array(A);
  const ious = new Float64Array(maxDet * maxG);
  const gtOrder = new Int32Array(maxG);
  const gtIg = new Uint8Array(maxG);
  const gtCrowd = new Uint8Array(maxG);
  const gtMatch = new Int32Array(maxG);
  const gtArea = input.gt.area;
  const dtArea = input.dt.area;
  let offset = 0;
  for (let i = 0; i < I; i++) {
    const g = k * I + i;
    const G = gts.size[g];
    const D = Math.min(dts.size[g], maxDet);
    if (G === 0 && D === 0) continue;
    const g0 = gts.start[g];
    const d0 = dts.start[g];
    boxIou(input, dts.rows, d0, D, gts.rows, g0, G, ious);
    for (let a = 0; a < A; a++) {
      const lo = p.areaRng[a][0];
      const hi = p.areaRng[a][1];
      // Ground truth ignored here (crowd, or outside the area range) goes last, order kept.
      let filled = 0;
      for (let pass = 0; pass < 2; pass++) {
        for (let j = 0; j < G; j++) {
          const row = gts.rows[g0 + j];
          const ignored = gtIgnore[row] !== 0 || gtArea[row] < lo || gtArea[row] > hi ? 1 : 0;
          if (ignored !== pass) continue;
          gtOrder[filled] = j;
          gtCrowd[filled] = input.gt.iscrowd[row];
          gtIg[filled++] = ignored;
          if (!ignored) npig[a]++;
        }
      }
      if (G === 0) {
        // Nothing to match (the common case of a category absent from the image): only the area rule.
        for (let d = 0; d < D; d++) {
          const area = dtArea[dts.rows[d0 + d]];
          const flag = area < lo || area > hi ? IGNORED : 0;
          for (let t = 0; t < T; t++) flags[(a * T + t) * n + offset + d] = flag;
        }
        continue;
      }
      for (let t = 0; t < T; t++) {
        // A loop, not fill(): G is mostly 0 or 1 and fill's call costs more than the work.
        for (let j = 0; j < G; j++) gtMatch[j] = -1;
        const base = (a * T + t) * n + offset;
        for (let d = 0; d < D; d++) {
          let best = thresholds[t];
          let m = -1;
          for (let j = 0; j < G; j++) {
            if (gtMatch[j] >= 0 && gtCrowd[j] === 0) continue;
            // Matched to a regular ground truth, and only ignored ones are left: stop.
            if (m > -1 && gtIg[m] === 0 && gtIg[j] === 1) break;
            const iou = ious[d * G + gtOrder[j]];
            if (iou < best) continue;
            best = iou;
            m = j;
          }
          if (m === -1) {
            const area = dtArea[dts.rows[d0 + d]];
            flags[base + d] = area < lo || area > hi ? IGNORED : 0;
          } else {
            flags[base + d] = MATCHED | (gtIg[m] ? IGNORED : 0);
            gtMatch[m] = d;
          }
        }
      }
    }
    for (let d = 0; d < D; d++) {
      dtScore[offset + d] = input.dt.score[dts.rows[d0 + d]];
      dtRank[offset + d] = d;
    }
    offset += D;
  }
  return { n, dtScore, dtRank, flags, npig };
}

/** Detection indices 0..n-1 by score, highest first, ties in image order (numpy's stable mergesort). */
function scoreOrder(dtScore: Float64Array): Int32Array {
  const order = new Int32Array(dtScore.length);
  for (let j = 0; j < order.length; j++) order[j] = j;
  return order.sort((x, y) => dtScore[y] - dtScore[x] || x - y);
}

/** accumulate() for category k: precision at the 101 recall points, recall and scores, into the [T, R, K, A, M] arrays. */
function accumulateCategory(p: CocoEvalParams, k: number, K: number, c: CategoryMatches, precision: Float64Array, recall: Float64Array, scores: Float64Array): void {
  const T = p.iouThrs.length;
  const R = p.recThrs.length;
  const A = p.areaRng.length;
  const M = p.maxDets.length;
  const { n, dtScore, dtRank, flags, npig } = c;
  const order = scoreOrder(dtScore);
  const tp = new Float64Array(n);
  const pr = new Float64Array(n);
  const recThrs = p.recThrs;
  for (let m = 0; m < M; m++) {
    // A stable sort restricted to each image's first maxDet detections is that subset's stable sort.
    const maxDet = p.maxDets[m];
    let sel = order;
    if (maxDet < p.maxDets[M - 1]) {
      sel = new Int32Array(n);
      let kept = 0;
      for (let j = 0; j < n; j++) if (dtRank[order[j]] < maxDet) sel[kept++] = order[j];
      sel = sel.subarray(0, kept);
    }
    const nd = sel.length;
    for (let a = 0; a < A; a++) {
      const positives = npig[a];
      if (positives === 0) continue;
      for (let t = 0; t < T; t++) {
        const base = (a * T + t) * n;
        let tpSum = 0;
        let fpSum = 0;
        for (let j = 0; j < nd; j++) {
          const f = flags[base + sel[j]];
          if ((f & IGNORED) === 0) {
            if (f & MATCHED) tpSum++;
            else fpSum++;
          }
          tp[j] = tpSum;
          pr[j] = tpSum / (fpSum + tpSum + SPACING_1);
        }
        recall[((t * K + k) * A + a) * M + m] = nd ? tp[nd - 1] / positives : 0;
        for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
        // np.searchsorted(rc, recThrs, side='left'); past the last detection precision stays 0.
        let j = 0;
        for (let r = 0; r < R; r++) {
          while (j < nd && tp[j] / positives < recThrs[r]) j++;
          const at = (((t * R + r) * K + k) * A + a) * M + m;
          precision[at] = j < nd ? pr[j] : 0;
          scores[at] = j < nd ? dtScore[sel[j]] : 0;
        }
      }
    }
  }
}

/** Evaluates `groundTruth` against `detections` exactly as pycocotools' COCOeval(iouType='bbox') with evaluate(), accumulate() and summarize(). */
export function cocoEvaluate(groundTruth: CocoGroundTruth, detections: readonly CocoDetection[], options: CocoEvaluateOptions = {}): CocoEvalResult {
  const input = readCocoInput(groundTruth, detections);
  const p = readParams(input, options);
  const I = p.imgIds.length;
  const K = p.useCats ? p.catIds.length : 1;
  const counts: [number, number, number, number, number] = [p.iouThrs.length, p.recThrs.length, K, p.areaRng.length, p.maxDets.length];
  const [T, R, , A, M] = counts;
  const imgIndex = new Map(p.imgIds.map((id, i) => [id, i]));
  const catIndex = new Map(p.catIds.map((id, i) => [id, i]));
  const gtIgnore = new Uint8Array(input.gt.count);
  for (let i = 0; i < input.gt.count; i++) gtIgnore[i] = input.gt.iscrowd[i] || (options.useIgnoreFlag ? input.gt.ignore[i] : 0);
  const evaluation: Evaluation = {
    input,
    p,
    imageCount: I,
    gts: groupRows(input.gt.count, input.gt.imageId, input.gt.categoryId, undefined, imgIndex, catIndex, p.useCats, K * I),
    dts: groupRows(input.dt.count, input.dt.imageId, input.dt.categoryId, input.dt.score, imgIndex, catIndex, p.useCats, K * I),
    gtIgnore,
  };

  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  for (let k = 0; k < K; k++) {
    const matches = matchCategory(evaluation, k);
    if (matches) accumulateCategory(p, k, K, matches, precision, recall, scores);
  }
  return {
    stats: summarizeStats(p, precision, recall, counts),
    params: p,
    counts,
    precision,
    recall,
    scores,
    perClass: p.useCats ? perClass(p, input.categories, precision, recall, counts) : [],
  };
}

/**
 * pycocotools' `_summarize`: the mean of the entries > -1 of precision (ap) or recall, over the IoU
 * thresholds equal to `iouThr` (all when undefined) and every category, at one area label and maxDets.
 */
function meanOver(p: CocoEvalParams, values: Float64Array, counts: number[], ap: boolean, iouThr: number | undefined, area: string, maxDets: number, category?: number): number {
  const [T, R, K, A, M] = counts;
  const a = p.areaRngLbl.indexOf(area);
  const m = p.maxDets.indexOf(maxDets);
  if (a < 0 || m < 0) return -1;
  let sum = 0;
  let count = 0;
  for (let t = 0; t < T; t++) {
    if (iouThr !== undefined && p.iouThrs[t] !== iouThr) continue;
    for (let r = 0; r < (ap ? R : 1); r++) {
      for (let k = category ?? 0; k < (category ?? K - 1) + 1; k++) {
        const v = ap ? values[(((t * R + r) * K + k) * A + a) * M + m] : values[((t * K + k) * A + a) * M + m];
        if (v > -1) {
          sum += v;
          count++;
        }
      }
    }
  }
  return count === 0 ? -1 : sum / count;
}

/** The 12 settings of `_summarizeDets`, in stats order: [ap, iouThr, area, maxDets index or the literal 100]. */
export function statSettings(p: CocoEvalParams): [boolean, number | undefined, string, number][] {
  const [m0, m1, m2] = p.maxDets;
  return [
    [true, undefined, 'all', 100],
    [true, 0.5, 'all', m2],
    [true, 0.75, 'all', m2],
    [true, undefined, 'small', m2],
    [true, undefined, 'medium', m2],
    [true, undefined, 'large', m2],
    [false, undefined, 'all', m0],
    [false, undefined, 'all', m1],
    [false, undefined, 'all', m2],
    [false, undefined, 'small', m2],
    [false, undefined, 'medium', m2],
    [false, undefined, 'large', m2],
  ];
}

function summarizeStats(p: CocoEvalParams, precision: Float64Array, recall: Float64Array, counts: number[]): number[] {
  return statSettings(p).map(([ap, iouThr, area, maxDets]) => meanOver(p, ap ? precision : recall, counts, ap, iouThr, area, maxDets));
}

function perClass(p: CocoEvalParams, categories: CocoCategory[], precision: Float64Array, recall: Float64Array, counts: number[]): CocoClassResult[] {
  const names = new Map(categories.map((c) => [c.id, c.name ?? String(c.id)]));
  const last = p.maxDets[p.maxDets.length - 1];
  return p.catIds.map((categoryId, k) => ({
    categoryId,
    name: names.get(categoryId) ?? String(categoryId),
    ap: meanOver(p, precision, counts, true, undefined, 'all', last, k),
    ap50: meanOver(p, precision, counts, true, 0.5, 'all', last, k),
    ap75: meanOver(p, precision, counts, true, 0.75, 'all', last, k),
    ar: meanOver(p, recall, counts, false, undefined, 'all', last, k),
  }));
}
