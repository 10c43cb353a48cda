// Sending notifications (XEP-0357 §7): a pubsub publish of a urn:xmpp:push:summary form to the
// client's app server, with the stored publish-options (the app server's secret). It comes from
// the account's bare JID, as Prosody's mod_cloud_notify sends it and app servers (Conversations')
// accept it (the XEP's examples use the server's JID; §3.2 allows both). At most one per client
// per push_min_interval: a burst becomes one more notification when the interval ends, carrying
// the count and the latest sender, so nothing that came is lost. An error from the app server
// ends the registration (§7.1).
import { randomBytes } from "node:crypto";
import { x, type Element } from "../../xml/element.js";
import { JID, parseJid } from "../../core/jid.js";
import type { Server } from "../../core/server.js";
import type { PushRegistration } from "../../storage/types.js";
import { clientIdOf } from "../../clients/access.js";

const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_PUSH = "urn:xmpp:push:0";
const NS_DATA = "jabber:x:data";
/** How long an app server has to answer before its answer is no longer awaited. */
const REPLY_TIMEOUT_MS = 60_000;
/** Longest body put in a notification (characters): a preview, not the message. */
const MAX_BODY = 256;
/** Message keys remembered per client, against counting one twice; past this the memory starts over. */
const MAX_SEEN = 1000;
/** Errors our own server (or, with s2s, the network) produces: not the app server's verdict on the registration. */
const TRANSIENT = new Set(["remote-server-not-found", "remote-server-timeout", "recipient-unavailable", "resource-constraint"]);

/** What a push-worthy message says for the summary. */
export interface Summary {
  sender: string;
  body?: string;
  /** The message's sender and id, when it has one: the same message is not counted twice. */
  key?: string;
}

interface ClientState {
  /** Push-worthy messages since the client last had a connection. */
  count: number;
  last?: Summary;
  lastSentAt: number;
  /** A notification is due at the end of the interval. */
  timer?: NodeJS.Timeout;
  /** Keys of the messages counted since the client last had a connection. */
  seen: Set<string>;
}

interface Pending {
  username: string;
  clientId: string;
  jid: string;
  node: string;
  timer: NodeJS.Timeout;
}

