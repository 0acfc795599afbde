// Generates src/generated/ops.ts and src/generated/tensor-methods.ts from the op table and
// libtorch's schemas (native_functions.yaml), and src/generated/<namespace>.ts for rows of other
// operator libraries (torchvision::, schemas in ops/torchvision.mjs). Run: npm run gen:ops -w @iris/torch
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { opTable } from './table.mjs';
import { readNativeFunctions, parseSchema } from './schema.mjs';
import { torchvisionSchemas } from './torchvision.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const YAML = process.env.NATIVE_FUNCTIONS_YAML ??
  '/usr/lib/python3/dist-packages/torchgen/packaged/ATen/native/native_functions.yaml';
const RESERVED = new Set(['var', 'delete', 'new', 'in', 'function', 'default']);
const HIDDEN_ARGS = new Set(['layout', 'pin_memory', 'generator']);
const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

function argName(arg) {
  return arg.name === 'self' ? 'input' : camel(arg.name);
}

function isHidden(arg) {
  return HIDDEN_ARGS.has(arg.name) || arg.type.base === 'Generator' || arg.type.base === 'Layout';
}

/** Type category: decides conversion and, between overloads, which one a value selects. */
function category(type) {
  if (type.base === 'Tensor') return type.list ? (type.elementOptional ? 'optionalTensorList' : 'tensorList') : 'tensor';
  if (type.list) return 'list';
  if (type.base === 'str') return 'string';
  if (type.base === 'Scalar') return 'scalar';
  return 'value';
}

function tsType(type) {
  let t;
  const base = type.base;
  if (base === 'Tensor') t = type.list ? (type.elementOptional ? '(Tensor | null)[]' : 'Tensor[]') : 'Tensor';
  else if (base === 'int' || base === 'SymInt') t = type.list ? (type.listSize ? 'number | number[]' : 'number[]') : 'number';
  else if (base === 'float') t = type.list ? 'number[]' : 'number';
  else if (base === 'bool') t = type.list ? 'boolean[]' : 'boolean';
  else if (base === 'Scalar') t = 'Scalar';
  else if (base === 'str') t = 'string';
  else if (base === 'ScalarType') t = 'DType';
  else if (base === 'MemoryFormat') t = 'MemoryFormat';
  else if (base === 'Device') t = 'Device';
  else throw new Error(`no TypeScript type for schema type ${type.text}`);
  return type.optional ? `${t} | null` : t;
}

function convert(expr, type, merged) {
  if (type.base === 'Tensor') {
    if (type.list) return type.elementOptional ? `optionalHandles(${expr})` : `handles(${expr})`;
    // A parameter shared by overloads has a union type; the overload's check narrowed it.
    if (merged) expr = `(${expr} as Tensor${type.optional ? ' | null | undefined' : ''})`;
    return type.optional ? `${expr}?.handle` : `${expr}.handle`;
  }
  if (type.base === 'ScalarType') return `dtypeArg(${expr})`;
  if (type.base === 'MemoryFormat') return `memoryFormatArg(${expr})`;
  if (type.base === 'Device') return `deviceArg(${expr})`;
  return expr;
}

function predicate(expr, cat) {
  if (cat === 'tensor') return `${expr} instanceof Tensor`;
  if (cat === 'scalar') return `!(${expr} instanceof Tensor)`;
  if (cat === 'string') return `typeof ${expr} === 'string'`;
  if (cat === 'list') return `typeof ${expr} !== 'string'`;
  if (cat === 'value') return `!(${expr} instanceof Tensor)`;
  return 'true';
}

function returnInfo(schema) {
  const rets = schema.returns;
  if (rets.length === 0) return { type: 'void', wrap: (call) => `${call};` };
  if (rets.length === 1) {
    const r = rets[0];
    if (r.base === 'Tensor' && !r.list) {
      if (r.mutable) return { type: 'Tensor', wrap: (call) => `native.dispose(${call});\n  return input;` };
      return { type: 'Tensor', wrap: (call) => `return new Tensor(${call});` };
    }
    if (r.base === 'Tensor' && r.list) return { type: 'Tensor[]', wrap: (call) => `return wrapAll(${call});` };
    if (r.base === 'bool') return { type: 'boolean', wrap: (call) => `return ${call};` };
    if (['int', 'float', 'Scalar', 'SymInt'].includes(r.base)) return { type: 'number', wrap: (call) => `return ${call};` };
  }
  if (rets.every((r) => r.base === 'Tensor' && !r.list)) {
    return { type: `[${rets.map(() => 'Tensor').join(', ')}]`, wrap: (call) => `return wrapAll(${call}) as [${rets.map(() => 'Tensor').join(', ')}];` };
  }
  throw new Error(`${schema.text}: unsupported return type`);
}

