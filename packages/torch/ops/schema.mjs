// Parses ATen operator schemas ("name.overload(Tensor self, *, int dim=0) -> Tensor") from
// native_functions.yaml into plain objects the generator can reason about.

/** Splits on commas that are not nested inside brackets or parentheses. */
function splitTopLevel(text) {
  const parts = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(' || ch === '[') depth++;
    if (ch === ')' || ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

/** "Tensor(a!)?" -> {base:'Tensor', optional, list, listSize, mutable} */
export function parseType(text) {
  let t = text.trim();
  const type = { text: t, optional: false, list: false, listSize: undefined, mutable: false, elementOptional: false };
  t = t.replace(/\(([\w ]+(?:-> \*)?)(!?)\)/, (_, _alias, bang) => {
    if (bang) type.mutable = true;
    return '';
  });
  if (t.endsWith('?')) {
    type.optional = true;
    t = t.slice(0, -1);
  }
  const list = /^(.*)\[(\d*)\]$/.exec(t);
  if (list) {
    type.list = true;
    type.listSize = list[2] ? Number(list[2]) : undefined;
    t = list[1];
    if (t.endsWith('?')) {
      type.elementOptional = true;
      t = t.slice(0, -1);
    }
  }
  type.base = t;
  return type;
}

export function parseSchema(line) {
  // ATen's yaml leaves out the namespace; other libraries' schemas carry theirs ('torchvision::nms(...)').
  const match = /^(?:(\w+)::)?([\w.]+)\((.*)\)\s*->\s*(.*)$/.exec(line.trim());
  if (!match) throw new Error(`cannot parse schema: ${line}`);
  const [, namespace = 'aten', fullName, argsText, returnsText] = match;
  const [name, overload = ''] = fullName.split('.');
  const args = [];
  let kwargOnly = false;
  for (const part of splitTopLevel(argsText)) {
    if (part === '*') {
      kwargOnly = true;
      continue;
    }
    const eq = part.indexOf('=');
    const decl = eq >= 0 ? part.slice(0, eq).trim() : part;
    const defaultText = eq >= 0 ? part.slice(eq + 1).trim() : undefined;
    const space = decl.lastIndexOf(' ');
    args.push({ name: decl.slice(space + 1), type: parseType(decl.slice(0, space)), default: defaultText, kwargOnly });
  }
  const returnsInner = returnsText.trim().replace(/^\((.*)\)$/, '$1');
  const returns = returnsInner === '()' || returnsInner === '' ? [] : splitTopLevel(returnsInner).map((r) => {
    const space = r.lastIndexOf(' ');
    const typeText = space > 0 && !r.slice(space + 1).includes(')') ? r.slice(0, space) : r;
    return parseType(typeText);
  });
  return { namespace, name, overload, args, returns, text: line.trim() };
}

/** Reads every `- func:` schema of native_functions.yaml, keyed by "name" or "name.overload". */
export function readNativeFunctions(yamlText) {
  const schemas = new Map();
  for (const line of yamlText.split('\n')) {
    const m = /^- func: (.*)$/.exec(line);
    if (!m) continue;
    const schema = parseSchema(m[1]);
    schemas.set(schema.overload ? `${schema.name}.${schema.overload}` : schema.name, schema);
  }
  return schemas;
}
