// Dynamic client registration (RFC 7591): POST a JSON document of client metadata, get a
// client_id (and a client_secret for confidential clients). The rules are in clients.ts.
import { sendJson } from "../server.js";
import type { OAuthContext } from "./context.js";
import { registerClient, validateRegistration } from "./clients.js";

export const REGISTER_PATH = "/oauth2/register";

export function registerRoutes(ctx: OAuthContext): void {
  ctx.server.services.get("http").route(
    "POST",
    REGISTER_PATH,
    async (req) => {
      ctx.limiter.take(`register:${req.ip}`);
      const meta = validateRegistration(await req.json());
      ctx.server.log.info({ client: meta.client_name, uri: meta.client_uri }, "oauth client registered");
      sendJson(req, 201, registerClient(ctx.keys, meta));
    },
    { cors: true },
  );
}
