// What a client session is to the features: its identity, its state, and what may be done to
// it. The kernel's ClientStream (src/core/stream.ts) is the one implementation; features use
// only this interface, so they never reach into the stream's parser or connection handling.
import type { Logger } from "pino";
import type { Element } from "../xml/element.js";
import type { StreamErrorDef } from "./errors.js";
import type { Transport } from "./transport.js";
import type { JID } from "./jid.js";

export const NS_CLIENT = "jabber:client";

/**
 * Per-session fields, typed: the kernel's are here, and each feature declares the fields it
 * keeps by merging them into this interface from its own file (as fastify's decorators):
 *   declare module "../core/session.js" { interface SessionData { carbons?: boolean } }
 * Every field is optional: a session gets it when the feature first sets it.
 */
export interface SessionData {
  /** How the client connects, when not plain TCP: "websocket". */
  transport?: string;
}

export type OutFilter = (el: Element) => Element | null;

/** Stream management (XEP-0198) hooks, set on a session by features/stream-management.ts once SM is enabled. */
export interface SmHooks {
  /** The connection dropped with no stream close from either side: true keeps the session, hibernating, instead of ending it. */
  onAbruptClose(): boolean;
  /** The connection was silent for c2s_idle_timeout: true when handled (SM probes it with <r/>) instead of closing it. */
  onIdle(): boolean;
}

export interface Session {
  readonly id: string;
  readonly createdAt: number;
  /** The client's address: the socket's, or the one a trusted proxy vouched for. */
  ip: string;
  streamId: string;
  /** Set once SASL succeeds. */
  username: string | undefined;
  /** Set once a resource is bound. */
  resource: string | undefined;
  jid: JID | undefined;
  /** How the session authenticated (mechanism name), for client management. */
  authMechanism: string | undefined;
  /** The client's last available presence (undefined = not available). */
  presence: Element | undefined;
  priority: number;
  /** What features keep per session: each declares its own fields. */
  readonly data: SessionData;
  /** Outbound filters (stream management counts and queues here). */
  outFilters: OutFilter[] | undefined;
  /** Stanzas (message, presence, iq) received from the client: XEP-0198's inbound count. */
  stanzasIn: number;
  /** Stream management hooks (set once SM is enabled). */
  sm: SmHooks | undefined;
  /**
   * XEP-0198: the connection is gone but the session lives on (still bound, still receiving
   * stanzas into the SM queue) until it is resumed or its hibernation ends (then close()).
   */
  hibernating: boolean;
  readonly closed: boolean;
  /** The connection. Replaced only when stream management resumes this session on a new one. */
  readonly transport: Transport;
  readonly log: Logger;
  readonly secure: boolean;
  readonly authenticated: boolean;
  readonly bound: boolean;
  readonly bareJid: string;

  /** Sends <stream:features/>, filled by every feature that has something to offer at this stage. */
  sendFeatures(): Promise<void>;
  /** Expects a new stream header on the same transport (after STARTTLS or legacy SASL). */
  restartStream(): void;
  /** Called once SASL succeeded. */
  markAuthenticated(username: string, mechanism: string): void;
  /** Sends a stanza or nonza. Stanzas pass the outbound filters (stream management). */
  send(el: Element): void;
  /** Holds stanzas back (SASL2: a resource is bound before <success> is written). */
  holdOutput(): void;
  /** Writes `first` (the <success>), then whatever was held back. */
  releaseOutput(first?: Element): void;
  /** Writes raw, already-serialised XML (no filters): for nonzas on the hot path. */
  sendRaw(xml: string): void;
  /** Closes the stream, with a stream error when given. Safe to call more than once. */
  close(error?: StreamErrorDef, text?: string): void;
  /** XEP-0198: drops the connection but keeps the session, hibernating (a resumption is taking over). */
  detachTransport(error: StreamErrorDef): void;
  /** XEP-0198: this hibernating session takes over the connection of `fresh`, which ends without a session-closed event. */
  takeOver(fresh: Session): void;
}
