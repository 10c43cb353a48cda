// The error catalogue's HTTP part (src/core/errors.ts re-exports it).
// HTTP errors (src/http/): the status, the OAuth 2.0 error code where one applies (RFC 6749
// §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2, RFC 8628 §3.5) and the text, sent as JSON
// {"error", "error_description"} or shown on a page. Entries with a part that names something
// of the request are functions.

export interface HttpErrorDef {
  status: number;
  /** The OAuth/REST error code; absent where no JSON carries it (a page, a bare status line). */
  code?: string;
  text?: string;
  /** A page's heading, where the page does not use the generic one. */
  title?: string;
  headers?: Readonly<Record<string, string>>;
}

/** An error with a code: what can be sent as JSON (or to an OAuth redirect URI). */
export type HttpCodedErrorDef = HttpErrorDef & { code: string };
/** An error with a text: what can be shown on a page. */
export type HttpPageErrorDef = HttpErrorDef & { text: string };

type HttpErrorEntry = HttpErrorDef | ((...args: never[]) => HttpErrorDef);

const invalidRequest = (text: string) => ({ status: 400, code: "invalid_request", text }) as const;
const invalidGrant = (text: string) => ({ status: 400, code: "invalid_grant", text }) as const;
const invalidClient = (text: string) => ({ status: 401, code: "invalid_client", text }) as const;
const invalidMetadata = (text: string) => ({ status: 400, code: "invalid_client_metadata", text }) as const;
const invalidRedirect = (text: string) => ({ status: 400, code: "invalid_redirect_uri", text }) as const;
const bearer = (realm: string, extra = "") => ({ "WWW-Authenticate": `Bearer realm="${realm}"${extra}` });

