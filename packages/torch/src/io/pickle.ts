import { decodeLatin1, decodeUtf8 } from './bytes.js';

// A Python unpickler (protocols 0-5) that never imports or runs anything: GLOBAL asks `findGlobal`, which
// returns our own stand-ins (or throws), and REDUCE/NEWOBJ may only call a PickleFunction among them.
// Values map to JS as: dict -> Map (insertion order kept), list and tuple -> array, set -> Set,
// int -> number (bigint beyond 2^53), float -> number, str -> string, bytes -> Uint8Array, None -> null.

/** A callable stand-in for an allowed Python global; our implementation, not the Python one. */
export class PickleFunction {
  constructor(
    readonly qualifiedName: string,
    readonly call: (args: unknown[]) => unknown,
  ) {}
}

export interface UnpickleOptions {
  /** The file, for messages; every error starts with it. */
  source: string;
  /** The pickle's name inside the file, for messages (e.g. `archive/data.pkl`). */
  part?: string;
  /** Returns a stand-in for `module.name`, or throws to refuse it. */
  findGlobal(module: string, name: string): unknown;
  /** Resolves BINPERSID/PERSID ids; without it they are refused. */
  persistentLoad?(pid: unknown): unknown;
  /** BUILD (`obj.__setstate__(state)`); without it BUILD is refused. */
  build?(target: unknown, state: unknown): void;
}

// Names from Python 2 that pickle protocols < 3 still write (Python's _compat_pickle, the parts that matter here).
const python2Modules: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

const highestProtocol = 5;

export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  return new Unpickler(bytes, options).load();
}

class Unpickler {
  private position = 0;
  private opcodeStart = 0;
  private stack: unknown[] = [];
  private readonly metastack: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: UnpickleOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(reason: string): never {
    const where = this.options.part ? `${this.options.part} ` : 'pickle ';
    throw new Error(`${this.options.source}: ${where}byte ${this.opcodeStart}: ${reason}`);
  }

  private take(count: number): Uint8Array {
    if (!Number.isSafeInteger(count) || count < 0 || this.position + count > this.bytes.byteLength) {
      this.fail(`needs ${count} more bytes but the pickle ends (file truncated or corrupt)`);
    }
    const out = this.bytes.subarray(this.position, this.position + count);
    this.position += count;
    return out;
  }

