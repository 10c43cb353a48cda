// The account page on the HTTP service (feature; registered after the http feature):
//   GET  /account                  the list of clients, change of password, security history
//   GET  /account/login, POST      sign-in with the account's password
//   POST /account/logout           sign-out of this browser
//   GET  /account/revoke?id=, POST revoke one client, app or browser (password asked again, ASVS 7.5.2)
//   GET  /account/sign-out-others, POST   everything else out (password asked again)
//   POST /account/password         change of password (signs out everything else, says so)
//   POST /account/reset            change of password and sign-out of everything else in one step
//                                  (offered where a password client without client id is revoked)
//   GET  /account/allow?id=, POST  allow a revoked client again (password asked again)
//   GET  /account/events           Server-Sent Events for live updates; /account/fragment the tables
//   GET  /account/live.js          the page's one script
// Routes: home.ts (the page, live updates), sign-in.ts, revoke.ts, allow.ts, sign-out-others.ts,
// password.ts (change and reset). What they share: context.ts, respond.ts (answers), signed-in.ts
// (the browser's sign-in), rows.ts (what is shown). Sessions: sessions.ts; password and CSRF
// checks: auth.ts; HTML: pages.ts; live updates: live.ts.
import type { Server } from "../../core/server.js";
import type { Session } from "../../core/session.js";
import { RateLimiter } from "../server.js";
import type { HistoryInput } from "../../events.js";
import { LoginCsrf } from "./auth.js";
import { LiveHub } from "./live.js";
import type { AccountContext } from "./context.js";
import { homeRoutes } from "./home.js";
import { signInRoutes } from "./sign-in.js";
import { revokeRoutes } from "./revoke.js";
import { allowRoutes } from "./allow.js";
import { signOutOthersRoutes } from "./sign-out-others.js";
import { passwordRoutes } from "./password.js";
import { defineFeature } from "../../core/feature.js";

export default defineFeature({
  name: "account-page",
  needs: ["http", "grants", "loginThrottle", "access", "rateLimits", "browserSessions", "accountUpdates"],
  setup: accountPageFeature,
});

function accountPageFeature(server: Server): () => void {
  const live = new LiveHub(server.services.get("accountUpdates"));
  const sessions = server.services.get("browserSessions");
  const loginCsrf = new LoginCsrf();
  // The OAuth login endpoints' limit (oauth2_rate_limit a minute per IP) applies to these forms too.
  const limiter = new RateLimiter(server.services.get("rateLimits"), () => server.config.oauth2_rate_limit);
  const history = (e: HistoryInput) => server.bus.emit("security-history", e, (err) => server.log.error({ err }, "security history failed"));
  const ctx: AccountContext = { server, live, sessions, loginCsrf, limiter, history };

  homeRoutes(ctx);
  signInRoutes(ctx);
  revokeRoutes(ctx);
  allowRoutes(ctx);
  signOutOthersRoutes(ctx);
  passwordRoutes(ctx);

  // --- what ends sign-ins, and what the open pages hear about -----------------------------------

  const offs = [
    server.bus.on("password-changed", async ({ username }) => {
      const user = await server.storage.users.get(username);
      for (const b of sessions.ofUser(username)) if (!user || b.authAt < user.passwordChangedAt) sessions.end(b, "password-changed");
    }),
    server.bus.on("user-deleted", ({ username }) => {
      sessions.endUser(username, "revoked");
    }),
  ];
  const byUser = (ev: { username?: string }) => {
    if (ev.username) live.changed(ev.username);
  };
  const bySession = (ev: { session?: Session }) => {
    if (ev.session?.username) live.changed(ev.session.username);
  };
  for (const name of ["new-client", "client-revoked", "client-allowed", "password-changed", "grant-created", "grant-revoked", "security-event"] as const)
    offs.push(server.bus.on(name, byUser, "fallback"));
  for (const name of ["authenticated", "resource-bound", "session-closed"] as const) offs.push(server.bus.on(name, bySession, "fallback"));

  return () => {
    for (const off of offs) off();
    live.stop();
  };
}
