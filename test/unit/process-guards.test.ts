import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { installProcessGuards } from '../../src/lib/process-guards.js';
import { createLogger } from '../../src/lib/logger.js';

function setup() {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      for (const l of c.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  const proc = new EventEmitter();
  const exits: number[] = [];
  installProcessGuards(createLogger('info', sink), proc, (code) => exits.push(code));
  return { lines, proc, exits };
}

test('an unhandled rejection is logged at error level and survived', () => {
  const { lines, proc, exits } = setup();
  proc.emit('unhandledRejection', new Error('nobody awaited me'));
  assert.deepEqual(exits, []);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, 50);
  assert.match(JSON.stringify(lines[0]), /nobody awaited me/);
});

test('a connection error thrown outside a request is logged and survived', () => {
  const { lines, proc, exits } = setup();
  proc.emit('uncaughtException', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
  assert.deepEqual(exits, []);
  assert.equal(lines[0]!.level, 50);
});

test('any other uncaught exception is logged at fatal level and exits non-zero', (t) => {
  const { lines, proc, exits } = setup();
  t.mock.method(process.stderr, 'write', () => true);
  proc.emit('uncaughtException', new TypeError('x is not a function'));
  assert.deepEqual(exits, [1]);
  assert.equal(lines[0]!.level, 60);
  assert.match(JSON.stringify(lines[0]), /x is not a function/);
});
