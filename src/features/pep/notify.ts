// PEP notifications (XEP-0163 §4.3; XEP-0060 §7.1.2.1, §7.2.2.1, §8.4.3.1): when an item is
// published or retracted, or a node deleted, an event message goes to each available session
// of the owner and of the contacts the access model lets read the node, that said "+notify"
// for it in its entity capabilities. Every contact is an account on this server, so the
// "presence from contacts" of §4.3 is each session's own broadcast presence.
import { x, type Element } from "../../xml/element.js";
import { randomId } from "../../core/random.js";
import type { Server } from "../../core/server.js";
import type { Session } from "../../core/session.js";
import type { PepEvent } from "../../events.js";
import { isTrue } from "./node-config.js";
import { itemElement, type Pep } from "./service.js";

export const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const NS_DELAY = "urn:xmpp:delay";

declare module "../../core/session.js" {
  interface SessionData {
    /** The PEP nodes this session's client wants notifications of ("+notify", XEP-0163 §4.4), and the caps `ver` that said so. */
    pepInterest?: { ver: string; nodes: Set<string> };
  }
}

/** A notification message from the owner's bare JID (XEP-0163 §4.3.1: type headline). */
export function eventMessage(owner: string, to: string, server: Server, inner: Element, delay?: number): Element {
  const m = x(
    "message",
    { xmlns: "jabber:client", from: `${owner}@${server.config.domain}`, to, type: "headline", id: randomId(9) },
    x("event", { xmlns: NS_EVENT }, inner),
  );
  if (delay !== undefined) m.c("delay", { xmlns: NS_DELAY, from: `${owner}@${server.config.domain}`, stamp: new Date(delay).toISOString() });
  return m;
}

const interested = (s: Session, node: string) => s.data.pepInterest?.nodes.has(node) === true && !s.closed;

/** The sessions to notify of an event on the owner's node: own ones and those of contacts the access model allows. */
async function recipients(server: Server, pep: Pep, ev: PepEvent): Promise<Session[]> {
  const out = server.registry.sessionsOf(ev.owner).filter((s) => interested(s, ev.node));
  if (ev.config["pubsub#access_model"] === "whitelist") return out;
  const domain = server.config.domain;
  for (const item of await server.storage.roster.get(ev.owner)) {
    const at = item.jid.lastIndexOf("@");
    if (at < 0 || item.jid.slice(at + 1) !== domain) continue;
    const sessions = server.registry.sessionsOf(item.jid.slice(0, at)).filter((s) => interested(s, ev.node));
    if (sessions.length > 0 && !(await pep.denied(ev.owner, ev.config, item.jid))) out.push(...sessions);
  }
  return out;
}

export function notifications(server: Server, pep: Pep): void {
  const send = async (ev: PepEvent, inner: () => Element) => {
    if (!isTrue(ev.config, "pubsub#deliver_notifications")) return;
    for (const s of await recipients(server, pep, ev)) s.send(eventMessage(ev.owner, s.jid!.toString(), server, inner()));
  };

  server.bus.on("pep-published", (ev) =>
    send(ev, () => {
      const item = isTrue(ev.config, "pubsub#deliver_payloads") ? ev.item.clone() : x("item", { id: ev.id });
      return x("items", { node: ev.node }, item);
    }),
  );
  server.bus.on("pep-retracted", (ev) => {
    if (ev.notify && isTrue(ev.config, "pubsub#notify_retract")) return send(ev, () => x("items", { node: ev.node }, x("retract", { id: ev.id })));
  });
  server.bus.on("pep-node-deleted", (ev) => {
    if (isTrue(ev.config, "pubsub#notify_delete")) return send(ev, () => x("delete", { node: ev.node }));
  });
}

/**
 * Last-item delivery (XEP-0163 §4.3.2): a session whose interest just became known (or grew)
 * gets the last item of each such node of its own account and of each contact whose presence
 * it is subscribed to, where the node's access model lets it read and its configuration says so.
 */
export async function sendLastItems(server: Server, pep: Pep, session: Session, nodes: Set<string>): Promise<void> {
  const username = session.username!;
  const domain = server.config.domain;
  const owners = [username];
  for (const item of await server.storage.roster.get(username)) {
    const at = item.jid.lastIndexOf("@");
    if ((item.subscription === "to" || item.subscription === "both") && at > 0 && item.jid.slice(at + 1) === domain) owners.push(item.jid.slice(0, at));
  }
  for (const owner of owners) await lastItemsOf(server, pep, session, owner, nodes);
}

/** The last item of each of the owner's nodes in `nodes` that this session may read and is to get on presence. */
export async function lastItemsOf(server: Server, pep: Pep, session: Session, owner: string, nodes: Set<string>): Promise<void> {
  const me = `${session.username!}@${server.config.domain}`;
  for (const node of await server.storage.pep.listNodes(owner)) {
    if (!nodes.has(node.node) || node.config["pubsub#send_last_published_item"] !== "on_sub_and_presence") continue;
    if (await pep.denied(owner, node.config, me)) continue;
    const [last] = await server.storage.pep.items(owner, node.node, 1);
    if (!last || session.closed) continue;
    const inner = x("items", { node: node.node }, isTrue(node.config, "pubsub#deliver_payloads") ? itemElement(last) : x("item", { id: last.id }));
    session.send(eventMessage(owner, session.jid!.toString(), server, inner, last.publishedAt));
  }
}
