// SQLite backend. better-sqlite3 is synchronous; the methods are async only to match the
// Storage interface (a sync throw becomes a rejection). The server and the `warden` CLI may
// have the same file open at once, so every transaction that writes is BEGIN IMMEDIATE: a
// deferred transaction that reads and then writes can fail with SQLITE_BUSY in WAL mode
// without the busy handler ever being tried, while IMMEDIATE waits (busy_timeout) for the lock.
import { openSync, closeSync } from "node:fs";
import Database from "better-sqlite3";
import { MIGRATIONS } from "./sqlite-migrations.js";
import { durable } from "./sqlite-durable.js";
import { grantStore } from "./sqlite-grants.js";
import { clientStore } from "./sqlite-clients.js";
import { securityEventStore } from "./sqlite-events.js";
import { pepStore } from "./sqlite-pep.js";
import { blocklistStore, documentStore } from "./sqlite-documents.js";
import { archiveStore } from "./sqlite-archive.js";
import { uploadStore } from "./sqlite-uploads.js";
import { pushStore } from "./sqlite-push.js";
import { inviteStore } from "./sqlite-invites.js";
import {
  StorageConflictError,
  type OfflineMessage,
  type OfflineStore,
  type RosterItem,
  type RosterStore,
  type ScramCredential,
  type Storage,
  type Subscription,
  type UserRecord,
  type UserStore,
  type GrantStore,
  type ClientStore,
  type SecurityEventStore,
  type PepStore,
  type DocumentStore,
  type BlocklistStore,
  type ArchiveStore,
  type UploadStore,
  type PushStore,
  type InviteStore,
} from "./types.js";

export interface SqliteOptions {
  /** Most offline messages kept per user; push() returns false beyond it. 0 disables storage. */
  offlineLimit?: number;
}

/** The file was written by a newer Warden (more migrations than this code knows). */
export class SchemaVersionError extends Error {
  constructor(path: string, found: number, known: number) {
    super(
      `database ${path} has schema version ${found}, but this Warden only knows up to ${known}; ` +
        `it was written by a newer Warden: upgrade Warden (or restore a backup) instead of downgrading`,
    );
    this.name = "SchemaVersionError";
  }
}

export function openSqlite(path: string, options: SqliteOptions = {}): SqliteStorage {
  return SqliteStorage.open(path, options);
}

type Db = Database.Database;

function userVersion(db: Db): number {
  return db.pragma("user_version", { simple: true }) as number;
}

function migrate(db: Db, path: string): void {
  const check = (v: number): void => {
    if (v > MIGRATIONS.length) throw new SchemaVersionError(path, v, MIGRATIONS.length);
  };
  check(userVersion(db));
  // Re-read the version under the write lock: another process may have migrated meanwhile.
  const step = db.transaction((): boolean => {
    const v = userVersion(db);
    check(v);
    if (v === MIGRATIONS.length) return false;
    db.exec(MIGRATIONS[v]!);
    const broken = db.pragma("foreign_key_check") as unknown[];
    if (broken.length > 0) throw new Error(`migration ${v + 1} left ${broken.length} foreign key violation(s)`);
    db.pragma(`user_version = ${v + 1}`); // part of the transaction: a crash leaves the old version
    return true;
  });
  while (userVersion(db) < MIGRATIONS.length && step.immediate()) {
    /* one migration per transaction */
  }
}

/** Creates the file owner-only before SQLite does: it holds SCRAM keys, which permit
 * offline password guessing (StoredKey) and impersonating the server (ServerKey). SQLite
 * gives the -wal and -shm files the same mode as the database file. */
