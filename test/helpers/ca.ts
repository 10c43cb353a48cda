// A private certificate authority for federation tests: servers whose certificates chain to it
// verify each other (PKIX, as RFC 6120 §13.7.2 and XEP-0178 require for SASL EXTERNAL) once
// each is told to trust it, with no change to the machine's own trust store.
// Made with @peculiar/x509, as test/helpers/certs.ts makes its self-signed certificates.
import { webcrypto, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

export interface TestCa {
  /** The CA certificate (PEM): what a server is given to trust. */
  cert: string;
  /** Issues a leaf certificate for these DNS names (the first is the subject's CN). */
  issue(names: string[], opts?: { notBefore?: Date; notAfter?: Date }): Promise<{ cert: string; key: string; fingerprint: string }>;
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
    .toString("hex")
    .replace(/^./, "1");
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END PRIVATE KEY-----\n`;
}

export async function makeCa(name = "Warden Test CA"): Promise<TestCa> {
  const now = Date.now();
  const caKeys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * 86400_000),
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return {
    cert: caCert.toString("pem") + "\n",
    async issue(names, opts = {}) {
      const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: `CN=${names[0]}`,
        issuer: caCert.subject,
        notBefore: opts.notBefore ?? new Date(Date.now() - 60_000),
        notAfter: opts.notAfter ?? new Date(Date.now() + 90 * 86400_000),
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: alg,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
          // Both purposes: a server is a TLS client when it connects out (RFC 6120 §13.7.1.1).
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: "dns" as const, value }))),
          await x509.AuthorityKeyIdentifierExtension.create(caCert),
        ],
      });
      const pem = leaf.toString("pem") + "\n";
      return { cert: pem, key: await pkcs8Pem(keys.privateKey), fingerprint: new X509Certificate(pem).fingerprint256 };
    },
  };
}
