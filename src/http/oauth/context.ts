// What the OAuth endpoints share (src/http/oauth/router.ts makes it, each endpoint file uses it).
import type { Server } from "../../core/server.js";
import type { RateLimiter } from "../server.js";
import type { OAuthKeys } from "./keys.js";
import type { OAuthState } from "./state.js";

/** What the OAuth endpoints share. */
export interface OAuthContext {
  server: Server;
  keys: OAuthKeys;
  state: OAuthState;
  /** Per IP and endpoint group ("token:", "login:", "device:", "register:"), oauth2_rate_limit a minute. */
  limiter: RateLimiter;
}
