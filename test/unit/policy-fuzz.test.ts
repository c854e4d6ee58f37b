import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePolicy, parsePolicy, PolicyError } from '../../src/auth/policy.js';
import { rng } from '../helpers/rng.js';


const SEED = Number(process.env.FIRN_FUZZ_SEED ?? 20261122);
const ITER = Number(process.env.FIRN_FUZZ_ITER ?? 4000);

const r = rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const ATOMS: unknown[] = [
  '*', '', 'glacier:*', 'glacier:DeleteArchive', 'glacier:Delete*', 'GLACIER:listvaults', 's3:GetObject', 'glacier:', ':', 'glacier:Nope',
  'arn:aws:glacier:us-east-1:111122223333:vaults/v', 'arn:aws:glacier:*:*:vaults/*', 'arn:aws:glacier', 'arn:::::', 'arn:aws:iam::111122223333:root',
  'arn:aws:iam::444455556666:user/bob', '111122223333', '2012-10-17', '2008-10-17', 'Allow', 'Deny', 'true', 'false', '10.0.0.0/8', '::1/128',
  '2026-01-01T00:00:00Z', '365', '-1', '1e309', 'NaN', '${aws:username}', '${', '\u0000', '\ud800', 'x'.repeat(300), 0, 1, -1, 3.5, 1e308, true, false,
  null, [], {}, [[]], { AWS: '*' }, { AWS: [] }, { AWS: ['111122223333', 'nope'] }, { Service: 'glacier.amazonaws.com' },
];
const KEYS = ['Version', 'Id', 'Statement', 'Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'];
const OPS = [
  'StringEquals', 'StringNotLike', 'NumericLessThan', 'NumericLessThanIfExists', 'DateGreaterThan', 'Bool', 'IpAddress', 'NotIpAddress', 'ArnLike',
  'Null', 'ForAllValues:StringLike', 'ForAnyValue:NumericEquals', 'NullIfExists', 'Bogus', 'ForSome:StringEquals', 'StringLikeIfExists',
];
const CKEYS = ['glacier:ArchiveAgeInDays', 'glacier:ResourceTag/LegalHold', 'aws:SourceIp', 'aws:SecureTransport', 'aws:CurrentTime', 'aws:PrincipalAccount', 'aws:username', 'bad key', ''];

function randomValue(depth: number): unknown {
  const x = r();
  if (depth > 3 || x < 0.5) return pick(ATOMS);
  if (x < 0.75) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 4); i > 0; i--) o[pick([...KEYS, ...OPS, ...CKEYS, 'AWS'])] = randomValue(depth + 1);
  return o;
}

function plausibleStatement(): Record<string, unknown> {
  const st: Record<string, unknown> = {
    Effect: pick(['Allow', 'Deny']),
    Principal: pick(['*', { AWS: '*' }, { AWS: 'arn:aws:iam::444455556666:root' }, { AWS: ['111122223333', 'arn:aws:iam::111122223333:user/alice'] }]),
    Action: pick(['glacier:*', ['glacier:DeleteArchive', 'glacier:List*'], 'glacier:Describe?ault']),
    Resource: pick(['*', 'arn:aws:glacier:*:*:vaults/*', ['arn:aws:glacier:us-east-1:111122223333:vaults/v']]),
  };
  if (r() < 0.6) {
    st.Condition = { [pick(OPS)]: { [pick(CKEYS)]: pick(['365', ['10.0.0.0/8'], 'true', '2026-01-01T00:00:00Z', 'a*', 7]) } };
  }
  return st;
}

function mutate(doc: unknown, depth = 0): unknown {
  if (depth > 4 || r() < 0.3) return r() < 0.5 ? randomValue(depth) : doc;
  if (Array.isArray(doc)) {
    const copy = doc.map((d) => (r() < 0.3 ? mutate(d, depth + 1) : d));
    if (r() < 0.2) copy.push(randomValue(depth));
    if (r() < 0.2) copy.pop();
    return copy;
  }
  if (doc && typeof doc === 'object') {
    const copy: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (keys.length && r() < 0.5) {
      const k = pick(keys);
      copy[k] = mutate(copy[k], depth + 1);
    }
    if (keys.length && r() < 0.15) delete copy[pick(keys)];
    if (r() < 0.15) copy[pick([...KEYS, ...OPS])] = randomValue(depth);
    return copy;
  }
  return randomValue(depth);
}

function mutateText(s: string): string {
  const ops = Math.floor(r() * 4) + 1;
  let out = s;
  for (let i = 0; i < ops; i++) {
    const p = Math.floor(r() * (out.length + 1));
    const y = r();
    if (y < 0.4) out = out.slice(0, p) + out.slice(p + 1);
    else if (y < 0.8) out = out.slice(0, p) + pick(['{', '}', '[', ']', '"', ',', ':', '\\', 'null', '1', '*', '\u00e9']) + out.slice(p);
    else out = out.slice(0, p) + out.slice(p, p + 10) + out.slice(p);
  }
  return out;
}

const CALLERS = [
  { accountId: '111122223333', userName: null },
  { accountId: '111122223333', userName: 'alice' },
  { accountId: '444455556666', userName: null },
];
const CTX: Record<string, string[]> = {
  'glacier:archiveageindays': ['12'],
  'aws:sourceip': ['127.0.0.1'],
  'aws:securetransport': ['false'],
  'aws:currenttime': ['2026-11-22T18:00:00Z'],
  'aws:username': ['alice'],
};

test(`fuzz: ${ITER} random and mutated policies never crash the parser or the evaluator (seed ${SEED})`, () => {
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < ITER; i++) {
    let text: string;
    const mode = i % 4;
    const base = { Version: '2012-10-17', Statement: Array.from({ length: 1 + Math.floor(r() * 3) }, plausibleStatement) };
    if (mode === 0) text = JSON.stringify(base);
    else if (mode === 1) text = JSON.stringify(mutate(base));
    else if (mode === 2) text = mutateText(JSON.stringify(base));
    else text = JSON.stringify(randomValue(0)) ?? 'undefined';
    for (const kind of ['resource', 'identity'] as const) {
      let policy;
      try {
        policy = parsePolicy(text, kind);
      } catch (e) {
        assert.ok(e instanceof PolicyError, `seed ${SEED} #${i}: non-PolicyError ${(e as Error)?.stack} for ${text}`);
        assert.ok((e as Error).message.length > 0);
        refused++;
        continue;
      }
      accepted++;
      for (const caller of CALLERS) {
        const res = evaluatePolicy(policy, {
          action: pick(['glacier:DeleteArchive', 'glacier:ListVaults', 'glacier:DescribeVault']),
          resource: pick(['arn:aws:glacier:us-east-1:111122223333:vaults/v', 'arn:aws:glacier:us-east-1:111122223333:vaults/*']),
          caller,
          context: (k) => CTX[k],
        });
        assert.equal(typeof res.deny, 'boolean');
      }
    }
  }
  // Both outcomes must be exercised, or the generator is not testing anything.
  assert.ok(accepted > ITER / 10, `accepted ${accepted}`);
  assert.ok(refused > ITER / 10, `refused ${refused}`);
});
