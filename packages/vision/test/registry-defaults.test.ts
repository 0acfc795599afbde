// Every registered model that torchvision 0.14 also has, built as createModel(name) (no options, no
// weights), against torchvision's builder without weights, torchvision.models.get_model(name): the
// constructor-level defaults that change what a model computes or trains to. Class count,
// transform_input and aux_logits; per module, in order and by name: dropout p, BatchNorm eps and
// momentum, LayerNorm eps, stochastic depth p and mode, attention dropout, DenseNet's per-layer
// drop rate; Iris's own knobs that torchvision lacks (a classifier dropRate, ViT's dropPathRate) at
// 0; the state dict's keys and shapes at 1000 classes, and the parameter count. zoo-forward.test.ts
// checks the numbers these models compute; this file checks the defaults that no forward in eval
// mode shows. Parametrized over listModels(), so a new entry is covered without new code.
// torchvision's side skips initialisation (only structure and settings are read): the whole file
// runs in 20-30 s on 2 cores, most of it Iris initialising vit_l_16 and the wide ResNets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@iris/torch';
import { nn } from '@iris/torch';
import { createModel, listModels, type ImageModel } from '../src/models/index.js';
import { StochasticDepth } from '../src/layers/stochastic-depth.js';
import { runPython } from './helpers/reference.js';

torch.setNumThreads(2);

type Settings = Record<string, number | string | null>;
/** [module name, kind, settings], in named-modules order. */
type ModuleSettings = [string, string, Settings];

/** What registry_defaults_ref.py reports for one torchvision builder. */
interface BuilderDefaults {
  num_classes: number;
  attrs: { transform_input?: boolean; aux_logits?: boolean };
  modules: ModuleSettings[];
  keys: [string, number[]][];
  param_count: number;
}

/** The settings of the modules torchvision's side reports, under the same kinds (see registry_defaults_ref.py). */
function moduleSettings(model: nn.Module): { modules: ModuleSettings[]; irisOnly: [string, Settings][] } {
  const modules: ModuleSettings[] = [];
  const irisOnly: [string, Settings][] = [];
  for (const [name, m] of model.namedModules()) {
    if (m instanceof nn.Dropout || m instanceof nn.Dropout2d) modules.push([name, 'dropout', { p: m.p }]);
    else if (m instanceof nn.BatchNorm1d || m instanceof nn.BatchNorm2d) modules.push([name, 'batchnorm', { eps: m.eps, momentum: m.momentum }]);
    else if (m instanceof nn.LayerNorm) modules.push([name, 'layernorm', { eps: m.eps }]);
    else if (m instanceof nn.GroupNorm) modules.push([name, 'groupnorm', { eps: m.eps }]);
    else if (m instanceof StochasticDepth) modules.push([name, 'stochastic_depth', { p: m.p, mode: m.mode }]);
    else if (m instanceof nn.MultiheadAttention) modules.push([name, 'attention', { dropout: m.dropout }]);
    else if (m.constructor.name === 'DenseLayer') modules.push([name, 'dense_layer', { drop_rate: (m as unknown as { dropRate: number }).dropRate }]);
    else {
      // Functional dropouts that torchvision's class has no counterpart for.
      const own = m as unknown as Record<string, unknown>;
      const knobs = Object.fromEntries(['dropRate', 'dropPathRate'].filter((k) => typeof own[k] === 'number').map((k) => [k, own[k] as number]));
      if (Object.keys(knobs).length > 0) irisOnly.push([name, knobs]);
    }
  }
  return { modules, irisOnly };
}

/** torchvision's model attributes, read off the Iris model. */
function attrs(model: ImageModel, wanted: BuilderDefaults['attrs']): BuilderDefaults['attrs'] {
  const own = model as unknown as Record<string, unknown>;
  const out: BuilderDefaults['attrs'] = {};
  if ('transform_input' in wanted) out.transform_input = own.transformInput as boolean;
  // Inception v3's head is AuxLogits, GoogLeNet's aux1 and aux2.
  if ('aux_logits' in wanted) out.aux_logits = ['AuxLogits', 'aux1', 'aux2'].some((k) => own[k] instanceof nn.Module);
  return out;
}

const refs = runPython<Record<string, BuilderDefaults>>('registry_defaults_ref.py', { names: listModels() }, { timeoutMs: 120_000 });

test('the registry-defaults sweep covers every registered model that torchvision 0.14 has', () => {
  assert.ok(Object.keys(refs).length >= 33, `${Object.keys(refs).length} models compared`);
  // What is left out is what torchvision lacks: timm's Xception, ViT-S/Ti and Iris's own small CNN.
  assert.deepEqual(listModels().filter((n) => !(n in refs)), ['legacy_xception', 'simple_cnn', 'vit_s_16', 'vit_ti_16']);
});

for (const [name, ref] of Object.entries(refs)) {
  test(`${name}: createModel('${name}') has the defaults of torchvision's ${name}() without weights`, (t) => {
    const model = createModel(name);
    try {
      assert.equal(model.numClasses, ref.num_classes, 'numClasses');
      assert.deepEqual(attrs(model, ref.attrs), ref.attrs, 'transform_input / aux_logits');
      const { modules, irisOnly } = moduleSettings(model);
      // Kinds in order first (a short message when a module is missing or extra), then every setting by name.
      const kinds = (list: ModuleSettings[]) => list.map(([n, kind]) => `${n}: ${kind}`);
      assert.deepEqual(kinds(modules), kinds(ref.modules), 'dropout / norm / stochastic-depth / attention modules');
      ref.modules.forEach(([module, kind, settings], i) => assert.deepEqual(modules[i][2], settings, `${module} (${kind})`));
      for (const [module, knobs] of irisOnly) {
        for (const [k, v] of Object.entries(knobs)) assert.equal(v, 0, `${module || 'model'}.${k}: torchvision has no such dropout, so its default must be 0`);
      }
      const stateDict = model.stateDict();
      const keys = [...stateDict].map(([k, v]) => [k, v.shape]);
      for (const t of stateDict.values()) t.dispose();
      assert.deepEqual(keys, ref.keys, 'state-dict keys and shapes');
      assert.equal(model.numParameters(), ref.param_count, 'parameter count');
      t.diagnostic(`${modules.length} modules' settings, ${irisOnly.length} Iris-only dropout knobs at 0, ${keys.length} state-dict entries`);
    } finally {
      // The big variants hold gigabytes: free them now rather than at the next GC.
      for (const t of [...model.parameters(), ...model.buffers()]) t.dispose();
    }
  });
}
