// Certificates for tests that need a particular one: for other names, expired, not yet valid.
// Made with @peculiar/x509 (the server's own dependency for its self-signed certificate), so
// no openssl command line is needed.
import { webcrypto, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface TestCert {
  cert: string;
  key: string;
  fingerprint: string;
}

export async function makeCert(opts: { names?: string[]; notBefore?: Date; notAfter?: Date } = {}): Promise<TestCert> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const names = opts.names ?? ["localhost"];
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
      .toString("hex")
      .replace(/^./, "1"),
    name: `CN=${names[0]}`,
    notBefore: opts.notBefore ?? new Date(now - 60_000),
    notAfter: opts.notAfter ?? new Date(now + 365 * 86400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: "dns" as const, value })))],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END PRIVATE KEY-----\n`;
  const pem = cert.toString("pem") + "\n";
  return { cert: pem, key, fingerprint: new X509Certificate(pem).fingerprint256 };
}
