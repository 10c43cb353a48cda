// Account lifecycle as seen by live sessions: a deleted account's sessions are closed, and a
// password change closes every session that logged in before it.
import type { Server } from "../core/server.js";
import { streamErrors } from "../core/errors.js";
import { defineFeature } from "../core/feature.js";

export default defineFeature({ name: "accounts", setup: accounts });

function accounts(server: Server): void {
  accountAdminOps(server);
  server.bus.on("user-deleted", ({ username }) => {
    server.closeSessionsOf(username, streamErrors.accountDeleted);
  });
  server.bus.on("password-changed", ({ username }) => {
    server.closeSessionsOf(username, streamErrors.passwordChanged);
  });
}

/** Admin-socket notices from the `warden` command, which changes the database itself. */
export function accountAdminOps(server: Server): void {
  server.bus.on("admin/user-deleted", async ({ username }) => {
    await server.bus.emit("user-deleted", { username: String(username) });
    return { closed: true };
  });
  server.bus.on("admin/password-changed", async ({ username }) => {
    await server.bus.emit("password-changed", { username: String(username) });
    return { closed: true };
  });
  server.bus.on("admin/status", () => ({ sessions: server.registry.size, streams: server.streams.size, listeners: server.listeners, http: server.services.find("http")?.listeners ?? [], pid: process.pid }));
}
