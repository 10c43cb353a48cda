// Dynamic client registration (RFC 7591) with the reference's validation rules, stateless as in
// the reference: the client_id is the validated metadata signed with our key (keys.ts), and
// the client_secret is an HMAC of the client_id, so nothing is stored per client and a forged
// or altered client_id is simply unknown. Also: authenticating a client at the token,
// revocation, introspection and device endpoints (RFC 6749 §2.3).
import net from "node:net";
import { timingSafeEqual } from "node:crypto";
import { HttpError, type HttpRequest } from "../server.js";
import { httpErrors, type HttpCodedErrorDef } from "../../core/errors.js";
import type { OAuthKeys } from "./keys.js";
import { knownScopes, clientIdHash, type OAuthClientInfo } from "../../auth/oauth-tokens.js";

export const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
export const OOB_URI = "urn:ietf:wg:oauth:2.0:oob";
const GRANT_TYPES = ["authorization_code", "refresh_token", DEVICE_GRANT];
const AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"];
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_REDIRECTS = 10;
const MAX_URI = 2048;
/** The client_id carries the metadata: it must stay usable in a URL. */
const MAX_CLIENT_ID = 4096;

/** What a client_id carries. */
export interface ClientMetadata {
  client_name: string;
  client_uri: string;
  application_type: "web" | "native";
  redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: string;
  scope?: string;
  logo_uri?: string;
  tos_uri?: string;
  policy_uri?: string;
  software_id?: string;
  software_version?: string;
  /** Issued at, seconds. */
  iat: number;
}

export interface Client {
  id: string;
  meta: ClientMetadata;
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (net.isIPv4(h)) return h.startsWith("127.");
  return h === "::1" || h === "0:0:0:0:0:0:0:1";
}

function parseUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

function text(v: unknown, field: string, max: number): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.trim() === "" || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) {
    throw new HttpError(httpErrors.regBadText(field, max));
  }
  return v.trim();
}

function strings(v: unknown, field: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) throw new HttpError(httpErrors.regNotStrings(field));
  return [...new Set(v as string[])];
}

/** An https URL on the client's host (logo, terms, policy). */
function clientHostUri(v: unknown, field: string, clientHost: string): string | undefined {
  const s = text(v, field, MAX_URI);
  if (s === undefined) return undefined;
  const u = parseUrl(s);
  if (!u || u.protocol !== "https:" || u.hostname !== clientHost || u.username || u.password) {
    throw new HttpError(httpErrors.regNotClientHostUri(field));
  }
  return u.href;
}

/** The redirect URI rules of the reference, by application type. */
export function checkRedirectUri(uri: string, type: "web" | "native", clientHost: string): void {
  const bad = (why: string) => {
    throw new HttpError(httpErrors.regRedirect(uri, why));
  };
  if (uri.length > MAX_URI) bad("too long");
  if (type === "native" && uri === OOB_URI) return;
  const u = parseUrl(uri);
  if (!u) return bad("not an absolute URI");
  if (u.hash || uri.includes("#")) bad("must not have a fragment");
  if (u.username || u.password) bad("must not carry credentials");
  if (type === "web") {
    if (u.protocol !== "https:") bad("a web application's redirect URI must be https");
    if (u.hostname !== clientHost) bad("a web application's redirect URI must be on the host of client_uri");
    return;
  }
  // Native applications (RFC 8252 §7): loopback over http on any port, or a private-use scheme.
  if (u.protocol === "http:") {
    if (!["127.0.0.1", "[::1]", "localhost"].includes(u.hostname)) bad("a native application's http redirect URI must be on the loopback interface");
    return;
  }
  const scheme = u.protocol.slice(0, -1);
  if (scheme === "https") bad("a native application uses a loopback or private-use URI scheme redirect");
  if (!scheme.includes(".")) bad("a private-use URI scheme must be a reversed domain name (contain a dot)");
  if (u.host !== "") bad("a private-use URI scheme redirect has no authority (one slash: com.example.app:/callback)");
}

