// Pretrained weights: download into the cache from a local HTTP server (never the internet),
// SHA-256 checks, createModel's synchronous cache load, transfer learning; and every registered
// model's weights URLs, accuracies and preprocessing against torchvision 0.14's metadata.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import * as torch from '@iris/torch';
import { loadStateDictFile, saveSafetensors } from '@iris/torch/io';
import {
  createModel,
  fetchWeights,
  listModels,
  loadPretrained,
  modelConfig,
  modelInfo,
  registerModel,
  weightsCacheDir,
  weightsFile,
  type WeightsSpec,
} from '../src/index.js';
import { runPython, tempDir } from './helpers/reference.js';

const dir = tempDir();
const weightsPath = join(dir.path, 'resnet18-10.pt');
let sha256 = '';
let server: Server;
let base = '';
const requests: string[] = [];

const legacyPath = join(dir.path, 'resnet18-legacy.pt');
let legacyRef: { missing: string[]; unexpected: string[]; counts: number[] };

before(async () => {
  runPython('weights_ref.py', { cmd: 'save', path: weightsPath });
  // Here, before the server has connections: a test that blocks the event loop for seconds lets the
  // server's keep-alive timeout close a socket the client then reuses (ECONNRESET in later tests).
  legacyRef = runPython('weights_ref.py', { cmd: 'legacy', path: legacyPath, dir: dir.path });
  sha256 = createHash('sha256').update(readFileSync(weightsPath)).digest('hex');
  server = createServer((req, res) => {
    requests.push(req.url!);
    const [, route] = req.url!.split('/');
    if (route === 'files' || route === 'hf') {
      res.writeHead(200, { 'content-length': statSync(weightsPath).size });
      createReadStream(weightsPath).pipe(res);
    } else if (route === 'moved') {
      res.writeHead(302, { location: req.url!.replace('/moved/', '/files/') });
      res.end();
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.IRIS_CACHE = join(dir.path, 'cache');
  registerModel({ ...modelInfo('resnet18'), name: 'local_resnet18', weights: [spec('files', sha256.slice(0, 10)), spec('moved', sha256.slice(0, 8), 'moved')] });
});

after(() => {
  server.close();
  dir.cleanup();
});

/** A 10-class resnet18 weights spec served by the test server under `/<route>/`. */
function spec(route: string, hashInName: string, tag = 'local', extra: Partial<WeightsSpec> = {}): WeightsSpec {
  return { tag, url: `${base}/${route}/resnet18-${hashInName}.pth`, numClasses: 10, ...extra };
}

/** Runs `fn` with stderr captured. */
async function captureStderr<T>(fn: () => Promise<T>): Promise<{ value: T; stderr: string }> {
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    return { value: await fn(), stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe('download, cache, verify', () => {
  test('the cache folder follows IRIS_CACHE, then XDG_CACHE_HOME, then ~/.cache', () => {
    const saved = { iris: process.env.IRIS_CACHE, xdg: process.env.XDG_CACHE_HOME };
    try {
      assert.equal(weightsCacheDir(), join(dir.path, 'cache', 'weights'));
      delete process.env.IRIS_CACHE;
      process.env.XDG_CACHE_HOME = '/xdg';
      assert.equal(weightsCacheDir(), '/xdg/iris/weights');
      delete process.env.XDG_CACHE_HOME;
      assert.match(weightsCacheDir(), /\/\.cache\/iris\/weights$/);
    } finally {
      process.env.IRIS_CACHE = saved.iris;
      if (saved.xdg === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved.xdg;
    }
  });

  test('createModel with weights not in the cache says which URL to fetch, where to put it, and how', () => {
    const file = weightsFile(modelInfo('local_resnet18').weights[0]);
    assert.equal(file, join(dir.path, 'cache', 'weights', `resnet18-${sha256.slice(0, 10)}.pth`));
    assert.throws(
      () => createModel('local_resnet18', { pretrained: true }),
      (e: Error) =>
        e.message.includes(`${base}/files/resnet18-${sha256.slice(0, 10)}.pth`) &&
        e.message.includes(file) &&
        e.message.includes("await fetchWeights('local_resnet18', 'local')") &&
        e.message.includes('iris models download local_resnet18 --tag local'),
    );
  });

  test('fetchWeights downloads once (cache miss), reports progress as plain lines, then hits the cache', async () => {
    const before = requests.length;
    const { value: path, stderr } = await captureStderr(() => fetchWeights('local_resnet18'));
    assert.equal(path, weightsFile(modelInfo('local_resnet18').weights[0]));
    assert.equal(createHash('sha256').update(readFileSync(path)).digest('hex'), sha256);
    assert.equal(requests.length, before + 1);
    const lines = stderr.trim().split('\n');
    assert.match(lines[0], /^Downloading resnet18-[0-9a-f]{10}\.pth \(\d+\.\d MB\)$/);
    assert.match(lines.at(-1)!, /: 100% \((\d+\.\d)\/\1 MB\)$/);
    assert.ok(lines.length >= 3 && lines.length <= 12, `a line per 10%, got ${lines.length}`);
    assert.equal(await fetchWeights('local_resnet18'), path);
    assert.equal(requests.length, before + 1, 'the second call is a cache hit');
    assert.deepEqual(readdirSync(join(dir.path, 'cache', 'weights')).filter((f) => f.endsWith('.part')), []);
  });

  test('createModel then loads the cached file synchronously, and records the weights', () => {
    const model = createModel('local_resnet18', { numClasses: 10, pretrained: true });
    const reference = loadStateDictFile(weightsPath);
    for (const [key, value] of model.stateDict()) assert.ok(value.equal(reference.get(key)!), `${key} loaded`);
    assert.equal(modelConfig(model)?.weights?.tag, 'local');
  });

  test('a different numClasses keeps the backbone and a fresh head (transfer learning); 0 drops the head', () => {
    const reference = loadStateDictFile(weightsPath);
    const model = createModel('local_resnet18', { numClasses: 3, pretrained: true });
    const state = model.stateDict();
    assert.deepEqual(state.get('fc.weight')!.shape, [3, 512]);
    assert.ok(state.get('layer4.1.bn2.running_var')!.equal(reference.get('layer4.1.bn2.running_var')!));
    assert.ok(state.get('conv1.weight')!.equal(reference.get('conv1.weight')!));
    const loaded = loadPretrained(createModel('resnet18', { numClasses: 3 }), modelInfo('local_resnet18'));
    assert.deepEqual(loaded.skippedHeadKeys, ['fc.weight', 'fc.bias']);
    const headless = createModel('local_resnet18', { numClasses: 0, pretrained: true });
    assert.equal(headless.stateDict().has('fc.weight'), false);
  });

  test('keys the file lacks or the model lacks are reported by name; so is a stem of another shape', () => {
    const entry = modelInfo('local_resnet18');
    const dropping = { ...entry, weights: [{ ...entry.weights[0], keyMap: (k: string) => (k.startsWith('layer4.1.') ? null : k) }] };
    // num_batches_tracked is filled, not missing, as PyTorch does for files without it.
    assert.throws(
      () => loadPretrained(createModel('resnet18', { numClasses: 10 }), dropping),
      (e: Error) => /missing 'layer4\.1\.conv1\.weight'.*missing 'layer4\.1\.bn2\.running_var'/.test(e.message) && !e.message.includes('num_batches_tracked'),
    );
    const renaming = { ...entry, weights: [{ ...entry.weights[0], keyMap: (k: string) => (k === 'fc.bias' ? 'head.bias' : k) }] };
    assert.throws(() => loadPretrained(createModel('resnet18', { numClasses: 10 }), renaming), /missing 'fc\.bias'; unexpected 'head\.bias'/);
    assert.throws(() => createModel('local_resnet18', { numClasses: 10, inChannels: 1, pretrained: true }), /'conv1\.weight' is \[64,3,7,7\] in the file, \[64,1,7,7\] in the model/);
    assert.throws(() => createModel('local_resnet18', { pretrained: 'nope' }), /pretrained 'nope' is neither a weights tag \(it has 'local', 'moved'\) nor an existing file/);
  });

  test('a file without num_batches_tracked (pre-0.4.1, as torchvision\'s old ResNet and DenseNet files) loads with those buffers 0 and the outputs of PyTorch\'s strict load; a missing running_var is still named', () => {
    const ref = legacyRef;
    assert.deepEqual([ref.missing, ref.unexpected], [[], []], 'PyTorch loads it strictly');
    const file = loadStateDictFile(legacyPath);
    assert.ok(![...file.keys()].some((k) => k.endsWith('num_batches_tracked')));
    const model = createModel('resnet18', { numClasses: 10, pretrained: legacyPath });
    const counts = [...model.stateDict()].filter(([k]) => k.endsWith('num_batches_tracked')).map(([, v]) => v.item());
    assert.deepEqual(counts, ref.counts);
    assert.ok(counts.length === 20 && counts.every((c) => c === 0));
    const io = loadStateDictFile(join(dir.path, 'legacy_io.pt'));
    model.eval();
    const y = torch.noGrad(() => model.forward(io.get('input')!));
    const maxDiff = y.sub(io.get('eval')!).abs().amax().item();
    const maxRef = io.get('eval')!.abs().amax().item();
    assert.ok(maxDiff <= 1e-4 * maxRef, `eval logits: max |Δ| ${maxDiff} > 1e-4 · max |ref| ${maxRef}`);
    // The same file with a running_var taken out: that key, and only it, is missing.
    const brokenPath = join(dir.path, 'resnet18-legacy-broken.safetensors');
    file.delete('layer3.0.bn1.running_var');
    saveSafetensors(brokenPath, file);
    assert.throws(
      () => createModel('resnet18', { numClasses: 10, pretrained: brokenPath }),
      (e: Error) => e.message.includes("does not fit the model as built: missing 'layer3.0.bn1.running_var'.") && !e.message.includes('num_batches_tracked'),
    );
  });

  test('pretrained may be a file path (strict load)', () => {
    const model = createModel('resnet18', { numClasses: 10, pretrained: weightsPath });
    assert.ok(model.stateDict().get('fc.bias')!.equal(loadStateDictFile(weightsPath).get('fc.bias')!));
    assert.equal(modelConfig(model)?.weights, null);
  });

  test('a file path with another head (a classifier trained here, as a detector backbone) loads the backbone and leaves a fresh head', () => {
    const reference = loadStateDictFile(weightsPath);
    const model = createModel('resnet18', { numClasses: 1000, pretrained: weightsPath });
    const state = model.stateDict();
    assert.deepEqual(state.get('fc.weight')!.shape, [1000, 512]);
    assert.ok(state.get('layer4.1.conv2.weight')!.equal(reference.get('layer4.1.conv2.weight')!));
    assert.ok(state.get('bn1.running_mean')!.equal(reference.get('bn1.running_mean')!));
    const loaded = loadPretrained(createModel('resnet18', { numClasses: 4 }), modelInfo('resnet18'), weightsPath);
    assert.deepEqual(loaded.skippedHeadKeys, ['fc.weight', 'fc.bias']);
  });

  test('a redirect is followed; the file keeps the registered URL’s name', async () => {
    const cacheDir = join(dir.path, 'redirect');
    const path = await fetchWeights('local_resnet18', 'moved', { cacheDir, progress: false });
    assert.equal(path, join(cacheDir, `resnet18-${sha256.slice(0, 8)}.pth`));
    assert.ok(requests.includes(`/moved/resnet18-${sha256.slice(0, 8)}.pth`) && requests.includes(`/files/resnet18-${sha256.slice(0, 8)}.pth`));
  });

  test('a hash-prefix mismatch deletes the download and names the file and both hashes', async () => {
    const cacheDir = join(dir.path, 'mismatch');
    await assert.rejects(fetchWeights(spec('files', 'deadbeef'), undefined, { cacheDir, progress: false }), (e: Error) => {
      assert.match(e.message, /resnet18-deadbeef\.pth/);
      assert.ok(e.message.includes(sha256) && e.message.includes('expected deadbeef'), e.message);
      return true;
    });
    assert.deepEqual(readdirSync(cacheDir), [], 'nothing is left in the cache');
  });

  test('a full sha256 in the spec is checked too', async () => {
    const cacheDir = join(dir.path, 'full');
    const wrong = sha256.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    await assert.rejects(fetchWeights(spec('files', 'x', 'full', { sha256: wrong }), undefined, { cacheDir, progress: false }), new RegExp(`expected ${wrong}`));
    assert.equal(await fetchWeights(spec('files', 'x', 'full', { sha256 }), undefined, { cacheDir, progress: false }), join(cacheDir, 'resnet18-x.pth'));
  });

  test('HTTP 404 is a clear error and writes nothing', async () => {
    const cacheDir = join(dir.path, 'missing');
    await assert.rejects(fetchWeights(spec('gone', sha256.slice(0, 8)), undefined, { cacheDir }), new RegExp(`${base}/gone/resnet18-${sha256.slice(0, 8)}\\.pth answered HTTP 404`));
    assert.equal(existsSync(join(cacheDir, `resnet18-${sha256.slice(0, 8)}.pth`)), false);
  });

  test('offline (connection refused): the message names the URL and the cache path to put the file at', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/files/resnet18-${sha256.slice(0, 8)}.pth`;
    const cacheDir = join(dir.path, 'offline');
    await assert.rejects(
      fetchWeights({ tag: 'x', url, numClasses: 10 }, undefined, { cacheDir }),
      (e: Error) => e.message.includes(url) && e.message.includes('ECONNREFUSED') && e.message.includes(join(cacheDir, `resnet18-${sha256.slice(0, 8)}.pth`)),
    );
  });

  test('hf://owner/repo/path resolves to huggingface.co/owner/repo/resolve/main/path, cached under a name with the repo', async () => {
    const asked: string[] = [];
    const local: typeof fetch = (url, init) => {
      asked.push(String(url));
      return fetch(String(url).replace('https://huggingface.co/', `${base}/hf/`), init);
    };
    const cacheDir = join(dir.path, 'hf');
    const path = await fetchWeights({ tag: 'hf', url: 'hf://timm/resnet18.test/sub/model.pth', numClasses: 10 }, undefined, { cacheDir, fetch: local, progress: false });
    assert.deepEqual(asked, ['https://huggingface.co/timm/resnet18.test/resolve/main/sub/model.pth']);
    assert.equal(path, join(cacheDir, 'timm--resnet18.test--sub--model.pth'));
  });
});

// ---- the registry against torchvision's weights metadata, for every model registered when this runs

interface TorchvisionWeights {
  url: string;
  top1: number;
  top5: number;
  params: number;
  classes: number;
  preprocessing: { resizeSize: number; cropSize: number; interpolation: string; mean: number[]; std: number[] };
}

describe('registered weights and preprocessing vs torchvision 0.14', () => {
  const names = listModels().filter((n) => n !== 'local_resnet18');
  let torchvision: Record<string, { default: string; weights: Record<string, TorchvisionWeights> }> = {};
  before(() => {
    torchvision = runPython('weights_ref.py', { cmd: 'registry', names });
  });

  const samePreprocessing = (actual: object, expected: TorchvisionWeights['preprocessing'], what: string) => {
    const a = actual as TorchvisionWeights['preprocessing'];
    assert.deepEqual([a.resizeSize, a.cropSize, a.interpolation], [expected.resizeSize, expected.cropSize, expected.interpolation], `${what}: resize, crop, interpolation`);
    for (const key of ['mean', 'std'] as const) a[key].forEach((v, i) => assert.ok(Math.abs(v - expected[key][i]) < 1e-9, `${what}: ${key} ${a[key]} vs torchvision's ${expected[key]}`));
  };

  for (const name of names) {
    test(`${name}: default weights' preprocessing, every weights URL, accuracy and class count, parameter count`, (t) => {
      const reference = torchvision[name];
      if (!reference) return t.skip(`torchvision 0.14 has no '${name}'`);
      const entry = modelInfo(name);
      const checkable = entry.weights.filter((w) => reference.weights[w.tag]);
      if (checkable.length === 0) return t.skip(`its weights (${entry.weights.map((w) => w.tag).join(', ')}) are not torchvision's (no such tag in ${Object.keys(reference.weights).join(', ')})`);
      const [first] = Object.values(reference.weights);
      assert.equal(entry.paramCount, first.params, 'paramCount');
      const defaultRef = reference.weights[entry.weights[0].tag];
      if (defaultRef) samePreprocessing(entry.preprocessing, defaultRef.preprocessing, `${name} preprocessing (default weights '${entry.weights[0].tag}')`);
      for (const w of checkable) {
        const ref = reference.weights[w.tag];
        assert.equal(w.url, ref.url, `${name} '${w.tag}' url`);
        assert.deepEqual(w.metrics, { top1: ref.top1, top5: ref.top5 }, `${name} '${w.tag}' metrics`);
        assert.equal(w.numClasses, ref.classes, `${name} '${w.tag}' numClasses`);
      }
    });

    test(`${name}: each torchvision weights' own preprocessing (what classify uses when they are loaded)`, (t) => {
      const reference = torchvision[name];
      const entry = modelInfo(name);
      const checkable = entry.weights.filter((w) => reference?.weights[w.tag]);
      if (checkable.length === 0) return t.skip(reference ? 'none of its weights are torchvision\'s' : `torchvision 0.14 has no '${name}'`);
      for (const w of checkable) {
        // modelConfig's rule: the weights' own preprocessing, else the entry's.
        const fix = w.preprocessing ? '' : ' (they have none, so the entry\'s is used: set WeightsSpec.preprocessing)';
        samePreprocessing(w.preprocessing ?? entry.preprocessing, reference.weights[w.tag].preprocessing, `${name} '${w.tag}' preprocessing${fix}`);
      }
    });
  }
});