function createPrivate(path: string): void {
  if (path === ":memory:" || path === "") return;
  try {
    closeSync(openSync(path, "wx", 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

export class SqliteStorage implements Storage {
  readonly users: UserStore;
  readonly roster: RosterStore;
  readonly offline: OfflineStore;
  readonly grants: GrantStore;
  readonly clients: ClientStore;
  readonly events: SecurityEventStore;
  readonly pep: PepStore;
  readonly documents: DocumentStore;
  readonly blocklist: BlocklistStore;
  readonly archive: ArchiveStore;
  readonly uploads: UploadStore;
  readonly push: PushStore;
  readonly invites: InviteStore;

  static open(path: string, options: SqliteOptions = {}): SqliteStorage {
    createPrivate(path);
    const db = new Database(path);
    try {
      // First, so that the pragmas and migrations below wait for the other process.
      db.pragma("busy_timeout = 5000");
      db.pragma("journal_mode = WAL");
      // NORMAL by default, FULL for the writes that protect an account (see `durable`). In
      // WAL mode both survive a process crash (kill -9) with every committed transaction, since
      // the WAL is written to the OS before COMMIT returns; NORMAL only fsyncs at checkpoints,
      // so a power loss or OS crash can roll back the latest commits. For last-seen times and
      // roster edits that is acceptable, and an fsync per login (better-sqlite3 blocks the event
      // loop while it waits) is not: it was a quarter of a login's cost. A password change, an
      // account deletion or a revocation must never come back, so those commit with FULL.
      db.pragma("synchronous = NORMAL");
      migrate(db, path);
      // Outside any transaction (SQLite ignores it inside one) and after migrations (see
      // sqlite-migrations.ts); per connection, so every process that opens the file sets it.
      db.pragma("foreign_keys = ON");
      return new SqliteStorage(db, options.offlineLimit ?? 1000);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private constructor(
    private readonly db: Db,
    offlineLimit: number,
  ) {
    this.users = userStore(db);
    this.roster = rosterStore(db);
    this.offline = offlineStore(db, offlineLimit);
    this.grants = grantStore(db);
    this.clients = clientStore(db);
    this.events = securityEventStore(db);
    this.pep = pepStore(db);
    this.documents = documentStore(db);
    this.blocklist = blocklistStore(db);
    this.archive = archiveStore(db);
    this.uploads = uploadStore(db);
    this.push = pushStore(db);
    this.invites = inviteStore(db);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

interface CredentialRow {
  hash: string;
  salt: Buffer;
  iterations: number;
  stored_key: Buffer;
  server_key: Buffer;
}

function userStore(db: Db): UserStore {
  const selectUser = db.prepare<[string], { created_at: number; password_changed_at: number }>(
    "SELECT created_at, password_changed_at FROM users WHERE username = ?",
  );
  const selectCreds = db.prepare<[string], CredentialRow>("SELECT hash, salt, iterations, stored_key, server_key FROM scram_credentials WHERE username = ?");
  const insertUser = db.prepare("INSERT INTO users (username, created_at, password_changed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
  const touchPassword = db.prepare("UPDATE users SET password_changed_at = ? WHERE username = ?");
  const deleteCreds = db.prepare("DELETE FROM scram_credentials WHERE username = ?");
  const insertCred = db.prepare("INSERT INTO scram_credentials (username, hash, salt, iterations, stored_key, server_key) VALUES (?, ?, ?, ?, ?, ?)");
  const deleteUser = db.prepare("DELETE FROM users WHERE username = ?");
  const listUsers = db.prepare<[], string>("SELECT username FROM users ORDER BY username").pluck();

  const insertCreds = (username: string, scram: Record<string, ScramCredential>): void => {
    for (const [hash, c] of Object.entries(scram)) {
      insertCred.run(username, hash, c.salt, c.iterations, c.storedKey, c.serverKey);
    }
  };

  // Deferred (read-only): both SELECTs see one snapshot even if the CLI writes in between.
  const get = db.transaction((username: string): UserRecord | undefined => {
    const row = selectUser.get(username);
    if (!row) return undefined;
    const scram: Record<string, ScramCredential> = {};
    for (const c of selectCreds.all(username)) {
      scram[c.hash] = { salt: c.salt, iterations: c.iterations, storedKey: c.stored_key, serverKey: c.server_key };
    }
    return { username, scram, passwordChangedAt: row.password_changed_at, createdAt: row.created_at };
  });
  const create = db.transaction((user: UserRecord): void => {
    if (insertUser.run(user.username, user.createdAt, user.passwordChangedAt).changes === 0) {
      throw new StorageConflictError(`user ${user.username}`);
    }
    insertCreds(user.username, user.scram);
  });
  const setCredentials = db.transaction((username: string, scram: Record<string, ScramCredential>, changedAt: number): boolean => {
    if (touchPassword.run(changedAt, username).changes === 0) return false;
    deleteCreds.run(username);
    insertCreds(username, scram);
    return true;
  });

  const deleteGrants = db.prepare<[string], string>("DELETE FROM grants WHERE username = ? RETURNING id").pluck();
  const resetCredentials = db.transaction((username: string, scram: Record<string, ScramCredential>, changedAt: number): string[] | undefined =>
    setCredentials(username, scram, changedAt) ? deleteGrants.all(username) : undefined,
  );

  return {
    get: async (username) => get(username),
    create: async (user) => create.immediate(user),
    setCredentials: async (username, scram, changedAt) => durable(db, () => setCredentials.immediate(username, scram, changedAt)),
    resetCredentials: async (username, scram, changedAt) => durable(db, () => resetCredentials.immediate(username, scram, changedAt)),
    // One statement, hence one transaction; ON DELETE CASCADE removes credentials, roster, offline.
    delete: async (username) => durable(db, () => deleteUser.run(username).changes > 0),
    list: async () => listUsers.all(),
  };
}

interface RosterRow {
  jid: string;
  name: string | null;
  subscription: Subscription;
  ask: "subscribe" | null;
  pending_in: number;
  groups: string;
}

function toItem(r: RosterRow): RosterItem {
  const item: RosterItem = { jid: r.jid, subscription: r.subscription, groups: JSON.parse(r.groups) as string[] };
  if (r.name !== null) item.name = r.name;
  if (r.ask !== null) item.ask = r.ask;
  if (r.pending_in) item.pendingIn = true;
  return item;
}

function rosterStore(db: Db): RosterStore {
  const cols = "jid, name, subscription, ask, pending_in, groups";
  const selectAll = db.prepare<[string], RosterRow>(`SELECT ${cols} FROM roster_items WHERE username = ? ORDER BY jid`);
  const selectOne = db.prepare<[string, string], RosterRow>(`SELECT ${cols} FROM roster_items WHERE username = ? AND jid = ?`);
  const upsert = db.prepare(
    `INSERT INTO roster_items (username, ${cols}) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (username, jid) DO UPDATE SET name = excluded.name, subscription = excluded.subscription,
       ask = excluded.ask, pending_in = excluded.pending_in, groups = excluded.groups`,
  );
  const deleteOne = db.prepare("DELETE FROM roster_items WHERE username = ? AND jid = ?");
  const bump = db.prepare<[string], number>("UPDATE users SET roster_version = roster_version + 1 WHERE username = ? RETURNING roster_version").pluck();
  const selectVersion = db.prepare<[string], number>("SELECT roster_version FROM users WHERE username = ?").pluck();

  const bumpVersion = (username: string): number => {
    const v = bump.get(username);
    if (v === undefined) throw new Error(`no such user: ${username}`);
    return v;
  };
  const setItem = db.transaction((username: string, item: RosterItem): number => {
    const version = bumpVersion(username);
    upsert.run(username, item.jid, item.name ?? null, item.subscription, item.ask ?? null, item.pendingIn ? 1 : 0, JSON.stringify(item.groups));
    return version;
  });
  const removeItem = db.transaction((username: string, jid: string): number | undefined =>
    deleteOne.run(username, jid).changes === 0 ? undefined : bumpVersion(username),
  );

  return {
    get: async (username) => selectAll.all(username).map(toItem),
    getItem: async (username, jid) => {
      const row = selectOne.get(username, jid);
      return row && toItem(row);
    },
    setItem: async (username, item) => setItem.immediate(username, item),
    removeItem: async (username, jid) => removeItem.immediate(username, jid),
    version: async (username) => selectVersion.get(username) ?? 0,
  };
}

function offlineStore(db: Db, limit: number): OfflineStore {
  // One statement, so the count and the insert are atomic across processes. Selecting from
  // users makes a push for a missing user (deleted meanwhile) a no-op instead of an FK error.
  const push = db.prepare(
    `INSERT INTO offline_messages (username, stanza, stored_at)
     SELECT username, ?, ? FROM users
     WHERE username = ? AND (SELECT count(*) FROM offline_messages WHERE username = users.username) < ?`,
  );
  // RETURNING order is unspecified; sorted by id below.
  const popAll = db.prepare<[string], { id: number; stanza: string; stored_at: number }>(
    "DELETE FROM offline_messages WHERE username = ? RETURNING id, stanza, stored_at",
  );
  const count = db.prepare<[string], number>("SELECT count(*) FROM offline_messages WHERE username = ?").pluck();

  return {
    push: async (username, stanza, storedAt) => push.run(stanza, storedAt, username, limit).changes > 0,
    popAll: async (username): Promise<OfflineMessage[]> =>
      popAll
        .all(username)
        .sort((a, b) => a.id - b.id)
        .map((r) => ({ id: r.id, stanza: r.stanza, storedAt: r.stored_at })),
    count: async (username) => count.get(username) ?? 0,
  };
}