  private u8(): number {
    return this.take(1)[0];
  }
  private u16(): number {
    const at = this.position;
    this.take(2);
    return this.view.getUint16(at, true);
  }
  private u32(): number {
    const at = this.position;
    this.take(4);
    return this.view.getUint32(at, true);
  }
  private i32(): number {
    const at = this.position;
    this.take(4);
    return this.view.getInt32(at, true);
  }
  private u64(): number {
    const at = this.position;
    this.take(8);
    const value = this.view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${value} is implausible`);
    return Number(value);
  }

  /** A text argument of the protocol-0 opcodes: everything up to the next newline. */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.position);
    if (end < 0) this.fail('unterminated text argument (file truncated or corrupt)');
    const text = decodeLatin1(this.bytes.subarray(this.position, end));
    this.position = end + 1;
    return text;
  }

  private utf8(bytes: Uint8Array): string {
    const text = decodeUtf8(bytes);
    if (text === undefined) this.fail('string is not valid UTF-8');
    return text;
  }

  private push(value: unknown): void {
    this.stack.push(value);
  }
  private pop(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow (corrupt pickle)');
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow (corrupt pickle)');
    return this.stack[this.stack.length - 1];
  }
  /** Items pushed since the last MARK, restoring the stack from before it. */
  private popMark(): unknown[] {
    const items = this.stack;
    const outer = this.metastack.pop();
    if (!outer) this.fail('no MARK to pop to (corrupt pickle)');
    this.stack = outer;
    return items;
  }
  private getMemo(index: number): unknown {
    if (!this.memo.has(index)) this.fail(`memo ${index} was never stored (corrupt pickle)`);
    return this.memo.get(index);
  }
  private putMemo(index: number): void {
    this.memo.set(index, this.top());
  }

  private topList(): unknown[] {
    const list = this.top();
    if (!Array.isArray(list)) this.fail(`cannot append to ${describe(list)}`);
    return list;
  }
  private topDict(): Map<unknown, unknown> {
    const dict = this.top();
    if (!(dict instanceof Map)) this.fail(`cannot set items on ${describe(dict)}`);
    return dict;
  }
  private topSet(): Set<unknown> {
    const set = this.top();
    if (!(set instanceof Set)) this.fail(`cannot add items to ${describe(set)}`);
    return set;
  }

  private resolveGlobal(module: string, name: string): unknown {
    return this.options.findGlobal(python2Modules[module] ?? module, name);
  }

  private call(callable: unknown, args: unknown): unknown {
    if (!(callable instanceof PickleFunction)) this.fail(`cannot call ${describe(callable)}`);
    if (!Array.isArray(args)) this.fail(`arguments of ${callable.qualifiedName} are ${describe(args)}, not a tuple`);
    return callable.call(args);
  }

  private persistentLoad(pid: unknown): unknown {
    if (!this.options.persistentLoad) this.fail('persistent ids are not supported here');
    return this.options.persistentLoad(pid);
  }

  private integer(text: string): number | bigint {
    if (!/^[-+]?\d+$/.test(text)) this.fail(`malformed integer ${JSON.stringify(text)}`);
    return fromBigInt(BigInt(text));
  }

  /** Two's-complement little-endian integer (LONG1, LONG4). */
  private long(length: number): number | bigint {
    const bytes = this.take(length);
    if (length === 0) return 0;
    let value = 0n;
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
    if (bytes[length - 1] & 0x80) value -= 1n << BigInt(8 * length);
    return fromBigInt(value);
  }

  load(): unknown {
    const { bytes } = this;
    for (;;) {
      this.opcodeStart = this.position;
      if (this.position >= bytes.byteLength) this.fail('pickle ends without STOP (file truncated or corrupt)');
      const opcode = bytes[this.position++];
      switch (opcode) {
        case 0x80: { // PROTO
          const protocol = this.u8();
          if (protocol > highestProtocol) this.fail(`pickle protocol ${protocol} is newer than the highest known (${highestProtocol})`);
          break;
        }
        case 0x95: // FRAME: a length prefix for buffered reading; nothing to do when all bytes are in memory.
          this.u64();
          break;
        case 0x2e: // STOP
          return this.pop();

        case 0x28: // MARK
          this.metastack.push(this.stack);
          this.stack = [];
          break;
        case 0x30: // POP
          if (this.stack.length > 0) this.stack.pop();
          else this.popMark();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;

        case 0x4e: // NONE
          this.push(null);
          break;
        case 0x88: // NEWTRUE
          this.push(true);
          break;
        case 0x89: // NEWFALSE
          this.push(false);
          break;
        case 0x4a: // BININT
          this.push(this.i32());
          break;
        case 0x4b: // BININT1
          this.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.push(this.u16());
          break;
        case 0x8a: // LONG1
          this.push(this.long(this.u8()));
          break;
        case 0x8b: { // LONG4
          const length = this.i32();
          if (length < 0) this.fail('negative LONG4 length');
          this.push(this.long(length));
          break;
        }
        case 0x49: { // INT (protocol 0; 01 and 00 are True and False)
          const text = this.line();
          this.push(text === '01' ? true : text === '00' ? false : this.integer(text));
          break;
        }
        case 0x4c: // LONG (protocol 0)
          this.push(this.integer(this.line().replace(/L$/, '')));
          break;
        case 0x47: { // BINFLOAT (big-endian)
          const at = this.position;
          this.take(8);
          this.push(this.view.getFloat64(at, false));
          break;
        }
        case 0x46: { // FLOAT (protocol 0, Python repr)
          const text = this.line().trim();
          const value = text === 'inf' ? Infinity : text === '-inf' ? -Infinity : text === 'nan' ? NaN : Number(text);
          if (Number.isNaN(value) && text !== 'nan') this.fail(`malformed float ${JSON.stringify(text)}`);
          this.push(value);
          break;
        }

        case 0x58: // BINUNICODE
          this.push(this.utf8(this.take(this.u32())));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.push(this.utf8(this.take(this.u8())));
          break;
        case 0x8d: // BINUNICODE8
          this.push(this.utf8(this.take(this.u64())));
          break;
        case 0x56: // UNICODE (protocol 0, raw-unicode-escape)
          this.push(decodeRawUnicodeEscape(this.line()));
          break;
        // Python 2 byte strings; torch.load decodes them as UTF-8.
        case 0x54: { // BINSTRING
          const length = this.i32();
          if (length < 0) this.fail('negative BINSTRING length');
          this.push(this.utf8(this.take(length)));
          break;
        }
        case 0x55: // SHORT_BINSTRING
          this.push(this.utf8(this.take(this.u8())));
          break;
        case 0x53: { // STRING (protocol 0, a quoted Python 2 repr)
          const decoded = decodeQuotedString(this.line());
          if (decoded === undefined) this.fail('malformed STRING argument');
          this.push(this.utf8(decoded));
          break;
        }
        case 0x42: // BINBYTES
          this.push(this.take(this.u32()).slice());
          break;
        case 0x43: // SHORT_BINBYTES
          this.push(this.take(this.u8()).slice());
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          this.push(this.take(this.u64()).slice());
          break;
        case 0x97: // NEXT_BUFFER
        case 0x98: // READONLY_BUFFER
          this.fail('out-of-band pickle buffers are not supported');
          break;

        case 0x29: // EMPTY_TUPLE
          this.push([]);
          break;
        case 0x85: // TUPLE1
          this.push([this.pop()]);
          break;
        case 0x86: { // TUPLE2
          const b = this.pop();
          const a = this.pop();
          this.push([a, b]);
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push([a, b, c]);
          break;
        }
        case 0x74: // TUPLE
        case 0x6c: // LIST
          this.push(this.popMark());
          break;
        case 0x5d: // EMPTY_LIST
          this.push([]);
          break;
        case 0x61: { // APPEND
          const item = this.pop();
          this.topList().push(item);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          const list = this.topList();
          for (const item of items) list.push(item);
          break;
        }
        case 0x7d: // EMPTY_DICT
          this.push(new Map());
          break;
        case 0x64: { // DICT
          const items = this.popMark();
          const dict = new Map<unknown, unknown>();
          for (let i = 0; i + 1 < items.length; i += 2) dict.set(items[i], items[i + 1]);
          this.push(dict);
          break;
        }
        case 0x73: { // SETITEM
          const value = this.pop();
          const key = this.pop();
          this.topDict().set(key, value);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          if (items.length % 2 !== 0) this.fail('SETITEMS with an odd number of items');
          const dict = this.topDict();
          for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
          break;
        }
        case 0x8f: // EMPTY_SET
          this.push(new Set());
          break;
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const set = this.topSet();
          for (const item of items) set.add(item);
          break;
        }
        case 0x91: // FROZENSET
          this.push(new Set(this.popMark()));
          break;

        case 0x67: // GET
          this.push(this.getMemo(Number(this.integer(this.line()))));
          break;
        case 0x68: // BINGET
          this.push(this.getMemo(this.u8()));
          break;
        case 0x6a: // LONG_BINGET
          this.push(this.getMemo(this.u32()));
          break;
        case 0x70: // PUT
          this.putMemo(Number(this.integer(this.line())));
          break;
        case 0x71: // BINPUT
          this.putMemo(this.u8());
          break;
        case 0x72: // LONG_BINPUT
          this.putMemo(this.u32());
          break;
        case 0x94: // MEMOIZE
          this.putMemo(this.memo.size);
          break;

        case 0x63: { // GLOBAL
          const module = this.line();
          const name = this.line();
          this.push(this.resolveGlobal(module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
          this.push(this.resolveGlobal(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop();
          const callable = this.pop();
          this.push(this.call(callable, args));
          break;
        }
        case 0x81: { // NEWOBJ: cls.__new__(cls, *args), which for our stand-ins is the same as calling them
          const args = this.pop();
          const cls = this.pop();
          this.push(this.call(cls, args));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!(kwargs instanceof Map) || kwargs.size > 0) this.fail('NEWOBJ_EX with keyword arguments is not supported');
          this.push(this.call(cls, args));
          break;
        }
        case 0x69: { // INST (protocol 0): module and name lines, arguments since the MARK
          const module = this.line();
          const name = this.line();
          const args = this.popMark();
          this.push(this.call(this.resolveGlobal(module, name), args));
          break;
        }
        case 0x6f: { // OBJ (protocol 1): class then arguments since the MARK
          const [cls, ...args] = this.popMark();
          this.push(this.call(cls, args));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          const target = this.top();
          if (!this.options.build) this.fail(`cannot set the state of ${describe(target)}`);
          this.options.build(target, state);
          break;
        }
        case 0x51: // BINPERSID
          this.push(this.persistentLoad(this.pop()));
          break;
        case 0x50: // PERSID
          this.push(this.persistentLoad(this.line()));
          break;
        case 0x82: // EXT1
        case 0x83: // EXT2
        case 0x84: // EXT4
          this.fail('the copyreg extension registry (EXT1/EXT2/EXT4) is not supported');
          break;
        default:
          this.fail(`unknown opcode 0x${opcode.toString(16).padStart(2, '0')} (not a pickle, or corrupt)`);
      }
    }
  }
}

function fromBigInt(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'None';
  if (value instanceof PickleFunction) return value.qualifiedName;
  if (Array.isArray(value)) return `a tuple/list of ${value.length}`;
  if (value instanceof Map) return 'a dict';
  if (value instanceof Set) return 'a set';
  if (value instanceof Uint8Array) return 'bytes';
  // A PickledObject (pickled-object.ts) is described by its Python class.
  if (typeof value === 'object' && typeof (value as { className?: unknown }).className === 'string') return (value as { className: string }).className;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return `${typeof value} ${String(value).slice(0, 40)}`;
}

/** Python's raw-unicode-escape: Latin-1 text where only \uXXXX and \UXXXXXXXX are escapes. */
function decodeRawUnicodeEscape(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, short: string | undefined, long: string | undefined) =>
    String.fromCodePoint(parseInt((short ?? long)!, 16)),
  );
}

/** The bytes of a quoted Python 2 string literal as protocol 0 writes it (repr with \\, \', \n, \xhh, octal escapes). */
function decodeQuotedString(text: string): Uint8Array | undefined {
  const quote = text[0];
  if ((quote !== "'" && quote !== '"') || text.length < 2 || text[text.length - 1] !== quote) return undefined;
  const body = text.slice(1, -1);
  const out: number[] = [];
  const simple: Record<string, number> = { '\\': 0x5c, "'": 0x27, '"': 0x22, n: 0x0a, r: 0x0d, t: 0x09, a: 0x07, b: 0x08, f: 0x0c, v: 0x0b };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      const code = body.charCodeAt(i);
      if (code > 0xff) return undefined;
      out.push(code);
      continue;
    }
    const next = body[++i];
    if (next === undefined) return undefined;
    if (next in simple) out.push(simple[next]);
    else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(next)) {
      const digits = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out.push(parseInt(digits, 8) & 0xff);
      i += digits.length - 1;
    } else {
      out.push(0x5c, next.charCodeAt(0));
    }
  }
  return Uint8Array.from(out);
}
