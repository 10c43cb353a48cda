// The one catalogue of protocol errors: stream errors (RFC 6120 §4.9.3), stanza errors
// (RFC 6120 §8.3.3) and SASL failures (RFC 6120 §6.5). Features name an entry; they never
// spell a condition or its text themselves.
import { Element } from "../xml/element.js";

export const NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";
export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
export const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";

export type StreamCondition =
  | "bad-format" | "bad-namespace-prefix" | "conflict" | "connection-timeout" | "host-gone"
  | "host-unknown" | "improper-addressing" | "internal-server-error" | "invalid-from"
  | "invalid-namespace" | "invalid-xml" | "not-authorized" | "not-well-formed" | "policy-violation"
  | "remote-connection-failed" | "reset" | "resource-constraint" | "restricted-xml"
  | "see-other-host" | "system-shutdown" | "undefined-condition" | "unsupported-encoding"
  | "unsupported-feature" | "unsupported-stanza-type" | "unsupported-version";

export type StanzaErrorType = "auth" | "cancel" | "continue" | "modify" | "wait";
export type StanzaCondition =
  | "bad-request" | "conflict" | "feature-not-implemented" | "forbidden" | "gone"
  | "internal-server-error" | "item-not-found" | "jid-malformed" | "not-acceptable"
  | "not-allowed" | "not-authorized" | "policy-violation" | "recipient-unavailable" | "redirect"
  | "registration-required" | "remote-server-not-found" | "remote-server-timeout"
  | "resource-constraint" | "service-unavailable" | "subscription-required"
  | "undefined-condition" | "unexpected-request";

export type SaslCondition =
  | "aborted" | "account-disabled" | "credentials-expired" | "encryption-required"
  | "incorrect-encoding" | "invalid-authzid" | "invalid-mechanism" | "malformed-request"
  | "mechanism-too-weak" | "not-authorized" | "temporary-auth-failure";

export interface StreamErrorDef { condition: StreamCondition; text?: string }
export interface StanzaErrorDef { type: StanzaErrorType; condition: StanzaCondition; text?: string }
export interface SaslFailureDef { condition: SaslCondition; text?: string }

/** Stream errors, by name. The stream is closed after each. */
export const streamErrors = {
  notWellFormed: { condition: "not-well-formed" },
  restrictedXml: { condition: "restricted-xml", text: "DTDs, entities, comments and processing instructions are not allowed" },
  stanzaTooBig: { condition: "policy-violation", text: "Stanza exceeds the size limit" },
  stanzaTooDeep: { condition: "policy-violation", text: "Elements are nested too deeply" },
  badNamespace: { condition: "invalid-namespace" },
  badPrefix: { condition: "bad-namespace-prefix" },
  hostUnknown: { condition: "host-unknown", text: "This server does not serve that domain" },
  unsupportedVersion: { condition: "unsupported-version" },
  unsupportedStanza: { condition: "unsupported-stanza-type" },
  notAuthorized: { condition: "not-authorized", text: "Authenticate first" },
  encryptionRequired: { condition: "policy-violation", text: "Encryption is required" },
  // A plain ws:// stream with nothing that could encrypt it (no STARTTLS over WebSocket, no
  // trusted proxy saying it ended TLS): say so rather than offer nothing and leave it waiting.
  websocketNotEncrypted: { condition: "policy-violation", text: "This connection is not encrypted and encryption is required: connect with wss:// to the server's HTTPS port" },
  timeout: { condition: "connection-timeout" },
  idleTimeout: { condition: "connection-timeout", text: "Idle for too long" },
  conflict: { condition: "conflict", text: "Replaced by a new connection" },
  duplicateHeader: { condition: "invalid-xml", text: "Unexpected stream header" },
  invalidFrom: { condition: "invalid-from" },
  tooManyConnections: { condition: "resource-constraint", text: "Too many connections" },
  // policy-violation, not resource-constraint: the server is not short of anything; the client
  // broke the local rule that it reads what it is sent (RFC 6120 §4.9.3.12 vs §4.9.3.17).
  sendBufferFull: { condition: "policy-violation", text: "Too much unread output: the client does not read what it is sent" },
  shutdown: { condition: "system-shutdown" },
  internal: { condition: "internal-server-error" },
  accountDeleted: { condition: "not-authorized", text: "Account deleted" },
  accessRevoked: { condition: "not-authorized", text: "Access to this account was revoked" },
  /** Revocation of one client; the text names it (src/clients/revoke.ts). */
  clientAccessRevoked: { condition: "not-authorized", text: "Access for this client was revoked" },
  passwordChanged: { condition: "reset", text: "The account password was changed" },
  badFormat: { condition: "bad-format" },
  policyViolation: { condition: "policy-violation" },
  // Stream management (XEP-0198)
  smHandledCountTooHigh: { condition: "undefined-condition", text: "handled-count-too-high" },
  smBadAck: { condition: "bad-format", text: "Invalid 'h' in a stream management ack" },
  smQueueFull: { condition: "policy-violation", text: "Too many unacknowledged stanzas" },
  smResumedElsewhere: { condition: "conflict", text: "The session was resumed on another connection" },
  smResumeLost: { condition: "undefined-condition", text: "The session ended before it could be resumed" },
} as const satisfies Record<string, StreamErrorDef>;

