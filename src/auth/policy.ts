import { isIP } from 'node:net';
import { Errors } from '../domain/errors.js';
import { OPERATION_NAMES } from './resources.js';

/**
 * The IAM JSON policy grammar (Version, Statement, Sid, Effect, Principal/NotPrincipal,
 * Action/NotAction, Resource/NotResource, Condition), parsed once into a compiled form and
 * evaluated against a request. Parsing is strict: anything the evaluator could misread is
 * refused with a message naming the element, so a policy that was accepted means what it says.
 */

/** `identity`: attached to a user (no Principal). `resource`: a vault access or vault lock policy. */
export type PolicyKind = 'identity' | 'resource';

export class PolicyError extends Error {}

type BaseOp =
  | 'StringEquals' | 'StringNotEquals' | 'StringEqualsIgnoreCase' | 'StringNotEqualsIgnoreCase' | 'StringLike' | 'StringNotLike'
  | 'NumericEquals' | 'NumericNotEquals' | 'NumericLessThan' | 'NumericLessThanEquals' | 'NumericGreaterThan' | 'NumericGreaterThanEquals'
  | 'DateEquals' | 'DateNotEquals' | 'DateLessThan' | 'DateLessThanEquals' | 'DateGreaterThan' | 'DateGreaterThanEquals'
  | 'Bool' | 'BinaryEquals' | 'IpAddress' | 'NotIpAddress'
  | 'ArnEquals' | 'ArnLike' | 'ArnNotEquals' | 'ArnNotLike' | 'Null';

const BASE_OPS = new Set<string>([
  'StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike',
  'NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals',
  'DateEquals', 'DateNotEquals', 'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals',
  'Bool', 'BinaryEquals', 'IpAddress', 'NotIpAddress', 'ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike', 'Null',
]);

/**
 * "If the policy condition requires that the key is *not* matched, such as StringNotLike or
 * ArnNotLike, and the right key is not present, the condition is true" (IAM User Guide,
 * Condition operators). These are the negated operators.
 */
const NEGATED = new Set<BaseOp>([
  'StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringNotLike', 'NumericNotEquals', 'DateNotEquals', 'NotIpAddress', 'ArnNotEquals', 'ArnNotLike',
]);

export interface ConditionClause {
  op: BaseOp;
  ifExists: boolean;
  set: 'ForAnyValue' | 'ForAllValues' | null;
  /** Lower-cased: condition key names are case-insensitive. */
  key: string;
  values: string[];
}

interface PrincipalSet {
  any: boolean;
  /** Account ids (from `123456789012` and `arn:aws:iam::123456789012:root`). */
  accounts: Set<string>;
  /** `<account>/<userName>` from user ARNs. */
  users: Set<string>;
}

export interface Statement {
  sid: string | null;
  effect: 'Allow' | 'Deny';
  principal: PrincipalSet | null;
  notPrincipal: boolean;
  /** Patterns; matched case-insensitively (IAM action names are case-insensitive). */
  actions: string[];
  notAction: boolean;
  /** Raw patterns: they may hold policy variables, resolved per request. */
  resources: string[];
  notResource: boolean;
  conditions: ConditionClause[];
}

export interface Policy {
  version: '2012-10-17' | '2008-10-17';
  statements: Statement[];
}

const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const GLACIER_ACTIONS = new Map(OPERATION_NAMES.map((n) => [n.toLowerCase(), n]));

function fail(msg: string): never {
  throw new PolicyError(msg);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, what: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) fail(`${what} must not be an empty list`);
  for (const x of list) if (typeof x !== 'string' || x.length === 0) fail(`${what} must be a non-empty string or a list of non-empty strings`);
  return list as string[];
}

