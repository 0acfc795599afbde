// Pretrained weights: resolve a spec to a cache file, download it (async, verified), load it (sync).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import type { Tensor } from '@iris/torch';
import { loadStateDictFile } from '@iris/torch/io';
import { modelInfo, type ImageModel, type ModelEntry, type WeightsSpec } from './registry.js';

/** Where weight files are kept: `$IRIS_CACHE/weights`, else `$XDG_CACHE_HOME/iris/weights`, else `~/.cache/iris/weights`. */
export function weightsCacheDir(): string {
  const root = process.env.IRIS_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'iris');
  return join(root, 'weights');
}

/** The weights of a registered model: its default (first) weights, or the one tagged `tag`. */
export function resolveWeights(nameOrSpec: string | WeightsSpec, tag?: string): WeightsSpec {
  return typeof nameOrSpec === 'string' ? weightsOf(modelInfo(nameOrSpec), tag) : nameOrSpec;
}

function weightsOf(entry: ModelEntry, tag?: string): WeightsSpec {
  if (entry.weights.length === 0) throw new Error(`${entry.name} has no pretrained weights registered; train it, or load your own file with loadStateDict`);
  if (tag === undefined) return entry.weights[0];
  const spec = entry.weights.find((w) => w.tag === tag);
  if (!spec) throw new Error(`${entry.name} has no weights tagged '${tag}'; it has ${entry.weights.map((w) => `'${w.tag}'`).join(', ')}`);
  return spec;
}

/** The https URL of a weights file; `hf://owner/repo/path` is a file of a Hugging Face repo's main branch. */
export function weightsUrl(spec: WeightsSpec): string {
  const hf = /^hf:\/\/([^/]+)\/([^/]+)\/(.+)$/.exec(spec.url);
  if (spec.url.startsWith('hf://') && !hf) throw new Error(`weights URL '${spec.url}' should be hf://owner/repo/path/in/repo`);
  return hf ? `https://huggingface.co/${hf[1]}/${hf[2]}/resolve/main/${hf[3]}` : spec.url;
}

/**
 * The cache path of a weights file: the URL's file name. Hugging Face repos all name their file
 * 'model.safetensors', so for hf:// URLs the owner and repo go in front ('timm--vit_base...--model.safetensors').
 */
export function weightsFile(spec: WeightsSpec, cacheDir = weightsCacheDir()): string {
  const hf = /^hf:\/\/([^/]+)\/([^/]+)\/(.+)$/.exec(spec.url);
  const name = hf ? `${hf[1]}--${hf[2]}--${hf[3].replaceAll('/', '--')}` : basename(new URL(spec.url).pathname);
  return join(cacheDir, name);
}

/** The SHA-256 a download must have: the spec's full hash, else the 8+ hex digits torchvision file names carry ('resnet18-f37072fd.pth'), as torch.hub checks. */
export function expectedHash(spec: WeightsSpec): { hash: string; prefixFromName: boolean } | null {
  if (spec.sha256) return { hash: spec.sha256.toLowerCase(), prefixFromName: false };
  const m = /-([a-f0-9]{8,})\./.exec(basename(spec.url));
  return m ? { hash: m[1], prefixFromName: true } : null;
}

export interface FetchWeightsOptions {
  /** The folder the file goes in (default `weightsCacheDir()`; createModel looks only there). */
  cacheDir?: string;
  /** A fetch implementation (default Node's global fetch). */
  fetch?: typeof fetch;
  /** Progress lines on stderr for downloads of 10 MB or more (default true). */
  progress?: boolean;
}

const PROGRESS_MIN_BYTES = 10_000_000;

/**
 * Downloads a model's weights into the cache unless they are there, and returns the file's path.
 * The file is written under a temporary name and renamed once its SHA-256 checks out, so the
 * cache never holds a partial or corrupt file.
 * @param nameOrSpec a registered model name ('resnet50') or a WeightsSpec
 * @param tag a weights tag ('imagenet1k_v1'); default the model's default weights
 */
