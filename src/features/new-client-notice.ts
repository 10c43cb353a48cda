// New-client notice: when a client never seen before logs in with the account's password, the
// account's other connected clients get a message from the server naming the client, its
// device, address and time, with a pointer to the account page. Token logins (FAST, OAuth) are
// not new password use, so they bring no notice (the false alarms of snikket-server #240).
// Config: new_client_notice (default true).
import type { Server } from "../core/server.js";
import type { Session } from "../core/session.js";
import type { ClientRecord } from "../storage/types.js";
import { x } from "../xml/element.js";
import { isTokenMechanism } from "../clients/access.js";
import { accountPageUrl } from "../http/account/url.js";
import { oneLine } from "../core/display-text.js";
import { defineFeature } from "../core/feature.js";

/** "2025-01-31 14:05 UTC" */
export function utcTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/:\d\d\.\d+Z$/, " UTC");
}

export function noticeText(server: Server, client: ClientRecord, session: Session, now = Date.now()): string {
  // Names as the client gave them, but on one line: a chat window shows line breaks.
  const given = client.userAgent ?? {};
  const ua = {
    software: given.software === undefined ? undefined : oneLine(given.software),
    device: given.device === undefined ? undefined : oneLine(given.device),
  };
  const resource = client.legacy && client.fullJid ? oneLine(client.fullJid.slice(client.fullJid.indexOf("/") + 1)) : undefined;
  const name = ua.software ?? (resource !== undefined ? `a client with resource "${resource}"` : "an unnamed client");
  const parts = [`A new client signed in to your account with your password: ${ua.software ? `"${name}"` : name}`];
  if (ua.device) parts[0] += ` on "${ua.device}"`;
  const ip = server.config.client_ip_tracking ? session.ip : undefined;
  if (ip) parts.push(`from ${ip}`);
  parts.push(`at ${utcTime(now)}.`);
  let text = parts.join(" ");
  const url = accountPageUrl(server);
  text += url
    ? ` If this was not you, change your password and revoke the client at ${url}`
    : " If this was not you, change your password and revoke the client.";
  return text;
}

export default defineFeature({ name: "new-client-notice", needs: ["loginThrottle"], setup: newClientNotice });

function newClientNotice(server: Server): void {
  server.bus.on("new-client", ({ username, client, session }) => {
    if (!server.config.new_client_notice) return undefined;
    const mech = session.authMechanism;
    if (!mech || isTokenMechanism(mech)) return undefined;
    const others = server.registry
      .sessionsOf(username)
      .filter((s) => s !== session && !s.closed && (client.legacy ? s.data.clientRecordId !== client.id : s.data.clientId !== client.id));
    if (others.length === 0) return undefined;
    const body = noticeText(server, client, session);
    const domain = server.config.domain;
    for (const s of others) {
      s.send(
        x(
          "message",
          { xmlns: "jabber:client", from: domain, to: s.jid!.toString(), type: "chat", id: `new-client-${client.id.slice(0, 32)}-${Date.now().toString(36)}` },
          x("subject", null, "New sign-in to your account"),
          x("body", null, body),
        ),
      );
    }
    session.log.info({ notified: others.length }, "new-client notice sent");
    return undefined;
  });
}
