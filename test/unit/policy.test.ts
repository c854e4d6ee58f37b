import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePolicy, parsePolicy, PolicyError, validatePolicy, wildcardMatch, type ContextLookup, type PolicyKind } from '../../src/auth/policy.js';
import { requestContext, type AuthzRequest } from '../../src/auth/authorize.js';
import { isGlacierError } from '../../src/domain/errors.js';

const VAULT = 'arn:aws:glacier:us-west-2:999999999999:vaults/examplevault';
const OTHER_VAULT = 'arn:aws:glacier:us-west-2:999999999999:vaults/othervault';

interface Caller {
  accountId: string;
  userName: string | null;
}

function ctxOf(keys: Record<string, string | string[]>): ContextLookup {
  const m = new Map(Object.entries(keys).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v : [v]]));
  return (k) => m.get(k.toLowerCase());
}

function decide(policy: unknown, kind: PolicyKind, action: string, resource: string, caller: Caller, keys: Record<string, string | string[]> = {}) {
  const p = parsePolicy(JSON.stringify(policy), kind);
  const r = evaluatePolicy(p, { action, resource, caller, context: ctxOf(keys) });
  return r.deny ? 'Deny' : r.allowDirect ? 'Allow' : r.allowViaAccount ? 'AllowViaAccount' : 'NoMatch';
}

// --- Glacier DG vault-access-policy.md, Example 1: cross-account upload for two accounts.
const example1 = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'cross-account-upload',
      Principal: { AWS: ['arn:aws:iam::123456789012:root', 'arn:aws:iam::444455556666:root'] },
      Effect: 'Allow',
      Action: ['glacier:UploadArchive', 'glacier:InitiateMultipartUpload', 'glacier:AbortMultipartUpload', 'glacier:CompleteMultipartUpload'],
      Resource: [VAULT],
    },
  ],
};

// --- Example 2: read-only for all accounts.
const example2 = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'add-read-only-perm', Principal: '*', Effect: 'Allow', Action: ['glacier:InitiateJob', 'glacier:GetJobOutput'], Resource: [VAULT] }],
};

// --- Example 3: MFA delete.
const example3 = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'add-mfa-delete-requirement',
      Principal: { AWS: ['arn:aws:iam::123456789012:root'] },
      Effect: 'Allow',
      Action: ['glacier:Delete*'],
      Resource: [VAULT],
      Condition: { Bool: { 'aws:MultiFactorAuthPresent': true } },
    },
  ],
};

// --- Glacier DG vault-lock-policy.md, Example 1: deny deletes of archives younger than 365 days.
const lock1 = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'deny-based-on-archive-age',
      Principal: '*',
      Effect: 'Deny',
      Action: 'glacier:DeleteArchive',
      Resource: ['arn:aws:glacier:us-west-2:123456789012:vaults/examplevault'],
      Condition: { NumericLessThan: { 'glacier:ArchiveAgeInDays': '365' } },
    },
  ],
};

// --- Example 2: legal hold by tag, plus an allow for young archives.
const lock2 = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'lock-vault',
      Principal: '*',
      Effect: 'Deny',
      Action: ['glacier:DeleteArchive'],
      Resource: ['arn:aws:glacier:us-west-2:123456789012:vaults/examplevault'],
      Condition: { StringLike: { 'glacier:ResourceTag/LegalHold': ['true', ''] } },
    },
    {
      Sid: 'you-can-delete-archive-less-than-1-year-old',
      Principal: { AWS: 'arn:aws:iam::123456789012:root' },
      Effect: 'Allow',
      Action: ['glacier:DeleteArchive'],
      Resource: ['arn:aws:glacier:us-west-2:123456789012:vaults/examplevault'],
      Condition: { NumericLessThan: { 'glacier:ArchiveAgeInDays': '365' } },
    },
  ],
};
const LOCK_VAULT = 'arn:aws:glacier:us-west-2:123456789012:vaults/examplevault';

