// Token revocation (RFC 7009) and introspection (RFC 7662), for the client a token was issued to.
//
// Revoking either token of a grant revokes the whole grant (all its tokens, and the XMPP
// sessions they opened): RFC 7009 §2.1 says a refresh token's revocation SHOULD take the access
// tokens with it, and an app that logs out means the authorisation to end. The reference
// deletes the one token and leaves the grant behind until it expires.
import { HttpError, sendJson, type HttpRequest } from "../server.js";
import { httpErrors } from "../../core/errors.js";
import type { OAuthContext } from "./context.js";
import { authenticateClient, single, type Client } from "./clients.js";
import { tokenHash } from "../../auth/grants.js";
import { ACCESS_PURPOSE, GRANT_KIND, REFRESH_PURPOSE, TOKEN_RE, clientIdHash, liveToken, tokenScopes } from "../../auth/oauth-tokens.js";

export const REVOKE_PATH = "/oauth2/revoke";
export const INTROSPECT_PATH = "/oauth2/introspect";

export function revokeRoutes(ctx: OAuthContext): void {
  const { server } = ctx;

  const authenticated = async (req: HttpRequest): Promise<{ client: Client; token: string }> => {
    ctx.limiter.take(`token:${req.ip}`);
    const params = await req.form();
    const client = authenticateClient(req, params, ctx.keys);
    const token = single(params, "token");
    single(params, "token_type_hint"); // any hint is fine: tokens are found by their hash
    if (!token) throw new HttpError(httpErrors.tokenMissing);
    return { client, token };
  };

  server.services.get("http").route(
    "POST",
    REVOKE_PATH,
    async (req) => {
      const { client, token } = await authenticated(req);
      if (TOKEN_RE.test(token)) {
        const t = await server.storage.grants.getToken(tokenHash(token));
        const grant = t && (await server.storage.grants.get(t.username, t.grantId));
        if (grant && grant.kind === GRANT_KIND) {
          if (grant.data.clientIdHash !== clientIdHash(client.id)) throw new HttpError(httpErrors.tokenOtherClient);
          await server.services.get("access").revokeGrant(grant.username, grant.id, "revoked by the app");
        }
      }
      // Unknown and already revoked tokens are answered the same (RFC 7009 §2.2).
      req.res.setHeader("Content-Length", 0);
      req.res.writeHead(200);
      req.res.end();
    },
    { cors: true },
  );

  server.services.get("http").route(
    "POST",
    INTROSPECT_PATH,
    async (req) => {
      const { client, token } = await authenticated(req);
      const live = (await liveToken(server, token, ACCESS_PURPOSE)) ?? (await liveToken(server, token, REFRESH_PURPOSE));
      if (!live || live.grant.data.clientIdHash !== clientIdHash(client.id)) return sendJson(req, 200, { active: false });
      const { t, grant } = live;
      const jid = `${grant.username}@${server.config.domain}`;
      const body: Record<string, unknown> = {
        active: true,
        scope: tokenScopes(t, grant).join(" "),
        client_id: client.id,
        username: jid,
        sub: `xmpp:${jid}`,
        iat: Math.floor(t.createdAt / 1000),
        iss: req.base,
      };
      if (t.expiresAt !== undefined) body.exp = Math.floor(t.expiresAt / 1000);
      if (t.purpose === ACCESS_PURPOSE) body.token_type = "bearer";
      sendJson(req, 200, body);
    },
    { cors: true },
  );
}