/**
 * IAM wildcards: `*` any run of characters, `?` any one character. Matched by the two-pointer
 * algorithm (at worst pattern × value steps), never by a backtracking RegExp: a hostile pattern such as `*a*a*a…b`
 * must not be able to stall the server. `\u0000` escapes the next character as a literal (policy
 * variables substitute values that may themselves hold `*` or `?`).
 */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const pat = ignoreCase ? pattern.toLowerCase() : pattern;
  const val = ignoreCase ? value.toLowerCase() : value;
  // Tokens: -1 = '*', -2 = '?', otherwise a literal char code.
  const t: number[] = [];
  for (let i = 0; i < pat.length; i++) {
    const c = pat.charCodeAt(i);
    if (c === 0 && i + 1 < pat.length) t.push(pat.charCodeAt(++i));
    else if (c === 42) {
      if (t[t.length - 1] !== -1) t.push(-1);
    } else if (c === 63) t.push(-2);
    else t.push(c);
  }
  let p = 0;
  let i = 0;
  let starP = -1;
  let starI = 0;
  while (i < val.length) {
    const tok = t[p];
    if (p < t.length && tok !== -1 && (tok === -2 || tok === val.charCodeAt(i))) {
      p++;
      i++;
    } else if (p < t.length && tok === -1) {
      starP = p++;
      starI = i;
    } else if (starP >= 0) {
      p = starP + 1;
      i = ++starI;
    } else return false;
  }
  while (p < t.length && t[p] === -1) p++;
  return p === t.length;
}

function parseAction(a: string, where: string): string {
  if (a === '*') return a;
  const m = /^([A-Za-z0-9-]+):([A-Za-z0-9*?]+)$/.exec(a);
  if (!m) fail(`${where}: invalid action "${a}"; actions look like glacier:DeleteArchive or glacier:*`);
  const [, service, name] = m;
  if (service!.toLowerCase() === 'glacier' && !/[*?]/.test(name!) && !GLACIER_ACTIONS.has(name!.toLowerCase())) {
    fail(`${where}: unknown action "${a}"; Glacier actions are glacier:<OperationName>, e.g. glacier:UploadArchive`);
  }
  return a;
}

function parseResource(r: string, where: string): string {
  if (r === '*') return r;
  const parts = r.split(':');
  if (parts[0] !== 'arn' || parts.length < 6) fail(`${where}: invalid resource "${r}"; resources are ARNs such as arn:aws:glacier:us-east-1:123456789012:vaults/examplevault, or *`);
  if (parts[1] === '' || parts[2] === '') fail(`${where}: invalid resource "${r}": the partition and service must not be empty`);
  return r;
}

const ACCOUNT_RE = /^\d{12}$/;
const IAM_ARN_RE = /^arn:aws[a-z-]*:iam::(\d{12}):(root|user\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})|role\/.+|group\/.+)$/;
const STS_ARN_RE = /^arn:aws[a-z-]*:sts::(\d{12}):(assumed-role|federated-user)\/.+$/;

function parsePrincipal(v: unknown, where: string): PrincipalSet {
  const set: PrincipalSet = { any: false, accounts: new Set(), users: new Set() };
  if (v === '*') {
    set.any = true;
    return set;
  }
  if (!isObject(v)) fail(`${where}: Principal must be "*" or an object such as {"AWS": "arn:aws:iam::123456789012:root"}`);
  const keys = Object.keys(v);
  if (keys.length === 0) fail(`${where}: Principal must name at least one principal`);
  for (const k of keys) {
    if (k === 'AWS') {
      for (const p of stringList(v[k], `${where}: Principal AWS`)) {
        if (p === '*') set.any = true;
        else if (ACCOUNT_RE.test(p)) set.accounts.add(p);
        else {
          const m = IAM_ARN_RE.exec(p);
          if (m) {
            if (m[2] === 'root') set.accounts.add(m[1]!);
            else if (m[3] !== undefined) set.users.add(`${m[1]}/${m[3]}`);
            // Roles and groups never sign Firn requests: a valid principal that matches nobody.
          } else if (!STS_ARN_RE.test(p)) {
            fail(`${where}: invalid principal "${p}"; use "*", an account id, arn:aws:iam::<account>:root or arn:aws:iam::<account>:user/<name>`);
          }
        }
      }
    } else if (k === 'Service' || k === 'Federated' || k === 'CanonicalUser') {
      // Valid IAM principal types; Firn has no such callers, so they match nobody.
      stringList(v[k], `${where}: Principal ${k}`);
    } else {
      fail(`${where}: invalid principal type "${k}"; expected AWS, Service, Federated or CanonicalUser`);
    }
  }
  return set;
}

