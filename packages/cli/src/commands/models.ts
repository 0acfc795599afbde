// iris models list [FILTER] | info NAME | download NAME [--tag TAG]
import { listModels, modelInfo, createModel } from '@iris/vision';
import * as vision from '@iris/vision';
import { listDetectors, detectorInfo } from '@iris/vision/detection';
import { UsageError, type CommandSpec, type ParsedCommand } from '../options.js';

export const spec: CommandSpec = {
  name: 'models',
  summary: 'List the registered models, show one, or download its weights.',
  description: 'info shows parameters, GFLOPs, preprocessing and weights; download saves into ~/.cache/iris/weights (SHA-256 checked).',
  usage: 'list [FILTER] | info NAME | download NAME [options]',
  positionals: true,
  options: {
    task: { type: 'string', choices: ['classify', 'detect'], default: 'classify', description: 'list: classifiers, or detectors (info takes either name)' },
    json: { type: 'boolean', default: false, description: 'print JSON (list, info)' },
    layers: { type: 'boolean', default: false, description: 'info: also list every layer with its output shape and parameters' },
    tag: { type: 'string', placeholder: 'TAG', description: 'download: which weights (default: the model\'s default tag)' },
  },
  examples: ["iris models list 'resnet*'", 'iris models list --task detect', 'iris models info fasterrcnn_resnet50_fpn', 'iris models info vit_b_16 --layers', 'iris models download resnet50'],
};

export async function modelsCommand({ positional, values: flags }: ParsedCommand): Promise<number> {
  const [action = 'list', name] = positional;
  if (action === 'list' && flags.task === 'detect') {
    const names = listDetectors(name);
    if (flags.json) console.log(JSON.stringify(names));
    else for (const n of names) console.log(detectorLine(n));
    return 0;
  }
  if (action === 'info' && name && listDetectors().includes(name)) return detectorDetails(name, flags.json === true);
  if (action === 'list') {
    const names = listModels(name);
    if (flags.json) console.log(JSON.stringify(names));
    else for (const n of names) {
      const info = modelInfo(n);
      console.log(`${n.padEnd(22)} ${info.family.padEnd(14)} ${(info.paramCount / 1e6).toFixed(2).padStart(7)}M params  input ${info.defaultInput.join('x')}`);
    }
    return 0;
  }
  if (!name) throw new UsageError(`iris models ${action} NAME: which model? (iris models list)`);
  const info = modelInfo(name);
  if (action === 'info') {
    const model = createModel(name);
    const summarize = (vision as unknown as { summarizeModel?: (m: unknown, shape: number[]) => { totalParams: number; flops: number; rows: { name: string; type: string; outputShape: number[] | null; params: number }[] } }).summarizeModel;
    const summary = summarize ? summarize(model, [1, ...info.defaultInput]) : undefined;
    if (flags.json) {
      console.log(JSON.stringify({ name, family: info.family, paramCount: info.paramCount, defaultInput: info.defaultInput, preprocessing: info.preprocessing, weights: info.weights.map((w) => ({ tag: w.tag, url: w.url, metrics: w.metrics })), flops: summary?.flops }, null, 2));
      return 0;
    }
    console.log(`${name} (${info.family})`);
    console.log(`  parameters  ${info.paramCount.toLocaleString('en-US')}`);
    if (summary) console.log(`  GFLOPs      ${(summary.flops / 1e9).toFixed(2)} at ${info.defaultInput.join('x')}`);
    console.log(`  input       ${info.defaultInput.join('x')}, resize ${info.preprocessing.resizeSize}, crop ${info.preprocessing.cropSize}, ${info.preprocessing.interpolation}`);
    console.log(`  normalize   mean ${info.preprocessing.mean.join(', ')}  std ${info.preprocessing.std.join(', ')}`);
    for (const w of info.weights) console.log(`  weights     ${w.tag}: ${w.url}${w.metrics ? ` (top-1 ${w.metrics.top1}%, top-5 ${w.metrics.top5}%)` : ''}`);
    if (summary && flags.layers) {
      for (const row of summary.rows) console.log(`    ${row.name.padEnd(40)} ${row.type.padEnd(20)} ${row.outputShape ? `[${row.outputShape.join(', ')}]` : '(not called)'} ${row.params}`);
    }
    return 0;
  }
  if (action === 'download') {
    const fetchWeights = (vision as unknown as { fetchWeights?: (name: string, tag?: string) => Promise<string> }).fetchWeights;
    if (!fetchWeights) throw new Error('weights download is not available in this build');
    const path = await fetchWeights(name, typeof flags.tag === 'string' ? flags.tag : undefined);
    console.log(path);
    return 0;
  }
  throw new UsageError(`iris models: unknown action '${action}'; use list, info or download`);
}

/** name, family, parameters (with the COCO weights' head) and the default COCO weights' box mAP. */
function detectorLine(name: string): string {
  const info = detectorInfo(name);
  const ap = info.weights[0] ? `COCO box mAP ${info.weights[0].metrics.boxMap.toFixed(1)}` : 'no COCO weights';
  return `${name.padEnd(40)} ${info.family.padEnd(12)} ${(info.paramCount / 1e6).toFixed(2).padStart(7)}M params  ${ap}${info.backbone ? `  backbone ${info.backbone.model}` : ''}`;
}

function detectorDetails(name: string, json: boolean): number {
  const info = detectorInfo(name);
  if (json) {
    console.log(JSON.stringify({ name, task: 'detect', family: info.family, paramCount: info.paramCount, backbone: info.backbone, weights: info.weights.map((w) => ({ tag: w.tag, url: w.url, numClasses: w.numClasses, metrics: w.metrics })) }, null, 2));
    return 0;
  }
  console.log(`${name} (detector, ${info.family})`);
  console.log(`  parameters  ${info.paramCount.toLocaleString('en-US')} with ${info.weights[0]?.numClasses ?? 91} classes`);
  if (info.backbone) console.log(`  backbone    ${info.backbone.model} (ImageNet weights ${info.backbone.weights} with --pretrained-backbone)`);
  for (const w of info.weights) console.log(`  weights     ${w.tag}: ${w.url} (COCO val2017 box mAP ${w.metrics.boxMap}, ${w.numClasses} classes)`);
  return 0;
}
