// The one catalogue of protocol errors: stream errors (RFC 6120 §4.9.3), stanza errors
// (RFC 6120 §8.3.3), SASL failures (RFC 6120 §6.5) and HTTP errors (http-errors.ts). Features name an entry; they never
// spell a condition or its text themselves.
import { Element } from "../xml/element.js";

export const NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";
export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
export const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
export const NS_PUBSUB_ERRORS = "http://jabber.org/protocol/pubsub#errors";

export type StreamCondition =
  | "bad-format"
  | "bad-namespace-prefix"
  | "conflict"
  | "connection-timeout"
  | "host-gone"
  | "host-unknown"
  | "improper-addressing"
  | "internal-server-error"
  | "invalid-from"
  | "invalid-namespace"
  | "invalid-xml"
  | "not-authorized"
  | "not-well-formed"
  | "policy-violation"
  | "remote-connection-failed"
  | "reset"
  | "resource-constraint"
  | "restricted-xml"
  | "see-other-host"
  | "system-shutdown"
  | "undefined-condition"
  | "unsupported-encoding"
  | "unsupported-feature"
  | "unsupported-stanza-type"
  | "unsupported-version";

export type StanzaErrorType = "auth" | "cancel" | "continue" | "modify" | "wait";
export type StanzaCondition =
  | "bad-request"
  | "conflict"
  | "feature-not-implemented"
  | "forbidden"
  | "gone"
  | "internal-server-error"
  | "item-not-found"
  | "jid-malformed"
  | "not-acceptable"
  | "not-allowed"
  | "not-authorized"
  | "policy-violation"
  | "recipient-unavailable"
  | "redirect"
  | "registration-required"
  | "remote-server-not-found"
  | "remote-server-timeout"
  | "resource-constraint"
  | "service-unavailable"
  | "subscription-required"
  | "undefined-condition"
  | "unexpected-request";

export type SaslCondition =
  | "aborted"
  | "account-disabled"
  | "credentials-expired"
  | "encryption-required"
  | "incorrect-encoding"
  | "invalid-authzid"
  | "invalid-mechanism"
  | "malformed-request"
  | "mechanism-too-weak"
  | "not-authorized"
  | "temporary-auth-failure";

