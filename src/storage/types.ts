// The one storage interface every backend implements. Every method is async so that a
// network database (PostgreSQL) can implement it without changing callers; every method
// that changes more than one row does so in a single transaction.

/** SCRAM credentials for one hash: never the password itself (RFC 5802 §3). */
export interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export interface UserRecord {
  username: string; // nodeprep'd local part
  /** Keyed by hash name: "SHA-1", "SHA-256". */
  scram: Record<string, ScramCredential>;
  /** ms since epoch of the last password change; tokens/grants issued before it are invalid. */
  passwordChangedAt: number;
  createdAt: number;
}

export type Subscription = "none" | "to" | "from" | "both";

export interface RosterItem {
  jid: string; // bare JID
  name?: string;
  subscription: Subscription;
  ask?: "subscribe";
  groups: string[];
  /** An inbound subscription request waiting for the user's answer (RFC 6121 §3.1.3). */
  pendingIn?: boolean;
}

export interface OfflineMessage {
  id: number;
  stanza: string; // serialized XML
  storedAt: number;
}

export interface UserStore {
  get(username: string): Promise<UserRecord | undefined>;
  /** Fails with StorageConflictError when the user exists. */
  create(user: UserRecord): Promise<void>;
  /** Replaces credentials and bumps passwordChangedAt. Returns false if no such user. */
  setCredentials(username: string, scram: Record<string, ScramCredential>, changedAt: number): Promise<boolean>;
  /** Deletes the user and everything owned by it (roster, offline messages…) in one transaction. */
  delete(username: string): Promise<boolean>;
  list(): Promise<string[]>;
}

export interface RosterStore {
  get(username: string): Promise<RosterItem[]>;
  getItem(username: string, jid: string): Promise<RosterItem | undefined>;
  /** Inserts or replaces one item; returns the new roster version. */
  setItem(username: string, item: RosterItem): Promise<number>;
  /** Returns the new roster version, or undefined when there was no such item. */
  removeItem(username: string, jid: string): Promise<number | undefined>;
  version(username: string): Promise<number>;
}

export interface OfflineStore {
  /** Returns false when the user's offline queue is full (caller bounces the stanza). */
  push(username: string, stanza: string, storedAt: number): Promise<boolean>;
  /** Returns and deletes all messages, oldest first, in one transaction. */
  popAll(username: string): Promise<OfflineMessage[]>;
  count(username: string): Promise<number>;
}

export interface Storage {
  readonly users: UserStore;
  readonly roster: RosterStore;
  readonly offline: OfflineStore;
  close(): Promise<void>;
}

export class StorageConflictError extends Error {
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = "StorageConflictError";
  }
}
