import { isoSeconds } from '../lib/clock.js';

/**
 * Vault inventory output (DG api-job-output-get). Rendered piece by piece so that a vault of millions of
 * archives is written as a stream, never held whole.
 */
export interface InventoryItem {
  archiveId: string;
  description: string;
  createdAt: number;
  size: number;
  treeHash: string;
}

/**
 * JSON: compact, keys in the order of the real output
 * `{"VaultARN":…,"InventoryDate":…,"ArchiveList":[{"ArchiveId","ArchiveDescription","CreationDate","Size","SHA256TreeHash"}…]}`
 * with second-precision dates [R mt-aws-glacier inventory_json.t].
 */
export function jsonHead(vaultArn: string, inventoryDate: number): string {
  return `{"VaultARN":${JSON.stringify(vaultArn)},"InventoryDate":${JSON.stringify(isoSeconds(inventoryDate))},"ArchiveList":[`;
}

export function jsonItem(a: InventoryItem, first: boolean): string {
  const item = {
    ArchiveId: a.archiveId,
    // "An empty description is "", not null."
    ArchiveDescription: a.description,
    CreationDate: isoSeconds(a.createdAt),
    Size: a.size,
    SHA256TreeHash: a.treeHash,
  };
  return (first ? '' : ',') + JSON.stringify(item);
}

export const JSON_TAIL = ']}';

/** CSV header line (DG; real data). Lines end with LF. */
export const CSV_HEADER = 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n';

/**
 * "In real data the ArchiveDescription field is always double-quoted, even with no comma … Embedded
 * `"` is escaped as `\"`. A backslash is not escaped" [R mt-aws-glacier inventory_csv.t; DG].
 * Other fields never contain a comma or quote and are left unquoted.
 */
export function csvQuoteDescription(d: string): string {
  return `"${d.replace(/"/g, '\\"')}"`;
}

export function csvRow(a: InventoryItem): string {
  return `${a.archiveId},${csvQuoteDescription(a.description)},${isoSeconds(a.createdAt)},${a.size},${a.treeHash}\n`;
}

export function contentTypeFor(format: 'JSON' | 'CSV'): string {
  return format === 'CSV' ? 'text/csv' : 'application/json';
}

/** The vault columns that define its inventory (a VaultRecord has them all). */
export interface VaultInventoryFields {
  numberOfArchives: number;
  sizeInBytes: number;
  lastWriteAt: number | null;
  lastInventoryAt: number | null;
  inventoryNumberOfArchives: number;
  inventorySizeInBytes: number;
}

/** A vault's inventory: what DescribeVault reports and what an inventory job lists. */
export interface VaultInventory {
  /** When the inventory was taken (LastInventoryDate, InventoryDate); null before the first one. */
  at: number | null;
  numberOfArchives: number;
  sizeInBytes: number;
}

/**
 * DG Describe Vault: NumberOfArchives and SizeInBytes are "as of the last inventory date", and
 * LastInventoryDate is when "Amazon Glacier completed the last vault inventory"; DG Get Job Output:
 * InventoryDate "is only updated if there have been archive additions or deletions to the vault
 * since the last inventory".
 * - `daily`: the snapshot the engine takes on the cadence after a change.
 * - `live`: every archive addition or deletion is itself an inventory, dated when it committed, so
 *   the counters are current and their date moves exactly when they do. A vault never written has
 *   had no inventory: null date and 0/0, as a new AWS vault shows.
 */
export function vaultInventory(mode: 'live' | 'daily', v: VaultInventoryFields): VaultInventory {
  return mode === 'daily'
    ? { at: v.lastInventoryAt, numberOfArchives: v.inventoryNumberOfArchives, sizeInBytes: v.inventorySizeInBytes }
    : { at: v.lastWriteAt, numberOfArchives: v.numberOfArchives, sizeInBytes: v.sizeInBytes };
}

/** Position in an inventory: the last archive already returned, in (createdAt, archiveId) order. */
export interface InventoryCursor {
  createdAt: number;
  archiveId: string;
}

/**
 * The inventory Marker is opaque to clients (the DG example is 135 characters). Ours is the
 * cursor, base64url-encoded, so that a chain of jobs pages through the vault without server state.
 */
export function encodeInventoryMarker(c: InventoryCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.archiveId]), 'utf8').toString('base64url');
}

export function decodeInventoryMarker(marker: string): InventoryCursor | null {
  if (!/^[A-Za-z0-9_-]{1,1024}$/.test(marker)) return null;
  try {
    const v = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 2) return null;
    const [t, id] = v as [unknown, unknown];
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,200}$/.test(id)) return null;
    return { createdAt: t, archiveId: id };
  } catch {
    return null;
  }
}

/**
 * InventoryRetrievalParameters dates: ISO-8601 UTC, e.g. `2013-03-20T17:03:43Z` (DG api-initiate-job-post).
 * Returns epoch ms, or null when the string is not such a date.
 */
export function parseInventoryDate(s: string): number | null {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(s)) return null;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}
