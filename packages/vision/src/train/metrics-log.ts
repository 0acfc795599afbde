// Where a run's numbers go: metrics.jsonl (one JSON object per step or epoch) and a TensorBoard
// event file (`tensorboard --logdir OUT` shows the curves).
import { appendFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export class MetricsLog {
  private readonly jsonl: string;
  private readonly events: EventFileWriter;

  constructor(outDir: string) {
    this.jsonl = join(outDir, 'metrics.jsonl');
    this.events = new EventFileWriter(join(outDir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}.iris`));
  }

  step(entry: { step: number; epoch: number; loss: number; lr: number }): void {
    appendFileSync(this.jsonl, `${JSON.stringify({ type: 'step', ...entry })}\n`);
    this.events.scalar('train/loss', entry.loss, entry.step);
    this.events.scalar('train/lr', entry.lr, entry.step);
  }

  /** An epoch's summary; `validation` holds the task's report fields (top1, top5, loss / map, map50, ...), logged as val_*. */
  epoch(entry: { epoch: number; train: { loss: number; accuracy: number; parts?: Record<string, number> }; validation?: Record<string, number | undefined>; lr: number }): void {
    const validation = Object.entries(entry.validation ?? {}).filter((e): e is [string, number] => e[1] !== undefined);
    const line = {
      type: 'epoch',
      epoch: entry.epoch,
      train_loss: entry.train.loss,
      ...(Number.isNaN(entry.train.accuracy) ? {} : { train_accuracy: entry.train.accuracy }),
      ...Object.fromEntries(Object.entries(entry.train.parts ?? {}).map(([k, v]) => [partName(k), v])),
      lr: entry.lr,
      ...Object.fromEntries(validation.map(([k, v]) => [`val_${k}`, v])),
    };
    appendFileSync(this.jsonl, `${JSON.stringify(line)}\n`);
    this.events.scalar('epoch/train_loss', entry.train.loss, entry.epoch);
    if (!Number.isNaN(entry.train.accuracy)) this.events.scalar('epoch/train_accuracy', entry.train.accuracy, entry.epoch);
    for (const [k, v] of Object.entries(entry.train.parts ?? {})) this.events.scalar(`epoch/${partName(k)}`, v, entry.epoch);
    for (const [k, v] of validation) this.events.scalar(`epoch/val_${k}`, v, entry.epoch);
  }

  close(): void {
    this.events.close();
  }
}

/** A loss term's column: train_loss_NAME, whether the detector called it loss_NAME (R-CNN) or NAME (SSD). */
function partName(name: string): string {
  return `train_loss_${name.replace(/^loss_/, '')}`;
}

/** TensorBoard's record format: length, masked CRC32C of it, an Event protobuf, its masked CRC32C. */
export class EventFileWriter {
  private readonly fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
    this.write(encodeEvent({ wallTime: Date.now() / 1000, step: 0, fileVersion: 'brain.Event:2' }));
  }

  scalar(tag: string, value: number, step: number): void {
    this.write(encodeEvent({ wallTime: Date.now() / 1000, step, scalar: { tag, value } }));
  }

  close(): void {
    closeSync(this.fd);
  }

  private write(data: Uint8Array): void {
    const header = Buffer.alloc(12);
    header.writeBigUInt64LE(BigInt(data.length), 0);
    header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
    const footer = Buffer.alloc(4);
    footer.writeUInt32LE(maskedCrc32c(data), 0);
    writeSync(this.fd, Buffer.concat([header, data, footer]));
  }
}

function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

function field(number: number, wireType: number): number[] {
  return varint((number << 3) | wireType);
}

function lengthDelimited(number: number, bytes: Uint8Array | number[]): number[] {
  return [...field(number, 2), ...varint(bytes.length), ...bytes];
}

/** tensorflow.Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; } */
export function encodeEvent(event: { wallTime: number; step: number; fileVersion?: string; scalar?: { tag: string; value: number } }): Uint8Array {
  const wall = Buffer.alloc(8);
  wall.writeDoubleLE(event.wallTime);
  const out: number[] = [...field(1, 1), ...wall, ...field(2, 0), ...varint(event.step)];
  if (event.fileVersion) out.push(...lengthDelimited(3, Buffer.from(event.fileVersion, 'utf8')));
  if (event.scalar) {
    const simple = Buffer.alloc(4);
    simple.writeFloatLE(event.scalar.value);
    // Summary.Value { string tag = 1; float simple_value = 2; }
    const value = [...lengthDelimited(1, Buffer.from(event.scalar.tag, 'utf8')), ...field(2, 5), ...simple];
    out.push(...lengthDelimited(5, lengthDelimited(1, value)));
  }
  return Uint8Array.from(out);
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}
