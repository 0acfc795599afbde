import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@iris/torch';
import { crc32c, EventFileWriter, Trainer, TrainingDivergedError, type BatchSource } from '../src/train/index.js';

test('crc32c matches the Castagnoli check value', () => {
  // The standard check value of CRC-32C for the ASCII string "123456789" (RFC 3720, B.4).
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
});

test('TensorBoard event records are framed and checksummed as TensorFlow writes them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-tb-'));
  const writer = new EventFileWriter(join(dir, 'events.out.tfevents.test'));
  writer.scalar('train/loss', 0.5, 7);
  writer.close();
  const bytes = readFileSync(join(dir, 'events.out.tfevents.test'));
  const mask = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
  let offset = 0;
  const records: Buffer[] = [];
  while (offset < bytes.length) {
    const length = Number(bytes.readBigUInt64LE(offset));
    assert.equal(bytes.readUInt32LE(offset + 8), mask(crc32c(bytes.subarray(offset, offset + 8))), 'length checksum');
    const data = bytes.subarray(offset + 12, offset + 12 + length);
    assert.equal(bytes.readUInt32LE(offset + 12 + length), mask(crc32c(data)), 'data checksum');
    records.push(data);
    offset += 16 + length;
  }
  assert.equal(records.length, 2);
  assert.ok(records[0].includes(Buffer.from('brain.Event:2')));
  // Event.step = 7 (field 2, varint) and Summary.Value.tag and simple_value 0.5 (float32 LE).
  assert.ok(records[1].includes(Buffer.from([0x10, 0x07])));
  assert.ok(records[1].includes(Buffer.from('train/loss')));
  const half = Buffer.alloc(4);
  half.writeFloatLE(0.5);
  assert.ok(records[1].includes(Buffer.concat([Buffer.from([0x15]), half])));
});

function batches(images: torch.Tensor, labels: torch.Tensor): BatchSource {
  let epoch = 0;
  return {
    length: 1,
    setEpoch: (e) => void (epoch = e),
    state: () => ({ epoch }),
    loadState: () => {},
    async *[Symbol.asyncIterator]() {
      yield { images: images.clone(), labels: labels.clone() };
    },
  };
}

test('the NaN guard stops training with the step and the first non-finite layer', async () => {
  torch.manualSeed(0);
  const model = new torch.nn.Sequential(new torch.nn.Flatten(), new torch.nn.Linear(4, 3));
  const optimizer = new torch.optim.SGD(model.parameters(), { lr: 1e30 });
  const trainer = new Trainer({ model, optimizer, epochs: 3, numClasses: 3, outDir: mkdtempSync(join(tmpdir(), 'iris-nan-')) });
  const data = batches(torch.randn([8, 4]).mul(1e20), torch.randint(0, 3, [8]));
  await assert.rejects(trainer.fit(data), (e: Error) => {
    assert.ok(e instanceof TrainingDivergedError, String(e));
    assert.match(e.message, /training diverged at epoch \d+, step 1/);
    assert.match(e.message, /first non-finite value: (weight|gradient of) 1\.(weight|bias)/);
    return true;
  });
});
