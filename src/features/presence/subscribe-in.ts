// The contact's side of a subscription request or answer (RFC 6121 §3, Appendix A.3): the
// contact's roster item changes, its available resources are told, and presence follows the
// new state (the new subscriber sees the contact, a former one sees it go offline). Requests
// to an account that does not exist are refused; requests already approved are answered on
// the account's behalf.
import { x, type Element } from "../../xml/element.js";
import type { JID } from "../../core/jid.js";
import type { RosterItem } from "../../storage/types.js";
import { updateItem } from "../roster-push.js";
import { deliver, hasFrom, hasTo, type Presence } from "./shared.js";

export async function inboundSubscription(p: Presence, type: string, stanza: Element, sender: JID, username: string): Promise<void> {
  const { server } = p;
  const senderJid = sender.bareString;
  const me = p.bareOf(username);
  if (senderJid === me.bareString) return;
  const senderLocal = sender.domain === p.domain ? sender.local : undefined;
  const toUser = () => {
    const copy = stanza.clone();
    copy.attrs.from = senderJid;
    copy.attrs.to = me.toString();
    for (const s of p.available(username)) s.send(copy.clone());
  };
  const reply = (t: string) => p.route(x("presence", { type: t, from: me.toString(), to: senderJid }), me, sender.bare());

  switch (type) {
    case "subscribe": {
      if (!(await p.exists(username))) return reply("unsubscribed");
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
        for (const cs of p.available(senderLocal)) {
          for (const s of p.available(username)) deliver(s, cs.presence, s.jid.toString());
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
        for (const s of p.available(username)) {
          const off = x("presence", { type: "unavailable", from: s.jid.toString() });
          for (const ss of p.available(senderLocal)) deliver(ss, off, ss.jid.toString());
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
        for (const cs of p.available(senderLocal)) {
          const off = x("presence", { type: "unavailable", from: cs.jid.toString() });
          for (const s of p.available(username)) deliver(s, off, s.jid.toString());
        }
      }
      return;
    }
  }
}
