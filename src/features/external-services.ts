// External service discovery (XEP-0215 v1.0, urn:xmpp:extdisco:2): tells the server's own
// accounts where the STUN and TURN servers are (for calls: XEP-0167/0176), with short-lived
// TURN credentials made from a secret shared with the TURN server, per the TURN REST API
// (draft-uberti-behave-turn-rest-00 §2.2): username = "<expiry unix time>:<account>",
// password = base64(HMAC-SHA1(secret, username)). This is the form coturn's `use-auth-secret`
// (`static-auth-secret`) checks: the part before ':' is the expiry, the rest is free.
// Configured with Prosody's keys (mod_turn_external: turn_external_*; mod_external_services:
// external_services); without them, nothing is advertised.
import { createHmac } from "node:crypto";
import { x, type Element } from "../xml/element.js";
import { iqResult } from "../core/router.js";
import { stanzaErrors } from "../core/errors.js";
import type { Server } from "../core/server.js";
import type { Config, ExternalServiceConfig } from "../core/config.js";
import { defineFeature } from "../core/feature.js";
import { xep82 } from "../core/xep82.js";

export const NS_EXTDISCO = "urn:xmpp:extdisco:2";

export default defineFeature({ name: "external-services", setup: externalServices });

/** The TURN REST API credentials for `user`, valid until `expires` (unix seconds). */
export function turnCredentials(secret: string, user: string, expires: number): { username: string; password: string } {
  const username = `${expires}:${user}`;
  return { username, password: createHmac("sha1", secret).update(username).digest("base64") };
}

/** Every configured service: the TURN server's (stun, turn over udp and tcp, turns) and the listed ones. */
export function configuredServices(cfg: Config): ExternalServiceConfig[] {
  const out: ExternalServiceConfig[] = [];
  const host = cfg.turn_external_host;
  if (host && cfg.turn_external_secret) {
    const turn = { host, port: cfg.turn_external_port, secret: cfg.turn_external_secret, ttl: cfg.turn_external_ttl };
    // STUN needs no credentials: a binding request only reflects the client's address.
    out.push({ type: "stun", transport: "udp", host, port: cfg.turn_external_port });
    out.push({ type: "turn", transport: "udp", ...turn }, { type: "turn", transport: "tcp", ...turn });
    if (cfg.turn_external_tls_port) out.push({ type: "turns", transport: "tcp", ...turn, port: cfg.turn_external_tls_port });
  }
  return [...out, ...cfg.external_services];
}

function externalServices(server: Server): void {
  const services = configuredServices(server.config);
  if (!services.length) return;
  server.hostFeatures.add(NS_EXTDISCO);

  const element = (s: ExternalServiceConfig, user: string): Element => {
    const attrs: Record<string, string | number | undefined> = { type: s.type, host: s.host, port: s.port, transport: s.transport, name: s.name };
    if (s.secret) {
      const expires = Math.floor(Date.now() / 1000) + (s.ttl ?? server.config.turn_external_ttl);
      Object.assign(attrs, turnCredentials(s.secret, user, expires), {
        expires: xep82(expires * 1000),
        restricted: 1,
      });
    } else if (s.username || s.password) Object.assign(attrs, { username: s.username, password: s.password, restricted: 1 });
    return x("service", attrs);
  };

  // Only the server's own accounts get them: credentials open a relay that costs bandwidth.
  const local = (from: { domain: string; local?: string }) => from.domain === server.config.domain && from.local !== undefined;

  server.bus.on(`iq-get/host/${NS_EXTDISCO}:services`, ({ stanza, origin, from }) => {
    if (!local(from)) return (server.router.bounce(stanza, stanzaErrors.forbidden, origin), true);
    const type = stanza.getChild("services")!.attrs.type;
    const q = x("services", { xmlns: NS_EXTDISCO, type });
    for (const s of services) if (!type || s.type === type) q.cnode(element(s, from.local!));
    origin?.send(iqResult(stanza, q));
    return true;
  });

  // Fresh credentials for one service (§3.3), named by host and type (and port when given).
  server.bus.on(`iq-get/host/${NS_EXTDISCO}:credentials`, ({ stanza, origin, from }) => {
    if (!local(from)) return (server.router.bounce(stanza, stanzaErrors.forbidden, origin), true);
    const want = stanza.getChild("credentials")!.getChild("service");
    if (!want?.attrs.host || !want.attrs.type) return (server.router.bounce(stanza, stanzaErrors.badRequest, origin), true);
    const port = want.attrs.port;
    const found = services.filter((s) => s.host === want.attrs.host && s.type === want.attrs.type && (port === undefined || String(s.port) === port));
    if (!found.length) return (server.router.bounce(stanza, stanzaErrors.itemNotFound, origin), true);
    origin?.send(iqResult(stanza, x("credentials", { xmlns: NS_EXTDISCO }, ...found.map((s) => element(s, from.local!)))));
    return true;
  });
}
