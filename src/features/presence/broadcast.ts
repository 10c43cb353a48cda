// A session's own presence: available and unavailable broadcast to the account's resources
// and its subscribers (RFC 6121 §4.2, §4.4, §4.5), and directed presence (§4.6), which is
// remembered so that its targets hear the session go unavailable too.
import { x, type Element } from "../../xml/element.js";
import { parseJid, type JID } from "../../core/jid.js";
import { deliver, directedOf, hasFrom, hasTo, type Bound, type Presence } from "./shared.js";

function parsePriority(stanza: Element): number {
  const text = stanza.getChildText("priority");
  if (text === undefined) return 0;
  const n = Number.parseInt(text.trim(), 10);
  if (!Number.isFinite(n)) return 0;
  return Math.max(-128, Math.min(127, n));
}

export async function broadcastAvailable(p: Presence, session: Bound, stanza: Element): Promise<void> {
  const { username } = session;
  const userBare = p.bareOf(username).toString();
  const full = session.jid.toString();
  const initial = session.presence === undefined;
  const pres = stanza.clone();
  delete pres.attrs.to;
  pres.attrs.from = full;
  await p.server.bus.emit("presence-outgoing", { session, presence: pres }, (err) => session.log.error({ err }, "presence-outgoing handler failed"));
  session.presence = pres;
  session.priority = parsePriority(stanza);

  const items = await p.server.storage.roster.get(username);
  // The account's available resources, this one included (§4.2.2, §4.4.2).
  for (const s of p.available(username)) deliver(s, pres, userBare);
  // Contacts subscribed to the user.
  for (const item of items) {
    if (!hasFrom(item.subscription)) continue;
    const contact = p.localUser(item.jid);
    if (contact) for (const s of p.available(contact)) deliver(s, pres, item.jid);
  }
  if (!initial) return;

  // Initial presence: what probes would bring back (§4.2.3), pending requests (§3.1.3).
  for (const item of items) {
    if (!hasTo(item.subscription)) continue;
    const contact = p.localUser(item.jid);
    if (contact) for (const s of p.available(contact)) deliver(session, s.presence, full);
  }
  for (const s of p.available(username)) if (s !== session) deliver(session, s.presence, full);
  for (const item of items) {
    if (item.pendingIn && !hasFrom(item.subscription)) session.send(x("presence", { type: "subscribe", from: item.jid, to: userBare }));
  }
  await p.server.bus.emit("initial-presence", { session }, (err) => session.log.error({ err }, "initial-presence handler failed"));
}

/** Unavailable presence of a session (sent by it, or because it closed). */
export async function broadcastUnavailable(p: Presence, session: Bound, stanza: Element): Promise<void> {
  const { username } = session;
  const userBare = p.bareOf(username).toString();
  const pres = stanza.clone();
  delete pres.attrs.to;
  pres.attrs.from = session.jid.toString();
  pres.attrs.type = "unavailable";
  const covered = new Set<string>();
  if (session.presence !== undefined) {
    // Still counted as available here, so it gets its own unavailable too.
    for (const s of p.available(username)) deliver(s, pres, userBare);
    covered.add(userBare);
    for (const item of await p.server.storage.roster.get(username)) {
      if (!hasFrom(item.subscription)) continue;
      covered.add(item.jid);
      const contact = p.localUser(item.jid);
      if (contact) for (const s of p.available(contact)) deliver(s, pres, item.jid);
    }
  }
  session.presence = undefined;
  session.priority = 0;
  const directed = directedOf(session);
  const targets = [...directed];
  directed.clear();
  for (const t of targets) {
    const to = parseJid(t);
    if (!to || (covered.has(to.bareString) && !to.resource)) continue;
    const copy = pres.clone();
    copy.attrs.to = t;
    await p.route(copy, session.jid, to, session.closed ? undefined : session);
  }
}

/** Presence to one address (§4.6): routed, and remembered for the session's unavailable. */
export async function directed(p: Presence, session: Bound, stanza: Element, to: JID): Promise<void> {
  if (to.bareString !== session.jid.bareString) {
    const set = directedOf(session);
    if (stanza.attrs.type === "unavailable") set.delete(to.toString());
    else set.add(to.toString());
  }
  if (stanza.attrs.type === undefined) {
    await p.server.bus.emit("presence-outgoing", { session, presence: stanza }, (err) => session.log.error({ err }, "presence-outgoing handler failed"));
  }
  await p.route(stanza, session.jid, to, session);
}
