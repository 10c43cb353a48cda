// Presence (RFC 6121 §4) and presence subscriptions (RFC 6121 §3, state tables of Appendix A).
//
// Every contact is an account on this server: presence for other domains is dropped quietly.
// Client presence is taken over in "presence/client":
//   - no 'to', no type / unavailable: the session's broadcast presence (§4.2, §4.4, §4.5);
//   - with 'to', no type / unavailable: directed presence (§4.6), routed and remembered;
//   - subscribe / subscribed / unsubscribe / unsubscribed: the sender's side of §3 (its
//     roster item changes, stamped with its bare JID), then routed to the contact, whose
//     side runs in "presence/bare";
//   - probe: answered with the contact's presence if the sender is subscribed (§4.3).
// "presence/bare", "presence/full" and "presence/host" deliver routed presence and run the
// receiving side of subscriptions, for client stanzas and for those the server generates.
//
// A subscription change touches two rosters; each side is its own storage transaction (the
// sender's first, then the contact's). A crash in between leaves a one-sided state
// (e.g. "ask" without the contact's pending-in), which RFC 6121 allows: the next subscribe
// or probe repairs it.
//
// Events: emits "initial-presence" { session } when a session first becomes available;
// consumes "session-closed" { session } (unavailable for a session that goes away).
import { x, type Element } from "../xml/element.js";
import type { StanzaEvent } from "../core/router.js";
import { JID, parseJid } from "../core/jid.js";
import type { Server } from "../core/server.js";
import type { Session } from "../core/session.js";
import type { RosterItem, Subscription } from "../storage/types.js";
import { updateItem } from "./roster-push.js";
import { defineFeature } from "../core/feature.js";

declare module "../core/session.js" {
  interface SessionData {
    /** Full JIDs it sent directed presence to (RFC 6121 §4.6): they hear its unavailable. */
    directedPresence?: Set<string>;
    /** Its presence stanzas, handled one after another. */
    presenceChain?: Promise<void>;
  }
}

const SUBSCRIPTION_TYPES = new Set(["subscribe", "subscribed", "unsubscribe", "unsubscribed"]);

const hasFrom = (s: Subscription) => s === "from" || s === "both";
const hasTo = (s: Subscription) => s === "to" || s === "both";

/** Sessions that sent available presence (any priority). */
function available(server: Server, username: string): Session[] {
  return server.registry.sessionsOf(username).filter((s) => s.presence !== undefined);
}

/** Sends a copy of a stanza, with 'to' set when given. */
function deliver(session: Session, stanza: Element, to?: string): void {
  const copy = stanza.clone();
  if (to !== undefined) copy.attrs.to = to;
  session.send(copy);
}

function parsePriority(stanza: Element): number {
  const text = stanza.getChildText("priority");
  if (text === undefined) return 0;
  const n = Number.parseInt(text.trim(), 10);
  if (!Number.isFinite(n)) return 0;
  return Math.max(-128, Math.min(127, n));
}

/** Directed presence targets of a session (RFC 6121 §4.6): JIDs that get its unavailable. */
function directedOf(session: Session): Set<string> {
  let set = session.data.directedPresence;
  if (!set) { set = new Set(); session.data.directedPresence = set; }
  return set;
}

/** Runs presence work of one session in order, whatever awaits inside. */
function inOrder(session: Session, fn: () => Promise<void>): Promise<void> {
  const prev = session.data.presenceChain ?? Promise.resolve();
  const run = prev.then(fn);
  session.data.presenceChain = run.catch(() => undefined);
  return run;
}

export default defineFeature({ name: "presence", setup: presence });

