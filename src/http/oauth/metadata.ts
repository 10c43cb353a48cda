// Authorization server metadata (RFC 8414) at /.well-known/oauth-authorization-server.
import { sendJson } from "../server.js";
import type { OAuthContext } from "./context.js";
import { SCOPES } from "../../auth/oauth-tokens.js";
import { DEVICE_GRANT } from "./clients.js";
import { AUTHORIZE_PATH } from "./authorize.js";
import { TOKEN_PATH } from "./token.js";
import { DEVICE_AUTHORIZATION_PATH } from "./device.js";
import { REGISTER_PATH } from "./register.js";
import { INTROSPECT_PATH, REVOKE_PATH } from "./revoke.js";

export const METADATA_PATH = "/.well-known/oauth-authorization-server";

export function metadata(issuer: string): Record<string, unknown> {
  const authMethods = ["client_secret_basic", "client_secret_post", "none"];
  return {
    issuer,
    authorization_endpoint: issuer + AUTHORIZE_PATH,
    token_endpoint: issuer + TOKEN_PATH,
    registration_endpoint: issuer + REGISTER_PATH,
    revocation_endpoint: issuer + REVOKE_PATH,
    introspection_endpoint: issuer + INTROSPECT_PATH,
    device_authorization_endpoint: issuer + DEVICE_AUTHORIZATION_PATH,
    scopes_supported: Object.keys(SCOPES),
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token", DEVICE_GRANT],
    token_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_methods_supported: authMethods,
    code_challenge_methods_supported: ["S256"],
    authorization_response_iss_parameter_supported: true,
  };
}

export function metadataRoutes(ctx: OAuthContext): void {
  ctx.server.services.get("http").route(
    "GET",
    METADATA_PATH,
    (req) => {
      req.res.removeHeader("Pragma");
      sendJson(req, 200, metadata(req.base), { "Cache-Control": "public, max-age=300", Vary: "Host" });
    },
    { cors: true },
  );
}
