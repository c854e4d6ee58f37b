import type { ServerResponse } from 'node:http';

/** Writes a compact JSON response (internal endpoints; Glacier operations go through writeResult). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', buf.length);
  res.end(buf);
}

/*
 * Lossless JSON. Glacier's model has 64-bit integers (SetDataRetrievalPolicy BytesPerHour: "Minimum
 * value of 1. Maximum value of 2^63-1"), and JSON.parse turns every number into a double, which is
 * exact only up to 2^53. Node 20 has no JSON.parse source-text access (the reviver's `context`
 * argument arrived with V8 11.4 / Node 21), so request bodies go through this small parser instead:
 * the same grammar and result as JSON.parse, except that an integer literal outside the safe range
 * becomes a `bigint` carrying its exact value. Strings are decoded by JSON.parse itself.
 */

/** Raised for any text that JSON.parse would also refuse (and for nesting deeper than MAX_DEPTH). */
export class JsonSyntaxError extends SyntaxError {}

/** Glacier bodies nest a handful of levels; the bound keeps hostile input from exhausting the stack. */
const MAX_DEPTH = 512;
const WS = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
// Any character but `"`, `\` and U+0000–U+001F, or a valid escape (RFC 8259 §7).
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** JSON.parse, but integers beyond ±(2^53 − 1) come back as exact `bigint`s. */
export function parseJsonLossless(text: string): unknown {
  let pos = 0;

  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at position ${pos}`);
  };
  const skipWs = (): void => {
    WS.lastIndex = pos;
    WS.test(text);
    pos = WS.lastIndex;
  };
  const match = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m) pos = re.lastIndex;
    return m;
  };
  const string = (): string => {
    const m = match(STRING) ?? fail('Invalid string');
    const raw = m[0];
    return raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  };
  const literal = (word: string, v: unknown): unknown => {
    if (!text.startsWith(word, pos)) fail('Unexpected token');
    pos += word.length;
    return v;
  };

  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail('Nesting too deep');
    skipWs();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const obj: Record<string, unknown> = {};
      skipWs();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        skipWs();
        if (text[pos] !== '"') fail('Expected a property name');
        const key = string();
        skipWs();
        if (text[pos] !== ':') fail("Expected ':'");
        pos++;
        const v = value(depth + 1);
        // An own data property, as JSON.parse makes it: assigning `__proto__` would set the prototype.
        if (key === '__proto__') Object.defineProperty(obj, key, { value: v, writable: true, enumerable: true, configurable: true });
        else obj[key] = v;
        skipWs();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return obj;
        }
        fail("Expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const arr: unknown[] = [];
      skipWs();
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        skipWs();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return arr;
        }
        fail("Expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    const m = match(NUMBER) ?? fail('Unexpected token');
    const n = Number(m[0]);
    // Only a plain integer literal is kept exact; 1e19 or 1.5 mean what JSON.parse makes of them.
    return m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n) ? BigInt(m[0]) : n;
  };

  const result = value(0);
  skipWs();
  if (pos !== text.length) fail('Unexpected data after the JSON value');
  return result;
}

/**
 * JSON.stringify that writes a `bigint` as an exact JSON integer (JSON.stringify throws on one).
 * For response bodies: plain objects, arrays, strings, numbers, booleans and null.
 */
export function stringifyJsonLossless(value: unknown): string {
  const out: string[] = [];
  const write = (v: unknown): boolean => {
    if (typeof v === 'bigint') out.push(v.toString());
    else if (Array.isArray(v)) {
      out.push('[');
      v.forEach((x, i) => {
        if (i > 0) out.push(',');
        if (!write(x)) out.push('null');
      });
      out.push(']');
    } else if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
      out.push('{');
      let first = true;
      for (const [k, x] of Object.entries(v)) {
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
        out.push(first ? '' : ',', JSON.stringify(k), ':');
        first = false;
        write(x);
      }
      out.push('}');
    } else {
      const s = JSON.stringify(v);
      if (s === undefined) return false;
      out.push(s);
    }
    return true;
  };
  write(value);
  return out.join('');
}