// --- Glacier DG access-control-identity-based.md style identity policies.
const identityAllAccount = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['glacier:CreateVault', 'glacier:DescribeVault', 'glacier:ListVaults'], Resource: 'arn:aws:glacier:us-west-2:999999999999:vaults/*' }],
};
const identityExamplePrefix = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'glacier:*', Resource: 'arn:aws:glacier:*:*:vaults/example*' }],
};

const ROOT_A: Caller = { accountId: '123456789012', userName: null };
const USER_A: Caller = { accountId: '123456789012', userName: 'alice' };
const ROOT_B: Caller = { accountId: '444455556666', userName: null };
const ROOT_C: Caller = { accountId: '777788889999', userName: null };

const table: [string, unknown, PolicyKind, string, string, Caller, Record<string, string | string[]>, string][] = [
  ['Ex1 listed account may upload', example1, 'resource', 'glacier:UploadArchive', VAULT, ROOT_B, {}, 'Allow'],
  ['Ex1 action case-insensitive', example1, 'resource', 'GLACIER:uploadarchive', VAULT, ROOT_B, {}, 'Allow'],
  ['Ex1 listed account may not delete', example1, 'resource', 'glacier:DeleteArchive', VAULT, ROOT_B, {}, 'NoMatch'],
  ['Ex1 unlisted account', example1, 'resource', 'glacier:UploadArchive', VAULT, ROOT_C, {}, 'NoMatch'],
  ['Ex1 other vault', example1, 'resource', 'glacier:UploadArchive', OTHER_VAULT, ROOT_B, {}, 'NoMatch'],
  ['Ex1 user of a listed account: delegated to its account', example1, 'resource', 'glacier:UploadArchive', VAULT, USER_A, {}, 'AllowViaAccount'],
  ['Ex2 anyone may InitiateJob', example2, 'resource', 'glacier:InitiateJob', VAULT, ROOT_C, {}, 'Allow'],
  ['Ex2 anyone (a user) may GetJobOutput', example2, 'resource', 'glacier:GetJobOutput', VAULT, USER_A, {}, 'Allow'],
  ['Ex2 but not upload', example2, 'resource', 'glacier:UploadArchive', VAULT, ROOT_C, {}, 'NoMatch'],
  ['Ex3 no MFA key → no grant', example3, 'resource', 'glacier:DeleteArchive', VAULT, ROOT_A, {}, 'NoMatch'],
  ['Ex3 with MFA → Delete* grants', example3, 'resource', 'glacier:DeleteVault', VAULT, ROOT_A, { 'aws:MultiFactorAuthPresent': 'true' }, 'Allow'],
  ['Ex3 Delete* does not cover DescribeVault', example3, 'resource', 'glacier:DescribeVault', VAULT, ROOT_A, { 'aws:MultiFactorAuthPresent': 'true' }, 'NoMatch'],
  ['Lock1 young archive → deny', lock1, 'resource', 'glacier:DeleteArchive', LOCK_VAULT, ROOT_A, { 'glacier:ArchiveAgeInDays': '10' }, 'Deny'],
  ['Lock1 day 364 → deny', lock1, 'resource', 'glacier:DeleteArchive', LOCK_VAULT, ROOT_A, { 'glacier:ArchiveAgeInDays': '364' }, 'Deny'],
  ['Lock1 day 365 → not denied', lock1, 'resource', 'glacier:DeleteArchive', LOCK_VAULT, ROOT_A, { 'glacier:ArchiveAgeInDays': '365' }, 'NoMatch'],
  ['Lock1 age unknown (first pass) → condition false', lock1, 'resource', 'glacier:DeleteArchive', LOCK_VAULT, ROOT_A, {}, 'NoMatch'],
  ['Lock1 does not touch uploads', lock1, 'resource', 'glacier:UploadArchive', LOCK_VAULT, ROOT_A, { 'glacier:ArchiveAgeInDays': '1' }, 'NoMatch'],
  ['Lock2 legal hold tag "true" → deny', lock2, 'resource', 'glacier:DeleteArchive', LOCK_VAULT, ROOT_A, { 'glacier:ResourceTag/LegalHold': 'true', 'glacier:ArchiveAgeInDays': '3' }, 'Deny'],
  ['Lock2 legal hold tag "" → deny', lock2, 'resource', 'glacier:DeleteArchive', LOCK_VAULT, ROOT_A, { 'glacier:resourcetag/legalhold': '' }, 'Deny'],
  ['Lock2 no tag, young → allowed by statement 2', lock2, 'resource', 'glacier:DeleteArchive', LOCK_VAULT, ROOT_A, { 'glacier:ArchiveAgeInDays': '3' }, 'Allow'],
  ['Lock2 tag "false", old → no statement', lock2, 'resource', 'glacier:DeleteArchive', LOCK_VAULT, ROOT_A, { 'glacier:ResourceTag/LegalHold': 'false', 'glacier:ArchiveAgeInDays': '400' }, 'NoMatch'],
  ['Identity: ListVaults in vaults/*', identityAllAccount, 'identity', 'glacier:ListVaults', 'arn:aws:glacier:us-west-2:999999999999:vaults/*', USER_A, {}, 'Allow'],
  ['Identity: DescribeVault on a vault', identityAllAccount, 'identity', 'glacier:DescribeVault', VAULT, USER_A, {}, 'Allow'],
  ['Identity: other region', identityAllAccount, 'identity', 'glacier:DescribeVault', 'arn:aws:glacier:eu-west-1:999999999999:vaults/examplevault', USER_A, {}, 'NoMatch'],
  ['Identity: DeleteVault not granted', identityAllAccount, 'identity', 'glacier:DeleteVault', VAULT, USER_A, {}, 'NoMatch'],
  ['Identity: example* matches examplevault', identityExamplePrefix, 'identity', 'glacier:DeleteArchive', VAULT, USER_A, {}, 'Allow'],
  ['Identity: example* does not match othervault', identityExamplePrefix, 'identity', 'glacier:DeleteArchive', OTHER_VAULT, USER_A, {}, 'NoMatch'],
];