export interface StreamErrorDef {
  condition: StreamCondition;
  text?: string;
}
export interface StanzaErrorDef {
  type: StanzaErrorType;
  condition: StanzaCondition;
  text?: string;
  /** An application-specific condition (RFC 6120 §8.3.4), such as XEP-0060's pubsub#errors. */
  app?: { name: string; xmlns: string };
}
export interface SaslFailureDef {
  condition: SaslCondition;
  text?: string;
}

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
  websocketNotEncrypted: {
    condition: "policy-violation",
    text: "This connection is not encrypted and encryption is required: connect with wss:// to the server's HTTPS port",
  },
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
  // Publish-subscribe on accounts (XEP-0060 §7, §8 via XEP-0163)
  pepPreconditionNotMet: { type: "cancel", condition: "conflict", app: { name: "precondition-not-met", xmlns: NS_PUBSUB_ERRORS } },
  pepPayloadTooBig: { type: "modify", condition: "not-acceptable", app: { name: "payload-too-big", xmlns: NS_PUBSUB_ERRORS } },
  pepItemRequired: { type: "modify", condition: "bad-request", app: { name: "item-required", xmlns: NS_PUBSUB_ERRORS } },
  pepInvalidPayload: { type: "modify", condition: "bad-request", app: { name: "invalid-payload", xmlns: NS_PUBSUB_ERRORS } },
  pepNodeRequired: { type: "modify", condition: "bad-request", app: { name: "nodeid-required", xmlns: NS_PUBSUB_ERRORS } },
  pepPresenceRequired: { type: "auth", condition: "not-authorized", app: { name: "presence-subscription-required", xmlns: NS_PUBSUB_ERRORS } },
  pepClosedNode: { type: "cancel", condition: "not-allowed", app: { name: "closed-node", xmlns: NS_PUBSUB_ERRORS } },
  pepNotOwner: { type: "auth", condition: "forbidden", text: "Only the account itself publishes to its PEP nodes" },
  pepTooManyNodes: { type: "cancel", condition: "policy-violation", text: "Too many PEP nodes on this account" },
  pepBadConfig: { type: "modify", condition: "not-acceptable", text: "Unknown or invalid node configuration" },
  pepUnsupported: { type: "cancel", condition: "feature-not-implemented", app: { name: "unsupported", xmlns: NS_PUBSUB_ERRORS } },
  // vCard (XEP-0054), private XML (XEP-0049), blocking (XEP-0191)
  vcardTooLarge: { type: "modify", condition: "not-acceptable", text: "The vCard is too large" },
  privateReserved: { type: "modify", condition: "not-acceptable", text: "This namespace is reserved" },
  privateOneElement: { type: "modify", condition: "not-acceptable", text: "Exactly one element with its own namespace is expected" },
  privateTooLarge: { type: "modify", condition: "not-acceptable", text: "The element is too large" },
  privateFull: { type: "wait", condition: "resource-constraint", text: "Too many namespaces stored" },
  blocklistFull: { type: "wait", condition: "resource-constraint", text: "The blocklist is full" },
  /** Sent with <blocked xmlns="urn:xmpp:blocking:errors"/> (XEP-0191 §3.3). */
  blocked: { type: "cancel", condition: "not-acceptable" },
  // The message archive (XEP-0313).
  mamNotOwner: { type: "auth", condition: "forbidden", text: "Only the account itself may use its archive" },
  mamUnknownId: { type: "cancel", condition: "item-not-found", text: "No message with that id in the archive" },
  mamUnknownField: { type: "cancel", condition: "feature-not-implemented", text: "Unknown query field" },
  mamBadQuery: { type: "modify", condition: "bad-request" },
  // HTTP file upload (XEP-0363 §4.1; src/features/upload)
  uploadTooLarge: { type: "modify", condition: "not-acceptable" },
  uploadBadFilename: {
    type: "modify",
    condition: "bad-request",
    text: "Invalid filename: 1 to 255 characters, no slash, backslash or control character, not . or ..",
  },
  uploadBadSize: { type: "modify", condition: "bad-request", text: "size must be a whole number of bytes, at least 1" },
  uploadBadType: { type: "modify", condition: "bad-request", text: "content-type must be a MIME type (type/subtype)" },
  uploadDailyQuota: { type: "wait", condition: "resource-constraint", text: "Daily upload quota reached: try again tomorrow or send a smaller file" },
  uploadGlobalQuota: { type: "wait", condition: "resource-constraint", text: "The server's file storage is full" },
  uploadRateLimited: { type: "wait", condition: "resource-constraint", text: "Too many upload requests: try again in a minute" },
  // Push notifications (XEP-0357).
  pushBadEnable: { type: "modify", condition: "bad-request", text: "A push service 'jid' and a 'node' are required" },
  pushBadForm: { type: "modify", condition: "bad-request", text: "The form must be pubsub#publish-options, with few and short fields" },
  pushTooMany: { type: "wait", condition: "resource-constraint", text: "Too many clients get push notifications on this account: revoke one first" },
  pushNoClient: { type: "cancel", condition: "not-allowed", text: "This session belongs to no known client" },
  // In-band registration (XEP-0077 §3) and invitations (XEP-0445 §4)
  registrationClosed: { type: "cancel", condition: "forbidden", text: "Registration on this server is by invitation only" },
  registrationNeedsTls: { type: "cancel", condition: "policy-violation", text: "Register over an encrypted connection" },
  registrationTaken: { type: "cancel", condition: "conflict", text: "That username is taken" },
  registrationBadUsername: { type: "modify", condition: "not-acceptable", text: "That username is not allowed" },
  registrationIncomplete: { type: "modify", condition: "not-acceptable", text: "A username and a password are required" },
  registrationTooSoon: { type: "wait", condition: "policy-violation", text: "Too many registrations: wait a few minutes and try again" },
  registrationWrongAccount: { type: "modify", condition: "not-acceptable", text: "This invitation resets the password of another account" },
  registrationNotOwnAccount: { type: "modify", condition: "not-allowed", text: "An account can only change its own password" },
  inviteInvalid: { type: "cancel", condition: "item-not-found", text: "The provided token is invalid or expired" },
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
  if (def.app) el.c(def.app.name, { xmlns: def.app.xmlns });
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
  constructor(
    public readonly def: StanzaErrorDef,
    public readonly text?: string,
  ) {
    super(def.condition);
  }
}

// HTTP errors are the same catalogue, in a file of their own for size.
export * from "./http-errors.js";
