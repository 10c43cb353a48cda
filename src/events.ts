// The features' events, merged into the kernel's map (src/core/events.ts): together they are
// every event of the server. Named for what happened; each says who fires it. A handler's
// payload type comes from here, so a field that nothing sends (or a wrong type) does not build.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Element } from "./xml/element.js";
import type { Session } from "./core/session.js";
import type { JID } from "./core/jid.js";
import type { SaslFailureDef } from "./core/errors.js";
import type { SaslSession } from "./auth/mechanism.js";
import type { ClientRecord, GrantRecord, TokenRecord } from "./storage/types.js";

/** What a SASL2 client says of itself (XEP-0388 <user-agent>). */
export interface UserAgent {
  id?: string;
  software?: string;
  device?: string;
}

/** The SASL2 success pipeline's state (XEP-0388): resume, bind, FAST, tracking fill it in order. */
export interface Sasl2SuccessEvent {
  session: Session;
  request: Element;
  success: Element;
  username: string;
  mechanism: string;
  state: { resumed?: Session; bound?: boolean };
}

/** A mechanism chosen by another feature (FAST's HT-*), or its refusal. */
export type MechanismChoice = { sasl: SaslSession } | { failure: SaslFailureDef };

/** Who did something to an account, for the security history and the log. */
export interface Actor {
  via?: string;
  ip?: string;
}

/** A client or a grant lost its access (clients/revoke.ts). */
export interface ClientRevokedEvent extends Actor {
  username: string;
  clientId?: string;
  grantId?: string;
  /** The client had no client id (legacy SASL). */
  legacy?: boolean;
  /** The app's name, for a grant. */
  name?: string;
}

/**
 * Something a client holds on the account besides its credentials: a push registration, files
 * it uploaded, an archive it syncs. Features that keep such state per client add it to the
 * client list (protocol, shell, account page) through "client-holdings".
 */
export interface ClientHolding {
  /** What it is, for machines: "push", "upload", "archive". */
  kind: string;
  /** The same in plain words, for people: "gets push notifications", "uploaded 3 files (1.2 MB)". */
  text: string;
}

/** An entry for the account's security history (features/security-history.ts). */
export interface HistoryInput {
  username: string;
  kind: string;
  ip?: string;
  data?: Record<string, unknown>;
  /** Add to the latest entry when it is of the same kind (failed logins). */
  coalesce?: boolean;
}

/** One line from the `warden` command on the admin socket: {op, ...args}. */
export interface AdminRequest {
  op: string;
  [arg: string]: unknown;
}

export interface HttpUpgradeEvent {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  /** The port is the HTTPS one. */
  secure: boolean;
  /** The client's address and whether it reached us over TLS (through a trusted proxy too). */
  ip: string;
  https: boolean;
}

declare module "./core/events.js" {
  interface Events {
    // --- logins (src/auth) ---
    /** A mechanism succeeded; an answer (a SASL failure) refuses the login after all. */
    "authentication-success": Hook<{ session: Session; username: string; mechanism: string; sasl2: boolean; request?: Element }, SaslFailureDef>;
    /** A SASL exchange failed (bad password, stale token…). */
    "authentication-failure": Notice<{ session: Session; username?: string; mechanism?: string; sasl2: boolean }>;
    /** A login is complete and its success was sent. */
    authenticated: Notice<{ session: Session; mechanism: string; sasl2: boolean; request?: Element }>;
    /** SASL2's <inline> offer is being built (Bind2, SM, FAST add theirs). */
    "sasl2-inline": Notice<{ session: Session; inline: Element }>;
    /** SASL2 <authenticate> names a mechanism: FAST answers for its HT-* ones. */
    "sasl2-select-mechanism": Hook<{ session: Session; request: Element; mechanism: string; userAgent: UserAgent }, MechanismChoice>;
    /** SASL2 <success> is being built: resume, bind, FAST, tracking, in priority order. */
    "sasl2-success": Notice<Sasl2SuccessEvent>;
    /** SASL2 <success> was written. */
    "sasl2-success-sent": Notice<Sasl2SuccessEvent>;
    /** Bind2's <inline> offer is being built (carbons, CSI, SM). */
    "bind2-inline": Notice<{ session: Session; inline: Element }>;
    /** Bind2 bound a resource: features enabled inline answer into <bound>. */
    "bind2-enable": Notice<{ session: Session; request: Element; bound: Element }>;
    /** A resource was bound (RFC 6120 §7 or Bind2). */
    "resource-bound": Notice<{ session: Session }>;