/** HTTP errors, by name. */
export const httpErrors = {
  // The HTTP service (src/http/server.ts). The first four are written to the socket bare (no
  // body): what Node's parser refuses, and an upgrade that no feature takes.
  badRequest: { status: 400 },
  requestTimeout: { status: 408 },
  headersTooLarge: { status: 431 },
  upgradeNotFound: { status: 404 },
  urlTooLong: { status: 414, code: "invalid_request", text: "The URL is too long" },
  badHost: invalidRequest("Missing or invalid Host header"),
  badUrl: invalidRequest("Invalid request URL"),
  notFound: { status: 404, code: "not_found", text: "No such endpoint" },
  methodNotAllowed: (allow: string[]) => ({ status: 405, code: "invalid_request", text: `Use ${allow.join(" or ")}`, headers: { Allow: allow.join(", ") } }),
  bodyTooLarge: { status: 413, code: "invalid_request", text: "The request body is too large" },
  bodyCutShort: invalidRequest("The request was cut short"),
  formRequired: { status: 415, code: "invalid_request", text: "The body must be application/x-www-form-urlencoded" },
  bodyNotUtf8: invalidRequest("The body is not UTF-8"),
  jsonRequired: { status: 415, code: "invalid_request", text: "The body must be application/json" },
  bodyNotJson: invalidRequest("The body is not valid JSON"),
  internal: { status: 500, code: "server_error", text: "Internal server error" },
  // Deadlines (src/http/deadline.ts): the connection is closed after these.
  requestTooSlow: { status: 408, code: "invalid_request", text: "The request took too long to arrive", headers: { Connection: "close" } },
  bodyIdle: (seconds: number) => ({
    status: 408,
    code: "invalid_request",
    text: `No data came for ${seconds} s: the request was stopped`,
    headers: { Connection: "close" },
  }),
  bodyTooSlow: (rate: number) => ({
    status: 408,
    code: "invalid_request",
    text: `The body came slower than ${rate} bytes/s on average: the request was stopped`,
    headers: { Connection: "close" },
  }),
  tooManyRequests: (retryAfter: number) => ({
    status: 429,
    code: "slow_down",
    text: "Too many requests; try again later",
    headers: { "Retry-After": String(retryAfter) },
  }),
  /** RFC 6749 §3.1: one value per parameter. */
  repeatedParameter: (name: string) => invalidRequest(`Parameter ${name} is repeated`),

  // Client authentication (RFC 6749 §2.3, src/http/oauth/clients.ts)
  clientAuthUnsupported: invalidClient("Unsupported Authorization header"),
  clientAuthMalformed: invalidClient("Malformed Basic credentials"),
  clientAuthTwice: invalidClient("Use one client authentication method"),
  clientIdMismatch: invalidClient("client_id does not match the credentials"),
  clientUnknown: invalidClient("Unknown client"),
  clientWrongMethod: (method: string) => invalidClient(`This client authenticates with ${method}`),
  clientWrongSecret: invalidClient("Wrong client credentials"),

  // Dynamic client registration (RFC 7591, src/http/oauth/clients.ts)
  regNotObject: invalidMetadata("The body must be a JSON object"),
  regBadText: (field: string, max: number) => invalidMetadata(`${field} must be a non-empty string of at most ${max} characters`),
  regNotStrings: (field: string) => invalidMetadata(`${field} must be an array of strings`),
  regNotClientHostUri: (field: string) => invalidMetadata(`${field} must be an https URL on the host of client_uri`),
  regNameRequired: invalidMetadata("client_name is required"),
  regUriRequired: invalidMetadata("client_uri is required"),
  regUriNotHttps: invalidMetadata("client_uri must be an https URL"),
  regUriLoopback: invalidMetadata("client_uri must not be a loopback address"),
  regAppType: invalidMetadata("application_type must be web or native"),
  regNoGrantTypes: invalidMetadata("grant_types must not be empty"),
  regGrantType: (grant: string) => invalidMetadata(`grant type ${grant.slice(0, 100)} is not supported`),
  regRefreshAlone: invalidMetadata("refresh_token needs another grant type"),
  regResponseType: (type: string) => invalidMetadata(`response type ${type.slice(0, 100)} is not supported`),
  regCodeMismatch: invalidMetadata("response type code goes with grant type authorization_code"),
  regAuthMethod: (methods: string[]) => invalidMetadata(`token_endpoint_auth_method must be one of ${methods.join(", ")}`),
  regPublicWeb: invalidMetadata("only native applications may be public clients (token_endpoint_auth_method none)"),
  regScope: invalidMetadata("scope must be a string"),
  regSoftwareId: invalidMetadata("software_id must be a UUID"),
  regTooMuch: invalidMetadata("Too much client metadata (fewer or shorter URIs)"),
  regRedirectRequired: invalidRedirect("redirect_uris is required for the authorization code grant"),
  regTooManyRedirects: (max: number) => invalidRedirect(`at most ${max} redirect URIs`),
  /** A redirect URI against the reference's rules; `why` is the rule it breaks. */
  regRedirect: (uri: string, why: string) => invalidRedirect(`${uri.slice(0, 200)}: ${why}`),

  // The authorization endpoint (RFC 6749 §4.1.2.1, sent to the redirect URI; src/http/oauth/authorize.ts)
  authzCodeNotRegistered: { status: 400, code: "unauthorized_client", text: "This client did not register the authorization code grant" },
  requestObject: { status: 400, code: "request_not_supported", text: "Request objects are not supported" },
  responseType: { status: 400, code: "unsupported_response_type", text: "Only response_type=code is supported" },
  pkceChallengeMissing: invalidRequest("PKCE is required: code_challenge is missing"),
  pkceMethod: invalidRequest("PKCE code_challenge_method must be S256"),
  pkceChallengeMalformed: invalidRequest("code_challenge must be the base64url SHA-256 of the verifier (43 characters)"),
  responseMode: invalidRequest("Only response_mode=query is supported"),
  stateTooLong: invalidRequest("state is too long"),
  noAccessScope: { status: 400, code: "invalid_scope", text: "The request asks for no scope that gives access (xmpp or xmpp:user)" },
  accessDenied: { status: 400, code: "access_denied", text: "The user denied access" },
  noScopeGranted: { status: 400, code: "access_denied", text: "The user granted no scope that gives access" },

  // The token endpoint (RFC 6749 §5.2, RFC 7636 §4.6, RFC 8628 §3.5; src/http/oauth/token.ts)
  grantTypeMissing: invalidRequest("grant_type is required"),
  grantTypeUnsupported: { status: 400, code: "unsupported_grant_type", text: "Supported: authorization_code, refresh_token, device_code" },
  grantTypeNotRegistered: { status: 400, code: "unauthorized_client", text: "This client did not register that grant type" },
  codeMissing: invalidRequest("code is required"),
  codeUnknown: invalidGrant("The code is unknown, expired or already used"),
  codeExpired: invalidGrant("The code has expired"),
  codeOtherClient: invalidGrant("The code was issued to another client"),
  redirectUriMismatch: invalidGrant("redirect_uri does not match the authorization request"),
  pkceVerifierMissing: invalidRequest("PKCE is required: code_verifier is missing"),
  pkceVerifierMalformed: invalidRequest("code_verifier must be 43 to 128 unreserved characters"),
  pkceMismatch: invalidGrant("PKCE verification failed: code_verifier does not match code_challenge"),
  authorizationStale: invalidGrant("The authorization is no longer valid"),
  refreshMissing: invalidRequest("refresh_token is required"),
  refreshInvalid: invalidGrant("The refresh token is invalid"),
  refreshReused: invalidGrant("The refresh token was already used; the authorization is revoked"),
  notRefreshToken: invalidGrant("Not a refresh token"),
  refreshExpired: invalidGrant("The refresh token has expired or was revoked"),
  scopeNotGranted: { status: 400, code: "invalid_scope", text: "The scope must be part of what was granted" },
  deviceCodeMissing: invalidRequest("device_code is required"),
  deviceCodeUnknown: invalidGrant("The device code is unknown"),
  deviceCodeExpired: { status: 400, code: "expired_token", text: "The device code has expired" },
  slowDown: (interval: number) => ({ status: 400, code: "slow_down", text: `Poll at most every ${interval} seconds` }),
  authorizationPending: { status: 400, code: "authorization_pending", text: "The user has not answered yet" },
  deviceGrantNotRegistered: { status: 400, code: "unauthorized_client", text: "This client did not register the device grant" },

  // Revocation and introspection (RFC 7009, RFC 7662; src/http/oauth/revoke.ts)
  tokenMissing: invalidRequest("token is required"),
  tokenOtherClient: { status: 400, code: "unauthorized_client", text: "The token was issued to another client" },

  // The OAuth forms' pages (src/http/oauth/authorize.ts, device.ts): shown, never redirected
  authzFormExpired: { status: 403, text: "This form has expired or did not come from this site. Go back to the app and start again." },
  authzRequestExpired: { status: 400, text: "This sign-in request has expired. Go back to the app and start again." },
  authzUnknownClient: { status: 400, text: "The app is not registered here (unknown client_id)." },
  authzRedirectUnregistered: { status: 400, text: "The app asked to send you to an address it did not register (redirect_uri)." },
  authzRedirectMissing: { status: 400, text: "The app did not say where to send you back (redirect_uri)." },
  authzSignInExpired: { status: 400, text: "Your sign-in has expired. Go back to the app and start again." },
  authzAlreadyAnswered: { status: 400, text: "This consent form was already answered. Go back to the app and start again." },
  authzSignInStale: { status: 400, text: "Your sign-in is no longer valid. Go back to the app and start again." },
  deviceFormExpired: { status: 403, text: "This form has expired or did not come from this site. Reload the page and try again." },
  deviceRequestExpired: { status: 400, text: "This request has expired. Start again on your device." },
  deviceUserCodeUnknown: { status: 400, text: "That code is unknown or has expired. Check the code your device shows." },

  // The REST API (RFC 6750 §3; src/http/rest.ts)
  bearerRequired: (realm: string) => ({ status: 401, code: "invalid_request", text: "A bearer token is required", headers: bearer(realm) }),
  bearerInvalid: (realm: string) => ({
    status: 401,
    code: "invalid_token",
    text: "The access token is invalid, expired or revoked",
    headers: bearer(realm, `, error="invalid_token", error_description="The access token is invalid, expired or revoked"`),
  }),
  bearerScope: (realm: string) => ({
    status: 403,
    code: "insufficient_scope",
    text: "The token's scope does not give access to the account",
    headers: bearer(realm, `, error="insufficient_scope", scope="xmpp"`),
  }),
  restNotObject: invalidRequest("The body must be a JSON object"),
  restToRequired: invalidRequest("'to' (a JID) is required"),
  restToInvalid: invalidRequest("'to' is not a valid JID of an account"),
  restToRemote: invalidRequest("Only accounts on this server can be reached (no server-to-server)"),
  restBodyRequired: invalidRequest("'body' (text) is required"),
  restBodyTooLong: { status: 413, code: "invalid_request", text: "'body' is too long" },
  restType: (types: string[]) => invalidRequest(`'type' must be one of ${types.join(", ")}`),
  restId: invalidRequest("'id' must be 1 to 64 letters, digits or _.:-"),

  // The account page (src/http/account/)
  signInAgain: { status: 401, code: "login_required", text: "Sign in again" },
  accountFormExpired: {
    status: 403,
    title: "This form has expired",
    text: "The form was too old, or it did not come from this page. Go back, reload the page and try again.",
  },
  accountSignedOut: { status: 403, title: "You are signed out", text: "Your sign-in has ended. Sign in again to continue." },
  accountLoginExpired: { status: 403, text: "The sign-in form expired or did not come from this page. Please try again." },
  passwordMismatch: { status: 400, text: "The new password and its confirmation are different. Nothing was changed." },
  /** `problem`: the end of the password policy's sentence (src/auth/password-policy.ts). */
  passwordRefused: (problem: string) => ({ status: 400, text: `The new password ${problem}. Nothing was changed.` }),
  /** An AccountError's message ("the password …" when about the password) from changing it. */
  passwordNotChanged: (message: string) => ({ status: 400, text: `${message.replace(/^the password/, "The new password")}. Nothing was changed.` }),
  currentPasswordWrong: { status: 403, text: "The current password is wrong. Nothing was changed." },

  // HTTP file upload (XEP-0363 §5; src/features/upload)
  uploadNotFound: { status: 404, code: "not_found", text: "No such file or upload slot (unknown, or expired and deleted)" },
  uploadTokenMissing: {
    status: 401,
    code: "invalid_request",
    text: "The upload needs the Authorization header of its slot",
    headers: { "WWW-Authenticate": "Bearer" },
  },
  uploadTokenWrong: { status: 403, code: "invalid_token", text: "This token is not the one of this upload slot" },
  uploadSlotExpired: { status: 403, code: "invalid_token", text: "The upload slot has expired: request a new one" },
  uploadSlotRevoked: { status: 403, code: "invalid_token", text: "The upload slot was revoked with the client that requested it" },
  uploadDone: { status: 409, code: "conflict", text: "A file was already uploaded, or is being uploaded, to this slot" },
  uploadTooLarge: (size: number) => ({ status: 413, code: "invalid_request", text: `The slot is for exactly ${size} bytes; the body is larger` }),
  uploadWrongSize: (size: number) => invalidRequest(`The slot is for exactly ${size} bytes`),
  uploadWrongType: (type: string) => ({ status: 415, code: "invalid_request", text: `The slot is for Content-Type ${type}` }),
  uploadRangeNotSatisfiable: (size: number) => ({
    status: 416,
    code: "invalid_request",
    text: "The range is outside the file",
    headers: { "Content-Range": `bytes */${size}` },
  }),
} as const satisfies Record<string, HttpErrorEntry>;

/** Thrown by HTTP handlers to answer with an error; the HTTP service sends it as JSON (src/http/server.ts). */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly description: string | undefined;
  readonly headers: Record<string, string>;

  /** `headers`: those that depend on the request, added to the entry's. */
  constructor(def: HttpCodedErrorDef, headers: Record<string, string> = {}) {
    super(def.text ?? def.code);
    this.name = "HttpError";
    this.status = def.status;
    this.code = def.code;
    this.description = def.text;
    this.headers = { ...def.headers, ...headers };
  }
}