function generateOp([name, overloadsText, flags, positionalDefaults = ''], schemas) {
  const overloads = overloadsText.split(' ').map((key) => {
    const schema = schemas.get(key);
    if (!schema) throw new Error(`op table row '${name}': libtorch has no schema '${key}'`);
    return schema;
  });
  // Parameters come from the first overload; later overloads may only add option keys.
  const params = new Map();
  const first = overloads[0];
  const positional = [];
  first.args.forEach((arg) => {
    if (isHidden(arg)) return;
    const isPositional = arg.default === undefined && !arg.kwargOnly;
    const p = { name: argName(arg), types: [tsType(arg.type)], cats: new Map(), positional: isPositional, optional: arg.type.optional };
    params.set(p.name, p);
    if (isPositional) positional.push(p);
  });
  overloads.forEach((schema, i) => {
    for (const arg of schema.args) {
      if (isHidden(arg)) continue;
      let p = params.get(argName(arg));
      if (!p) {
        p = { name: argName(arg), types: [], cats: new Map(), positional: false, optional: true };
        params.set(p.name, p);
      }
      const t = tsType(arg.type);
      if (!p.types.includes(t)) p.types.push(t);
      p.cats.set(i, category(arg.type));
    }
  });
  // Column 4 promotes arguments with defaults to optional positionals, as PyTorch users write
  // them (`x.flatten(1)`, `torch.cat(xs, 1)`).
  for (const promoted of positionalDefaults.split(' ').filter(Boolean)) {
    const p = params.get(promoted);
    if (!p || p.positional) throw new Error(`op table row '${name}': '${promoted}' is not an argument with a default`);
    p.positional = true;
    p.optional = true;
    positional.push(p);
  }
  // Trailing optional positionals may be left out.
  let trailingOptional = true;
  for (let i = positional.length - 1; i >= 0; i--) {
    if (positional[i].optional && trailingOptional) positional[i].trailing = true;
    else trailingOptional = false;
  }
  const options = [...params.values()].filter((p) => !p.positional);
  const ret = returnInfo(first);
  for (const o of overloads.slice(1)) {
    if (returnInfo(o).type !== ret.type) throw new Error(`op table row '${name}': overloads return different types`);
  }
  const valueOf = (p) => (p.positional ? p.name : `options.${p.name}`);
  const signature = [
    ...positional.map((p) => `${p.name}${p.trailing ? '?' : ''}: ${p.types.join(' | ')}`),
    ...(options.length ? [`options: {\n${options.map((p) => `    ${p.name}?: ${p.types.join(' | ')};`).join('\n')}\n  } = {}`] : []),
  ].join(', ');
  // The method's declaration is written out, not derived with `typeof`: a derived type would
  // make Tensor's type depend on itself, which confuses TypeScript's checker.
  const methodParams = [
    ...positional.slice(1).map((p) => `${p.name}${p.trailing ? '?' : ''}: ${p.types.join(' | ')}`),
    ...(options.length ? [`options?: { ${options.map((p) => `${p.name}?: ${p.types.join(' | ')}`).join('; ')} }`] : []),
  ].join(', ');
  const methodDecl = `${name}(${methodParams}): ${ret.type};`;
  const differing = [...params.values()].filter((p) => new Set(p.cats.values()).size > 1 || (p.cats.size > 0 && p.cats.size < overloads.length));
  const body = overloads.map((schema, i) => {
    const args = schema.args.map((arg) => {
      if (isHidden(arg)) return 'undefined';
      const p = params.get(argName(arg));
      return convert(valueOf(p), arg.type, p.types.length > 1);
    });
    const call = `native.callOp($${name}[${i}](), ${args.join(', ')})`;
    const checks = differing
      .filter((p) => p.cats.has(i))
      .map((p) => predicate(valueOf(p), p.cats.get(i)))
      .filter((c) => c !== 'true');
    const stmt = ret.wrap(call);
    if (i === overloads.length - 1 || checks.length === 0) return `  ${stmt}`;
    return `  if (${checks.join(' && ')}) {\n    ${stmt.replace(/\n/g, '\n  ')}\n  }`;
  });
  const namespace = first.namespace;
  if (overloads.some((o) => o.namespace !== namespace)) throw new Error(`op table row '${name}': overloads from different namespaces`);
  const doc = overloads.map((o) => ` * \`${namespace}::${o.text.replace(/^\w+::/, '')}\``).join('\n');
  const resolvers = overloads.map((o) => `lazyOp('${namespace}::${o.name}', '${o.overload}')`).join(', ');
  // A reserved word (var) can still be an export name, though not a function name.
  const fnName = RESERVED.has(name) ? `${name}_` : name;
  const exportAlias = fnName === name ? '' : `export { ${fnName} as ${name} };\n`;
  const code = `const $${name} = [${resolvers}];\n/**\n${doc}\n */\n${exportAlias ? '' : 'export '}function ${fnName}(${signature}): ${ret.type} {\n${body.join('\n')}\n}\n${exportAlias}`;
  // 'a': heavy ops also get an async twin that runs on libuv's thread pool.
  let asyncCode = '';
  if (flags.includes('a')) {
    if (ret.type !== 'Tensor' || first.returns[0].mutable) throw new Error(`op table row '${name}': only ops returning a new Tensor can be async`);
    const asyncBody = body.join('\n').replace(/return new Tensor\(native\.callOp\((.*)\)\);/g, 'return native.callOpAsync($1).then(wrapOne);');
    asyncCode = `\n/** ${name} on the thread pool: the event loop keeps running meanwhile. */\nexport function ${fnName}Async(${signature}): Promise<Tensor> {\n${asyncBody}\n}\n`;
  }
  const isMethod = flags.includes('m');
  if (isMethod && positional[0]?.types[0] !== 'Tensor') throw new Error(`op table row '${name}': a method needs a Tensor first`);
  if (isMethod && namespace !== 'aten') throw new Error(`op table row '${name}': only aten ops become Tensor methods`);
  return { code: code + asyncCode, method: isMethod ? name : undefined, methodDecl, namespace };
}

