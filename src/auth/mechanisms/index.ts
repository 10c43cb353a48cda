// Every SASL mechanism the server knows, strongest first: the order they are offered in.
import type { SaslMechanism } from "../mechanism.js";
import { plainMechanism } from "./plain.js";
import { scramMechanism } from "./scram.js";
import { oauthBearerMechanism } from "./oauthbearer.js";

export const mechanisms: readonly SaslMechanism[] = [
  scramMechanism("SHA-256", true),
  scramMechanism("SHA-1", true),
  scramMechanism("SHA-256", false),
  scramMechanism("SHA-1", false),
  plainMechanism,
  oauthBearerMechanism,
];

/** Mechanism names are case-sensitive upper-case strings (RFC 4422 §3.1). */
export function findMechanism(name: string): SaslMechanism | undefined {
  return mechanisms.find((m) => m.name === name);
}