for (const [name, policy, kind, action, resource, caller, keys, want] of table) {
  test(`policy table: ${name}`, () => {
    assert.equal(decide(policy, kind, action, resource, caller, keys), want);
  });
}

test('IAM examples: NotAction, NotResource, NotPrincipal and IP conditions', () => {
  const denyAllButRead = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', NotAction: ['glacier:Describe*', 'glacier:List*', 'glacier:Get*'], Resource: '*' }] };
  assert.equal(decide(denyAllButRead, 'identity', 'glacier:DeleteVault', VAULT, USER_A), 'Deny');
  assert.equal(decide(denyAllButRead, 'identity', 'glacier:ListVaults', VAULT, USER_A), 'NoMatch');

  const notRes = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'glacier:*', NotResource: 'arn:aws:glacier:*:*:vaults/examplevault' }] };
  assert.equal(decide(notRes, 'identity', 'glacier:DescribeVault', OTHER_VAULT, USER_A), 'Deny');
  assert.equal(decide(notRes, 'identity', 'glacier:DescribeVault', VAULT, USER_A), 'NoMatch');

  // IAM "Denies access to AWS based on the source IP" example.
  const ipDeny = {
    Version: '2012-10-17',
    Statement: { Effect: 'Deny', Action: '*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '203.0.113.0/24'] } } },
  };
  assert.equal(decide(ipDeny, 'identity', 'glacier:ListVaults', VAULT, USER_A, { 'aws:SourceIp': '192.0.2.77' }), 'NoMatch');
  assert.equal(decide(ipDeny, 'identity', 'glacier:ListVaults', VAULT, USER_A, { 'aws:SourceIp': '198.51.100.1' }), 'Deny');
  const ipv6 = { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: '*', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } } } };
  assert.equal(decide(ipv6, 'identity', 'glacier:ListVaults', VAULT, USER_A, { 'aws:SourceIp': '2001:db8:1::5' }), 'Allow');
  assert.equal(decide(ipv6, 'identity', 'glacier:ListVaults', VAULT, USER_A, { 'aws:SourceIp': '2001:db9::5' }), 'NoMatch');

  const notPrincipal = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', NotPrincipal: { AWS: 'arn:aws:iam::123456789012:user/alice' }, Action: 'glacier:*', Resource: VAULT }] };
  assert.equal(decide(notPrincipal, 'resource', 'glacier:DescribeVault', VAULT, USER_A), 'NoMatch');
  assert.equal(decide(notPrincipal, 'resource', 'glacier:DescribeVault', VAULT, ROOT_B), 'Deny');
  assert.equal(decide(notPrincipal, 'resource', 'glacier:DescribeVault', VAULT, { accountId: '123456789012', userName: 'bob' }), 'Deny');
});