export class Notifier {
  private readonly clients = new Map<string, ClientState>();
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly server: Server) {}

  /** Push-worthy messages came for this client while it had no connection. */
  record(username: string, clientId: string, summaries: readonly Summary[]): void {
    const key = keyOf(username, clientId);
    const st = this.clients.get(key) ?? { count: 0, lastSentAt: 0, seen: new Set<string>() };
    this.clients.set(key, st);
    let fresh = 0;
    for (const s of summaries) {
      // A message seen twice (queued while hibernating, then re-routed to offline storage when the hibernation ended) counts once.
      if (s.key !== undefined) {
        if (st.seen.has(s.key)) continue;
        if (st.seen.size >= MAX_SEEN) st.seen.clear();
        st.seen.add(s.key);
      }
      fresh++;
      st.last = s;
    }
    if (fresh === 0) return;
    st.count += fresh;
    if (st.timer) return;
    const wait = st.lastSentAt + this.server.config.push_min_interval * 1000 - Date.now();
    if (wait <= 0) return this.flush(username, clientId);
    st.timer = setTimeout(() => this.flush(username, clientId), wait);
    st.timer.unref();
  }

  /** The client is connected again: its count starts over, and a notification still due is not sent. */
  reset(username: string, clientId: string): void {
    const key = keyOf(username, clientId);
    const st = this.clients.get(key);
    if (!st) return;
    clearTimeout(st.timer);
    st.timer = undefined;
    st.count = 0;
    st.seen.clear();
  }

  /** The registration is gone (disabled, revoked, account deleted): forget the client here too. */
  forget(username: string, clientId?: string): void {
    const prefix = `${username}\0`;
    for (const [key, st] of this.clients) {
      if (clientId === undefined ? key.startsWith(prefix) : key === keyOf(username, clientId)) {
        clearTimeout(st.timer);
        this.clients.delete(key);
      }
    }
  }

  /** An IQ reply from a client addressed to an account: true when it answered one of our notifications. */
  reply(stanza: Element, from: JID, to: JID): boolean {
    const id = stanza.attrs.id;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p || to.bareString !== `${p.username}@${this.server.config.domain}`) return false;
    // Only the app server itself may answer (an unguessable id, and its own address).
    const service = parseJid(p.jid);
    if (!service || (service.toString() !== from.toString() && !(service.isBare() && service.bareString === from.bareString))) return false;
    this.pending.delete(id!);
    clearTimeout(p.timer);
    if (stanza.attrs.type === "error") void this.failed(p, stanza.getChild("error"));
    return true;
  }

  stop(): void {
    for (const st of this.clients.values()) clearTimeout(st.timer);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.clients.clear();
    this.pending.clear();
  }

  private flush(username: string, clientId: string): void {
    const st = this.clients.get(keyOf(username, clientId));
    if (!st) return;
    st.timer = undefined;
    // Now, not once the registration is read: a message arriving meanwhile waits for the interval.
    st.lastSentAt = Date.now();
    this.send(username, clientId, st).catch((err) => this.server.log.error({ err, account: username }, "sending a push notification failed"));
  }

  private async send(username: string, clientId: string, st: ClientState): Promise<void> {
    // Connected again (resumed) while the notification waited: it has seen everything.
    if (this.server.registry.sessionsOf(username).some((s) => !s.hibernating && clientIdOf(s) === clientId)) return this.reset(username, clientId);
    const reg = await this.server.storage.push.get(username, clientId);
    if (!reg) return this.forget(username, clientId);
    const to = parseJid(reg.jid);
    if (!to || st.count === 0) return;
    const id = randomBytes(12).toString("base64url");
    const from = new JID(username, this.server.config.domain);
    const iq = x("iq", { type: "set", id, from: from.toString(), to: to.toString() }, publish(reg, st, this.server.config));
    const timer = setTimeout(() => this.pending.delete(id), REPLY_TIMEOUT_MS);
    timer.unref();
    this.pending.set(id, { username, clientId, jid: reg.jid, node: reg.node, timer });
    this.server.log.debug({ account: username, client: clientId, count: st.count }, "push notification sent");
    // Through the router, so that an app server on another domain works once server-to-server exists.
    await this.server.router.route(iq, from, to);
  }

  /** §7.1: the app server no longer takes notifications for this node; a passing failure (wait) keeps it. */
  private async failed(p: Pending, error: Element | undefined): Promise<void> {
    const condition = error?.elements()[0]?.name ?? "undefined-condition";
    const log = { account: p.username, client: p.clientId, service: p.jid, condition };
    if (error?.attrs.type === "wait" || TRANSIENT.has(condition)) return void this.server.log.warn(log, "push service failed for now; registration kept");
    // Only the registration this notification was for: the client may have enabled another since.
    const reg = await this.server.storage.push.get(p.username, p.clientId);
    if (!reg || reg.jid !== p.jid || reg.node !== p.node) return;
    await this.server.storage.push.remove(p.username, p.clientId);
    this.forget(p.username, p.clientId);
    this.server.log.info(log, "push service refused a notification; registration disabled");
  }
}

function keyOf(username: string, clientId: string): string {
  return `${username}\0${clientId}`;
}

function field(form: Element, name: string, values: string[]): void {
  const f = form.c("field", { var: name });
  for (const v of values) f.c("value").t(v);
}

/** <pubsub><publish node><item><notification><x summary/></notification></item></publish><publish-options/></pubsub> */
function publish(reg: PushRegistration, st: ClientState, config: Server["config"]): Element {
  const summary = x("x", { xmlns: NS_DATA, type: "submit" });
  field(summary, "FORM_TYPE", ["urn:xmpp:push:summary"]);
  field(summary, "message-count", [String(st.count)]);
  if (st.last && config.push_notification_with_sender) field(summary, "last-message-sender", [st.last.sender]);
  if (st.last?.body && config.push_notification_with_body) field(summary, "last-message-body", [[...st.last.body].slice(0, MAX_BODY).join("")]);
  const pubsub = x("pubsub", { xmlns: NS_PUBSUB }, x("publish", { node: reg.node }, x("item", null, x("notification", { xmlns: NS_PUSH }, summary))));
  if (reg.options.length > 0) {
    const form = x("x", { xmlns: NS_DATA, type: "submit" });
    field(form, "FORM_TYPE", ["http://jabber.org/protocol/pubsub#publish-options"]);
    for (const o of reg.options) field(form, o.name, o.values);
    pubsub.c("publish-options").cnode(form);
  }
  return pubsub;
}
