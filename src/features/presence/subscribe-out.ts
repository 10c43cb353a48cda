// The sender's side of a subscription request or answer (RFC 6121 §3, Appendix A.2): the
// sender's roster item changes, then the stanza, stamped with the sender's bare JID, goes to
// the contact, whose side runs in subscribe-in.ts. Each side is its own storage transaction
// (the sender's first): a crash in between leaves a one-sided state (e.g. "ask" without the
// contact's pending-in), which RFC 6121 allows: the next subscribe or probe repairs it.
import type { Element } from "../../xml/element.js";
import type { JID } from "../../core/jid.js";
import type { RosterItem } from "../../storage/types.js";
import { updateItem } from "../roster-push.js";
import { hasTo, type Bound, type Presence } from "./shared.js";

export async function outboundSubscription(p: Presence, session: Bound, type: string, stanza: Element, target: JID): Promise<void> {
  const { server } = p;
  const user = session.jid.bare();
  const contact = target.bare();
  // No server-to-server: other domains and the account itself are dropped quietly.
  if (contact.domain !== p.domain || !contact.local || contact.bareString === user.bareString) return;
  const { username } = session;
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
  await p.route(out, user, contact, session);
}
