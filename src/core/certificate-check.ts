// What is wrong with a certificate and key, in words an operator can act on, naming the file.
// Without these checks OpenSSL's own text reaches the operator ("error:0480006C:PEM routines::
// no start line") or, worse, nothing does: a certificate for another domain starts silently
// and every client then refuses it (RFC 6120 §13.7.2.1, RFC 7590 §3.4: the client checks the
// domain against the certificate's names).
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";

export class CertificateError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = "CertificateError";
  }
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied (the server's user cannot read it)",
  EPERM: "permission denied (the server's user cannot read it)",
  EISDIR: "is a directory, not a PEM file",
};

/** Reads a PEM file, or throws a CertificateError saying why it cannot be read. */
export function readPem(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw new CertificateError(path, `cannot read the file: ${READ_ERRORS[code] ?? (err as Error).message}`);
  }
}

/** Days before expiry from which the server warns, at start and on reload. */
const EXPIRY_WARNING_DAYS = 14;

/**
 * Checks that `cert` (PEM, leaf first) parses, is valid now, is valid for `domain`, and that
 * `key` is its private key. Throws a CertificateError for the first problem; returns warnings
 * (expiring soon) for a certificate that works today.
 */
export function checkIdentity(id: { cert: string; key: string; certPath: string; keyPath: string }, domain: string, now = Date.now()): string[] {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(id.cert);
  } catch {
    throw new CertificateError(id.certPath, "not a PEM certificate (expected a -----BEGIN CERTIFICATE----- block)");
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(id.key);
  } catch {
    throw new CertificateError(id.keyPath, "not a PEM private key, or an encrypted one (the key must be unencrypted PEM)");
  }
  if (!cert.checkPrivateKey(key)) throw new CertificateError(id.keyPath, `this key does not belong to the certificate ${id.certPath}`);
  const from = Date.parse(cert.validFrom),
    to = Date.parse(cert.validTo);
  if (now > to) throw new CertificateError(id.certPath, `the certificate expired on ${new Date(to).toISOString()}`);
  if (now < from) throw new CertificateError(id.certPath, `the certificate is not valid before ${new Date(from).toISOString()}`);
  if (cert.checkHost(domain) === undefined) {
    const names = cert.subjectAltName ?? cert.subject.replace(/\n/g, ", ");
    throw new CertificateError(id.certPath, `the certificate is not valid for the domain '${domain}' (it names: ${names})`);
  }
  const days = Math.floor((to - now) / 86400_000);
  return days < EXPIRY_WARNING_DAYS ? [`the certificate ${id.certPath} expires in ${days} days (${new Date(to).toISOString()})`] : [];
}
