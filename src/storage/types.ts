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
  /**
   * Like setCredentials, and in the same transaction deletes every grant of the user (with
   * its tokens): "change password and sign out everywhere else". Returns the ids of the
   * grants deleted, or undefined if no such user.
   */
  resetCredentials(username: string, scram: Record<string, ScramCredential>, changedAt: number): Promise<string[] | undefined>;
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

/**
 * A grant: the account owner's permission for one client (a FAST client, an OAuth app) to
 * access the account. It holds tokens; revoking it revokes them all.
 */
export interface GrantRecord {
  id: string;
  username: string;
  /** What created it: "fast" (a SASL2 client's FAST tokens) or "oauth". */
  kind: string;
  /** The SASL2 client id the grant belongs to, when there is one. */
  clientId?: string;
  createdAt: number;
  accessedAt: number;
  expiresAt?: number;
  data: GrantData;
}

/**
 * What a grant says of itself, stored as JSON. FAST grants: the client's software and device.
 * OAuth grants: the app's name, URI and software, the hash of its client id, the scopes.
 */
export interface GrantData {
  software?: string;
  device?: string;
  clientName?: string;
  clientUri?: string;
  clientIdHash?: string;
  softwareId?: string;
  softwareVersion?: string;
  /** Space-separated scopes granted. */
  scopes?: string;
  /** The scopes are narrower than full access ("xmpp"). */
  restricted?: boolean;
}

export interface TokenRecord {
  /** Hex SHA-256 of the token string: the only form in which a token is looked up. */
  hash: string;
  grantId: string;
  username: string;
  /** "fast", "oauth2", "oauth2-refresh", … */
  purpose: string;
  role?: string;
  /** FAST two-slot rotation (XEP-0484 implementation notes). */
  slot?: "new" | "cur";
  /** FAST: the HT mechanism the token is bound to. */
  mechanism?: string;
  createdAt: number;
  expiresAt?: number;
  /** Encrypted secret, only where the protocol needs it back (FAST's HMAC key). */
  secret?: Buffer;
  /** FAST: the highest `count` seen, for replay protection. */
  lastCount?: number;
  /** OAuth: the scopes of this token, when narrower than its grant's. */
  data?: { scope?: string };
}

export interface GrantStore {
  create(grant: GrantRecord): Promise<void>;
  get(username: string, id: string): Promise<GrantRecord | undefined>;
  list(username: string): Promise<GrantRecord[]>;
  findByClient(username: string, kind: string, clientId: string): Promise<GrantRecord | undefined>;
  /** Moves accessedAt forward (never back). */
  touch(username: string, id: string, at: number): Promise<void>;
  /** Deletes the grant and all its tokens in one transaction; false when there was none. */
  revoke(username: string, id: string): Promise<boolean>;
  /** Adds a token; with a slot, any token already in that slot of the grant is replaced (one transaction). */
  addToken(token: TokenRecord): Promise<void>;
  tokens(grantId: string): Promise<TokenRecord[]>;
  /** Every token of an account (without secrets), for listing many clients at once. */
  userTokens(username: string): Promise<TokenRecord[]>;
  getToken(hash: string): Promise<TokenRecord | undefined>;
  deleteToken(hash: string): Promise<boolean>;
  /** OAuth refresh rotation: deletes `hash` and adds `tokens` in one transaction; false, with nothing written, when `hash` was already gone. */
  replaceToken(hash: string, tokens: TokenRecord[]): Promise<boolean>;
  /** FAST: moves a "new" token to the "cur" slot, replacing the old "cur" (one transaction). */
  promoteToken(hash: string): Promise<void>;
  /** Records `count` only when it is higher than any seen; false for a replayed or lower count. */
  advanceCount(hash: string, count: number): Promise<boolean>;
  /** Deletes expired tokens, expired grants, and grants created before their owner's last password change. Returns grants deleted. */
  purge(now: number): Promise<Array<{ username: string; id: string }>>;
}

/** What is known of a client's software and device (frozen at first sight, as in the reference). */
export interface ClientUserAgent {
  software?: string;
  softwareId?: string;
  softwareVersion?: string;
  uri?: string;
  device?: string;
}