function conditionValue(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  fail(`${where}: condition values must be strings, numbers or booleans`);
}

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function parseDateValue(s: string): number | null {
  if (/^\d{1,13}$/.test(s)) return Number(s) * 1000; // epoch seconds
  if (!/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/.test(s)) return null;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}

interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

function ipBytes(ip: string): { family: 4 | 6; bytes: Uint8Array } | null {
  let s = ip;
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(s)) s = s.slice(7);
  const fam = isIP(s);
  if (fam === 4) return { family: 4, bytes: Uint8Array.from(s.split('.').map(Number)) };
  if (fam !== 6) return null;
  // Expand IPv6 (with an optional trailing dotted quad) into 16 bytes.
  let head = s;
  let tail4: number[] = [];
  const dq = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dq) {
    tail4 = dq[1]!.split('.').map(Number);
    head = s.slice(0, s.length - dq[1]!.length) + '0:0';
  }
  const [l, r] = head.includes('::') ? head.split('::') : [head, undefined];
  const left = l ? l.split(':') : [];
  const right = r === undefined ? [] : r ? r.split(':') : [];
  const fill = r === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array(fill).fill('0'), ...right].map((g) => parseInt(g, 16));
  if (groups.length !== 8 || groups.some((g) => !Number.isFinite(g))) return null;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 255;
  });
  if (tail4.length) bytes.set(tail4, 12);
  return { family: 6, bytes };
}

export function parseCidr(s: string): Cidr | null {
  const parts = s.split('/');
  if (parts.length > 2) return null;
  const b = ipBytes(parts[0]!);
  return b ? cidrWith(b, parts[1]) : null;
}

function cidrWith(b: { family: 4 | 6; bytes: Uint8Array }, pfx: string | undefined): Cidr | null {
  const max = b.family === 4 ? 32 : 128;
  if (pfx === undefined) return { ...b, prefix: max };
  if (!/^\d{1,3}$/.test(pfx) || Number(pfx) > max) return null;
  return { ...b, prefix: Number(pfx) };
}

function cidrContains(c: Cidr, ip: string): boolean {
  const b = ipBytes(ip);
  if (!b || b.family !== c.family) return false;
  let bits = c.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((b.bytes[i]! & mask) !== (c.bytes[i]! & mask)) return false;
  }
  return true;
}

function checkValue(op: BaseOp, v: string, where: string): void {
  if (op.startsWith('Numeric') && !NUMBER_RE.test(v)) fail(`${where}: ${op} needs numbers; "${v}" is not one`);
  if (op.startsWith('Date') && parseDateValue(v) === null) fail(`${where}: ${op} needs ISO 8601 dates or epoch seconds; "${v}" is not one`);
  if ((op === 'Bool' || op === 'Null') && !/^(true|false)$/i.test(v)) fail(`${where}: ${op} needs "true" or "false"; got "${v}"`);
  if ((op === 'IpAddress' || op === 'NotIpAddress') && parseCidr(v) === null) fail(`${where}: ${op} needs an IP address or CIDR block; "${v}" is not one`);
  if (op === 'BinaryEquals' && !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) fail(`${where}: BinaryEquals needs base64 values; "${v}" is not one`);
}

