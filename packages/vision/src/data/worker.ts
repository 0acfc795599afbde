// A DataLoader worker thread: loads and transforms the samples of each task it receives.
import { parentPort } from 'node:worker_threads';
import type { DType, Tensor } from '@iris/torch';
import { loadMix, loadSourceOrSkip } from './dataset.js';
import { disposeTensors, targetFromPlain, targetToPlain, type PlainTarget } from './target.js';
import { applyTargetTransform, applyTransform, resolveTransform } from './transform.js';
import type { BatchReply, BatchTask, FailedReply } from './worker-pool.js';

if (!parentPort) throw new Error('worker.js is a DataLoader worker thread; it is not meant to be run directly');
const port = parentPort;

port.on('message', (task: BatchTask) => {
  runTask(task).then(
    (reply) => port.postMessage(reply, [reply.buffer]),
    (error: unknown) => port.postMessage({ id: task.id, ok: false, message: error instanceof Error ? error.message : String(error) } satisfies FailedReply),
  );
});

async function runTask(task: BatchTask): Promise<BatchReply> {
  const transform = task.transform ? await resolveTransform(task.transform) : undefined;
  const loaded = await Promise.all(task.items.map((item) => loadSourceOrSkip(item.source)));
  const mixes = await Promise.all(task.items.map((item) => loadMix(item.source)));
  const images: Tensor[] = [];
  const reply: Omit<BatchReply, 'buffer' | 'dtype' | 'bytesDtype'> = { id: task.id, ok: true, shapes: [], labels: [], indices: [], skipped: [] };
  let targets: PlainTarget[] | undefined;
  let k = 0;
  try {
    for (; k < loaded.length; k++) {
      const result = loaded[k];
      const { index, source } = task.items[k];
      const { mix, skipped } = mixes[k];
      reply.skipped.push(...skipped);
      if ('skipped' in result) {
        disposeTensors(mix);
        mixes[k] = { skipped: [] };
        reply.skipped.push(result.skipped);
        continue;
      }
      let image: Tensor;
      if (source.target) {
        const sample = applyTargetTransform({ image: result.image, target: targetFromPlain(source.target), ...(mix && { mix }) }, transform, task.seed, task.epoch, index);
        mixes[k] = { skipped: [] };
        images.push((image = sample.image));
        try {
          (targets ??= []).push(targetToPlain(sample.target));
        } finally {
          disposeTensors(sample.target);
        }
      } else {
        images.push((image = applyTransform(result.image, transform, task.seed, task.epoch, index)));
      }
      reply.shapes.push(image.shape);
      reply.labels.push(source.label);
      reply.indices.push(index);
    }
    return { ...reply, ...pack(images, reply.indices), ...(targets && { targets }) };
  } finally {
    for (const result of loaded.slice(k)) if ('image' in result) result.image.dispose();
    for (const { mix } of mixes) disposeTensors(mix);
    for (const image of images) image.dispose();
  }
}

/** Copies the images' values back to back into one buffer that can be transferred. */
function pack(images: Tensor[], indices: number[]): { dtype: DType; bytesDtype: DType; buffer: ArrayBuffer } {
  const dtype = images[0]?.dtype ?? 'uint8';
  const other = images.findIndex((t) => t.dtype !== dtype);
  if (other >= 0) throw new Error(`DataLoader: the transform returned ${dtype} for one sample but ${images[other].dtype} for sample ${indices[other]}`);
  const chunks = images.map((t) => t.dataSync());
  const buffer = new ArrayBuffer(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    new Uint8Array(buffer, offset, c.byteLength).set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
    offset += c.byteLength;
  }
  const bytesDtype = dtype === 'float16' || dtype === 'bfloat16' ? 'float32' : dtype;
  return { dtype, bytesDtype, buffer };
}