/** Stanza errors, by name. */
export const stanzaErrors = {
  serviceUnavailable: { type: "cancel", condition: "service-unavailable" },
  featureNotImplemented: { type: "cancel", condition: "feature-not-implemented" },
  badRequest: { type: "modify", condition: "bad-request" },
  jidMalformed: { type: "modify", condition: "jid-malformed" },
  notAllowed: { type: "cancel", condition: "not-allowed" },
  forbidden: { type: "auth", condition: "forbidden" },
  itemNotFound: { type: "cancel", condition: "item-not-found" },
  notAcceptable: { type: "modify", condition: "not-acceptable" },
  conflict: { type: "cancel", condition: "conflict" },
  resourceConflict: { type: "cancel", condition: "conflict", text: "Resource in use" },
  internal: { type: "wait", condition: "internal-server-error" },
  remoteServerNotFound: { type: "cancel", condition: "remote-server-not-found", text: "Server-to-server is not supported" },
  recipientUnavailable: { type: "wait", condition: "recipient-unavailable" },
  resourceConstraint: { type: "wait", condition: "resource-constraint" },
  offlineFull: { type: "wait", condition: "resource-constraint", text: "The recipient's offline storage is full" },
  unexpectedRequest: { type: "wait", condition: "unexpected-request" },
  policyViolation: { type: "modify", condition: "policy-violation" },
  undefinedCondition: { type: "cancel", condition: "undefined-condition" },
  clientNotFound: { type: "cancel", condition: "item-not-found", text: "Client not found" },
  revokeFailed: { type: "wait", condition: "internal-server-error", text: "Unable to revoke client access" },
  passwordResetRequired: { type: "cancel", condition: "service-unavailable", text: "Password reset required" },
  // Stream management (XEP-0198) <failed/>: classic SM sends the bare condition, SASL2/Bind2 the whole <error/>.
  smUnknownSession: { type: "cancel", condition: "item-not-found", text: "Unknown session" },
  smSessionExpired: { type: "cancel", condition: "item-not-found", text: "Session expired, and cannot be resumed" },
  smAlreadyEnabled: { type: "cancel", condition: "unexpected-request", text: "Stream management is already enabled" },
  smBindFirst: { type: "cancel", condition: "unexpected-request", text: "Must bind a resource first" },
  smAuthFirst: { type: "cancel", condition: "unexpected-request", text: "Authenticate first" },
  smAlreadyBound: { type: "cancel", condition: "unexpected-request", text: "Resumption must come before binding a resource" },
  smHandledCountTooHigh: { type: "cancel", condition: "undefined-condition", text: "handled-count-too-high" },
  smBadRequest: { type: "modify", condition: "bad-request", text: "Invalid 'previd' or 'h'" },
} as const satisfies Record<string, StanzaErrorDef>;