function parseConditions(v: unknown, where: string): ConditionClause[] {
  if (!isObject(v)) fail(`${where}: Condition must be an object of {"<operator>": {"<key>": <value(s)>}}`);
  const out: ConditionClause[] = [];
  for (const [rawOp, block] of Object.entries(v)) {
    let op = rawOp;
    let set: ConditionClause['set'] = null;
    const sm = /^(ForAnyValue|ForAllValues):(.*)$/.exec(op);
    if (sm) {
      set = sm[1] as 'ForAnyValue' | 'ForAllValues';
      op = sm[2]!;
    }
    let ifExists = false;
    if (op.endsWith('IfExists')) {
      ifExists = true;
      op = op.slice(0, -'IfExists'.length);
    }
    if (!BASE_OPS.has(op) || (ifExists && op === 'Null')) fail(`${where}: unknown condition operator "${rawOp}"`);
    if (!isObject(block) || Object.keys(block).length === 0) fail(`${where}: condition operator ${rawOp} must map at least one condition key to its values`);
    for (const [key, raw] of Object.entries(block)) {
      if (!/^[A-Za-z0-9-]+:[^\s]+$/.test(key)) fail(`${where}: invalid condition key "${key}"; keys look like aws:SourceIp or glacier:ArchiveAgeInDays`);
      const list = Array.isArray(raw) ? raw : [raw];
      if (list.length === 0) fail(`${where}: condition ${rawOp} on ${key} has no values`);
      const values = list.map((x) => conditionValue(x, `${where}: ${rawOp} ${key}`));
      for (const val of values) checkValue(op as BaseOp, val, `${where}: ${rawOp} ${key}`);
      out.push({ op: op as BaseOp, ifExists, set, key: key.toLowerCase(), values });
    }
  }
  return out;
}

function parseStatement(st: unknown, i: number, kind: PolicyKind): Statement {
  const where = `Statement ${i + 1}`;
  if (!isObject(st)) fail(`${where} must be an object`);
  for (const k of Object.keys(st)) if (!STATEMENT_KEYS.has(k)) fail(`${where}: unknown element "${k}"`);
  const sid = st.Sid === undefined ? null : st.Sid;
  if (sid !== null && typeof sid !== 'string') fail(`${where}: Sid must be a string`);
  const w = sid ? `Statement "${sid}"` : where;
  if (st.Effect !== 'Allow' && st.Effect !== 'Deny') fail(`${w}: Effect must be "Allow" or "Deny"`);

  if (st.Principal !== undefined && st.NotPrincipal !== undefined) fail(`${w}: use Principal or NotPrincipal, not both`);
  const rawPrincipal = st.Principal ?? st.NotPrincipal;
  if (kind === 'identity' && rawPrincipal !== undefined) fail(`${w}: a policy attached to a user must not specify a Principal`);
  if (kind === 'resource' && rawPrincipal === undefined) fail(`${w}: missing required element Principal (a vault policy says whom it applies to)`);
  const principal = rawPrincipal === undefined ? null : parsePrincipal(rawPrincipal, w);

  if ((st.Action === undefined) === (st.NotAction === undefined)) fail(`${w}: exactly one of Action or NotAction is required`);
  const actions = stringList(st.Action ?? st.NotAction, `${w}: Action`).map((a) => parseAction(a, w));

  if (st.Resource !== undefined && st.NotResource !== undefined) fail(`${w}: use Resource or NotResource, not both`);
  if (st.Resource === undefined && st.NotResource === undefined) fail(`${w}: missing required element Resource`);
  const resources = stringList(st.Resource ?? st.NotResource, `${w}: Resource`).map((r) => parseResource(r, w));

  const conditions = st.Condition === undefined ? [] : parseConditions(st.Condition, w);
  return {
    sid,
    effect: st.Effect,
    principal,
    notPrincipal: st.NotPrincipal !== undefined,
    actions,
    notAction: st.NotAction !== undefined,
    resources,
    notResource: st.NotResource !== undefined,
    conditions,
  };
}

