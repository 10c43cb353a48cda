// What the account page's routes share: the browser sign-ins, the open pages to tell about
// changes, the sign-in form's CSRF, the rate limit and the security history. Made once by the
// feature (index.ts) and handed to each group of routes.
import type { Server } from "../../core/server.js";
import type { HistoryInput } from "../../events.js";
import type { RateLimiter } from "../server.js";
import type { BrowserSessions } from "./sessions.js";
import type { LoginCsrf } from "./auth.js";
import type { LiveHub } from "./live.js";

/** How the account page names itself in the security history ("via"). */
export const VIA = "account page";

export interface AccountContext {
  server: Server;
  live: LiveHub;
  sessions: BrowserSessions;
  loginCsrf: LoginCsrf;
  /** The OAuth login endpoints' limit (oauth2_rate_limit a minute per IP) applies to these forms too. */
  limiter: RateLimiter;
  /** Adds an event to the account's security history. */
  history: (e: HistoryInput) => Promise<void>;
}
