// The manage-clients protocol: Prosody's `xmpp:prosody.im/protocol/manage-clients` (wire-
// compatible with the reference, without its defects) and XEP-0494 `urn:xmpp:cam:0`, over
// the same data. Only the account's own sessions may list or revoke.
import { x, Element } from "../xml/element.js";
import { iqResult, errorReply } from "../core/router.js";
import { stanzaErrors } from "../core/errors.js";
import type { Server } from "../core/server.js";
import type { ClientEntry } from "./access.js";
import { defineFeature } from "../core/feature.js";
import { xep82 } from "../core/xep82.js";

declare module "../core/session.js" {
  interface SessionData {
    /** false for a session whose grant is restricted: it may not list or revoke clients. */
    manageClients?: boolean;
  }
}

export const NS_MANAGE = "xmpp:prosody.im/protocol/manage-clients";
export const NS_CAM = "urn:xmpp:cam:0";
/** Warden's extension to both: what a client holds besides its credentials. Unknown to other clients, who ignore it. */
export const NS_HOLDINGS = "urn:warden:client-holdings:0";

export function clientElement(e: ClientEntry, ns: string): Element {
  const client = x("client", { id: e.id, connected: String(e.connected), type: e.type });
  client.c("first-seen").t(xep82(e.firstSeen));
  client.c("last-seen").t(xep82(e.lastSeen));
  const auth = client.c("auth");
  if (e.password !== undefined) auth.c("password");
  if (e.grant) auth.c("grant");
  if (e.fast !== undefined) auth.c("fast");
  if (ns === NS_CAM) client.c("permission", { status: e.permission });
  const ua = client.c("user-agent");
  if (e.userAgent.software !== undefined) {
    const attrs: Record<string, string> = {};
    if (e.userAgent.softwareId) attrs.id = e.userAgent.softwareId;
    if (e.userAgent.softwareVersion) attrs.version = e.userAgent.softwareVersion;
    ua.c("software", attrs).t(e.userAgent.software);
  }
  if (e.userAgent.device !== undefined) ua.c("device").t(e.userAgent.device);
  if (e.userAgent.uri !== undefined) ua.c("uri").t(e.userAgent.uri);
  if (e.holdings.length > 0) {
    const holds = client.c("holdings", { xmlns: NS_HOLDINGS });
    for (const h of e.holdings) holds.c("holding", { kind: h.kind }).t(h.text);
  }
  return client;
}

export function passwordResetRequired(iq: Element, ns: string, by: string): Element {
  const reply = errorReply(iq, stanzaErrors.passwordResetRequired, by);
  reply.getChild("error")!.c("password-reset-required", { xmlns: ns });
  return reply;
}

export default defineFeature({ name: "manage-clients", needs: ["access"], setup: manageClients });

function manageClients(server: Server): void {
  const access = server.services.get("access");
  for (const ns of [NS_MANAGE, NS_CAM]) {
    server.accountFeatures.add(ns);

    server.bus.on(`iq-get/self/${ns}:list`, async ({ stanza, origin }) => {
      if (!origin) return true;
      // Replies come from the account itself (RFC 6120 §8.1.2.1), errors included.
      const self = origin.jid!.bareString;
      if (origin.data.manageClients === false) return (origin.send(errorReply(stanza, stanzaErrors.forbidden, self)), true);
      const entries = await access.list(origin.username!);
      const clients = x("clients", { xmlns: ns });
      for (const e of entries) clients.cnode(clientElement(e, ns));
      origin.send(iqResult(stanza, clients));
      return true;
    });

    server.bus.on(`iq-set/self/${ns}:revoke`, async ({ stanza, origin }) => {
      if (!origin) return true;
      // Replies come from the account itself (RFC 6120 §8.1.2.1), errors included.
      const self = origin.jid!.bareString;
      if (origin.data.manageClients === false) return (origin.send(errorReply(stanza, stanzaErrors.forbidden, self)), true);
      const selector = stanza.elements()[0]!.attrs.id;
      let reply: Element;
      try {
        const result = await access.revoke(origin.username!, selector);
        reply =
          result === "not-found"
            ? errorReply(stanza, stanzaErrors.clientNotFound, self)
            : result === "password-reset-required" || result === "can-sign-in-again"
              ? passwordResetRequired(stanza, ns, self)
              : iqResult(stanza);
      } catch (err) {
        server.log.error({ err }, "revoke failed");
        reply = errorReply(stanza, stanzaErrors.revokeFailed, self);
      }
      // When a session revokes its own client it is closed by now, and the answer goes nowhere.
      origin.send(reply);
      return true;
    });
  }
}
