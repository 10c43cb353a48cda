// The server's TLS identity. When the operator configured none, a self-signed ECDSA P-256
// certificate is made once and kept in data_path: P-256 handshakes cost less CPU than RSA.
import { existsSync, mkdirSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { readPem } from "./certificate-check.js";

export interface TlsIdentity {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
  generated: boolean;
}

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export async function loadOrCreateIdentity(opts: { certificate?: string; key?: string; dataPath: string; domain: string }): Promise<TlsIdentity> {
  if (opts.certificate && opts.key) {
    return { cert: readPem(opts.certificate), key: readPem(opts.key), certPath: opts.certificate, keyPath: opts.key, generated: false };
  }
  const certPath = join(opts.dataPath, "certs", `${opts.domain}.crt`);
  const keyPath = join(opts.dataPath, "certs", `${opts.domain}.key`);
  if (existsSync(certPath) && existsSync(keyPath)) {
    return { cert: readPem(certPath), key: readPem(keyPath), certPath, keyPath, generated: false };
  }
  const { cert, key } = await selfSigned(opts.domain);
  mkdirSync(join(opts.dataPath, "certs"), { recursive: true, mode: 0o700 });
  // Write then rename, so a crash never leaves half a key behind.
  writeFileSync(keyPath + ".tmp", key, { mode: 0o600 });
  writeFileSync(certPath + ".tmp", cert, { mode: 0o644 });
  renameSync(keyPath + ".tmp", keyPath);
  renameSync(certPath + ".tmp", certPath);
  return { cert, key, certPath, keyPath, generated: true };
}

export async function selfSigned(domain: string): Promise<{ cert: string; key: string }> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const names: x509.JsonGeneralName[] = [{ type: "dns", value: domain }];
  if (domain !== "localhost") names.push({ type: "dns", value: "localhost" });
  names.push({ type: "ip", value: "127.0.0.1" }, { type: "ip", value: "::1" });
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: webcrypto.getRandomValues(new Uint8Array(8)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "01"),
    name: `CN=${domain}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 5 * 365 * 86400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString("pem") + "\n", key };
}