export async function fetchWeights(nameOrSpec: string | WeightsSpec, tag?: string, options: FetchWeightsOptions = {}): Promise<string> {
  const spec = resolveWeights(nameOrSpec, tag);
  const cacheDir = options.cacheDir ?? weightsCacheDir();
  const path = weightsFile(spec, cacheDir);
  if (existsSync(path)) return path;
  const url = weightsUrl(spec);
  const fetchFn = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await fetchFn(url, { redirect: 'follow' });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new Error(`fetchWeights: could not download ${url} (${reason}). If this machine is offline, fetch that URL elsewhere and put the file at ${path}`);
  }
  if (!response.ok || !response.body) {
    throw new Error(`fetchWeights: ${url} answered HTTP ${response.status} ${response.statusText}; the weights are not there (check the URL registered for ${spec.tag}), nothing was written to ${path}`);
  }
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
  const total = Number(response.headers.get('content-length') ?? 0);
  const progress = options.progress ?? true ? progressReporter(basename(path), total) : () => {};
  const hash = createHash('sha256');
  const file = await open(tmp, 'w');
  try {
    let received = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      await file.write(chunk);
      received += chunk.byteLength;
      progress(received, false);
    }
    progress(received, true);
    await file.close();
  } catch (error) {
    await file.close().catch(() => {});
    rmSync(tmp, { force: true });
    throw new Error(`fetchWeights: the download of ${url} failed midway (${(error as Error).message}); nothing was written to ${path}`);
  }
  const actual = hash.digest('hex');
  const expected = expectedHash(spec);
  if (expected && !actual.startsWith(expected.hash)) {
    rmSync(tmp, { force: true });
    const which = expected.prefixFromName ? 'the hash prefix in its name' : 'the registered sha256';
    throw new Error(`fetchWeights: ${basename(path)} from ${url} is corrupt or not the registered file: SHA-256 ${actual}, expected ${expected.hash}... (${which}); the download was deleted`);
  }
  renameSync(tmp, path);
  return path;
}

/** Reports download progress on stderr: a rewritten line on a terminal, a line per 10% otherwise. */
function progressReporter(name: string, total: number): (received: number, done: boolean) => void {
  if (total < PROGRESS_MIN_BYTES) return () => {};
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const tty = process.stderr.isTTY;
  let lastTenth = -1;
  let lastDraw = 0;
  process.stderr.write(`Downloading ${name} (${mb(total)} MB)\n`);
  return (received, done) => {
    const line = `${name}: ${Math.floor((100 * received) / total)}% (${mb(received)}/${mb(total)} MB)`;
    if (tty) {
      if (!done && performance.now() - lastDraw < 100) return;
      lastDraw = performance.now();
      process.stderr.write(`\r${line}${done ? '\n' : ''}`);
      return;
    }
    const tenth = done ? 10 : Math.min(Math.floor((10 * received) / total), 9);
    if (tenth > lastTenth) process.stderr.write(`${line}\n`);
    lastTenth = Math.max(lastTenth, tenth);
  };
}

export interface LoadedWeights {
  /** The registered weights loaded, or null for a file path. */
  spec: WeightsSpec | null;
  path: string;
  /** File keys left out because the model's classifier has a different number of classes. */
  skippedHeadKeys: string[];
}

/**
 * Loads pretrained weights into `model` (synchronously: from the cache, or from a file path).
 * When the model has a different number of classes than the weights, the file's classifier keys
 * are skipped and the model keeps its fresh head (transfer learning); any other missing,
 * unexpected or mis-shaped key is an error that names it.
 * @param tagOrPath a weights tag of `entry` (default: its first), or the path of a state-dict file
 */
