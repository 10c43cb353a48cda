// What the parts of the presence feature share: the state it keeps per session, the
// subscription states of RFC 6121 Appendix A, and a context made once at setup with the
// lookups every part uses (the server's accounts only: there is no server-to-server).
import type { Element } from "../../xml/element.js";
import { JID, parseJid } from "../../core/jid.js";
import type { Server } from "../../core/server.js";
import type { Session } from "../../core/session.js";
import type { Subscription } from "../../storage/types.js";

declare module "../../core/session.js" {
  interface SessionData {
    /** Full JIDs it sent directed presence to (RFC 6121 §4.6): they hear its unavailable. */
    directedPresence?: Set<string>;
    /** Its presence stanzas, handled one after another. */
    presenceChain?: Promise<void>;
  }
}

export const SUBSCRIPTION_TYPES = new Set(["subscribe", "subscribed", "unsubscribe", "unsubscribed"]);

export const hasFrom = (s: Subscription) => s === "from" || s === "both";
export const hasTo = (s: Subscription) => s === "to" || s === "both";

/** A session with a bound resource: the only kind that sends or receives presence. */
export type Bound = Session & { username: string; jid: JID };
/** A bound session that sent available presence (any priority). */
export type Available = Bound & { presence: Element };

export function isBound(s: Session): s is Bound {
  return s.jid !== undefined && s.username !== undefined;
}

function isAvailable(s: Session): s is Available {
  return s.presence !== undefined && isBound(s);
}

/** Sends a copy of a stanza, with 'to' set when given. */
export function deliver(session: Session, stanza: Element, to?: string): void {
  const copy = stanza.clone();
  if (to !== undefined) copy.attrs.to = to;
  session.send(copy);
}

/** Directed presence targets of a session (RFC 6121 §4.6): JIDs that get its unavailable. */
export function directedOf(session: Session): Set<string> {
  let set = session.data.directedPresence;
  if (!set) {
    set = new Set();
    session.data.directedPresence = set;
  }
  return set;
}

/** Runs presence work of one session in order, whatever awaits inside. */
export function inOrder(session: Session, fn: () => Promise<void>): Promise<void> {
  const prev = session.data.presenceChain ?? Promise.resolve();
  const run = prev.then(fn);
  session.data.presenceChain = run.catch(() => undefined);
  return run;
}

export interface Presence {
  readonly server: Server;
  readonly domain: string;
  /** Sessions of an account that sent available presence (any priority). */
  available(username: string): Available[];
  /** The local part of a bare JID string of an account here, or undefined. */
  localUser(jid: string): string | undefined;
  bareOf(username: string): JID;
  /** The account exists (or has sessions, whatever storage says). */
  exists(username: string): Promise<boolean>;
  route(stanza: Element, from: JID, to: JID, origin?: Session): Promise<void>;
}

export function presenceContext(server: Server): Presence {
  const domain = server.config.domain;
  return {
    server,
    domain,
    // Registry sessions are bound, so the filter keeps exactly those with a presence.
    available: (username) => server.registry.sessionsOf(username).filter(isAvailable),
    localUser: (jid) => {
      const j = parseJid(jid);
      return j && j.domain === domain && j.local && !j.resource ? j.local : undefined;
    },
    bareOf: (username) => new JID(username, domain),
    exists: async (username) => server.registry.sessionsOf(username).length > 0 || (await server.storage.users.get(username)) !== undefined,
    route: (stanza, from, to, origin) => server.router.route(stanza, from, to, origin),
  };
}
