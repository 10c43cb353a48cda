// Presence probes (RFC 6121 §4.3): a subscriber asks for a contact's current presence, sent
// by the server on initial presence and by clients. Only a subscriber learns anything.
import { x, type Element } from "../../xml/element.js";
import type { JID } from "../../core/jid.js";
import { hasFrom, type Presence } from "./shared.js";

/** Answers a probe of `contact` (an account here) from `prober` (§4.3.2). */
export async function answerProbe(p: Presence, contact: string, prober: JID, send: (el: Element) => void): Promise<void> {
  const contactBare = p.bareOf(contact);
  const self = prober.bareString === contactBare.bareString;
  if (!self) {
    const item = await p.server.storage.roster.getItem(contact, prober.bareString);
    if (!item || !hasFrom(item.subscription)) {
      // Not subscribed: nothing revealed; the prober's roster learns it is not (§4.3.2).
      // (Not while the prober's own request is pending: that would cancel it.)
      if (prober.domain === p.domain && prober.local && !item?.pendingIn) {
        await p.route(x("presence", { type: "unsubscribed", from: contactBare.toString(), to: prober.bareString }), contactBare, prober.bare());
      }
      return;
    }
  }
  const sessions = p.available(contact).filter((s) => !(self && s.jid.equals(prober)));
  if (sessions.length === 0) {
    if (!self) send(x("presence", { type: "unavailable", from: contactBare.toString(), to: prober.toString() }));
    return;
  }
  for (const s of sessions) {
    const copy = s.presence.clone();
    copy.attrs.to = prober.toString();
    send(copy);
  }
}

/** Sends to whatever a JID names here: one session, or every available one of an account. */
export const sendTo = (p: Presence, jid: JID) => (el: Element) => {
  if (jid.domain !== p.domain || !jid.local) return;
  if (jid.resource) {
    p.server.registry.get(jid.local, jid.resource)?.send(el);
    return;
  }
  for (const s of p.available(jid.local)) s.send(el.clone());
};
