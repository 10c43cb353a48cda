// Revocation reaches live sessions: a session that logged in with a grant or token that is
// revoked, or whose account's password changed, is closed at once (the reference server
// leaves such sessions connected).
import type { Server } from "../core/server.js";
import { streamErrors } from "../core/errors.js";
import { defineFeature } from "../core/feature.js";

export default defineFeature({ name: "revocation", needs: ["grants"], setup: revocation });

function revocation(server: Server): void {
  server.bus.on("grant-revoked", ({ username, grantId }) => {
    server.closeSessionsOf(username, streamErrors.accessRevoked, (s) => s.data.grantId === grantId);
  });
  server.bus.on("token-revoked", ({ username, hash }) => {
    server.closeSessionsOf(username, streamErrors.accessRevoked, (s) => s.data.tokenHash === hash);
  });
  // Grants and tokens from before a password change die with it.
  server.bus.on("password-changed", async () => { await server.services.get("grants").purge(); });
}
