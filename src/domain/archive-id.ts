import { SORTABLE_ALPHABET, encodeSortable, randomChars } from './ids.js';

/**
 * Milliseconds in 7 sortable characters (64^7 ms reaches the year 2109). Not the 9 of
 * `timeOrderedId`: those start with "--" today, and the aws CLI then takes `--upload-id --P7…`
 * or `--archive-id --P7…` for an option and refuses the command.
 */
const TIME_CHARS = 7;

/**
 * Archive ids: 138 characters of [A-Za-z0-9_-] (DG data model: "Archive IDs are 138 bytes").
 * Layout: 7 characters of millisecond time (inserts land at the end of the index), 6 characters
 * of the vault's id, 125 random characters (~750 bits, so two uploads of the same bytes never
 * share an id). Encoding the vault lets DeleteArchive tell "an archive of another vault" apart
 * from "no such archive", as AWS does (DG api-archive-delete: `Invalid vault name: <vault ARN>`).
 */
export const ARCHIVE_ID_LENGTH = 138;
const VAULT_CHARS = 6;
export const ARCHIVE_ID_RE = /^[A-Za-z0-9_-]{138}$/;

export function newArchiveId(nowMs: number, vaultId: number): string {
  return encodeSortable(nowMs, TIME_CHARS) + encodeSortable(vaultId, VAULT_CHARS) + randomChars(ARCHIVE_ID_LENGTH - TIME_CHARS - VAULT_CHARS);
}

/** Multipart upload ids: 92 characters (DG api-multipart-initiate-upload), time-ordered like archive ids. */
export function newUploadId(nowMs: number): string {
  return encodeSortable(nowMs, TIME_CHARS) + randomChars(92 - TIME_CHARS);
}

/** The vault id encoded in a well-formed archive id, or null when the id is malformed. */
export function archiveIdVault(archiveId: string): number | null {
  if (!ARCHIVE_ID_RE.test(archiveId)) return null;
  let v = 0;
  for (const ch of archiveId.slice(TIME_CHARS, TIME_CHARS + VAULT_CHARS)) v = v * 64 + SORTABLE_ALPHABET.indexOf(ch);
  return v;
}
