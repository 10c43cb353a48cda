// String preparation for SASL usernames and passwords.
import saslprepLib from "@mongodb-js/saslprep";

/**
 * RFC 4013 SASLprep. `query` allows unassigned code points (RFC 3454 §7): use it for strings
 * received during authentication, not for strings being stored.
 * Throws an Error with a readable message on prohibited input.
 */
export function saslprep(s: string, query = false): string {
  try {
    return saslprepLib(s, { allowUnassigned: query });
  } catch (err) {
    // The library crashes with a TypeError on its bidi check when every character maps to
    // nothing (e.g. "\u00AD"), after all the other checks have passed: the answer is "".
    if (err instanceof TypeError) return "";
    throw new Error(`SASLprep rejected the string: ${(err as Error).message}`);
  }
}

/**
 * Prepares a password for key derivation. RFC 8265 OpaqueString (NFC, no mapping to nothing)
 * differs from SASLprep (NFKC, maps e.g. U+00AD to nothing), but SCRAM clients derive their
 * keys with SASLprep (RFC 5802 §2.2) and the server's stored keys must match them byte for
 * byte, so SASLprep is used. OpaqueString's one extra rule, no empty password, is kept.
 */
export function preparePassword(password: string, query = false): string {
  const prepared = saslprep(password, query);
  if (prepared.length === 0) throw new Error("The password is empty");
  return prepared;
}
