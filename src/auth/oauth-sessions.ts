// XMPP sessions opened with an OAuth 2.0 access token (SASL OAUTHBEARER, legacy SASL or SASL2):
// on success the session is bound to the token's grant (session.data.grantId / tokenHash), so
// revoking the grant or the token closes it at once (src/features/revocation.ts); a restricted
// grant (scope narrower than "xmpp") may not list or revoke the account's clients; and such a
// session gets no FAST token, which would outlive the grant it came from.
import type { Server } from "../core/server.js";
import { saslFailures } from "../core/errors.js";
import { defineFeature } from "../core/feature.js";

export default defineFeature({ name: "oauth-sessions", setup: oauthSessions });

function oauthSessions(server: Server): void {
  // Priority 5: after the client-revocation check (10), so a refused login binds nothing.
  server.bus.on(
    "authentication-success",
    async ({ session, mechanism }) => {
      const pending = session.data.bearerPending;
      delete session.data.bearerPending;
      if (mechanism !== "OAUTHBEARER") return undefined;
      if (!pending) return saslFailures.notAuthorized;
      // Revoked between the check and now? Then the revocation found no session to close: refuse.
      const t = await server.storage.grants.getToken(pending.tokenHash);
      if (!t || t.grantId !== pending.grantId) return saslFailures.notAuthorized;
      session.data.grantId = pending.grantId;
      session.data.tokenHash = pending.tokenHash;
      if (pending.restricted) session.data.manageClients = false;
      return undefined;
    },
    "verify",
  );

  // Before FAST (75) issues anything: a token-authenticated session asks for no FAST token.
  server.bus.on(
    "sasl2-success",
    (ev) => {
      if (ev.mechanism !== "OAUTHBEARER") return;
      for (const el of ev.request.elements()) if (el.name === "request-token") ev.request.remove(el);
    },
    "beforeFast",
  );
}
