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
  badNamespace: { condition: "invalid-namespace" },
  badPrefix: { condition: "bad-namespace-prefix" },
  hostUnknown: { condition: "host-unknown", text: "This server does not serve that domain" },
  unsupportedVersion: { condition: "unsupported-version" },
  unsupportedStanza: { condition: "unsupported-stanza-type" },
  notAuthorized: { condition: "not-authorized", text: "Authenticate first" },
  encryptionRequired: { condition: "policy-violation", text: "Encryption is required" },
  timeout: { condition: "connection-timeout" },
  idleTimeout: { condition: "connection-timeout", text: "Idle for too long" },
  conflict: { condition: "conflict", text: "Replaced by a new connection" },
  duplicateHeader: { condition: "invalid-xml", text: "Unexpected stream header" },
  invalidFrom: { condition: "invalid-from" },
  tooManyConnections: { condition: "resource-constraint", text: "Too many connections" },
  shutdown: { condition: "system-shutdown" },
  internal: { condition: "internal-server-error" },
  accountDeleted: { condition: "not-authorized", text: "Account deleted" },
  accessRevoked: { condition: "not-authorized", text: "Access to this account was revoked" },
  passwordChanged: { condition: "reset", text: "The account password was changed" },
  badFormat: { condition: "bad-format" },
  policyViolation: { condition: "policy-violation" },
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
  accountDisabled: { condition: "account-disabled" },
  cbUnsupported: { condition: "malformed-request", text: "Proposed channel binding type isn't supported." },
  cbDowngrade: { condition: "malformed-request", text: "Channel binding is supported; refusing a downgrade" },
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