const schemas = readNativeFunctions(readFileSync(YAML, 'utf8'));
// Other libraries' schemas are keyed with their namespace ('torchvision::nms'), as table rows name them.
for (const text of torchvisionSchemas) {
  const schema = parseSchema(text);
  schemas.set(`${schema.namespace}::${schema.overload ? `${schema.name}.${schema.overload}` : schema.name}`, schema);
}
const generated = opTable.map((row) => generateOp(row, schemas));
const header = '// Generated by ops/generate.mjs from ops/table.mjs and libtorch\'s native_functions.yaml. Do not edit.\n';
const outDir = join(here, '..', 'src', 'generated');
mkdirSync(outDir, { recursive: true });
const opsModule = (rows, head = header) =>
  `${head}/* eslint-disable */\nimport { native } from '../native.js';\nimport { Tensor } from '../tensor.js';\nimport type { DType } from '../dtype.js';\n` +
  `import { lazyOp, handles, optionalHandles, wrapAll, wrapOne, dtypeArg, memoryFormatArg, deviceArg, type Scalar, type MemoryFormat, type Device } from '../dispatch.js';\n\n` +
  rows.map((g) => g.code).join('\n');
writeFileSync(join(outDir, 'ops.ts'), opsModule(generated.filter((g) => g.namespace === 'aten')));
// One module per operator library: torch.ops.torchvision.roiAlign, as torch.ops.torchvision.roi_align.
for (const namespace of new Set(generated.map((g) => g.namespace).filter((n) => n !== 'aten'))) {
  const head = `// Generated by ops/generate.mjs from ops/table.mjs and ops/${namespace}.mjs (the schemas ${namespace} registers). Do not edit.\n`;
  writeFileSync(join(outDir, `${namespace}.ts`), opsModule(generated.filter((g) => g.namespace === namespace), head));
}
const methods = generated.map((g) => g.method).filter(Boolean);
const methodDecls = generated.filter((g) => g.method).map((g) => `    ${g.methodDecl}`);
writeFileSync(
  join(outDir, 'tensor-methods.ts'),
  `${header}import { Tensor } from '../tensor.js';\nimport type { DType } from '../dtype.js';\nimport type { Scalar, MemoryFormat, Device } from '../dispatch.js';\nimport * as ops from './ops.js';\n\n` +
    `declare module '../tensor.js' {\n  interface Tensor {\n${methodDecls.join('\n')}\n  }\n}\n\n` +
    `export const tensorMethodNames = ${JSON.stringify(methods)} as const;\n\n` +
    `for (const name of tensorMethodNames) {\n  const fn = ops[name] as (self: Tensor, ...args: unknown[]) => unknown;\n` +
    `  Object.defineProperty(Tensor.prototype, name, {\n    value(this: Tensor, ...args: unknown[]) {\n      return fn(this, ...args);\n    },\n    writable: true,\n    configurable: true,\n  });\n}\n`,
);
console.log(`generated ${generated.length} ops (${methods.length} Tensor methods)`);
