// Blocking enforced (XEP-0191 §3.3): a blocked entity and the user no longer reach each other.
//   - A stanza a client sends, when its own account blocks the addressee: not routed; messages
//     and IQs come back with not-acceptable and <blocked xmlns="urn:xmpp:blocking:errors"/>,
//     presence is dropped.
//   - A stanza a client sends to an account here that blocks the sender: messages and IQ
//     requests come back with service-unavailable (the user looks offline), presence and IQ
//     answers are dropped; nothing is stored offline.
//   - Presence and messages the server delivers on a user's behalf (presence broadcasts, probe
//     answers, pending subscription requests, offline messages stored before the block, PEP
//     notifications) are filtered on their way out to each session, both ways. Errors pass:
//     the error a user gets for a stanza to someone it blocks comes from that someone.
// Client stanzas are checked in "<stanza>/client" at "block", before the archive keeps a
// message, carbons copy it or the presence feature sees it; every other stanza a session receives from a
// local account passes that check first, except what the server sends on an account's behalf,
// hence the output filter.
import { x, type Element } from "../../xml/element.js";
import { parseJid } from "../../core/jid.js";
import { stanzaErrors } from "../../core/errors.js";
import { errorReply, type StanzaEvent } from "../../core/router.js";
import type { Server } from "../../core/server.js";
import type { Session } from "../../core/session.js";
import { blocks } from "./lists.js";

export const NS_BLOCKING_ERRORS = "urn:xmpp:blocking:errors";

/** The error for a stanza to an entity the sender blocks (XEP-0191 §3.3, last example). */
function refuseBlocked(server: Server, stanza: Element, origin: Session): void {
  const t = stanza.attrs.type;
  if (stanza.name === "presence" || t === "error" || (stanza.name === "iq" && t === "result")) return;
  const reply = errorReply(stanza, stanzaErrors.blocked, origin.jid!.bareString);
  reply.getChild("error")?.cnode(x("blocked", { xmlns: NS_BLOCKING_ERRORS }));
  origin.send(reply);
}

export function enforceOnClientStanzas(server: Server): void {
  const lists = server.services.get("blocklists");
  const domain = server.config.domain;

  const check = async ({ stanza, origin, from, to }: StanzaEvent): Promise<true | undefined> => {
    if (!origin?.username || stanza.attrs.to === undefined || to.bareString === from.bareString) return undefined;
    if (blocks(await lists.get(origin.username), to)) return (refuseBlocked(server, stanza, origin), true);
    if (to.domain !== domain || to.local === undefined) return undefined;
    if (!blocks(await lists.get(to.local), from)) return undefined;
    // router.bounce answers nothing to presence, errors and IQ results, as §3.3 asks.
    server.router.bounce(stanza, stanzaErrors.serviceUnavailable, origin);
    return true;
  };
  for (const name of ["message", "presence", "iq"] as const) server.bus.on(`${name}/client`, check, "block");
}

/** Presence and messages to a session, dropped when either side blocks the other (both lists in memory). */
export function deliveryFilter(server: Server, session: Session) {
  const lists = server.services.get("blocklists");
  const domain = server.config.domain;
  return (el: Element): Element | null => {
    if ((el.name !== "presence" && el.name !== "message") || el.attrs.type === "error" || !session.username || !session.jid) return el;
    const from = parseJid(el.attrs.from ?? "");
    if (!from || from.bareString === session.jid.bareString) return el;
    const mine = lists.cached(session.username);
    if (mine && blocks(mine, from)) return null;
    const theirs = from.domain === domain && from.local !== undefined ? lists.cached(from.local) : undefined;
    if (theirs && blocks(theirs, session.jid)) return null;
    return el;
  };
}
