// Worker threads that load batches for the DataLoader. Each runs worker.js: it decodes and
// transforms the samples of a task and posts their bytes back in one transferred buffer.
import { Worker } from 'node:worker_threads';
import type { DType } from '@iris/torch';
import type { SampleSource } from './dataset.js';
import type { PlainTarget } from './target.js';
import type { TransformSpec } from './transform.js';

export interface BatchTask {
  id: number;
  seed: number;
  epoch: number;
  transform?: TransformSpec;
  items: Array<{ index: number; source: SampleSource }>;
}

/** The loaded samples, packed back to back in `buffer`; `dtype` is the transform's output type. */
export interface BatchReply {
  id: number;
  ok: true;
  dtype: DType;
  /** What the bytes hold: `dtype`, or float32 for float16/bfloat16 outputs. */
  bytesDtype: DType;
  shapes: number[][];
  labels: number[];
  indices: number[];
  buffer: ArrayBuffer;
  /** Files left out under `onCorrupt: 'skip'`, with the decoder's message. */
  skipped: Array<{ path: string; message: string }>;
  /** Each sample's transformed target, for datasets with targets (detection). */
  targets?: PlainTarget[];
}

export interface FailedReply {
  id: number;
  ok: false;
  message: string;
}

interface Pending {
  resolve: (reply: BatchReply) => void;
  reject: (error: Error) => void;
}

class LoaderWorker {
  readonly pending = new Map<number, Pending>();
  readonly worker: Worker;

  constructor(onFailure: (self: LoaderWorker, error: Error) => void) {
    this.worker = new Worker(new URL('./worker.js', import.meta.url));
    this.worker.on('message', (reply: BatchReply | FailedReply) => {
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.ok) pending.resolve(reply);
      else pending.reject(new Error(reply.message));
    });
    this.worker.on('error', (error) => onFailure(this, error));
    this.worker.on('exit', (code) => onFailure(this, new Error(`DataLoader worker exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker's port again, and a worker
    // that never got a task would then keep the process alive.
    this.worker.unref();
  }

  run(task: BatchTask): Promise<BatchReply> {
    return new Promise((resolve, reject) => {
      this.pending.set(task.id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage(task);
    });
  }

  failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

/**
 * `size` worker threads, started on first use and kept until `close()`; idle workers do not keep
 * the process alive. A task goes to the worker with the fewest tasks in flight.
 */
export class WorkerPool {
  private workers: LoaderWorker[] = [];
  private nextId = 0;
  private broken?: Error;

  constructor(readonly size: number) {}

  run(task: Omit<BatchTask, 'id'>): Promise<BatchReply> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.workers.length === 0) {
      for (let i = 0; i < this.size; i++) this.workers.push(new LoaderWorker((w, e) => this.fail(w, e)));
    }
    const worker = this.workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    return worker.run({ ...task, id: this.nextId++ });
  }

  /** A crashed worker fails its tasks and the pool; close() lets a later epoch start fresh workers. */
  private fail(worker: LoaderWorker, error: Error): void {
    if (!this.workers.includes(worker)) return;
    this.broken ??= error;
    worker.failAll(error);
  }

  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    this.broken = undefined;
    for (const w of workers) w.failAll(new Error('DataLoader closed while loading'));
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}