    // --- IM (src/features) ---
    /** A session sent its first available presence (RFC 6121 §4.2): offline messages follow. */
    "initial-presence": Notice<{ session: Session }>;
    /** A message for an account with no session that takes it: store it, or it bounces. */
    "message/offline": Hook<StanzaEvent>;
    /**
     * A session's available presence, broadcast or directed, is about to be sent
     * (presence/broadcast.ts): features may amend it in place (the vCard photo hash of
     * XEP-0153) before anyone sees it.
     */
    "presence-outgoing": Notice<{ session: Session; presence: Element }>;
    /** A client stored its account's vCard (features/vcard, XEP-0054); `photoChanged` when its photo hash did. */
    "vcard-stored": Notice<{ username: string; vcard: Element; photoChanged: boolean }>;
    /** An account stored an element in its private XML storage (features/private.ts, XEP-0049). */
    "private-stored": Notice<{ username: string; element: Element }>;
    /** A session's connection dropped and it hibernates (XEP-0198 §5), holding `queued` unacknowledged stanzas (stream-management/hibernation.ts). */
    "session-hibernating": Notice<{ session: Session; queued: readonly Element[] }>;

    // --- grants, tokens, clients (src/auth/grants.ts, src/clients) ---
    "grant-created": Notice<{ username: string; grant: GrantRecord }>;
    "grant-revoked": Notice<{ username: string; grantId: string; reason: string }>;
    "token-created": Notice<{ username: string; grantId: string; hash: string; purpose: TokenRecord["purpose"] }>;
    "token-revoked": Notice<{ username: string; grantId: string; hash: string; reason: string }>;
    /** A client logged in for the first time (clients/tracker.ts). */
    "new-client": Notice<{ username: string; client: ClientRecord; session: Session }>;
    "client-revoked": Notice<ClientRevokedEvent>;
    /**
     * The account's clients are being listed (clients/access.ts): each feature adds what a client
     * holds, by the client's record id (clients/access.ts clientIdOf).
     */
    "client-holdings": Notice<{ username: string; hold: (clientId: string, holding: ClientHolding) => void }>;
    /** A revoked client was allowed again. */
    "client-allowed": Notice<Actor & { username: string; clientId: string }>;

    // --- accounts (src/clients/access-service.ts) ---
    /** The password changed; `reset` when it also ended every grant ("sign out everywhere"). */
    "password-changed": Notice<Actor & { username: string; reset?: { connections: number; grants: number } }>;
    "user-deleted": Notice<{ username: string }>;

    // --- the account page and the security history (src/http, src/features/security-*) ---
    /** Record this in the account's security history. */
    "security-history": Notice<HistoryInput>;
    /** An entry was added to an account's security history (the live page refreshes). */
    "security-event": Notice<{ username: string; kind: string }>;
    /** A browser's password check failed (account page, OAuth login form). */
    "login-failed": Notice<{ username: string; ip: string; via: string }>;
    /** An HTTP upgrade request (WebSocket); answered = taken. */
    "http-upgrade": Hook<HttpUpgradeEvent>;

    // --- the admin socket (src/admin/socket.ts) ---
    /** Every admin request, for the log. */
    "admin-command": Notice<AdminRequest>;
    /** `admin/<op>`: the answer is the reply's result; a throw is its error. */
    [admin: `admin/${string}`]: Hook<AdminRequest, unknown>;

    // --- service discovery of an account (src/features/disco.ts) ---
    /** disco#info of an account's bare JID for someone allowed to see it: features add identities. */
    "disco-account-info": Notice<{ username: string; requester: JID; query: Element }>;
    /** disco#items of an account's bare JID for someone allowed to see it: features add items. */
    "disco-account-items": Notice<{ username: string; requester: JID; query: Element }>;

    // --- Personal Eventing (src/features/pep) ---
    /** An item was published to an account's node (`item` is <item id>payload</item>; `config` the node's). */
    "pep-published": Notice<PepEvent & { id: string; item: Element; publisher?: string }>;
    /** An item was retracted; `notify` when subscribers are to hear of it (XEP-0060 §7.2.2.1). */
    "pep-retracted": Notice<PepEvent & { id: string; notify: boolean }>;
    /** A node was deleted with its items (XEP-0060 §8.4). */
    "pep-node-deleted": Notice<PepEvent>;
  }
}

/** What every PEP event carries: whose node, which, and its configuration (as it was). */
export interface PepEvent {
  owner: string;
  node: string;
  config: Record<string, string>;
}