/** A client that has logged in to an account: a SASL2 client by its client id, a legacy one by its resource. */
export interface ClientRecord {
  username: string;
  /** The SASL2 <user-agent id>, or a random id for a legacy client. */
  id: string;
  legacy: boolean;
  firstSeen: number;
  lastSeen: number;
  /** Last full JID bound by the client. */
  fullJid?: string;
  /** Mechanism name → last time it succeeded. */
  mechanisms: Record<string, number>;
  /** Last time the client logged in with a FAST token. */
  fastAuth?: number;
  /** The grant of the token it last logged in with (OAUTHBEARER). */
  grantId?: string;
  userAgent?: ClientUserAgent;
  lastIp?: string;
  /** When access was revoked; a later password change clears its effect. */
  revokedAt?: number;
}

export interface ClientStore {
  get(username: string, id: string): Promise<ClientRecord | undefined>;
  list(username: string): Promise<ClientRecord[]>;
  /** A legacy client by the full JID it bound. */
  findLegacy(username: string, fullJid: string): Promise<ClientRecord | undefined>;
  /** Inserts or replaces; true when the record is new. */
  put(record: ClientRecord): Promise<boolean>;
  /** Moves lastSeen forward (never back). */
  touch(username: string, id: string, at: number): Promise<void>;
  /** Deletes records last seen before `before` whose ids are not in `keep`; returns how many. */
  purge(before: number, keep: Array<{ username: string; id: string }>): Promise<number>;
  /** Forgets every stored IP address (client_ip_tracking is off); returns how many records held one. */
  forgetIps(): Promise<number>;
}

/** One entry of an account's security history (shown on the account page). */
export interface SecurityEvent {
  id: number;
  username: string;
  /** ms since epoch; for coalesced failed logins, the latest one. */
  at: number;
  /** "new-client", "client-revoked", "password-changed", "login-failed", "account-login", "signed-out-others", "new-grant". */
  kind: string;
  /** Where it came from (the latest address for coalesced failures), when IP tracking is on. */
  ip?: string;
  /** How many times it happened in a row (failed logins); 1 otherwise. */
  count: number;
  /** The first occurrence of a coalesced run. */
  firstAt: number;
  /** Free-form, JSON-serialisable details: client name, device, mechanism, via. */
  data: Record<string, unknown>;
}

export interface SecurityEventStore {
  /** Records an event (ignored when the account does not exist); true when recorded. */
  add(event: Omit<SecurityEvent, "id" | "count" | "firstAt">): Promise<boolean>;
  /** Like add, but when the account's latest event is of the same kind its count goes up instead (failed logins). */
  addCoalesced(event: Omit<SecurityEvent, "id" | "count" | "firstAt">): Promise<boolean>;
  /** The newest `limit` events of an account, newest first. */
  list(username: string, limit: number): Promise<SecurityEvent[]>;
  /** Deletes events older than `before` (ms); returns how many. */
  purge(before: number): Promise<number>;
}

export interface Storage {
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
  close(): Promise<void>;
}

export class StorageConflictError extends Error {
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = "StorageConflictError";
  }
}

// --- Personal Eventing (XEP-0163): each account's nodes and their items ---

/** A PEP node: its owner (an account), its name, and its configuration (XEP-0060 field → value). */
export interface PepNodeRecord {
  owner: string;
  node: string;
  config: Record<string, string>;
}

/** An item of a PEP node; `payload` is the item's XML as published. */
export interface PepItemRecord {
  id: string;
  payload: string;
  /** The publisher's full JID. */
  publisher?: string;
  /** ms since epoch. */
  publishedAt: number;
}

export interface PepStore {
  getNode(owner: string, node: string): Promise<PepNodeRecord | undefined>;
  /** The account's nodes, by name. */
  listNodes(owner: string): Promise<PepNodeRecord[]>;
  /** Creates a node unless it exists or the owner already has `maxNodes` (or does not exist). */
  createNode(record: PepNodeRecord, maxNodes: number): Promise<"created" | "exists" | "limit">;
  /** Replaces the configuration and keeps only the newest `keep` items; false when there is no such node. */
  setConfig(owner: string, node: string, config: Record<string, string>, keep: number): Promise<boolean>;
  /** Deletes the node and its items; false when there was none. */
  deleteNode(owner: string, node: string): Promise<boolean>;
  /** Adds an item as the newest (replacing one of the same id), then keeps only the newest `keep`. */
  putItem(owner: string, node: string, item: PepItemRecord, keep: number): Promise<void>;
  /** The newest items first, at most `max`. */
  items(owner: string, node: string, max: number): Promise<PepItemRecord[]>;
  /** The items of these ids that exist, newest first. */
  itemsById(owner: string, node: string, ids: string[]): Promise<PepItemRecord[]>;
  /** Removes one item; false when it was not there. */
  retract(owner: string, node: string, id: string): Promise<boolean>;
}

