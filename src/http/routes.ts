/**
 * The routes table is data: (method, path template, query discriminator) → operation name.
 * Paths are matched segment by segment against templates, never by position in the URL string.
 * Method, path and success codes come from the botocore model (`botocore/data/glacier/2012-06-01/service-2.json`).
 */

export type OperationName =
  | 'CreateVault' | 'DeleteVault' | 'DescribeVault' | 'ListVaults'
  | 'UploadArchive' | 'DeleteArchive'
  | 'InitiateMultipartUpload' | 'UploadMultipartPart' | 'CompleteMultipartUpload' | 'AbortMultipartUpload'
  | 'ListParts' | 'ListMultipartUploads'
  | 'InitiateJob' | 'DescribeJob' | 'ListJobs' | 'GetJobOutput'
  | 'SetVaultNotifications' | 'GetVaultNotifications' | 'DeleteVaultNotifications'
  | 'SetVaultAccessPolicy' | 'GetVaultAccessPolicy' | 'DeleteVaultAccessPolicy'
  | 'InitiateVaultLock' | 'CompleteVaultLock' | 'AbortVaultLock' | 'GetVaultLock'
  | 'AddTagsToVault' | 'RemoveTagsFromVault' | 'ListTagsForVault'
  | 'SetDataRetrievalPolicy' | 'GetDataRetrievalPolicy'
  | 'PurchaseProvisionedCapacity' | 'ListProvisionedCapacity';

export interface RouteDef {
  op: OperationName;
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  /** Query parameters that must be present with these values to select this route. */
  query?: Record<string, string>;
  /** The body is streamed to the handler (archive bytes) instead of buffered as JSON. */
  streaming?: boolean;
}

const V = '/{accountId}/vaults/{vaultName}';

export const ROUTES: readonly RouteDef[] = [
  { op: 'CreateVault', method: 'PUT', path: V },
  { op: 'DeleteVault', method: 'DELETE', path: V },
  { op: 'DescribeVault', method: 'GET', path: V },
  { op: 'ListVaults', method: 'GET', path: '/{accountId}/vaults' },
  { op: 'UploadArchive', method: 'POST', path: `${V}/archives`, streaming: true },
  { op: 'DeleteArchive', method: 'DELETE', path: `${V}/archives/{archiveId}` },
  { op: 'InitiateMultipartUpload', method: 'POST', path: `${V}/multipart-uploads` },
  { op: 'ListMultipartUploads', method: 'GET', path: `${V}/multipart-uploads` },
  { op: 'UploadMultipartPart', method: 'PUT', path: `${V}/multipart-uploads/{uploadId}`, streaming: true },
  { op: 'CompleteMultipartUpload', method: 'POST', path: `${V}/multipart-uploads/{uploadId}` },
  { op: 'AbortMultipartUpload', method: 'DELETE', path: `${V}/multipart-uploads/{uploadId}` },
  { op: 'ListParts', method: 'GET', path: `${V}/multipart-uploads/{uploadId}` },
  { op: 'InitiateJob', method: 'POST', path: `${V}/jobs` },
  { op: 'ListJobs', method: 'GET', path: `${V}/jobs` },
  { op: 'DescribeJob', method: 'GET', path: `${V}/jobs/{jobId}` },
  { op: 'GetJobOutput', method: 'GET', path: `${V}/jobs/{jobId}/output` },
  { op: 'SetVaultNotifications', method: 'PUT', path: `${V}/notification-configuration` },
  { op: 'GetVaultNotifications', method: 'GET', path: `${V}/notification-configuration` },
  { op: 'DeleteVaultNotifications', method: 'DELETE', path: `${V}/notification-configuration` },
  { op: 'SetVaultAccessPolicy', method: 'PUT', path: `${V}/access-policy` },
  { op: 'GetVaultAccessPolicy', method: 'GET', path: `${V}/access-policy` },
  { op: 'DeleteVaultAccessPolicy', method: 'DELETE', path: `${V}/access-policy` },
  { op: 'InitiateVaultLock', method: 'POST', path: `${V}/lock-policy` },
  { op: 'GetVaultLock', method: 'GET', path: `${V}/lock-policy` },
  { op: 'AbortVaultLock', method: 'DELETE', path: `${V}/lock-policy` },
  { op: 'CompleteVaultLock', method: 'POST', path: `${V}/lock-policy/{lockId}` },
  { op: 'AddTagsToVault', method: 'POST', path: `${V}/tags`, query: { operation: 'add' } },
  { op: 'RemoveTagsFromVault', method: 'POST', path: `${V}/tags`, query: { operation: 'remove' } },
  { op: 'ListTagsForVault', method: 'GET', path: `${V}/tags` },
  { op: 'SetDataRetrievalPolicy', method: 'PUT', path: '/{accountId}/policies/data-retrieval' },
  { op: 'GetDataRetrievalPolicy', method: 'GET', path: '/{accountId}/policies/data-retrieval' },
  { op: 'PurchaseProvisionedCapacity', method: 'POST', path: '/{accountId}/provisioned-capacity' },
  { op: 'ListProvisionedCapacity', method: 'GET', path: '/{accountId}/provisioned-capacity' },
];

type Segment = { literal: string } | { param: string };
interface CompiledRoute {
  def: RouteDef;
  segments: Segment[];
}

export type RouteMatch =
  | { kind: 'match'; route: RouteDef; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string[] }
  /** Path and method match, but the query selector (e.g. `operation=add|remove`) does not. */
  | { kind: 'bad-query'; expected: Record<string, string>[] }
  | { kind: 'not-found' };

export class Router {
  readonly #routes: CompiledRoute[];

  constructor(routes: readonly RouteDef[] = ROUTES) {
    this.#routes = routes.map((def) => ({
      def,
      segments: def.path
        .split('/')
        .slice(1)
        .map((s) => (s.startsWith('{') ? { param: s.slice(1, -1) } : { literal: s })),
    }));
  }

  /**
   * `rawPath` is still percent-encoded; each segment is decoded after splitting, so an encoded
   * `%2F` inside an id stays inside its segment.
   */
  match(method: string, rawPath: string, query: URLSearchParams): RouteMatch {
    const parts = rawPath.split('/').slice(1);
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // tolerate a trailing slash
    const decoded: string[] = [];
    for (const p of parts) {
      try {
        decoded.push(decodeURIComponent(p));
      } catch {
        return { kind: 'not-found' };
      }
    }
    const allow = new Set<string>();
    const expected: Record<string, string>[] = [];
    let pathMatched = false;
    for (const r of this.#routes) {
      if (r.segments.length !== decoded.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < r.segments.length; i++) {
        const seg = r.segments[i]!;
        const val = decoded[i]!;
        if ('literal' in seg) {
          if (seg.literal !== val) {
            ok = false;
            break;
          }
        } else {
          if (val === '') {
            ok = false;
            break;
          }
          params[seg.param] = val;
        }
      }
      if (!ok) continue;
      pathMatched = true;
      if (r.def.method !== method) {
        allow.add(r.def.method);
        continue;
      }
      if (r.def.query && !Object.entries(r.def.query).every(([k, v]) => query.get(k) === v)) {
        expected.push(r.def.query);
        continue;
      }
      return { kind: 'match', route: r.def, params };
    }
    if (expected.length > 0) return { kind: 'bad-query', expected };
    if (pathMatched && allow.size > 0) return { kind: 'method-not-allowed', allow: [...allow].sort() };
    return { kind: 'not-found' };
  }
}