/** SASL failures, by name. */
export const saslFailures = {
  notAuthorized: { condition: "not-authorized" },
  malformed: { condition: "malformed-request" },
  invalidMechanism: { condition: "invalid-mechanism" },
  encryptionRequired: { condition: "encryption-required" },
  incorrectEncoding: { condition: "incorrect-encoding" },
  invalidAuthzid: { condition: "invalid-authzid" },
  aborted: { condition: "aborted" },
  credentialsExpired: { condition: "credentials-expired" },
  temporary: { condition: "temporary-auth-failure" },
  // Same for a right and a wrong password: the credentials are not looked at past the limit.
  throttled: { condition: "temporary-auth-failure", text: "Too many failed login attempts; wait a minute and try again" },
  accountDisabled: { condition: "account-disabled" },
  cbUnsupported: { condition: "malformed-request", text: "Proposed channel binding type isn't supported." },
  cbDowngrade: { condition: "malformed-request", text: "Channel binding is supported; refusing a downgrade" },
  clientIdRequired: { condition: "malformed-request", text: "Client identifier required but not supplied" },
  legacySaslDisabled: { condition: "malformed-request", text: "Legacy SASL authentication is not available on this server" },
  fastUnavailable: { condition: "malformed-request", text: "FAST is not available on this stream" },
  clientRevoked: { condition: "not-authorized", text: "Access for this client was revoked" },
  replayedCount: { condition: "not-authorized", text: "Replayed or non-increasing count" },
  cbUnavailable: { condition: "malformed-request", text: "Channel binding for this mechanism is not available" },
  cbMismatch: { condition: "not-authorized", text: "Channel binding data does not match" },
} as const satisfies Record<string, SaslFailureDef>;

export function streamErrorElement(def: StreamErrorDef, text?: string): Element {
  const el = new Element("stream:error");
  el.c(def.condition, { xmlns: NS_STREAMS });
  const t = text ?? def.text;
  if (t) el.c("text", { xmlns: NS_STREAMS }).t(t);
  return el;
}

export function stanzaErrorElement(def: StanzaErrorDef, text?: string, by?: string): Element {
  const attrs: Record<string, string> = { type: def.type };
  if (by) attrs.by = by;
  const el = new Element("error", attrs);
  el.c(def.condition, { xmlns: NS_STANZAS });
  const t = text ?? def.text;
  if (t) el.c("text", { xmlns: NS_STANZAS }).t(t);
  return el;
}

/** A <failure/> in the given namespace (legacy SASL or SASL2). */
export function saslFailureElement(def: SaslFailureDef, ns: string = NS_SASL, text?: string): Element {
  const el = new Element("failure", { xmlns: ns });
  el.c(def.condition, { xmlns: NS_SASL });
  const t = text ?? def.text;
  if (t) el.c("text", ns === NS_SASL ? {} : { xmlns: ns }).t(t);
  return el;
}

/** Thrown by handlers to answer a stanza with an error; caught by the router. */
export class StanzaError extends Error {
  constructor(public readonly def: StanzaErrorDef, public readonly text?: string) {
    super(def.condition);
  }
}

// --- HTTP --------------------------------------------------------------------------------------
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
  tooManyRequests: (retryAfter: number) => ({ status: 429, code: "slow_down", text: "Too many requests; try again later", headers: { "Retry-After": String(retryAfter) } }),
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
  bearerInvalid: (realm: string) => ({ status: 401, code: "invalid_token", text: "The access token is invalid, expired or revoked", headers: bearer(realm, `, error="invalid_token", error_description="The access token is invalid, expired or revoked"`) }),
  bearerScope: (realm: string) => ({ status: 403, code: "insufficient_scope", text: "The token's scope does not give access to the account", headers: bearer(realm, `, error="insufficient_scope", scope="xmpp"`) }),
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
  accountFormExpired: { status: 403, title: "This form has expired", text: "The form was too old, or it did not come from this page. Go back, reload the page and try again." },
  accountSignedOut: { status: 403, title: "You are signed out", text: "Your sign-in has ended. Sign in again to continue." },
  accountLoginExpired: { status: 403, text: "The sign-in form expired or did not come from this page. Please try again." },
  passwordMismatch: { status: 400, text: "The new password and its confirmation are different. Nothing was changed." },
  /** `problem`: the end of the password policy's sentence (src/auth/password-policy.ts). */
  passwordRefused: (problem: string) => ({ status: 400, text: `The new password ${problem}. Nothing was changed.` }),
  /** An AccountError's message ("the password …" when about the password) from changing it. */
  passwordNotChanged: (message: string) => ({ status: 400, text: `${message.replace(/^the password/, "The new password")}. Nothing was changed.` }),
  currentPasswordWrong: { status: 403, text: "The current password is wrong. Nothing was changed." },
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
