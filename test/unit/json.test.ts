import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonSyntaxError, parseJsonLossless, stringifyJsonLossless } from '../../src/http/json.js';
import { rng } from '../helpers/rng.js';

const LIMITS = ['9007199254740991', '9007199254740993', '9223372036854775807', '9223372036854775808', '-9007199254740993', '-9223372036854775808'];

test('integers beyond 2^53 come back as exact bigints; everything else as JSON.parse makes it', () => {
  for (const n of LIMITS) {
    const v = (parseJsonLossless(`{"BytesPerHour":${n}}`) as { BytesPerHour: unknown }).BytesPerHour;
    if (n === '9007199254740991') assert.equal(v, 9007199254740991);
    else assert.equal(v, BigInt(n), n);
  }
  // Fraction or exponent: a double, exactly what JSON.parse gives (the value is not an integer literal).
  for (const n of ['1e19', '9223372036854775807.0', '1.5', '-0', '0', '2E-3', '123456789012345678901234567890e-10']) {
    assert.ok(Object.is(parseJsonLossless(n), JSON.parse(n)), n);
  }
  assert.deepEqual(parseJsonLossless('[9007199254740992, 9007199254740993]'), [9007199254740992n, 9007199254740993n]);
});

test('stringify writes bigints as exact integers and otherwise matches JSON.stringify', () => {
  const v = { Policy: { Rules: [{ BytesPerHour: 9223372036854775807n, Strategy: 'BytesPerHour' }] }, a: undefined, b: [undefined, 1n], c: 'x"\u0001' };
  assert.equal(stringifyJsonLossless(v), '{"Policy":{"Rules":[{"BytesPerHour":9223372036854775807,"Strategy":"BytesPerHour"}]},"b":[null,1],"c":"x\\"\\u0001"}');
  for (const text of LIMITS) assert.equal(stringifyJsonLossless(parseJsonLossless(text)), text);
  const plain = { x: [1, 'two', null, true, { y: -0.5, d: new Date(0) }], z: {} };
  assert.equal(stringifyJsonLossless(plain), JSON.stringify(plain));
});

test('refuses exactly what JSON.parse refuses', () => {
  const bad = [
    '', ' ', '{', '}', '[1,]', '{"a":1,}', '{a:1}', "{'a':1}", '01', '1.', '.5', '+1', '-', '1e', '--1', 'tru', 'nulll', 'NaN',
    'Infinity', '"\u0001"', '"\\x41"', '"\\u12"', '"abc', '[1 2]', '{"a" 1}', '{"a":1 "b":2}', '1 2', '\ufeff{}', '[', '"\\"',
  ];
  for (const s of bad) {
    assert.throws(() => JSON.parse(s), SyntaxError, `JSON.parse accepts ${JSON.stringify(s)}`);
    assert.throws(() => parseJsonLossless(s), JsonSyntaxError, JSON.stringify(s));
  }
});

test('__proto__ is an own property, never the prototype; deep nesting is refused, not a stack overflow', () => {
  const o = parseJsonLossless('{"__proto__":{"polluted":1},"a":1}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(o), Object.prototype);
  assert.deepEqual(Object.keys(o), ['__proto__', 'a']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(o, JSON.parse('{"__proto__":{"polluted":1},"a":1}'));
  assert.deepEqual(parseJsonLossless('{"a":1,"b":2,"a":3}'), { a: 3, b: 2 });
  assert.throws(() => parseJsonLossless('['.repeat(100_000) + ']'.repeat(100_000)), JsonSyntaxError);
  assert.equal(JSON.stringify(parseJsonLossless('['.repeat(500) + ']'.repeat(500))), '['.repeat(500) + ']'.repeat(500));
});

/** Random JSON text (with whitespace, escapes, unicode, numbers of every shape) and random corruptions of it. */
function randomJson(r: () => number, depth = 0): string {
  const ws = () => [' ', '\n', '\t', '\r', ''][Math.floor(r() * 5) % 5]!.repeat(Math.floor(r() * 2));
  const pick = Math.floor(r() * (depth > 4 ? 4 : 6));
  switch (pick) {
    case 0: {
      const shapes = [
        () => String(Math.floor((r() - 0.5) * 2 ** 64)),
        () => String(Math.floor((r() - 0.5) * 1e6)),
        () => `${r() < 0.5 ? '-' : ''}${Math.floor(r() * 1e6)}.${Math.floor(r() * 1e6)}e${r() < 0.5 ? '-' : '+'}${Math.floor(r() * 30)}`,
        () => String(BigInt(Math.floor(r() * 2 ** 31)) * 10n ** BigInt(Math.floor(r() * 25))),
      ];
      return shapes[Math.floor(r() * shapes.length)]!();
    }
    case 1: {
      const alphabet = ['a', 'Z', ' ', 'é', '€', '😀', '\\"', '\\\\', '\\/', '\\n', '\\t', '\\u0000', '\\uD83D\\uDE00', '\\ud800', '\u2028', '__proto__'];
      let s = '';
      for (let i = Math.floor(r() * 8); i > 0; i--) s += alphabet[Math.floor(r() * alphabet.length)];
      return `"${s}"`;
    }
    case 2:
      return ['true', 'false', 'null'][Math.floor(r() * 3)]!;
    case 3:
      return `${ws()}${String(Math.floor(r() * 100))}${ws()}`;
    case 4: {
      const items = Array.from({ length: Math.floor(r() * 4) }, () => ws() + randomJson(r, depth + 1) + ws());
      return `[${items.join(',')}]`;
    }
    default: {
      const keys = ['a', 'b', 'a', '__proto__', 'constructor', '1', 'BytesPerHour', ''];
      const items = Array.from({ length: Math.floor(r() * 4) }, () => `${ws()}"${keys[Math.floor(r() * keys.length)]}"${ws()}:${randomJson(r, depth + 1)}`);
      return `{${items.join(',')}}`;
    }
  }
}

/** JSON.parse with unsafe integers replaced the way the lossless parser keeps them (for comparison). */
function canonical(v: unknown): unknown {
  return JSON.parse(stringifyJsonLossless(v));
}

test('differential fuzz against JSON.parse: same verdict, same value (bigints aside), for 20,000 documents', () => {
  const r = rng(17);
  let bigints = 0;
  for (let i = 0; i < 20_000; i++) {
    let text = randomJson(r);
    if (i % 3 === 0 && text.length > 0) {
      // Corrupt one character: most results are invalid, some stay valid.
      const at = Math.floor(r() * text.length);
      text = text.slice(0, at) + '{}[]",:0-.e\\ x'[Math.floor(r() * 14)] + text.slice(at + 1);
    }
    let expected: unknown;
    let expectedError = false;
    try {
      expected = JSON.parse(text);
    } catch {
      expectedError = true;
    }
    let actual: unknown;
    try {
      actual = parseJsonLossless(text);
    } catch (e) {
      assert.ok(expectedError, `refused valid JSON ${JSON.stringify(text)}: ${String(e)}`);
      continue;
    }
    assert.ok(!expectedError, `accepted invalid JSON ${JSON.stringify(text)}`);
    if (stringifyJsonLossless(actual) !== JSON.stringify(expected)) {
      // Only an unsafe integer may differ, and then the lossless value is the exact literal.
      bigints++;
      assert.deepEqual(canonical(actual), expected, text);
    }
  }
  assert.ok(bigints > 100, `the fuzz exercised unsafe integers (${bigints})`);
});
