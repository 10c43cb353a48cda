// When a client is woken (XEP-0357 §7, as Prosody's mod_cloud_notify does it): a push-worthy
// message for the account while the client's session hibernates (XEP-0198: queued for it), or
// while the client has no session at all (the message goes to offline storage), and for what its
// session still held unacknowledged when its connection dropped. A client that is connected is
// never pushed, CSI-inactive or not: the message is written to its connection, which is what
// it asked for; if the OS has frozen the app, the connection dies, the session hibernates, and
// the push follows then.
import type { Element } from "../../xml/element.js";
import { parseJid } from "../../core/jid.js";
import type { Server } from "../../core/server.js";
import type { Session } from "../../core/session.js";
import { clientIdOf } from "../../clients/access.js";
import type { Notifier, Summary } from "./notifier.js";

declare module "../../core/session.js" {
  interface SessionData {
    /** The push watch (an outbound filter) is on this session. */
    pushWatch?: boolean;
  }
}

const NS_CARBONS = "urn:xmpp:carbons:2";
const NS_FORWARD = "urn:xmpp:forward:0";
/** Payloads a person wants to hear of even without a body: encrypted messages, calls, invitations. */
const WORTHY = [
  ["encrypted", "eu.siacs.conversations.axolotl"], // OMEMO
  ["encrypted", "urn:xmpp:omemo:2"],
  ["openpgp", "urn:xmpp:openpgp:0"],
  ["x", "jabber:x:encrypted"],
  ["propose", "urn:xmpp:jingle-message:0"], // a call
  ["x", "jabber:x:conference"], // a group chat invitation
] as const;

/**
 * What the summary says of a message, or undefined when it is not worth waking a phone for:
 * chat and normal messages with a body or one of the payloads above, and carbon copies of such
 * messages received by another client. Not: the user's own messages sent elsewhere, chat states,
 * receipts, errors, headlines, group chat traffic.
 */
export function pushWorthy(el: Element): Summary | undefined {
  if (el.name !== "message") return undefined;
  const type = el.attrs.type ?? "normal";
  if (type !== "chat" && type !== "normal") return undefined;
  if (el.getChild("sent", NS_CARBONS)) return undefined;
  const copy = el.getChild("received", NS_CARBONS);
  // A carbon copy comes from the account itself (XEP-0280 §11); one from anyone else is a forgery.
  if (copy && parseJid(el.attrs.from ?? "")?.toString() !== parseJid(el.attrs.to ?? "")?.bareString) return undefined;
  const msg = copy ? copy.getChild("forwarded", NS_FORWARD)?.getChild("message") : el;
  if (!msg) return undefined;
  const body = msg.getChildText("body");
  if (!body && !WORTHY.some(([name, ns]) => msg.getChild(name, ns))) return undefined;
  const from = parseJid(msg.attrs.from ?? "");
  if (!from) return undefined;
  const summary: Summary = { sender: from.bareString };
  if (body) summary.body = body;
  if (msg.attrs.id) summary.key = `${from.toString()}\0${msg.attrs.id}`;
  return summary;
}

export function watch(server: Server, notifier: Notifier): void {
  const push = (session: Session, summaries: Summary[]) => {
    const clientId = clientIdOf(session);
    const username = session.username;
    if (!clientId || !username || summaries.length === 0) return;
    server.storage.push
      .get(username, clientId)
      .then((reg) => {
        if (reg) notifier.record(username, clientId, summaries);
      })
      .catch((err) => session.log.error({ err }, "push registration lookup failed"));
  };

  // A bound session is watched: what is sent to it while it hibernates wakes its client.
  server.bus.on("resource-bound", ({ session }) => {
    const clientId = clientIdOf(session);
    if (clientId) notifier.reset(session.username!, clientId);
    if (session.data.pushWatch) return;
    session.data.pushWatch = true;
    (session.outFilters ??= []).push((el) => {
      if (session.hibernating) {
        const summary = pushWorthy(el);
        if (summary) push(session, [summary]);
      }
      return el;
    });
  });

  // The connection dropped: what it had not acknowledged, the client has not seen.
  server.bus.on("session-hibernating", ({ session, queued }) => {
    const clientId = clientIdOf(session);
    if (clientId) notifier.reset(session.username!, clientId);
    push(
      session,
      queued.flatMap((el) => pushWorthy(el) ?? []),
    );
  });

  // Going to offline storage: every registered client without a session of its own hears of it.
  server.bus.on(
    "message/offline",
    async ({ stanza, to }) => {
      const summary = pushWorthy(stanza);
      const username = to.local;
      if (!summary || !username) return undefined;
      const live = new Set(server.registry.sessionsOf(username).map(clientIdOf));
      for (const reg of await server.storage.push.list(username)) if (!live.has(reg.clientId)) notifier.record(username, reg.clientId, [summary]);
      return undefined; // observed only: offline storage takes the message
    },
    "early",
  );
}
