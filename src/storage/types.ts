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
  readonly push: PushStore;
  close(): Promise<void>;
}

export class StorageConflictError extends Error {
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = "StorageConflictError";
  }
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