// --- Per-account XML documents and the blocklist (vCard XEP-0054, private XML XEP-0049, blocking XEP-0191) ---

/**
 * Small XML documents an account keeps on the server, by kind ("vcard", "private") and key
 * (empty for the vCard, the namespace for private XML): stored as serialised XML.
 */
export interface DocumentStore {
  get(username: string, kind: string, key: string): Promise<string | undefined>;
  /**
   * Inserts or replaces one document. False when the account does not exist, or when the key
   * is new and the account already has `maxKeys` documents of that kind.
   */
  put(username: string, kind: string, key: string, xml: string, maxKeys: number): Promise<boolean>;
  /** True when there was one. */
  delete(username: string, kind: string, key: string): Promise<boolean>;
}

/** The JIDs an account blocks (XEP-0191), as normalised strings: full, bare or domain. */
export interface BlocklistStore {
  list(username: string): Promise<string[]>;
  /**
   * Adds JIDs in one transaction; returns those that were not there yet, or undefined (and
   * adds nothing) when the list would grow past `max` or the account does not exist.
   */
  add(username: string, jids: string[], max: number): Promise<string[] | undefined>;
  /** Removes the given JIDs, or every one when `jids` is undefined; returns those removed. */
  remove(username: string, jids?: string[]): Promise<string[]>;
  /** The accounts whose list holds any of these JIDs (exactly as stored). */
  blockers(jids: string[]): Promise<string[]>;
}

// --- The message archive (XEP-0313, src/features/mam/) ---

/** One archived message: `id` is the opaque archive id, also sent as the XEP-0359 stanza-id. */
export interface ArchivedMessage {
  id: string;
  /** The other party's bare JID, and its resource when it had one. */
  with: string;
  withResource?: string;
  /** When it was archived, ms since epoch. */
  at: number;
  /** The message as received (serialized XML). */
  stanza: string;
}

/**
 * A page request (XEP-0313 §4, XEP-0059). Id bounds are exclusive; the ids are the archive's own.
 */
export interface ArchiveQuery {
  with?: string;
  withResource?: string;
  /** Inclusive time bounds, ms. */
  start?: number;
  end?: number;
  /** The form's after-id / before-id: part of the result set. */
  afterId?: string;
  beforeId?: string;
  ids?: string[];
  /** RSM <after/> / <before/>: which page of the result set. */
  pageAfter?: string;
  pageBefore?: string;
  max: number;
  /** The page at the end of the set (RSM <before/>, empty or not). */
  fromEnd?: boolean;
  /** Also count the whole result set (RSM <count/>). */
  count?: boolean;
}

export interface ArchivePage {
  /** Oldest first. */
  items: ArchivedMessage[];
  /** No more matching messages beyond this page, in the direction of paging. */
  complete: boolean;
  count?: number;
}

/** Archiving preferences (XEP-0313 §6): a default and bare JIDs always or never archived. */
export interface ArchivePrefs {
  default: "always" | "never" | "roster";
  always: string[];
  never: string[];
}

export interface ArchiveStore {
  /** Appends a message; false when the account does not exist. */
  append(username: string, message: ArchivedMessage): Promise<boolean>;
  /** A page of the archive, or "item-not-found" when an id of the query is not in it. */
  query(username: string, q: ArchiveQuery): Promise<ArchivePage | "item-not-found">;
  /** The oldest and the newest message (archive metadata). */
  bounds(username: string): Promise<{ first: ArchivedMessage; last: ArchivedMessage } | undefined>;
  getPrefs(username: string): Promise<ArchivePrefs | undefined>;
  setPrefs(username: string, prefs: ArchivePrefs): Promise<void>;
  /** Deletes at most `limit` messages archived before `before` (ms); returns how many. */
  purge(before: number, limit: number): Promise<number>;
  /** Records that a client (its client record id) queried the archive at `at`. */
  markSynced(username: string, clientId: string, at: number): Promise<void>;
  /** Client record id → last query time. */
  synced(username: string): Promise<Map<string, number>>;
}

