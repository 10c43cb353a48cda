// The kernel's events: what happens on a stream and to a stanza, named the way Prosody names
// its module events (`iq-get/self/<ns>:<name>`). The events of the features (logins, grants,
// revocations, the account page…) are declared in src/events.ts, merged into the same map,
// so that the bus checks every name and payload at compile time while the kernel imports no
// feature. Two kinds of events:
// - a notice (Bus.emit): every handler runs, one failing does not stop the others;
// - a hook (Bus.fire): handlers run by priority until one returns a value; that value is the
//   event's answer ("handled", or a refusal), undefined when none answered.
import type { Element } from "../xml/element.js";
import type { JID } from "./jid.js";
import type { Session } from "./session.js";
import type { StreamErrorDef } from "./errors.js";

/** An event every handler hears; its handlers' return values are ignored. */
export interface Notice<P> {
  payload: P;
  result: void;
}
/** An event the first answering handler ends; R is what an answer is. */
export interface Hook<P, R = boolean> {
  payload: P;
  result: R;
}

/** A stanza on its way: `origin` is absent for stanzas the server itself sends. */
export interface StanzaEvent {
  stanza: Element;
  origin?: Session;
  from: JID;
  to: JID;
}

/** A stream-level element (not a stanza) from a client: SASL, STARTTLS, SM, CSI… */
export interface NonzaEvent {
  session: Session;
  element: Element;
}

export type StanzaName = "message" | "presence" | "iq";
/**
 * Where a stanza is addressed: from the client itself, to a full or bare JID, to the server, or
 * to a local service domain (`component`: the stanza's `to` says which one, src/core/router.ts).
 */
export type Addressing = "client" | "full" | "bare" | "host" | "component";
export type IqType = "get" | "set";
/** An IQ request's target as the router classifies it: the server, the sender's own account, any account. */
export type IqTarget = "host" | "self" | "bare";

/**
 * Every event of the server, name → payload and answer. The kernel's are here; src/events.ts
 * adds the features' (interface merging). An undeclared name, or a payload of the wrong
 * shape, does not compile.
 */
/** Every stanza by addressing: `message/bare`, `presence/full`, `iq/client`… */
type StanzaEvents = { [K in `${StanzaName}/${Addressing}`]: Hook<StanzaEvent> };

export interface Events extends StanzaEvents {
  /** A stream asks what it may do next: each feature adds its offer (RFC 6120 §4.3.2). */
  "stream-features": Notice<{ session: Session; features: Element }>;
  /** A stream-level element `<name xmlns=ns>`; unanswered, the stream ends (unsupported-stanza). */
  [nonza: `nonza/${string}`]: Hook<NonzaEvent>;
  /**
   * An IQ before authentication (XEP-0077 registration, XEP-0445 preauth): answered or the
   * stream ends (not-authorized), as for any other stanza before authentication.
   */
  "iq/unauthenticated": Hook<NonzaEvent>;
  /** An IQ request by target and payload: `iq-get/self/jabber:iq:roster:query`. */
  [iq: `iq-${IqType}/${IqTarget}/${string}`]: Hook<StanzaEvent>;
  /** A session ended, however it ended (also for streams that never authenticated). */
  "session-closed": Notice<{ session: Session; error: StreamErrorDef | undefined; abrupt: boolean }>;
  /** Every feature is set up and every port listens. */
  "server-started": Notice<Record<string, never>>;
  /** The server is stopping: streams are closed, storage is still open. */
  "server-stopping": Notice<Record<string, never>>;
}

export type EventName = keyof Events;
export type PayloadOf<K extends EventName> = Events[K]["payload"];
export type AnswerOf<K extends EventName> = Events[K]["result"];

/**
 * Named places in a handler chain, highest first. Where the order matters it is one of these,
 * and the comment says who must come before whom.
 */
export const Priority = {
  /** Before anything that awaits: stream management re-routes a closing session's queue. */
  first: 1000,
  /** SASL2 success: a resumption (XEP-0198) is decided before Bind2 would bind a new resource. */
  resume: 110,
  /** Blocking (XEP-0191) stops a client's stanza before anything archives, copies or routes it. */
  block: 105,
  /** STARTTLS's offer ahead of every other; in the SASL2 success, Bind2 right after a resumption was ruled out. */
  high: 100,
  /** Resource binding's offer, after STARTTLS. */
  bindOffer: 90,
  /** SASL2 success: an OAuth session drops a FAST token request before FAST sees it. */
  beforeFast: 80,
  /** SASL2 success: FAST issues or rotates its token. */
  fast: 75,
  /** SASL2 offer, after SM/Bind2/FAST fill its inline list. */
  sasl2: 60,
  /** Legacy SASL's offer; carbons' enable/disable before the generic IQ handlers. */
  early: 50,
  /** Client tracking records the login before the generic handlers of the same event. */
  track: 10,
  /** Checks that refuse a login (OAuth grant still valid) run after the mechanisms' own. */
  verify: 5,
  normal: 0,
  /** After every feature that could have delivered a presence. */
  late: -10,
  /** Roster's answers, after any feature that handles a special case. */
  lower: -50,
  /** The default delivery when no feature took the stanza; the live account page listens last. */
  fallback: -100,
} as const;
export type PriorityName = keyof typeof Priority;
