// The end of a session with stream management, however it ends (hibernation over, closed by
// either side, replaced): nothing unacknowledged is silently dropped. Chat and normal
// messages are routed again to the account's bare JID (other resources, or offline storage),
// other stanzas bounce to their sender. Carbon copies and errors are the exceptions (their
// originals were delivered / errors are never answered). Its resumption id then resumes
// nothing, and a late <resume/> learns its final 'h'.
import type { Element } from "../../xml/element.js";
import { stanzaErrors } from "../../core/errors.js";
import { parseJid, JID } from "../../core/jid.js";
import type { Session } from "../../core/session.js";
import { handled, type Sm } from "./state.js";

const NS_CARBONS = "urn:xmpp:carbons:2";

function handleUnacked(sm: Sm, session: Session, bare: JID, queue: Element[]): void {
  const { server } = sm;
  const track = (p: Promise<void>): void => {
    sm.rerouting.add(p);
    void p.finally(() => sm.rerouting.delete(p));
  };
  let rerouted = 0,
    bounced = 0;
  for (const el of queue) {
    if (el.name === "message") {
      const type = el.attrs.type ?? "normal";
      if (type === "error") continue; // errors are never answered
      if (el.getChild("sent", NS_CARBONS) || el.getChild("received", NS_CARBONS)) continue; // a copy: the original was delivered
      if (type === "chat" || type === "normal") {
        // As if sent to the bare JID: another resource, or offline storage. This session has
        // already left the registry, so it cannot get the message back.
        const from = (el.attrs.from !== undefined ? parseJid(el.attrs.from) : undefined) ?? new JID(undefined, server.config.domain);
        track(server.router.route(el.clone(), from, bare).catch((err) => session.log.error({ err }, "re-routing an unacknowledged message failed")));
        rerouted++;
        continue;
      }
      server.router.bounce(el, stanzaErrors.recipientUnavailable);
      bounced++;
    } else if (el.name === "iq") {
      server.router.bounce(el, stanzaErrors.serviceUnavailable); // results and errors are not bounced
      bounced++;
    }
    // Presence: the presence feature announces the session's end; nothing to answer.
  }
  session.log.info({ unacked: queue.length, rerouted, bounced }, "handled unacknowledged stanzas");
}

export function onSessionClosed(sm: Sm): void {
  sm.server.bus.on(
    "session-closed",
    ({ session }) => {
      const st = session.data.smState;
      if (!st) return;
      session.data.smState = undefined;
      clearTimeout(st.probe);
      if (st.id) sm.store.end(st.id, session, { username: st.username, h: handled(st) });
      const queue = st.queue;
      st.queue = [];
      if (queue.length > 0 && session.jid) handleUnacked(sm, session, session.jid.bare(), queue);
    },
    "first",
  ); // first, and synchronous, so that re-routing starts before anything else awaits
}
