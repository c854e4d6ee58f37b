/**
 * The metadata storage seam. Every method is one atomic unit of work (one transaction in SQL
 * backends), so that no caller needs a generic transaction API and the SQLite (embedded) and
 * PostgreSQL (scale-out) implementations can both honour it. Methods are async because the
 * PostgreSQL driver is; the SQLite implementation does its work synchronously inside.
 *
 * Times are epoch milliseconds (numbers); conversion to wire formats happens at the edge.
 */

export interface VaultKey {
  accountId: string;
  region: string;
  name: string;
}

export interface VaultRecord extends VaultKey {
  id: number;
  createdAt: number;
  /** Live figures, maintained as archives are added and deleted. */
  numberOfArchives: number;
  sizeInBytes: number;
  /** Last inventory snapshot (null before the first one). */
  lastInventoryAt: number | null;
  inventoryNumberOfArchives: number;
  inventorySizeInBytes: number;
  /** Last time an archive was added or deleted (null if never). */
  lastWriteAt: number | null;
}

export interface NotificationConfig {
  snsTopic: string;
  events: string[];
}

export interface VaultRepo {
  /** Idempotent: returns the existing vault if it exists. `created` says whether it is new. */
  create(key: VaultKey, now: number, maxPerAccount: number): Promise<{ vault: VaultRecord; created: boolean } | { limitExceeded: true }>;
  get(key: VaultKey): Promise<VaultRecord | null>;
  getById(id: number): Promise<VaultRecord | null>;
  /** Vaults of one account and region in ASCII name order, starting at `fromName` (inclusive). */
  list(accountId: string, region: string, fromName: string | null, limit: number): Promise<VaultRecord[]>;
  delete(id: number): Promise<void>;

  getTags(vaultId: number): Promise<Record<string, string>>;
  /** Adds or overwrites; fails (returns false) without change if the result would exceed maxTags. */
  addTags(vaultId: number, tags: Record<string, string>, maxTags: number): Promise<boolean>;
  removeTags(vaultId: number, keys: string[]): Promise<void>;

  getNotifications(vaultId: number): Promise<NotificationConfig | null>;
  setNotifications(vaultId: number, config: NotificationConfig): Promise<void>;
  deleteNotifications(vaultId: number): Promise<void>;

  getAccessPolicy(vaultId: number): Promise<string | null>;
  setAccessPolicy(vaultId: number, policy: string): Promise<void>;
  deleteAccessPolicy(vaultId: number): Promise<void>;
}

export interface AccessKeyRecord {
  accessKeyId: string;
  accountId: string;
  /** null for the account root. */
  userName: string | null;
  secret: string;
  status: 'Active' | 'Inactive';
  createdAt: number;
}

export interface AccountRepo {
  ensureAccount(accountId: string, now: number): Promise<void>;
  getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | null>;
  putAccessKey(key: AccessKeyRecord): Promise<void>;
  /** The root key of the first account created, used to reprint hints at start-up. */
  findRootKeys(): Promise<AccessKeyRecord[]>;

  // Issue #6: accounts, IAM users, their keys and inline identity policies (admin CLI).
  listAccounts(): Promise<{ accountId: string; createdAt: number }[]>;
  accountExists(accountId: string): Promise<boolean>;
  /** false when the user already exists. */
  createUser(accountId: string, userName: string, now: number): Promise<boolean>;
  getUser(accountId: string, userName: string): Promise<UserRecord | null>;
  listUsers(accountId: string): Promise<UserRecord[]>;
  /** Removes the user with its access keys and policies; false when there was no such user. */
  deleteUser(accountId: string, userName: string): Promise<boolean>;
  /** Keys of an account: all of them (undefined), the root's (null) or one user's. */
  listAccessKeys(accountId: string, userName?: string | null): Promise<AccessKeyRecord[]>;
  setAccessKeyStatus(accessKeyId: string, status: 'Active' | 'Inactive'): Promise<boolean>;
  deleteAccessKey(accessKeyId: string): Promise<boolean>;
  /** Adds or replaces the named inline policy of a user (the document is stored byte-exact). */
  putUserPolicy(p: UserPolicyRecord): Promise<void>;
  getUserPolicy(accountId: string, userName: string, policyName: string): Promise<UserPolicyRecord | null>;
  listUserPolicies(accountId: string, userName: string): Promise<UserPolicyRecord[]>;
  deleteUserPolicy(accountId: string, userName: string, policyName: string): Promise<boolean>;
}