/** Parses a policy document (text or already-parsed JSON). Throws PolicyError saying what is wrong. */
export function parsePolicy(input: string | unknown, kind: PolicyKind): Policy {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch (e) {
      fail(`the policy is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!isObject(doc)) fail('the policy must be a JSON object');
  for (const k of Object.keys(doc)) if (k !== 'Version' && k !== 'Id' && k !== 'Statement') fail(`unknown top-level element "${k}"; expected Version, Id and Statement`);
  // Without Version, IAM reads the document as 2008-10-17 (no policy variables).
  const version = doc.Version ?? '2008-10-17';
  if (version !== '2012-10-17' && version !== '2008-10-17') fail(`Version must be "2012-10-17" or "2008-10-17"; got ${JSON.stringify(version)}`);
  if (doc.Id !== undefined && typeof doc.Id !== 'string') fail('Id must be a string');
  if (doc.Statement === undefined) fail('missing required element Statement');
  const list = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  if (list.length === 0) fail('Statement must contain at least one statement');
  const statements = list.map((s, i) => parseStatement(s, i, kind));
  const sids = new Set<string>();
  for (const s of statements) {
    if (s.sid === null || s.sid === '') continue;
    if (sids.has(s.sid)) fail(`Statement ids (Sid) must be unique; "${s.sid}" appears twice`);
    sids.add(s.sid);
  }
  return { version, statements };
}

/** parsePolicy for API input: a malformed policy is a 400 InvalidParameterValueException. */
export function validatePolicy(text: string, kind: PolicyKind): Policy {
  try {
    return parsePolicy(text, kind);
  } catch (e) {
    if (e instanceof PolicyError) throw Errors.invalidParameter(`Invalid policy document: ${e.message}`);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Condition-key values known for one request; keys are lower-cased. */
export type ContextLookup = (key: string) => string[] | undefined;

export interface EvalRequest {
  /** `glacier:<OperationName>` */
  action: string;
  resource: string;
  caller: { accountId: string; userName: string | null };
  context: ContextLookup;
}

/** How a resource policy's Principal covered the caller. */
export type PrincipalMatch = 'direct' | 'account' | null;

export interface PolicyResult {
  /** An applicable Deny statement matched. */
  deny: boolean;
  /** The Sid (or position) of the deny, for the message and the log. */
  denyBy: string | null;
  /** An Allow matched that names the caller itself (or everyone). */
  allowDirect: boolean;
  /** An Allow matched through the caller's account (delegation: the account must also allow). */
  allowViaAccount: boolean;
}

function principalMatch(st: Statement, caller: EvalRequest['caller']): PrincipalMatch {
  const p = st.principal;
  if (p === null) return 'direct'; // identity policy: it applies to the user it is attached to
  let m: PrincipalMatch = null;
  if (p.any) m = 'direct';
  else if (caller.userName !== null && p.users.has(`${caller.accountId}/${caller.userName}`)) m = 'direct';
  else if (p.accounts.has(caller.accountId)) m = caller.userName === null ? 'direct' : 'account';
  if (!st.notPrincipal) return m;
  // NotPrincipal: the statement applies to every principal not listed.
  return m === null ? 'direct' : null;
}

/** Resolves `${aws:username}` style variables (Version 2012-10-17 only); null when one is unknown. */
function substitute(s: string, policy: Policy, ctx: ContextLookup): string | null {
  if (policy.version !== '2012-10-17' || !s.includes('${')) return s;
  let ok = true;
  const out = s.replace(/\$\{([^}]*)\}/g, (_m, name: string) => {
    if (name === '*' || name === '?' || name === '$') return `\u0000${name}`;
    const v = ctx(name.trim().toLowerCase());
    if (!v || v.length !== 1) {
      ok = false;
      return '';
    }
    return v[0]!.replace(/[*?]/g, (c) => `\u0000${c}`);
  });
  return ok ? out : null;
}

function unescapeLiteral(s: string): string {
  return s.replace(/\u0000(.)/g, '$1');
}

/** ARN matching: the first five segments each match on their own; the resource part may hold colons. */
export function arnLike(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const p = pattern.split(':');
  const a = arn.split(':');
  if (p.length < 6 || a.length < 6) return false;
  for (let i = 0; i < 5; i++) if (!wildcardMatch(p[i]!, a[i]!)) return false;
  return wildcardMatch(p.slice(5).join(':'), a.slice(5).join(':'));
}

function compareNum(op: BaseOp, a: number, b: number): boolean {
  if (op.endsWith('NotEquals') || op.endsWith('Equals')) {
    if (op.endsWith('LessThanEquals')) return a <= b;
    if (op.endsWith('GreaterThanEquals')) return a >= b;
    return a === b;
  }
  if (op.endsWith('LessThan')) return a < b;
  if (op.endsWith('GreaterThan')) return a > b;
  return false;
}

/** The positive form of `op`: does the request value match this one policy value? */
function positive(op: BaseOp, cv: string, pv: string, policy: Policy, ctx: ContextLookup): boolean {
  switch (op) {
    case 'StringEquals':
    case 'StringNotEquals': {
      const v = substitute(pv, policy, ctx);
      return v !== null && unescapeLiteral(v) === cv;
    }
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase': {
      const v = substitute(pv, policy, ctx);
      return v !== null && unescapeLiteral(v).toLowerCase() === cv.toLowerCase();
    }
    case 'StringLike':
    case 'StringNotLike': {
      const v = substitute(pv, policy, ctx);
      return v !== null && wildcardMatch(v, cv);
    }
    case 'Bool':
      return cv.toLowerCase() === pv.toLowerCase();
    case 'BinaryEquals':
      return cv === pv;
    case 'IpAddress':
    case 'NotIpAddress': {
      const c = parseCidr(pv);
      return c !== null && cidrContains(c, cv);
    }
    case 'ArnEquals':
    case 'ArnLike':
    case 'ArnNotEquals':
    case 'ArnNotLike': {
      const v = substitute(pv, policy, ctx);
      return v !== null && arnLike(v, cv);
    }
    case 'Null':
      return false;
    default:
      if (op.startsWith('Numeric')) {
        if (!NUMBER_RE.test(cv)) return false;
        return compareNum(op, Number(cv), Number(pv));
      }
      if (op.startsWith('Date')) {
        const a = parseDateValue(cv);
        const b = parseDateValue(pv);
        return a !== null && b !== null && compareNum(op, a, b);
      }
      return false;
  }
}

function matchValue(cl: ConditionClause, cv: string, policy: Policy, ctx: ContextLookup): boolean {
  const any = cl.values.some((pv) => positive(cl.op, cv, pv, policy, ctx));
  return NEGATED.has(cl.op) ? !any : any;
}

export function evaluateClause(cl: ConditionClause, policy: Policy, ctx: ContextLookup): boolean {
  const vals = ctx(cl.key);
  const present = vals !== undefined && vals.length > 0;
  if (cl.op === 'Null') {
    // Null: "true" means the key must be absent, "false" that it must be present.
    return cl.values.some((v) => (v.toLowerCase() === 'true') === !present);
  }
  if (!present) {
    if (cl.set === 'ForAllValues') return true;
    if (cl.set === 'ForAnyValue') return false;
    if (cl.ifExists) return true;
    return NEGATED.has(cl.op);
  }
  if (cl.set === 'ForAllValues') return vals.every((cv) => matchValue(cl, cv, policy, ctx));
  if (NEGATED.has(cl.op)) return vals.every((cv) => matchValue(cl, cv, policy, ctx));
  return vals.some((cv) => matchValue(cl, cv, policy, ctx));
}

function statementApplies(st: Statement, policy: Policy, req: EvalRequest): boolean {
  const actionHit = st.actions.some((a) => wildcardMatch(a, req.action, true));
  if (actionHit === st.notAction) return false;
  const resHit = st.resources.some((r) => {
    const p = substitute(r, policy, req.context);
    return p !== null && arnLike(p, req.resource);
  });
  if (resHit === st.notResource) return false;
  return st.conditions.every((c) => evaluateClause(c, policy, req.context));
}

export function evaluatePolicy(policy: Policy, req: EvalRequest): PolicyResult {
  const r: PolicyResult = { deny: false, denyBy: null, allowDirect: false, allowViaAccount: false };
  policy.statements.forEach((st, i) => {
    const pm = principalMatch(st, req.caller);
    if (pm === null) return;
    if (st.effect === 'Allow' && (pm === 'direct' ? r.allowDirect : r.allowViaAccount)) return;
    if (st.effect === 'Deny' && r.deny) return;
    if (!statementApplies(st, policy, req)) return;
    if (st.effect === 'Deny') {
      r.deny = true;
      r.denyBy = st.sid ?? `statement ${i + 1}`;
    } else if (pm === 'direct') r.allowDirect = true;
    else r.allowViaAccount = true;
  });
  return r;
}