test('condition operator families, IfExists, Null and set operators', () => {
  const one = (cond: unknown, keys: Record<string, string | string[]>) =>
    decide({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'glacier:*', Resource: '*', Condition: cond }] }, 'identity', 'glacier:ListVaults', VAULT, USER_A, keys);
  assert.equal(one({ StringEquals: { 'aws:username': 'alice' } }, { 'aws:username': 'alice' }), 'Allow');
  assert.equal(one({ StringEquals: { 'aws:username': 'alice' } }, { 'aws:username': 'Alice' }), 'NoMatch');
  assert.equal(one({ StringEqualsIgnoreCase: { 'aws:username': 'alice' } }, { 'aws:username': 'ALICE' }), 'Allow');
  assert.equal(one({ StringNotEquals: { 'aws:username': ['bob', 'carol'] } }, { 'aws:username': 'alice' }), 'Allow');
  assert.equal(one({ StringNotEquals: { 'aws:username': ['bob', 'alice'] } }, { 'aws:username': 'alice' }), 'NoMatch');
  assert.equal(one({ StringNotEqualsIgnoreCase: { 'aws:username': 'ALICE' } }, { 'aws:username': 'alice' }), 'NoMatch');
  assert.equal(one({ StringLike: { 'aws:username': 'al?c*' } }, { 'aws:username': 'alice-x' }), 'Allow');
  assert.equal(one({ StringNotLike: { 'aws:username': 'b*' } }, { 'aws:username': 'alice' }), 'Allow');
  // A negated operator on a missing key is true; a positive one is false (IAM condition operators).
  assert.equal(one({ StringNotLike: { 'aws:username': 'b*' } }, {}), 'Allow');
  assert.equal(one({ StringLike: { 'aws:username': '*' } }, {}), 'NoMatch');
  assert.equal(one({ StringLikeIfExists: { 'aws:username': 'b*' } }, {}), 'Allow');
  assert.equal(one({ StringLikeIfExists: { 'aws:username': 'b*' } }, { 'aws:username': 'alice' }), 'NoMatch');
  assert.equal(one({ Null: { 'glacier:ArchiveAgeInDays': 'true' } }, {}), 'Allow');
  assert.equal(one({ Null: { 'glacier:ArchiveAgeInDays': 'false' } }, {}), 'NoMatch');
  assert.equal(one({ Null: { 'glacier:ArchiveAgeInDays': 'false' } }, { 'glacier:ArchiveAgeInDays': '3' }), 'Allow');
  assert.equal(one({ NumericEquals: { 'glacier:ArchiveAgeInDays': 3 } }, { 'glacier:ArchiveAgeInDays': '3' }), 'Allow');
  assert.equal(one({ NumericNotEquals: { 'glacier:ArchiveAgeInDays': 3 } }, { 'glacier:ArchiveAgeInDays': '3' }), 'NoMatch');
  assert.equal(one({ NumericGreaterThanEquals: { 'glacier:ArchiveAgeInDays': '30' } }, { 'glacier:ArchiveAgeInDays': '30' }), 'Allow');
  assert.equal(one({ NumericGreaterThan: { 'glacier:ArchiveAgeInDays': '30' } }, { 'glacier:ArchiveAgeInDays': '30' }), 'NoMatch');
  assert.equal(one({ NumericLessThanEquals: { 'glacier:ArchiveAgeInDays': '30' } }, { 'glacier:ArchiveAgeInDays': '30' }), 'Allow');
  assert.equal(one({ NumericLessThanIfExists: { 'glacier:ArchiveAgeInDays': '30' } }, {}), 'Allow');
  assert.equal(one({ DateGreaterThan: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } }, { 'aws:CurrentTime': '2026-06-01T00:00:00Z' }), 'Allow');
  assert.equal(one({ DateLessThan: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } }, { 'aws:CurrentTime': '2026-06-01T00:00:00Z' }), 'NoMatch');
  assert.equal(one({ DateEquals: { 'aws:EpochTime': '1767225600' } }, { 'aws:EpochTime': '1767225600' }), 'Allow');
  assert.equal(one({ DateNotEquals: { 'aws:CurrentTime': '2026-01-01' } }, { 'aws:CurrentTime': '2026-01-01T00:00:00Z' }), 'NoMatch');
  assert.equal(one({ DateLessThanEquals: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } }, { 'aws:CurrentTime': '2026-01-01T00:00:00Z' }), 'Allow');
  assert.equal(one({ DateGreaterThanEquals: { 'aws:CurrentTime': '2027-01-01T00:00:00Z' } }, { 'aws:CurrentTime': '2026-01-01T00:00:00Z' }), 'NoMatch');
  assert.equal(one({ Bool: { 'aws:SecureTransport': 'false' } }, { 'aws:SecureTransport': 'false' }), 'Allow');
  assert.equal(one({ Bool: { 'aws:SecureTransport': true } }, { 'aws:SecureTransport': 'false' }), 'NoMatch');
  assert.equal(one({ BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } }, {}), 'Allow');
  assert.equal(one({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/a*' } }, { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:user/alice' }), 'Allow');
  assert.equal(one({ ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:root' } }, { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:user/alice' }), 'NoMatch');
  assert.equal(one({ ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:root' } }, { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:user/alice' }), 'Allow');
  assert.equal(one({ ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:user/alice' } }, { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:user/alice' }), 'NoMatch');
  assert.equal(one({ StringEquals: { 'aws:PrincipalAccount': '123456789012' } }, { 'aws:PrincipalAccount': '123456789012' }), 'Allow');
  // Several operators and keys are ANDed.
  assert.equal(one({ StringEquals: { 'aws:username': 'alice' }, IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:username': 'alice', 'aws:SourceIp': '192.168.1.1' }), 'NoMatch');
  // Set operators on a multi-valued key.
  assert.equal(one({ 'ForAllValues:StringEquals': { 'x:k': ['a', 'b'] } }, { 'x:k': ['a', 'b'] }), 'Allow');
  assert.equal(one({ 'ForAllValues:StringEquals': { 'x:k': ['a', 'b'] } }, { 'x:k': ['a', 'c'] }), 'NoMatch');
  assert.equal(one({ 'ForAllValues:StringEquals': { 'x:k': ['a'] } }, {}), 'Allow');
  assert.equal(one({ 'ForAnyValue:StringEquals': { 'x:k': ['c'] } }, { 'x:k': ['a', 'c'] }), 'Allow');
  assert.equal(one({ 'ForAnyValue:StringEquals': { 'x:k': ['c'] } }, {}), 'NoMatch');
});

test('policy variables resolve in Resource (Version 2012-10-17 only)', () => {
  const p = (version: string) => ({ Version: version, Statement: [{ Effect: 'Allow', Action: 'glacier:*', Resource: 'arn:aws:glacier:*:*:vaults/${aws:username}-*' }] });
  assert.equal(decide(p('2012-10-17'), 'identity', 'glacier:DescribeVault', 'arn:aws:glacier:us-east-1:123456789012:vaults/alice-backups', USER_A, { 'aws:username': 'alice' }), 'Allow');
  assert.equal(decide(p('2012-10-17'), 'identity', 'glacier:DescribeVault', 'arn:aws:glacier:us-east-1:123456789012:vaults/bob-backups', USER_A, { 'aws:username': 'alice' }), 'NoMatch');
  assert.equal(decide(p('2008-10-17'), 'identity', 'glacier:DescribeVault', 'arn:aws:glacier:us-east-1:123456789012:vaults/alice-backups', USER_A, { 'aws:username': 'alice' }), 'NoMatch');
});

test('the request context carries the documented keys', () => {
  const req: AuthzRequest = {
    caller: { accountId: '123456789012', userName: 'alice', accessKeyId: 'AKIAX', sourceIp: '::ffff:127.0.0.1', secureTransport: false },
    action: 'glacier:DeleteArchive',
    resource: VAULT,
    resourceAccountId: '999999999999',
    conditions: { 'glacier:ArchiveAgeInDays': '12' },
    now: Date.UTC(2026, 10, 22, 18, 0, 0),
  };
  const c = requestContext(req, { LegalHold: 'true' });
  assert.deepEqual(c('aws:SourceIp'), ['127.0.0.1']);
  assert.deepEqual(c('AWS:SECURETRANSPORT'), ['false']);
  assert.deepEqual(c('aws:CurrentTime'), ['2026-11-22T18:00:00Z']);
  assert.deepEqual(c('aws:PrincipalAccount'), ['123456789012']);
  assert.deepEqual(c('aws:username'), ['alice']);
  assert.deepEqual(c('glacier:ArchiveAgeInDays'), ['12']);
  assert.deepEqual(c('glacier:ResourceTag/legalhold'), ['true']);
  assert.equal(c('glacier:ResourceTag/Other'), undefined);
  const root = requestContext({ ...req, caller: { ...req.caller, userName: null } }, null);
  assert.equal(root('aws:username'), undefined);
});

const malformed: [string, unknown, RegExp][] = [
  ['not JSON', '{"Version":', /not valid JSON/],
  ['an array', [], /JSON object/],
  ['unknown top-level element', { Version: '2012-10-17', Statement: [], Foo: 1 }, /unknown top-level element "Foo"/],
  ['bad version', { Version: '2013-01-01', Statement: [] }, /Version must be/],
  ['no statement', { Version: '2012-10-17' }, /missing required element Statement/],
  ['empty statement list', { Version: '2012-10-17', Statement: [] }, /at least one statement/],
  ['bad effect', { Statement: [{ Effect: 'allow', Principal: '*', Action: 'glacier:*', Resource: '*' }] }, /Effect must be "Allow" or "Deny"/],
  ['missing principal', { Statement: [{ Effect: 'Allow', Action: 'glacier:*', Resource: '*' }] }, /missing required element Principal/],
  ['bad principal', { Statement: [{ Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 'glacier:*', Resource: '*' }] }, /invalid principal "bob"/],
  ['bad principal type', { Statement: [{ Effect: 'Allow', Principal: { Users: '*' }, Action: 'glacier:*', Resource: '*' }] }, /invalid principal type "Users"/],
  ['both Action and NotAction', { Statement: [{ Effect: 'Allow', Principal: '*', Action: 'glacier:*', NotAction: 'glacier:*', Resource: '*' }] }, /exactly one of Action or NotAction/],
  ['no action', { Statement: [{ Effect: 'Allow', Principal: '*', Resource: '*' }] }, /exactly one of Action or NotAction/],
  ['unknown glacier action', { Statement: [{ Effect: 'Allow', Principal: '*', Action: 'glacier:DeleteArchvie', Resource: '*' }] }, /unknown action "glacier:DeleteArchvie"/],
  ['malformed action', { Statement: [{ Effect: 'Allow', Principal: '*', Action: 'DeleteArchive', Resource: '*' }] }, /invalid action/],
  ['no resource', { Statement: [{ Effect: 'Allow', Principal: '*', Action: 'glacier:*' }] }, /missing required element Resource/],
  ['bad resource', { Statement: [{ Effect: 'Allow', Principal: '*', Action: 'glacier:*', Resource: 'vaults/x' }] }, /invalid resource "vaults\/x"/],
  ['unknown statement element', { Statement: [{ Effect: 'Allow', Principal: '*', Action: 'glacier:*', Resource: '*', Conditon: {} }] }, /unknown element "Conditon"/],
  ['unknown operator', { Statement: [{ Effect: 'Allow', Principal: '*', Action: 'glacier:*', Resource: '*', Condition: { NumberLessThan: { 'glacier:ArchiveAgeInDays': '1' } } }] }, /unknown condition operator "NumberLessThan"/],
  ['non-numeric value', { Statement: [{ Effect: 'Deny', Principal: '*', Action: 'glacier:*', Resource: '*', Condition: { NumericLessThan: { 'glacier:ArchiveAgeInDays': 'a year' } } }] }, /NumericLessThan needs numbers/],
  ['bad date', { Statement: [{ Effect: 'Deny', Principal: '*', Action: 'glacier:*', Resource: '*', Condition: { DateLessThan: { 'aws:CurrentTime': 'tomorrow' } } }] }, /needs ISO 8601 dates/],
  ['bad CIDR', { Statement: [{ Effect: 'Deny', Principal: '*', Action: 'glacier:*', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } }] }, /IP address or CIDR/],
  ['bad Bool', { Statement: [{ Effect: 'Deny', Principal: '*', Action: 'glacier:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'yes' } } }] }, /"true" or "false"/],
  ['duplicate Sid', { Statement: [{ Sid: 'a', Effect: 'Deny', Principal: '*', Action: 'glacier:*', Resource: '*' }, { Sid: 'a', Effect: 'Allow', Principal: '*', Action: 'glacier:*', Resource: '*' }] }, /must be unique/],
  ['object value in condition', { Statement: [{ Effect: 'Deny', Principal: '*', Action: 'glacier:*', Resource: '*', Condition: { StringEquals: { 'aws:username': { a: 1 } } } }] }, /strings, numbers or booleans/],
];

for (const [name, doc, re] of malformed) {
  test(`malformed policy refused: ${name}`, () => {
    const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
    assert.throws(() => parsePolicy(text, 'resource'), (e: unknown) => e instanceof PolicyError && re.test(e.message));
    assert.throws(
      () => validatePolicy(text, 'resource'),
      (e: unknown) => isGlacierError(e) && e.code === 'InvalidParameterValueException' && e.status === 400 && e.message.startsWith('Invalid policy document: '),
    );
  });
}

test('identity policies must not name a Principal', () => {
  assert.throws(() => parsePolicy(JSON.stringify(example2), 'identity'), /must not specify a Principal/);
});

test('wildcard matching: * and ?, case rules, and bounded time on hostile patterns', () => {
  assert.equal(wildcardMatch('glacier:Delete*', 'glacier:DeleteArchive'), true);
  assert.equal(wildcardMatch('glacier:Delete*', 'glacier:deletearchive'), false);
  assert.equal(wildcardMatch('glacier:Delete*', 'glacier:deletearchive', true), true);
  assert.equal(wildcardMatch('a?c', 'abc'), true);
  assert.equal(wildcardMatch('a?c', 'ac'), false);
  assert.equal(wildcardMatch('*', ''), true);
  assert.equal(wildcardMatch('', 'x'), false);
  assert.equal(wildcardMatch('vaults/*', 'vaults/'), true);
  assert.equal(wildcardMatch('*x*y*', 'aaxbbyc'), true);
  assert.equal(wildcardMatch('*x*y*', 'aaybbxc'), false);
  assert.equal(wildcardMatch('a\u0000*', 'a*'), true, 'escaped star is literal');
  assert.equal(wildcardMatch('a\u0000*', 'ab'), false);
  const t0 = Date.now();
  assert.equal(wildcardMatch('*a'.repeat(5000) + 'b', 'a'.repeat(20000)), false);
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
});
