// Presence from a client (taken over in "presence/client", after every feature that could
// have handled it), one stanza of a session after another:
//   - no 'to', no type / unavailable: the session's broadcast presence (RFC 6121 §4.2, §4.4, §4.5);
//   - with 'to', no type / unavailable: directed presence (§4.6), routed and remembered;
//   - subscribe / subscribed / unsubscribe / unsubscribed: the sender's side of §3;
//   - probe: answered with the contact's presence if the sender is subscribed (§4.3);
//   - error: routed; any other type is not presence (RFC 6120 §8.2.1, RFC 6121 §4.7.1): dropped.
import type { StanzaEvent } from "../../core/router.js";
import { broadcastAvailable, broadcastUnavailable, directed } from "./broadcast.js";
import { outboundSubscription } from "./subscribe-out.js";
import { answerProbe } from "./probe.js";
import { SUBSCRIPTION_TYPES, inOrder, isBound, type Bound, type Presence } from "./shared.js";

async function fromClient(p: Presence, session: Bound, ev: StanzaEvent): Promise<void> {
  const { stanza } = ev;
  const type = stanza.attrs.type;
  const addressed = stanza.attrs.to !== undefined;
  if (type === undefined || type === "unavailable") {
    if (addressed) return directed(p, session, stanza, ev.to);
    return type === undefined ? broadcastAvailable(p, session, stanza) : broadcastUnavailable(p, session, stanza);
  }
  if (!addressed) return; // a subscription, probe or error needs an addressee
  if (SUBSCRIPTION_TYPES.has(type)) return outboundSubscription(p, session, type, stanza, ev.to);
  if (type === "probe") {
    const to = ev.to.bare();
    if (to.domain !== p.domain || !to.local) return;
    return answerProbe(p, to.local, session.jid, (el) => session.send(el));
  }
  if (type === "error") return p.route(stanza, ev.from, ev.to, session);
}

export function onClientPresence(p: Presence): void {
  p.server.bus.on(
    "presence/client",
    (ev) => {
      const session = ev.origin;
      if (!session || !isBound(session)) return undefined;
      return inOrder(session, () => fromClient(p, session, ev)).then(() => true);
    },
    "late",
  );
}
