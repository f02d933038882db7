/**
 * A small, tolerant parser for Python literal reprs (`str()` of dicts, lists, tuples, strings,
 * numbers, True/False/None), as Ultralytics writes ONNX metadata. It never evaluates anything.
 */

export type PyValue = string | number | boolean | null | PyValue[] | PyDict;
/** Python dict: insertion-ordered, keys may be ints or strings. */
export type PyDict = Map<string | number, PyValue>;

export class PythonLiteralError extends Error {
  readonly code = 'invalid-python-literal';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
  }
}

const MAX_DEPTH = 32;

export function parsePythonLiteral(text: string): PyValue {
  const parser = new Parser(text);
  const value = parser.value(0);
  parser.skipSpace();
  if (!parser.done()) throw new PythonLiteralError('unexpected trailing text', parser.pos);
  return value;
}

class Parser {
  pos = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.pos >= this.text.length;
  }

  skipSpace(): void {
    while (!this.done() && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  value(depth: number): PyValue {
    if (depth > MAX_DEPTH) throw new PythonLiteralError('nesting too deep', this.pos);
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === undefined) throw new PythonLiteralError('unexpected end', this.pos);
    if (c === '{') return this.dict(depth);
    if (c === '[') return this.sequence(']', depth);
    if (c === '(') return this.sequence(')', depth);
    if (c === "'" || c === '"') return this.string();
    if (/[rRbBuU]/.test(c) && /['"]/.test(this.text[this.pos + 1] ?? '')) return this.string();
    if (/[-+.\d]/.test(c)) return this.number();
    return this.word();
  }

  private dict(depth: number): PyDict {
    const out: PyDict = new Map();
    this.pos++;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return out;
      }
      const key = this.value(depth + 1);
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw new PythonLiteralError('dict key must be a string or number', this.pos);
      }
      this.skipSpace();
      this.expect(':');
      out.set(key, this.value(depth + 1));
      if (!this.separator('}')) return out;
    }
  }

  private sequence(close: ']' | ')', depth: number): PyValue[] {
    const out: PyValue[] = [];
    this.pos++;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        return out;
      }
      out.push(this.value(depth + 1));
      if (!this.separator(close)) return out;
    }
  }

  /** After an element: consumes ',' (true: more may follow) or the closing bracket (false). */
  private separator(close: string): boolean {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === ',') {
      this.pos++;
      return true;
    }
    if (c === close) {
      this.pos++;
      return false;
    }
    throw new PythonLiteralError(`expected ',' or '${close}'`, this.pos);
  }

  private expect(char: string): void {
    if (this.text[this.pos] !== char) throw new PythonLiteralError(`expected '${char}'`, this.pos);
    this.pos++;
  }

  private string(): string {
    let raw = false;
    while (/[rRbBuU]/.test(this.text[this.pos]!)) {
      if (/[rR]/.test(this.text[this.pos]!)) raw = true;
      this.pos++;
    }
    const quote = this.text[this.pos]!;
    const start = this.pos;
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) throw new PythonLiteralError('unterminated string', start);
      this.pos++;
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.text[this.pos];
      if (e === undefined) throw new PythonLiteralError('unterminated string', start);
      this.pos++;
      if (raw) {
        out += `\\${e}`;
        continue;
      }
      out += this.escape(e);
    }
  }

  private escape(e: string): string {
    switch (e) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case '0':
        return '\0';
      case 'a':
        return '\x07';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      case '\n':
        return '';
      case 'x':
        return this.codePoint(2);
      case 'u':
        return this.codePoint(4);
      case 'U':
        return this.codePoint(8);
      default:
        // \\, \', \" and unknown escapes (Python keeps the backslash for unknown ones).
        return e === '\\' || e === "'" || e === '"' ? e : `\\${e}`;
    }
  }

  private codePoint(digits: number): string {
    const hex = this.text.slice(this.pos, this.pos + digits);
    if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) throw new PythonLiteralError('bad escape', this.pos);
    this.pos += digits;
    const code = Number.parseInt(hex, 16);
    if (code > 0x10ffff) throw new PythonLiteralError('bad code point', this.pos);
    return String.fromCodePoint(code);
  }

  private number(): number {
    const match = /^[-+]?(?:inf|nan|(?:\d[\d_]*)?\.?[\d_]*(?:[eE][-+]?\d+)?)/.exec(this.text.slice(this.pos));
    const token = match?.[0] ?? '';
    if (!/\d|inf|nan/.test(token)) throw new PythonLiteralError('bad number', this.pos);
    this.pos += token.length;
    const sign = token.startsWith('-') ? -1 : 1;
    if (token.endsWith('inf')) return sign * Number.POSITIVE_INFINITY;
    if (token.endsWith('nan')) return Number.NaN;
    const value = Number(token.replaceAll('_', ''));
    if (Number.isNaN(value)) throw new PythonLiteralError('bad number', this.pos);
    return value;
  }

  private word(): PyValue {
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    const token = match?.[0];
    if (!token) throw new PythonLiteralError(`unexpected '${this.text[this.pos]}'`, this.pos);
    this.pos += token.length;
    if (token === 'True') return true;
    if (token === 'False') return false;
    if (token === 'None') return null;
    if (token === 'inf') return Number.POSITIVE_INFINITY;
    if (token === 'nan') return Number.NaN;
    throw new PythonLiteralError(`unknown name '${token}'`, this.pos - token.length);
  }
}
