// Admin-socket operations behind `warden shell user clients|revoke_client|allow_client|reset_password`.
import type { Server } from "../core/server.js";
import { accountName } from "../auth/accounts.js";
import { listAccess } from "./access.js";
import { revoke } from "./revoke.js";
import { allowClient } from "./allow.js";
import { resetPassword } from "./reset.js";
import { defineFeature } from "../core/feature.js";

export interface ClientRow {
  id: string; type: string; connected: boolean; software?: string; version?: string; device?: string; uri?: string;
  firstSeen: number; lastSeen: number; expires?: number; auth: string[]; ip?: string;
}

export default defineFeature({ name: "clients-admin", needs: ["grants"], setup: clientsAdmin });

function clientsAdmin(server: Server): void {
  server.bus.on("admin/clients", async ({ jid }) => {
    const username = accountName(String(jid), server.config.domain);
    if (!(await server.storage.users.get(username))) throw new Error(`no account '${username}'`);
    const entries = await listAccess(server, username);
    return entries.map((e): ClientRow => {
      const auth: string[] = [];
      if (e.connected) auth.push("connected");
      if (e.fast !== undefined) auth.push("fast");
      if (e.grant && e.grant.kind !== "fast") auth.push("grant");
      if (e.password !== undefined) auth.push("password");
      return {
        id: e.id, type: e.type, connected: e.connected, software: e.userAgent.software, version: e.userAgent.softwareVersion,
        device: e.userAgent.device, uri: e.userAgent.uri, firstSeen: e.firstSeen, lastSeen: e.lastSeen, expires: e.expires, auth, ip: e.ip,
      };
    });
  });

  server.bus.on("admin/revoke-client", async ({ jid, selector }) => {
    const username = accountName(String(jid), server.config.domain);
    return { result: await revoke(server, username, String(selector), { via: "admin" }) };
  });

  server.bus.on("admin/allow-client", async ({ jid, selector }) => {
    const username = accountName(String(jid), server.config.domain);
    return { result: await allowClient(server, username, String(selector), { via: "admin" }) };
  });

  server.bus.on("admin/reset-password", async ({ jid, password }) => {
    const username = accountName(String(jid), server.config.domain);
    if (!(await server.storage.users.get(username))) throw new Error(`no account '${username}'`);
    return resetPassword(server, username, String(password), { via: "admin" });
  });
}