/** An HTTP upload (XEP-0363): a slot until its file is stored, then the stored file's record. */
export interface UploadRecord {
  /** Random and unguessable: the file's URL is /upload/<id>/<filename>, readable by whoever has it. */
  id: string;
  username: string;
  /** The uploading client's record id (clients/access.ts clientIdOf). */
  clientId?: string;
  filename: string;
  size: number;
  /** Normalised: lower-case type/subtype without parameters. */
  contentType: string;
  /** SHA-256 (hex) of the slot's PUT token; the token itself is never stored. */
  tokenHash: string;
  createdAt: number;
  /** The PUT must start before this. */
  slotExpiresAt: number;
  /** The slot's client was revoked before the file was stored. */
  revoked: boolean;
  /** When the file was stored; absent while this is a slot. */
  uploadedAt?: number;
  /** When the file (or the unused slot) is deleted. */
  expiresAt: number;
}

export type UploadRefusal = "daily-quota" | "global-quota";

export interface UploadStore {
  /**
   * Adds a slot unless the account's uploads created since `since` (slots included) plus this
   * one exceed `daily`, or every file and slot plus this one exceeds `global` (one transaction).
   */
  addSlot(rec: UploadRecord, quota: { since: number; daily: number; global?: number }): Promise<UploadRefusal | undefined>;
  get(id: string): Promise<UploadRecord | undefined>;
  /** Marks a slot as being written; false when it is gone, stored, revoked, expired or already being written. */
  claim(id: string, now: number): Promise<boolean>;
  /** Ends the claim of a PUT that failed, so the slot may be written again. */
  release(id: string): Promise<void>;
  /** Records the file as stored; false when the slot was revoked or deleted meanwhile. */
  complete(id: string, at: number): Promise<boolean>;
  /** Revokes a client's slots that hold no file yet; returns how many. */
  revokeSlots(username: string, clientId: string): Promise<number>;
  /** Stored files per client of an account: how many, how many bytes. */
  perClient(username: string): Promise<Array<{ clientId: string; files: number; bytes: number }>>;
  /** Deletes the records of expired files and of slots unused by `slotsBefore`; returns their ids. */
  purge(now: number, slotsBefore: number): Promise<string[]>;
  /** Which of these ids still have a record (files of the others are orphans). */
  existing(ids: string[]): Promise<Set<string>>;
}

/** A client's push registration (XEP-0357 §5): where its app server wants to be told of new messages. */
export interface PushRegistration {
  username: string;
  /** The client record it belongs to (clients/access.ts clientIdOf): one registration per client. */
  clientId: string;
  /** The app server's XMPP push service, and the node it gave this device. */
  jid: string;
  node: string;
  /** The publish-options form's fields (FORM_TYPE left out), sent with every notification: the app server's secret. */
  options: Array<{ name: string; values: string[] }>;
  createdAt: number;
}

export interface PushStore {
  /**
   * Stores the client's registration, replacing any it had and any other client's for the same
   * service and node; false (and nothing changed) when the account's other clients already hold
   * `max` registrations.
   */
  put(reg: PushRegistration, max: number): Promise<boolean>;
  get(username: string, clientId: string): Promise<PushRegistration | undefined>;
  list(username: string): Promise<PushRegistration[]>;
  /** Deletes the registrations of the account for this service (and node, when given); returns their client ids. */
  disable(username: string, jid: string, node?: string): Promise<string[]>;
  /** Deletes one client's registration; true when it had one. */
  remove(username: string, clientId: string): Promise<boolean>;
  /** Deletes every registration of the account; returns how many. */
  removeAll(username: string): Promise<number>;
}

// --- Invitations (XEP-0401 / XEP-0445 / XEP-0379): src/auth/invites.ts, src/features/register/ ---

/** What an invitation lets its holder do. */
export type InviteKind = "account" | "reset" | "roster";

/** An invitation: only the SHA-256 of its token is kept, so the database alone cannot redeem it. */
export interface InviteRecord {
  /** Short public name, for `warden invite list|revoke` (not the token). */
  id: string;
  /** SHA-256 of the token, hex. */
  hash: string;
  kind: InviteKind;
  /** reset: the account whose password it sets; roster: the inviter; account: none. */
  username?: string;
  createdAt: number;
  expiresAt: number;
}

export interface InviteStore {
  create(invite: InviteRecord): Promise<void>;
  /** The invitation with this token hash, also when expired (the caller tells the two apart). */
  get(hash: string): Promise<InviteRecord | undefined>;
  /** Deletes it and returns it in one step, only while unexpired at `now`: what makes it single-use. */
  take(hash: string, now: number): Promise<InviteRecord | undefined>;
  list(): Promise<InviteRecord[]>;
  /** By public id; true when there was one. */
  delete(id: string): Promise<boolean>;
  /** Deletes invitations that expired before `before`; returns how many. */
  purge(before: number): Promise<number>;
}
