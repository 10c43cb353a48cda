// A SOCKS5 bytestreams proxy (XEP-0065 v1.8.2 §5.3, §6) for file transfer between clients that
// cannot reach each other directly (Jingle S5B, XEP-0260, uses it too). As in Prosody, it is a
// component an operator adds, not something on by default: it opens a port on the Internet and
// relays other people's bytes, so it runs only on a domain the configuration names
// (`components: { "proxy.example.org": "proxy65" }`, Prosody's `Component … "proxy65"`), with
// Prosody's proxy65_ports, proxy65_interfaces, proxy65_address and proxy65_acl.
// The XMPP side: disco#info (proxy/bytestreams), the streamhost query, and <activate/>.
import net from "node:net";
import { createHash } from "node:crypto";
import { Element, x } from "../../xml/element.js";
import { iqResult } from "../../core/router.js";
import { stanzaErrors, type StanzaErrorDef } from "../../core/errors.js";
import { parseJid, type JID } from "../../core/jid.js";
import { listen } from "../../core/listen.js";
import type { Server } from "../../core/server.js";
import { defineFeature } from "../../core/feature.js";
import { Socks5Relay } from "./socks5.js";

const NS_BYTESTREAMS = "http://jabber.org/protocol/bytestreams";
const NS_INFO = "http://jabber.org/protocol/disco#info";
const NS_ITEMS = "http://jabber.org/protocol/disco#items";

interface Refusal {
  def: StanzaErrorDef;
  text?: string;
}

export default defineFeature({ name: "proxy65", needs: ["disco"], setup: proxy65 });

/** DST.ADDR of XEP-0065 §5.3.2: SHA1(SID + initiator JID + target JID), hex. */
export function streamHash(sid: string, initiator: string, target: string): string {
  return createHash("sha1")
    .update(sid + initiator + target, "utf8")
    .digest("hex");
}

async function proxy65(server: Server) {
  const cfg = server.config;
  const domain = Object.keys(cfg.components).find((d) => cfg.components[d] === "proxy65");
  if (!domain) return;
  server.componentDomains.add(domain);
  server.services.get("disco").addHostItem({ jid: domain, name: "SOCKS5 Bytestreams Service" });

  // Fixed bounds (Prosody has no settings for them): room for many transfers at once, while a
  // flood of idle or half-open connections cannot hold the proxy.
  const relay = new Socks5Relay({
    maxPending: 512,
    maxPendingPerIp: 32,
    maxActive: 256,
    handshakeTimeoutMs: 10_000,
    pendingTimeoutMs: 60_000,
    idleTimeoutMs: 300_000,
  });
  const servers: net.Server[] = [];
  let port = 0;
  for (const host of cfg.proxy65_interfaces) {
    for (const p of cfg.proxy65_ports) {
      const srv = net.createServer((s) => relay.accept(s));
      servers.push(srv);
      const addr = await listen(srv, p, host);
      port ||= addr.port;
      server.log.info({ address: addr.address, port: addr.port, domain }, "proxy65 listening");
    }
  }
  // Clients are told a name or address to connect to; without one, the proxy's domain (Prosody's default).
  const streamhost = x("streamhost", { jid: domain, host: cfg.proxy65_address ?? domain, port });

  /** Local accounts, or the JIDs and domains of proxy65_acl when it is set. */
  const allowed = (from: JID) => {
    const acl = cfg.proxy65_acl;
    if (acl.length) return acl.includes(from.bareString) || acl.includes(from.domain);
    return from.domain === cfg.domain && from.local !== undefined;
  };

  server.bus.on("iq/component", ({ stanza, origin, from, to }) => {
    if (to.domain !== domain || to.local || to.resource) return undefined;
    const type = stanza.attrs.type;
    if (type !== "get" && type !== "set") return true; // results and errors: nothing waits for them
    const payload = stanza.elements()[0]!;
    /** A payload, an empty result (undefined), or a refusal. */
    const answer = (reply: Element | Refusal | undefined) => {
      if (reply === undefined || reply instanceof Element) origin?.send(iqResult(stanza, reply));
      else server.router.bounce(stanza, reply.def, origin, reply.text);
      return true;
    };
    if (type === "get" && payload.is("query", NS_INFO)) {
      if (payload.attrs.node) return answer({ def: stanzaErrors.itemNotFound });
      const q = x("query", { xmlns: NS_INFO }, x("identity", { category: "proxy", type: "bytestreams", name: "SOCKS5 Bytestreams Service" }));
      for (const f of [NS_INFO, NS_ITEMS, NS_BYTESTREAMS]) q.c("feature", { var: f });
      return answer(q);
    }
    if (type === "get" && payload.is("query", NS_ITEMS)) return answer(x("query", { xmlns: NS_ITEMS, node: payload.attrs.node }));
    if (!payload.is("query", NS_BYTESTREAMS)) return answer({ def: stanzaErrors.serviceUnavailable });
    // §6.3.4 A6: a proxy unwilling to serve this requester says forbidden.
    if (!allowed(from)) return answer({ def: stanzaErrors.forbidden });
    if (type === "get") return answer(x("query", { xmlns: NS_BYTESTREAMS }, streamhost.clone()));
    return answer(activate(payload.attrs.sid, payload.getChildText("activate"), from));
  });

  /** <activate/> (§6.3.4): a refusal, or undefined once the two connections are joined. */
  const activate = (sid: string | undefined, targetText: string | undefined, from: JID): Refusal | undefined => {
    const target = targetText === undefined ? undefined : parseJid(targetText.trim());
    if (!sid || !target) return { def: stanzaErrors.badRequest, text: "A sid and an <activate/> with the target's JID are needed" };
    // The target must be one of our connected sessions: the proxy relays between people who are here.
    const online = target.domain === cfg.domain && target.local && target.resource && server.registry.get(target.local, target.resource);
    if (!online) return { def: stanzaErrors.notAllowed, text: "The target is not connected" };
    // The hash includes the sender's full JID: only the initiator can name its own bytestream (§6.3.4).
    const outcome = relay.activate(streamHash(sid, from.toString(), target.toString()));
    if (outcome === "unknown") return { def: stanzaErrors.itemNotFound };
    if (outcome === "one-party") return { def: stanzaErrors.notAllowed, text: "Both parties must be connected to the proxy" };
    if (outcome === "busy") return { def: stanzaErrors.resourceConstraint };
    return undefined;
  };

  return async () => {
    relay.close();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  };
}
