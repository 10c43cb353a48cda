// Admin-socket notices from the `warden` command, which changes the database itself: an
// account deleted or a password changed there ends what it must through the access service;
// and the server's status for `warden status`.
import type { Server } from "../core/server.js";
import { defineFeature } from "../core/feature.js";

export default defineFeature({ name: "accounts", needs: ["access"], setup: accounts });

function accounts(server: Server): void {
  const access = server.services.get("access");
  server.bus.on("admin/user-deleted", async ({ username }) => {
    await access.accountDeleted(String(username));
    return { closed: true };
  });
  server.bus.on("admin/password-changed", async ({ username }) => {
    await access.passwordChanged(String(username));
    return { closed: true };
  });
  server.bus.on("admin/status", () => ({
    sessions: server.registry.size,
    streams: server.streams.size,
    listeners: server.listeners,
    http: server.services.find("http")?.listeners ?? [],
    pid: process.pid,
  }));
}
