// The token endpoint (RFC 6749 §3.2): authorization code with PKCE (RFC 7636), refresh with
// rotation and reuse detection, and the device grant (RFC 8628 §3.4). Rate-limited per IP;
// failed client authentication counts against the login throttle.
import { createHash } from "node:crypto";
import { HttpError, sendJson, type HttpRequest } from "../server.js";
import type { OAuthContext } from "./context.js";
import { authenticateClient, clientInfo, single, DEVICE_GRANT, type Client } from "./clients.js";
import {
  clientIdHash, createOAuthGrant, issueTokens, knownScopes, roleOf, rotateRefresh, touchGrant,
  GRANT_KIND, REFRESH_PURPOSE, REFRESH_USED_PURPOSE, TOKEN_RE, type IssuedTokens,
} from "../../auth/oauth-tokens.js";
import { tokenHash } from "../../auth/grants.js";
import { sha256 } from "./state.js";

export const TOKEN_PATH = "/oauth2/token";
const VERIFIER_RE = /^[A-Za-z0-9\-._~]{43,128}$/;

const invalidGrant = (why: string) => new HttpError(400, "invalid_grant", why);

function withRefresh(client: Client, scopes: string[]): boolean {
  return scopes.includes("offline_access") && client.meta.grant_types.includes("refresh_token");
}

