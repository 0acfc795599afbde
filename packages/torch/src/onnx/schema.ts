// Parses libtorch's operator schema strings (`native.opSchema(id)`), so the tracer knows which
// arguments are tensors, which are written in place, and the defaults libtorch fills in for
// arguments passed as `undefined`. One parse per operator id, cached.
import { native } from '../native.js';

export interface SchemaArgument {
  name: string;
  /** The type as written: 'Tensor', 'Tensor?', 'Tensor[]', 'int[2]', 'Scalar', 'str', ... */
  type: string;
  /** 'tensor' | 'tensors' (Tensor[] or Tensor?[]) | 'other'. */
  kind: 'tensor' | 'tensors' | 'other';
  /** Written in place: `Tensor(a!)`. */
  mutable: boolean;
  /** The default libtorch uses when the argument is omitted, parsed to JS (undefined: none). */
  defaultValue?: unknown;
  hasDefault: boolean;
}

export interface OpSchema {
  /** 'aten::conv2d' */
  name: string;
  overload: string;
  args: SchemaArgument[];
  /** How many values the op returns (a list return counts as one). */
  returns: number;
  /** The whole schema text, for error messages. */
  text: string;
}

const cache = new Map<number, OpSchema>();

export function opSchemaById(id: number): OpSchema {
  let schema = cache.get(id);
  if (!schema) {
    schema = parseSchema(native.opSchema(id));
    cache.set(id, schema);
  }
  return schema;
}

/** Splits on commas outside brackets and parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  const last = text.slice(start);
  if (last.trim() !== '') parts.push(last);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseDefault(text: string, type: string): unknown {
  if (text === 'None') return null;
  if (text === 'True') return true;
  if (text === 'False') return false;
  if (text.startsWith('"') || text.startsWith("'")) return text.slice(1, -1);
  if (text.startsWith('[')) {
    const inner = text.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(',').map((v) => parseDefault(v.trim(), 'int'));
  }
  const value = Number(text);
  if (Number.isNaN(value)) return text; // e.g. 'contiguous_format', 'long'
  // `int[2] stride=1` means [1, 1], as in PyTorch's schema language.
  const fixed = /\[(\d+)\]/.exec(type);
  if (fixed) return new Array(Number(fixed[1])).fill(value);
  return value;
}

export function parseSchema(text: string): OpSchema {
  const open = text.indexOf('(');
  const arrow = text.lastIndexOf(') ->');
  const qualified = text.slice(0, open);
  const [name, overload = ''] = qualified.split('.');
  const args: SchemaArgument[] = [];
  for (const part of splitTopLevel(text.slice(open + 1, arrow))) {
    if (part === '*') continue;
    const eq = part.indexOf('=');
    const decl = eq < 0 ? part : part.slice(0, eq);
    const space = decl.trim().lastIndexOf(' ');
    const type = decl.slice(0, space).trim();
    const argName = decl.slice(space + 1).trim();
    const bare = type.replace(/\([^)]*\)/g, '');
    const kind = bare === 'Tensor' || bare === 'Tensor?' ? 'tensor' : bare.startsWith('Tensor') && bare.includes('[]') ? 'tensors' : 'other';
    const hasDefault = eq >= 0;
    args.push({
      name: argName,
      type,
      kind,
      mutable: /\([a-z]!\)/.test(type),
      hasDefault,
      defaultValue: hasDefault ? parseDefault(part.slice(eq + 1).trim(), bare) : undefined,
    });
  }
  const returnText = text.slice(arrow + 4).trim();
  const returns = returnText === '()' ? 0 : returnText.startsWith('(') ? splitTopLevel(returnText.slice(1, -1)).length : 1;
  return { name: name!, overload, args, returns, text };
}