function presence(server: Server): void {
  const domain = server.config.domain;

  /** The local part of a bare JID string of an account here, or undefined. */
  const localUser = (jid: string): string | undefined => {
    const j = parseJid(jid);
    return j && j.domain === domain && j.local && !j.resource ? j.local : undefined;
  };
  const bareOf = (username: string) => new JID(username, domain);
  const exists = async (username: string) =>
    server.registry.sessionsOf(username).length > 0 || (await server.storage.users.get(username)) !== undefined;
  const route = (stanza: Element, from: JID, to: JID, origin?: Session) => server.router.route(stanza, from, to, origin);

  // --- broadcast presence ------------------------------------------------------------

  async function broadcastAvailable(session: Session, stanza: Element): Promise<void> {
    const username = session.username!;
    const userBare = bareOf(username).toString();
    const full = session.jid!.toString();
    const initial = session.presence === undefined;
    const pres = stanza.clone();
    delete pres.attrs.to;
    pres.attrs.from = full;
    session.presence = pres;
    session.priority = parsePriority(stanza);

    const items = await server.storage.roster.get(username);
    // The account's available resources, this one included (§4.2.2, §4.4.2).
    for (const s of available(server, username)) deliver(s, pres, userBare);
    // Contacts subscribed to the user.
    for (const item of items) {
      if (!hasFrom(item.subscription)) continue;
      const contact = localUser(item.jid);
      if (contact) for (const s of available(server, contact)) deliver(s, pres, item.jid);
    }
    if (!initial) return;

    // Initial presence: what probes would bring back (§4.2.3), pending requests (§3.1.3).
    for (const item of items) {
      if (!hasTo(item.subscription)) continue;
      const contact = localUser(item.jid);
      if (contact) for (const s of available(server, contact)) deliver(session, s.presence!, full);
    }
    for (const s of available(server, username)) if (s !== session) deliver(session, s.presence!, full);
    for (const item of items) {
      if (item.pendingIn && !hasFrom(item.subscription)) session.send(x("presence", { type: "subscribe", from: item.jid, to: userBare }));
    }
    await server.bus.emit("initial-presence", { session }, (err) => session.log.error({ err }, "initial-presence handler failed"));
  }

  /** Unavailable presence of a session (sent by it, or because it closed). */
  async function broadcastUnavailable(session: Session, stanza: Element): Promise<void> {
    const username = session.username!;
    const userBare = bareOf(username).toString();
    const pres = stanza.clone();
    delete pres.attrs.to;
    pres.attrs.from = session.jid!.toString();
    pres.attrs.type = "unavailable";
    const covered = new Set<string>();
    if (session.presence !== undefined) {
      // Still counted as available here, so it gets its own unavailable too.
      for (const s of available(server, username)) deliver(s, pres, userBare);
      covered.add(userBare);
      for (const item of await server.storage.roster.get(username)) {
        if (!hasFrom(item.subscription)) continue;
        covered.add(item.jid);
        const contact = localUser(item.jid);
        if (contact) for (const s of available(server, contact)) deliver(s, pres, item.jid);
      }
    }
    session.presence = undefined;
    session.priority = 0;
    const directed = directedOf(session);
    const targets = [...directed];
    directed.clear();
    for (const t of targets) {
      const to = parseJid(t);
      if (!to || covered.has(to.bareString) && !to.resource) continue;
      const copy = pres.clone();
      copy.attrs.to = t;
      await route(copy, session.jid!, to, session.closed ? undefined : session);
    }
  }

  // --- directed presence -------------------------------------------------------------

  async function directed(session: Session, stanza: Element, to: JID): Promise<void> {
    if (to.bareString !== session.jid!.bareString) {
      const set = directedOf(session);
      if (stanza.attrs.type === "unavailable") set.delete(to.toString()); else set.add(to.toString());
    }
    await route(stanza, session.jid!, to, session);
  }

  // --- subscriptions: the sender's side ------------------------------------------------

  async function outboundSubscription(session: Session, type: string, stanza: Element, target: JID): Promise<void> {
    const user = session.jid!.bare();
    const contact = target.bare();
    // No server-to-server: other domains and the account itself are dropped quietly.
    if (contact.domain !== domain || !contact.local || contact.bareString === user.bareString) return;
    const username = session.username!;
    const jid = contact.bareString;
    const out = stanza.clone();
    out.attrs.from = user.toString(); // stamped with the bare JID (§3.1.2)
    out.attrs.to = jid;

    switch (type) {
      case "subscribe":
        // None → None+Pending Out, From → From+Pending Out; To / Both unchanged (A.2.1).
        await updateItem(server, username, jid, (item) => {
          const next: RosterItem = item ?? { jid, subscription: "none", groups: [] };
          if (!hasTo(next.subscription)) next.ask = "subscribe";
          return next;
        });
        break;
      case "subscribed": {
        // Approval: only of a pending request (no pre-approval): routed only if state changed (A.2.2).
        const r = await updateItem(server, username, jid, (item) => {
          if (!item?.pendingIn) return item;
          item.pendingIn = false;
          item.subscription = item.subscription === "to" ? "both" : item.subscription === "none" ? "from" : item.subscription;
          return item;
        });
        if (!r.changed) return;
        break;
      }
      case "unsubscribe":
        // To → None, Both → From, Pending Out cancelled (A.2.3).
        await updateItem(server, username, jid, (item) => {
          if (!item) return item;
          item.ask = undefined;
          item.subscription = item.subscription === "both" ? "from" : item.subscription === "to" ? "none" : item.subscription;
          return item;
        });
        break;
      case "unsubscribed":
        // From → None, Both → To, Pending In refused (A.2.4).
        await updateItem(server, username, jid, (item) => {
          if (!item) return item;
          item.pendingIn = false;
          item.subscription = item.subscription === "both" ? "to" : item.subscription === "from" ? "none" : item.subscription;
          return item;
        });
        break;
    }
    await route(out, user, contact, session);
  }

  // --- subscriptions: the contact's side ------------------------------------------------

  async function inboundSubscription(type: string, stanza: Element, sender: JID, username: string): Promise<void> {
    const senderJid = sender.bareString;
    const me = bareOf(username);
    if (senderJid === me.bareString) return;
    const senderLocal = sender.domain === domain ? sender.local : undefined;
    const toUser = () => {
      const copy = stanza.clone();
      copy.attrs.from = senderJid;
      copy.attrs.to = me.toString();
      for (const s of available(server, username)) s.send(copy.clone());
    };
    const reply = (t: string) => route(x("presence", { type: t, from: me.toString(), to: senderJid }), me, sender.bare());

    switch (type) {
      case "subscribe": {
        if (!(await exists(username))) return reply("unsubscribed");
        const item = await server.storage.roster.getItem(username, senderJid);
        // Already approved: answered on the user's behalf, not shown (§3.1.3).
        if (item && hasFrom(item.subscription)) return reply("subscribed");
        const r = await updateItem(server, username, senderJid, (i) => {
          const next: RosterItem = i ?? { jid: senderJid, subscription: "none", groups: [] };
          next.pendingIn = true;
          return next;
        });
        // Delivered to available resources now, or at the next initial presence (§3.1.3).
        if (r.changed) toUser();
        return;
      }
      case "subscribed": {
        // Only answers a pending request: None+Out → To, From+Out → Both (A.3.2).
        const r = await updateItem(server, username, senderJid, (i) => {
          if (!i?.ask) return i;
          i.ask = undefined;
          i.subscription = i.subscription === "from" ? "both" : i.subscription === "none" ? "to" : i.subscription;
          return i;
        });
        if (!r.changed) return;
        toUser();
        // The new subscriber gets the contact's current presence (§3.1.5).
        if (senderLocal) {
          for (const cs of available(server, senderLocal)) {
            for (const s of available(server, username)) deliver(s, cs.presence!, s.jid!.toString());
          }
        }
        return;
      }
      case "unsubscribe": {
        // From → None, Both → To, a pending request withdrawn (A.3.3).
        const r = await updateItem(server, username, senderJid, (i) => {
          if (!i) return i;
          i.pendingIn = false;
          i.subscription = i.subscription === "both" ? "to" : i.subscription === "from" ? "none" : i.subscription;
          return i;
        });
        if (!r.changed) return;
        toUser();
        // The former subscriber sees the user go offline.
        if (senderLocal && r.before && hasFrom(r.before.subscription)) {
          for (const s of available(server, username)) {
            const off = x("presence", { type: "unavailable", from: s.jid!.toString() });
            for (const ss of available(server, senderLocal)) deliver(ss, off, ss.jid!.toString());
          }
        }
        return;
      }
      case "unsubscribed": {
        // To → None, Both → From, a pending request refused (A.3.4).
        const r = await updateItem(server, username, senderJid, (i) => {
          if (!i) return i;
          i.ask = undefined;
          i.subscription = i.subscription === "both" ? "from" : i.subscription === "to" ? "none" : i.subscription;
          return i;
        });
        if (!r.changed) return;
        toUser();
        // The user no longer sees the contact's presence: the contact goes offline for it.
        if (senderLocal && r.before && hasTo(r.before.subscription)) {
          for (const cs of available(server, senderLocal)) {
            const off = x("presence", { type: "unavailable", from: cs.jid!.toString() });
            for (const s of available(server, username)) deliver(s, off, s.jid!.toString());
          }
        }
        return;
      }
    }
  }

  // --- probes --------------------------------------------------------------------------

  /** Answers a probe of `contact` (an account here) from `prober` (§4.3.2). */
  async function answerProbe(contact: string, prober: JID, send: (el: Element) => void): Promise<void> {
    const contactBare = bareOf(contact);
    const self = prober.bareString === contactBare.bareString;
    if (!self) {
      const item = await server.storage.roster.getItem(contact, prober.bareString);
      if (!item || !hasFrom(item.subscription)) {
        // Not subscribed: nothing revealed; the prober's roster learns it is not (§4.3.2).
        // (Not while the prober's own request is pending: that would cancel it.)
        if (prober.domain === domain && prober.local && !item?.pendingIn) {
          await route(x("presence", { type: "unsubscribed", from: contactBare.toString(), to: prober.bareString }), contactBare, prober.bare());
        }
        return;
      }
    }
    const sessions = available(server, contact).filter((s) => !(self && s.jid!.equals(prober)));
    if (sessions.length === 0) {
      if (!self) send(x("presence", { type: "unavailable", from: contactBare.toString(), to: prober.toString() }));
      return;
    }
    for (const s of sessions) {
      const copy = s.presence!.clone();
      copy.attrs.to = prober.toString();
      send(copy);
    }
  }

  /** Sends to whatever a JID names here: one session, or every available one of an account. */
  const sendTo = (jid: JID) => (el: Element) => {
    if (jid.domain !== domain || !jid.local) return;
    if (jid.resource) { server.registry.get(jid.local, jid.resource)?.send(el); return; }
    for (const s of available(server, jid.local)) s.send(el.clone());
  };

  // --- client presence -----------------------------------------------------------------

  async function fromClient(ev: StanzaEvent): Promise<void> {
    const session = ev.origin!;
    const { stanza } = ev;
    const type = stanza.attrs.type;
    const addressed = stanza.attrs.to !== undefined;
    if (type === undefined || type === "unavailable") {
      if (addressed) return directed(session, stanza, ev.to);
      return type === undefined ? broadcastAvailable(session, stanza) : broadcastUnavailable(session, stanza);
    }
    if (!addressed) return; // a subscription, probe or error needs an addressee
    if (SUBSCRIPTION_TYPES.has(type)) return outboundSubscription(session, type, stanza, ev.to);
    if (type === "probe") {
      const to = ev.to.bare();
      if (to.domain !== domain || !to.local) return;
      return answerProbe(to.local, session.jid!, (el) => session.send(el));
    }
    if (type === "error") return route(stanza, ev.from, ev.to, session);
    // Any other type is not presence (RFC 6120 §8.2.1 / RFC 6121 §4.7.1): dropped.
  }

  server.bus.on("presence/client", (ev) => {
    if (!ev.origin?.jid) return undefined;
    return inOrder(ev.origin, () => fromClient(ev)).then(() => true);
  }, "late");

  // --- routed presence -------------------------------------------------------------------

  const inbound = async (ev: StanzaEvent): Promise<boolean> => {
    const type = ev.stanza.attrs.type;
    const username = ev.to.local!;
    if (type === undefined || type === "unavailable") {
      // To the bare JID: every available resource (RFC 6121 §8.5.2.1.1).
      for (const s of available(server, username)) s.send(ev.stanza.clone());
    } else if (SUBSCRIPTION_TYPES.has(type)) {
      await inboundSubscription(type, ev.stanza, ev.from.bare(), username);
    } else if (type === "probe") {
      await answerProbe(username, ev.from, sendTo(ev.from));
    }
    // Errors to a bare JID, and unknown types, are dropped.
    return true;
  };

  server.bus.on("presence/bare", inbound, "fallback");

  server.bus.on("presence/full", async (ev) => {
    const type = ev.stanza.attrs.type;
    if (type !== undefined && (SUBSCRIPTION_TYPES.has(type) || type === "probe")) return inbound(ev);
    // A full JID that is not connected: presence is dropped (RFC 6121 §8.5.3.2.3).
    server.registry.get(ev.to.local!, ev.to.resource!)?.send(ev.stanza);
    return true;
  }, "fallback");

  server.bus.on("presence/host", () => true, "fallback");

  server.bus.on("session-closed", ({ session }) => {
    if (!session.jid || !session.username) return;
    return inOrder(session, async () => {
      if (session.presence === undefined && directedOf(session).size === 0) return;
      await broadcastUnavailable(session, x("presence", { type: "unavailable" }));
    });
  });
}
