// Admin-socket operations behind `warden shell user clients|revoke_client|allow_client|reset_password`.
import type { Server } from "../core/server.js";
import { accountName } from "../auth/accounts.js";
import { defineFeature } from "../core/feature.js";

export interface ClientRow {
  id: string;
  type: string;
  connected: boolean;
  software?: string;
  version?: string;
  device?: string;
  uri?: string;
  firstSeen: number;
  lastSeen: number;
  expires?: number;
  auth: string[];
  ip?: string;
  /** What the client holds besides its credentials, in plain words (push, uploads, archive sync). */
  holds: string[];
}

export default defineFeature({ name: "clients-admin", needs: ["access"], setup: clientsAdmin });

function clientsAdmin(server: Server): void {
  const access = server.services.get("access");
  server.bus.on("admin/clients", async ({ jid }) => {
    const username = accountName(String(jid), server.config.domain);
    if (!(await server.storage.users.get(username))) throw new Error(`no account '${username}'`);
    const entries = await access.list(username);
    return entries.map((e): ClientRow => {
      const auth: string[] = [];
      if (e.connected) auth.push("connected");
      if (e.fast !== undefined) auth.push("fast");
      if (e.grant && e.grant.kind !== "fast") auth.push("grant");
      if (e.password !== undefined) auth.push("password");
      return {
        id: e.id,
        type: e.type,
        connected: e.connected,
        software: e.userAgent.software,
        version: e.userAgent.softwareVersion,
        device: e.userAgent.device,
        uri: e.userAgent.uri,
        firstSeen: e.firstSeen,
        lastSeen: e.lastSeen,
        expires: e.expires,
        auth,
        ip: e.ip,
        holds: e.holdings.map((h) => h.text),
      };
    });
  });

  server.bus.on("admin/revoke-client", async ({ jid, selector }) => {
    const username = accountName(String(jid), server.config.domain);
    return { result: await access.revoke(username, String(selector), { via: "admin" }) };
  });

  server.bus.on("admin/allow-client", async ({ jid, selector }) => {
    const username = accountName(String(jid), server.config.domain);
    return { result: await access.allow(username, String(selector), { via: "admin" }) };
  });

  server.bus.on("admin/reset-password", async ({ jid, password }) => {
    const username = accountName(String(jid), server.config.domain);
    if (!(await server.storage.users.get(username))) throw new Error(`no account '${username}'`);
    return access.resetPassword(username, String(password), { via: "admin" });
  });
}