export function loadPretrained(model: ImageModel, entry: ModelEntry, tagOrPath?: string): LoadedWeights {
  const isTag = tagOrPath === undefined || entry.weights.some((w) => w.tag === tagOrPath);
  if (!isTag && !existsSync(tagOrPath)) {
    const tags = entry.weights.map((w) => `'${w.tag}'`).join(', ') || 'none';
    throw new Error(`${entry.name}: pretrained '${tagOrPath}' is neither a weights tag (it has ${tags}) nor an existing file`);
  }
  const spec = isTag ? weightsOf(entry, tagOrPath) : null;
  const path = spec ? weightsFile(spec) : tagOrPath!;
  if (spec && !existsSync(path)) {
    throw new Error(
      `${entry.name}: the '${spec.tag}' weights are not downloaded yet. Run \`await fetchWeights('${entry.name}', '${spec.tag}')\` ` +
        `(or \`iris models download ${entry.name} --tag ${spec.tag}\`) once: it downloads into the cache and verifies. ` +
        `Offline: download ${weightsUrl(spec)} elsewhere and put it at ${path}`,
    );
  }
  const stateDict = loadStateDictFile(path);
  try {
    // A plain file gets the key map of the entry's default weights (DenseNet's old names, timm's).
    const keyMap = spec ? spec.keyMap : entry.weights.find((w) => w.keyMap)?.keyMap;
    const remapped = keyMap ? remapKeys(stateDict, keyMap) : stateDict;
    // Models adapt the file to how they were built first: ViT resizes position embeddings trained at
    // another size, GoogLeNet and Inception v3 built without aux heads drop the file's (as
    // torchvision's builders do after loading). `spec` is null for a plain file.
    const adapt = (model as { adaptStateDict?: (sd: Map<string, Tensor>, spec: WeightsSpec | null) => Map<string, Tensor> }).adaptStateDict;
    const mapped = adapt ? adapt.call(model, remapped, spec) : remapped;
    // A head for another class count is left out (transfer learning), for a plain file as for registered weights.
    const fileClasses = spec ? spec.numClasses : headClassesInFile(model, mapped);
    const skippedHeadKeys = fileClasses !== undefined && fileClasses !== model.numClasses ? headKeys(model, mapped, fileClasses) : [];
    for (const key of skippedHeadKeys) mapped.delete(key);
    const own = model.stateDict();
    // Keys that loadStateDict fills when absent (num_batches_tracked, which pre-0.4.1 files such as
    // torchvision's DenseNet and ResNet ones lack) are not missing, as in PyTorch.
    const defaults = model.stateDictDefaults();
    const problems = [
      ...[...own.keys()]
        .filter((k) => !mapped.has(k) && !defaults.has(k) && !isNewHeadKey(k, own.get(k)!, skippedHeadKeys, model.numClasses))
        .map((k) => `missing '${k}'`),
      ...[...mapped.keys()].filter((k) => !own.has(k)).map((k) => `unexpected '${k}'`),
      ...[...mapped].filter(([k, t]) => own.has(k) && own.get(k)!.shape.join() !== t.shape.join()).map(([k, t]) => `'${k}' is [${t.shape}] in the file, [${own.get(k)!.shape}] in the model`),
    ];
    for (const t of own.values()) t.dispose();
    if (problems.length > 0) {
      throw new Error(`${entry.name}: ${path} does not fit the model as built: ${problems.join('; ')}. Build it with the options the weights were trained with (inChannels 3, the default architecture options)`);
    }
    model.loadStateDict(mapped, { strict: false });
    return { spec, path, skippedHeadKeys };
  } finally {
    for (const t of stateDict.values()) t.dispose();
  }
}

/** The file's tensors under the model's key names (the same Tensor objects; dropped keys left out). */
function remapKeys(stateDict: Map<string, Tensor>, keyMap: (key: string) => string | null): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, v] of stateDict) {
    const key = keyMap(k);
    if (key !== null) out.set(key, v);
  }
  return out;
}

/** The file's classifier keys: tensors with `fileClasses` rows that the model lacks or has in another shape. */
function headKeys(model: ImageModel, stateDict: Map<string, Tensor>, fileClasses: number): string[] {
  const own = model.stateDict();
  const keys = [...stateDict].filter(([k, t]) => t.shape[0] === fileClasses && (!own.has(k) || own.get(k)!.shape.join() !== t.shape.join())).map(([k]) => k);
  for (const t of own.values()) t.dispose();
  return keys;
}

/** The class count of a plain file's head: the first dimension of the model's last classifier tensor as the file has it. */
function headClassesInFile(model: ImageModel, stateDict: Map<string, Tensor>): number | undefined {
  const own = model.stateDict();
  const head = [...own].filter(([, t]) => t.shape[0] === model.numClasses && t.ndim <= 2).map(([k]) => k).at(-1);
  for (const t of own.values()) t.dispose();
  return head !== undefined ? stateDict.get(head)?.shape[0] : undefined;
}

/** A model key the file cannot fill because it is the new classifier's (same key as a skipped one). */
function isNewHeadKey(key: string, tensor: Tensor, skippedHeadKeys: string[], numClasses: number): boolean {
  return skippedHeadKeys.includes(key) && tensor.shape[0] === numClasses;
}