export function tokenRoutes(ctx: OAuthContext): void {
  const { server } = ctx;

  /** The user may still authorise: the account exists and its password has not changed since the login. */
  async function stillValid(username: string, authTime: number): Promise<boolean> {
    const user = await server.storage.users.get(username);
    return !!user && user.passwordChangedAt <= authTime;
  }

  async function authorizationCode(client: Client, params: URLSearchParams): Promise<IssuedTokens> {
    const code = single(params, "code");
    const verifier = single(params, "code_verifier");
    const redirectUri = single(params, "redirect_uri");
    if (!code) throw new HttpError(400, "invalid_request", "code is required");
    const h = sha256(code);
    const rec = await ctx.state.codes.take(h); // single use, whatever happens next
    if (!rec) {
      const used = await ctx.state.usedCodes.take(h);
      if (used) {
        // RFC 6749 §4.1.2: a code used twice revokes what the first use obtained.
        await server.services.get("access").revokeGrant(used.username, used.grantId, "authorization code reused");
        server.log.warn({ username: used.username, grantId: used.grantId }, "oauth authorization code reused; grant revoked");
      }
      throw invalidGrant("The code is unknown, expired or already used");
    }
    if (rec.exp <= Date.now()) throw invalidGrant("The code has expired");
    if (rec.clientIdHash !== clientIdHash(client.id)) throw invalidGrant("The code was issued to another client");
    if ((rec.redirectGiven || redirectUri !== undefined) && redirectUri !== rec.redirectUri) throw invalidGrant("redirect_uri does not match the authorization request");
    if (!verifier) throw new HttpError(400, "invalid_request", "PKCE is required: code_verifier is missing");
    if (!VERIFIER_RE.test(verifier)) throw new HttpError(400, "invalid_request", "code_verifier must be 43 to 128 unreserved characters");
    if (createHash("sha256").update(verifier).digest("base64url") !== rec.challenge) throw invalidGrant("PKCE verification failed: code_verifier does not match code_challenge");
    if (!(await stillValid(rec.username, rec.authTime))) throw invalidGrant("The authorization is no longer valid");
    const grant = await createOAuthGrant(server, rec.username, clientInfo(client), rec.scopes);
    await ctx.state.usedCodes.set(h, { username: rec.username, grantId: grant.id, exp: rec.exp });
    return issueTokens(server, grant, rec.scopes, withRefresh(client, rec.scopes));
  }

  async function refresh(client: Client, params: URLSearchParams): Promise<IssuedTokens> {
    const token = single(params, "refresh_token");
    if (!token) throw new HttpError(400, "invalid_request", "refresh_token is required");
    if (!TOKEN_RE.test(token)) throw invalidGrant("The refresh token is invalid");
    const now = Date.now();
    const hash = tokenHash(token);
    const t = await server.storage.grants.getToken(hash);
    const grant = t && (await server.storage.grants.get(t.username, t.grantId));
    if (!t || !grant || grant.kind !== GRANT_KIND || grant.data.clientIdHash !== clientIdHash(client.id)) throw invalidGrant("The refresh token is invalid");
    const reused = async () => {
      // A rotated refresh token came back: someone holds a copy. The whole grant goes.
      await server.services.get("access").revokeGrant(grant.username, grant.id, "refresh token reused");
      server.log.warn({ username: grant.username, grantId: grant.id }, "oauth refresh token reused; grant revoked");
      return invalidGrant("The refresh token was already used; the authorization is revoked");
    };
    if (t.purpose === REFRESH_USED_PURPOSE) throw await reused();
    if (t.purpose !== REFRESH_PURPOSE) throw invalidGrant("Not a refresh token");
    if ((t.expiresAt !== undefined && t.expiresAt <= now) || !(await server.services.get("grants").valid(grant, now))) throw invalidGrant("The refresh token has expired or was revoked");
    const granted = knownScopes(grant.data.scopes as string | undefined);
    let scopes = granted;
    const asked = single(params, "scope");
    if (asked !== undefined) {
      scopes = knownScopes(asked);
      if (scopes.some((s) => !granted.includes(s)) || !roleOf(scopes)) throw new HttpError(400, "invalid_scope", "The scope must be part of what was granted");
    }
    // Rotation, in one transaction: only one request can replace the token; a concurrent second use is a reuse.
    const tokens = await rotateRefresh(server, grant, t, scopes);
    if (!tokens) throw await reused();
    await touchGrant(server, grant, now);
    return tokens;
  }

  async function deviceCode(client: Client, params: URLSearchParams): Promise<IssuedTokens> {
    const code = single(params, "device_code");
    if (!code) throw new HttpError(400, "invalid_request", "device_code is required");
    const h = sha256(code);
    const rec = await ctx.state.devices.get(h);
    if (!rec || rec.clientIdHash !== clientIdHash(client.id)) throw invalidGrant("The device code is unknown");
    const now = Date.now();
    if (rec.exp <= now) {
      await ctx.state.devices.delete(h);
      throw new HttpError(400, "expired_token", "The device code has expired");
    }
    if (rec.state === "denied") {
      await ctx.state.devices.delete(h);
      throw new HttpError(400, "access_denied", "The user denied access");
    }
    if (rec.state === "pending") {
      // In one step: of two polls at once one is early, and a consent given meanwhile stays.
      let early = false;
      const polled = await ctx.state.devices.update(h, (r) => {
        if (r.state !== "pending") return r;
        early = r.lastPoll !== undefined && now - r.lastPoll < r.interval * 1000;
        return { ...r, lastPoll: now, interval: early ? r.interval + 5 : r.interval };
      });
      if (early) {
        throw new HttpError(400, "slow_down", `Poll at most every ${polled!.interval} seconds`);
      }
      throw new HttpError(400, "authorization_pending", "The user has not answered yet");
    }
    if (!(await ctx.state.devices.take(h))) throw invalidGrant("The device code is unknown"); // single use: a parallel poll took it
    const username = rec.username!;
    const scopes = rec.grantedScopes!;
    if (!(await stillValid(username, rec.authTime!))) throw invalidGrant("The authorization is no longer valid");
    const grant = await createOAuthGrant(server, username, clientInfo(client), scopes);
    return issueTokens(server, grant, scopes, withRefresh(client, scopes));
  }

  server.services.get("http").route("POST", TOKEN_PATH, async (req: HttpRequest) => {
    ctx.limiter.take(`token:${req.ip}`);
    const params = await req.form();
    let client: Client;
    try {
      client = authenticateClient(req, params, ctx.keys);
    } catch (err) {
      if (err instanceof HttpError && err.code === "invalid_client") server.services.get("loginThrottle").fail(req.ip, undefined);
      throw err;
    }
    const grantType = single(params, "grant_type");
    if (!grantType) throw new HttpError(400, "invalid_request", "grant_type is required");
    const handlers: Record<string, (c: Client, p: URLSearchParams) => Promise<IssuedTokens>> = {
      authorization_code: authorizationCode, refresh_token: refresh, [DEVICE_GRANT]: deviceCode,
    };
    const handler = handlers[grantType];
    if (!handler) throw new HttpError(400, "unsupported_grant_type", "Supported: authorization_code, refresh_token, device_code");
    if (!client.meta.grant_types.includes(grantType)) throw new HttpError(400, "unauthorized_client", "This client did not register that grant type");
    sendJson(req, 200, await handler(client, params));
  }, { cors: true });
}
