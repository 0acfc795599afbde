// CIFAR-10 and CIFAR-100 from their binary versions (cifar-10-binary.tar.gz, cifar-100-binary.tar.gz):
// records of label byte(s) then 3072 pixel bytes, already in [3, 32, 32] order.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InMemoryImageDataset } from './dataset.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export const CIFAR100_CLASSES = (
  'apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle ' +
  'caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish ' +
  'forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle ' +
  'mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine ' +
  'possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar ' +
  'sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree ' +
  'wolf woman worm'
).split(' ');

export const CIFAR100_COARSE_CLASSES = (
  'aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices household_furniture ' +
  'insects large_carnivores large_man-made_outdoor_things large_natural_outdoor_scenes large_omnivores_and_herbivores ' +
  'medium_mammals non-insect_invertebrates people reptiles small_mammals trees vehicles_1 vehicles_2'
).split(' ');

const PIXELS = 3 * 32 * 32;

/** `root` or the folder the archive extracts to inside it, whichever holds `first`. */
function findFolder(root: string, extracted: string, first: string, archive: string): string {
  for (const dir of [root, join(root, extracted)]) if (existsSync(join(dir, first))) return dir;
  throw new Error(`${archive}: ${first} not found in ${root} or ${join(root, extracted)}; extract https://www.cs.toronto.edu/~kriz/${archive} there`);
}

/** Reads batch files of records `[labels..., 3072 pixels]`, keeping label byte `labelByte` of `labelBytes`. */
function readRecords(paths: string[], labelBytes: number, labelByte: number, classCount: number): { data: Uint8Array; targets: Uint8Array } {
  const record = labelBytes + PIXELS;
  const files = paths.map((path) => {
    const bytes = readFileSync(path);
    if (bytes.length === 0 || bytes.length % record !== 0) throw new Error(`${path}: ${bytes.length} bytes is not a whole number of ${record}-byte CIFAR records (truncated?)`);
    return bytes;
  });
  const count = files.reduce((n, b) => n + b.length / record, 0);
  const data = new Uint8Array(count * PIXELS);
  const targets = new Uint8Array(count);
  let n = 0;
  files.forEach((bytes, f) => {
    for (let offset = 0; offset < bytes.length; offset += record, n++) {
      targets[n] = bytes[offset + labelByte];
      if (targets[n] >= classCount) throw new Error(`${paths[f]}: record ${offset / record} has label ${targets[n]}, expected < ${classCount}`);
      data.set(bytes.subarray(offset + labelBytes, offset + record), n * PIXELS);
    }
  });
  return { data, targets };
}

/** CIFAR-10: 50000 training or 10000 test images, uint8 [3, 32, 32], in memory. */
export class Cifar10 extends InMemoryImageDataset {
  constructor(root: string, options: { train?: boolean } = {}) {
    const dir = findFolder(root, 'cifar-10-batches-bin', 'test_batch.bin', 'cifar-10-binary.tar.gz');
    const names = options.train === false ? ['test_batch.bin'] : [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
    const { data, targets } = readRecords(names.map((n) => join(dir, n)), 1, 0, 10);
    super(data, [targets.length, 3, 32, 32], targets, CIFAR10_CLASSES);
  }
}

/** CIFAR-100: 50000 training or 10000 test images with 100 fine or 20 coarse labels, in memory. */
export class Cifar100 extends InMemoryImageDataset {
  constructor(root: string, options: { train?: boolean; labels?: 'fine' | 'coarse' } = {}) {
    const dir = findFolder(root, 'cifar-100-binary', 'test.bin', 'cifar-100-binary.tar.gz');
    if (options.labels !== undefined && options.labels !== 'fine' && options.labels !== 'coarse') {
      throw new TypeError(`Cifar100: labels must be 'fine' or 'coarse', got '${options.labels}'`);
    }
    const coarse = options.labels === 'coarse';
    const classes = coarse ? CIFAR100_COARSE_CLASSES : CIFAR100_CLASSES;
    const { data, targets } = readRecords([join(dir, options.train === false ? 'test.bin' : 'train.bin')], 2, coarse ? 0 : 1, classes.length);
    super(data, [targets.length, 3, 32, 32], targets, classes);
  }
}