/** Validates registration metadata; unknown fields are dropped. */
export function validateRegistration(body: unknown, now = Date.now()): ClientMetadata {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new HttpError(httpErrors.regNotObject);
  const b = body as Record<string, unknown>;
  const client_name = text(b.client_name, "client_name", 200);
  if (!client_name) throw new HttpError(httpErrors.regNameRequired);
  const clientUriText = text(b.client_uri, "client_uri", MAX_URI);
  if (!clientUriText) throw new HttpError(httpErrors.regUriRequired);
  const cu = parseUrl(clientUriText);
  if (!cu || cu.protocol !== "https:" || cu.username || cu.password || cu.hash) throw new HttpError(httpErrors.regUriNotHttps);
  if (isLoopbackHost(cu.hostname)) throw new HttpError(httpErrors.regUriLoopback);
  const appType = b.application_type ?? "web";
  if (appType !== "web" && appType !== "native") throw new HttpError(httpErrors.regAppType);

  const grant_types = strings(b.grant_types, "grant_types") ?? ["authorization_code"];
  if (grant_types.length === 0) throw new HttpError(httpErrors.regNoGrantTypes);
  for (const g of grant_types) if (!GRANT_TYPES.includes(g)) throw new HttpError(httpErrors.regGrantType(g));
  if (grant_types.length === 1 && grant_types[0] === "refresh_token") throw new HttpError(httpErrors.regRefreshAlone);
  const code = grant_types.includes("authorization_code");
  const response_types = strings(b.response_types, "response_types") ?? (code ? ["code"] : []);
  for (const r of response_types) if (r !== "code") throw new HttpError(httpErrors.regResponseType(r));
  if (code !== response_types.includes("code")) throw new HttpError(httpErrors.regCodeMismatch);

  const method = b.token_endpoint_auth_method ?? "client_secret_basic";
  if (typeof method !== "string" || !AUTH_METHODS.includes(method)) throw new HttpError(httpErrors.regAuthMethod(AUTH_METHODS));
  if (method === "none" && appType !== "native") throw new HttpError(httpErrors.regPublicWeb);

  const redirect_uris = strings(b.redirect_uris, "redirect_uris") ?? [];
  if (code && redirect_uris.length === 0) throw new HttpError(httpErrors.regRedirectRequired);
  if (redirect_uris.length > MAX_REDIRECTS) throw new HttpError(httpErrors.regTooManyRedirects(MAX_REDIRECTS));
  for (const r of redirect_uris) checkRedirectUri(r, appType, cu.hostname);

  const meta: ClientMetadata = {
    client_name,
    client_uri: cu.href,
    application_type: appType,
    redirect_uris,
    grant_types,
    response_types,
    token_endpoint_auth_method: method,
    iat: Math.floor(now / 1000),
  };
  if (b.scope !== undefined) {
    if (typeof b.scope !== "string" || b.scope.length > 1000) throw new HttpError(httpErrors.regScope);
    const scopes = knownScopes(b.scope);
    if (scopes.length > 0) meta.scope = scopes.join(" ");
  }
  for (const f of ["logo_uri", "tos_uri", "policy_uri"] as const) {
    const v = clientHostUri(b[f], f, cu.hostname);
    if (v) meta[f] = v;
  }
  if (b.software_id !== undefined) {
    if (typeof b.software_id !== "string" || !UUID_RE.test(b.software_id)) throw new HttpError(httpErrors.regSoftwareId);
    meta.software_id = b.software_id.toLowerCase();
  }
  const version = text(b.software_version, "software_version", 100);
  if (version) meta.software_version = version;
  return meta;
}

export function clientSecret(keys: OAuthKeys, clientId: string): string {
  return keys.mac("client-secret", clientId);
}

/** The registration response (RFC 7591 §3.2.1). */
export function registerClient(keys: OAuthKeys, meta: ClientMetadata): Record<string, unknown> {
  const client_id = keys.sign("client", meta);
  if (client_id.length > MAX_CLIENT_ID) throw new HttpError(httpErrors.regTooMuch);
  const out: Record<string, unknown> = { client_id, client_id_issued_at: meta.iat };
  if (meta.token_endpoint_auth_method !== "none") {
    out.client_secret = clientSecret(keys, client_id);
    out.client_secret_expires_at = 0;
  }
  const { iat: _iat, ...rest } = meta;
  return { ...out, ...rest };
}

/** The client named by a client_id, or undefined when the id is not one we issued. */
export function lookupClient(keys: OAuthKeys, clientId: string | undefined | null): Client | undefined {
  if (!clientId || clientId.length > MAX_CLIENT_ID) return undefined;
  const meta = keys.verify<ClientMetadata>("client", clientId);
  return meta && typeof meta.client_name === "string" ? { id: clientId, meta } : undefined;
}

export function clientInfo(client: Client): OAuthClientInfo {
  const info: OAuthClientInfo = { clientName: client.meta.client_name, clientUri: client.meta.client_uri, clientIdHash: clientIdHash(client.id) };
  if (client.meta.software_id) info.softwareId = client.meta.software_id;
  if (client.meta.software_version) info.softwareVersion = client.meta.software_version;
  return info;
}

/** One value per parameter (RFC 6749 §3.1): a repeated parameter is an invalid request. */
export function single(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw new HttpError(httpErrors.repeatedParameter(name));
  return all[0];
}

function formDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, " "));
}

function secretMatches(keys: OAuthKeys, clientId: string, secret: string): boolean {
  const want = Buffer.from(clientSecret(keys, clientId));
  const got = Buffer.from(secret);
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * Authenticates the client of a token-endpoint-style request with the method it registered:
 * HTTP Basic, client_secret in the body, or (public clients) client_id alone.
 */
export function authenticateClient(req: HttpRequest, params: URLSearchParams, keys: OAuthKeys): Client {
  const authz = req.header("authorization");
  const bodyId = single(params, "client_id");
  const bodySecret = single(params, "client_secret");
  let id: string | undefined;
  let secret: string | undefined;
  let method: string;
  // RFC 6749 §5.2: a client that tried the Authorization header is answered with a challenge.
  const fail = (def: HttpCodedErrorDef): never => {
    throw new HttpError(def, authz ? { "WWW-Authenticate": 'Basic realm="oauth2"' } : {});
  };
  if (authz !== undefined) {
    const m = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(authz.trim());
    if (!m) fail(httpErrors.clientAuthUnsupported);
    const decoded = Buffer.from(m![1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) fail(httpErrors.clientAuthMalformed);
    try {
      id = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      fail(httpErrors.clientAuthMalformed);
    }
    if (bodySecret !== undefined) fail(httpErrors.clientAuthTwice);
    if (bodyId !== undefined && bodyId !== id) fail(httpErrors.clientIdMismatch);
    method = "client_secret_basic";
  } else if (bodySecret !== undefined) {
    id = bodyId;
    secret = bodySecret;
    method = "client_secret_post";
  } else {
    id = bodyId;
    method = "none";
  }
  const client = lookupClient(keys, id);
  if (!client) return fail(httpErrors.clientUnknown);
  if (client.meta.token_endpoint_auth_method !== method) fail(httpErrors.clientWrongMethod(client.meta.token_endpoint_auth_method));
  if (method !== "none" && !secretMatches(keys, client.id, secret ?? "")) fail(httpErrors.clientWrongSecret);
  return client;
}