export interface UserRecord {
  accountId: string;
  userName: string;
  createdAt: number;
}

export interface UserPolicyRecord {
  accountId: string;
  userName: string;
  policyName: string;
  document: string;
  updatedAt: number;
}

/** Vault lock (issue #6, spec §5.5). */
export interface VaultLockRecord {
  vaultId: number;
  lockId: string;
  policy: string;
  state: 'InProgress' | 'Locked';
  createdAt: number;
  /** InProgress: createdAt + 24 h; Locked: null. */
  expiresAt: number | null;
}

export interface VaultLockRepo {
  /** The lock in force at `now`; an InProgress lock past its expiry counts as none. */
  get(vaultId: number, now: number): Promise<VaultLockRecord | null>;
  /** Installs an InProgress lock unless one is in force (then reports its state). */
  initiate(lock: VaultLockRecord, now: number): Promise<{ ok: true } | { ok: false; state: 'InProgress' | 'Locked' }>;
  complete(vaultId: number, lockId: string, now: number): Promise<'locked' | 'already-locked' | 'wrong-id-locked' | 'wrong-id-in-progress' | 'none'>;
  /** Removes an InProgress lock; 'locked' (and no change) when the lock is Locked. */
  abort(vaultId: number, now: number): Promise<'aborted' | 'none' | 'locked'>;
}

export interface MetadataStore {
  readonly kind: 'sqlite' | 'postgres';
  readonly vaults: VaultRepo;
  readonly accounts: AccountRepo;
  /** Issue #6: vault locks. */
  readonly locks: VaultLockRepo;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Archives and blobs (issue #3). The archives helper owns the implementation and may extend these
// interfaces; the members below are the contract the job system (issue #4) relies on.

export interface ArchiveRecord {
  vaultId: number;
  /** 138 characters of [A-Za-z0-9_-]. */
  archiveId: string;
  size: number;
  /** Hex SHA-256 tree hash of the whole archive. */
  treeHash: string;
  /** '' when none was given (inventory shows "" rather than null). */
  description: string;
  createdAt: number;
  /** Key of the archive's bytes in the BlobStore. */
  blobKey: string;
}

/** Cursor for paging archives in creation order (inventory). */
export interface ArchiveCursor {
  createdAt: number;
  archiveId: string;
}

export interface ArchiveListOptions {
  /** Inclusive lower bound on createdAt. */
  startDate?: number;
  /** Exclusive upper bound on createdAt. */
  endDate?: number;
  /** Return archives strictly after this cursor. */
  after?: ArchiveCursor;
  limit: number;
}

export interface ArchiveRepoContract {
  /** A live (not deleted) archive of this vault, or null. */
  get(vaultId: number, archiveId: string): Promise<ArchiveRecord | null>;
  /** Packed 1 MiB leaf digests (32 bytes each) of the archive, or null if unknown. */
  getLeaves(archiveId: string): Promise<Buffer | null>;
  /** Live archives of a vault in (createdAt, archiveId) order, one page at a time. */
  list(vaultId: number, opts: ArchiveListOptions): Promise<ArchiveRecord[]>;
}

/** Reference counts on blobs: an archive holds one, each job output in its window holds one. */
export interface BlobRefRepoContract {
  retain(blobKey: string): Promise<void>;
  /** Drops one reference; the blob is collected once no reference is left. */
  release(blobKey: string): Promise<void>;
}
