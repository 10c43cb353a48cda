// What stream management (XEP-0198) keeps per session, and the small pieces every part of it
// shares: the 'h' counts (mod 2^32), the queue of stanzas the client has not acknowledged,
// and the two shapes of <failed/>.
import { x, type Element } from "../../xml/element.js";
import { NS_STANZAS, stanzaErrorElement, type StanzaErrorDef } from "../../core/errors.js";
import type { Server } from "../../core/server.js";
import type { Session } from "../../core/session.js";
import type { HibernationStore } from "./hibernation-store.js";

export const NS_SM = "urn:xmpp:sm:3";
const NS_CLIENT = "jabber:client";
/** 'h' counts wrap at 2^32 (XEP-0198 §5). */
export const H_MOD = 2 ** 32;
export const ACK_REQUEST = `<r xmlns='${NS_SM}'/>`;

declare module "../../core/session.js" {
  interface SessionData {
    /** Set while stream management is enabled on the session. */
    smState?: SmState;
    /** A new stream whose SASL2 <success> resumes a session: completed once <success> is written. */
    smPendingResume?: { st: SmState; h: number };
  }
}

export interface SmState {
  session: Session;
  /** The account, for what is remembered once the session ended. */
  username: string;
  /** The resumption id, when resumption was enabled. Unguessable, and bound to the account. */
  id: string | undefined;
  /** Seconds the session may hibernate. */
  max: number;
  /** Outbound stanzas not acknowledged yet, oldest first. */
  queue: Element[];
  /** The last 'h' the client acknowledged (mod 2^32); acked + queue.length = stanzas sent. */
  acked: number;
  /** session.stanzasIn when SM was enabled: the inbound 'h' is the difference. */
  inBase: number;
  /** An <r/> is on its way or unanswered (since ackRequestedAt): no need for another. */
  ackRequested: boolean;
  ackRequestedAt: number;
  overflowed: boolean;
  /** Set while an idle connection is being probed with <r/>. */
  probe: NodeJS.Timeout | undefined;
}

/** What the parts of the feature share, made once at setup. */
export interface Sm {
  readonly server: Server;
  readonly store: HibernationStore;
  /** Re-routing of unacknowledged stanzas in progress (awaited at shutdown, before storage closes). */
  readonly rerouting: Set<Promise<void>>;
}

export function isStanza(el: Element): boolean {
  const n = el.name;
  return (n === "message" || n === "presence" || n === "iq") && (el.attrs.xmlns === undefined || el.attrs.xmlns === NS_CLIENT);
}

/** An 'h' attribute: an unsigned 32-bit integer. */
export function parseH(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,10}$/.test(v)) return undefined;
  const n = Number(v);
  return n < H_MOD ? n : undefined;
}

/** The inbound count to report: stanzas handled since SM was enabled, mod 2^32. */
export function handled(st: SmState): number {
  return (st.session.stanzasIn - st.inBase) % H_MOD;
}

/** Classic <failed/>: the bare condition element (XEP-0198 §3, §5). */
export function failedClassic(def: StanzaErrorDef, h?: number): Element {
  return x("failed", { xmlns: NS_SM, h }, x(def.condition, { xmlns: NS_STANZAS }));
}

/** <failed/> inside SASL2 <success> or Bind2 <bound>: a whole stanza error (as the reference server does). */
export function failedInline(def: StanzaErrorDef, h?: number): Element {
  return x("failed", { xmlns: NS_SM, h }, stanzaErrorElement(def));
}
