// Channel binding data for SCRAM -PLUS. tls-unique is never offered: it is undefined for
// TLS 1.3 and broken by the triple handshake attack before it (RFC 9266 §1).
import { createHash } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { ChannelBindingType } from "./mechanism.js";

/**
 * The channel bindings a TLS connection offers. `endPoint` is the tls-server-end-point data of
 * our own certificate, computed once (see endPointBinding): asking each socket for its
 * certificate again costs a parse per login.
 */
export function channelBindingsFor(socket: TLSSocket, endPoint: Buffer | undefined): Partial<Record<ChannelBindingType, () => Buffer>> {
  const out: Partial<Record<ChannelBindingType, () => Buffer>> = {};
  // RFC 9266: only defined for TLS 1.3, where the exporter secret is bound to the full handshake.
  // An empty context is the same as none in TLS 1.3 (RFC 8446 §7.5); Node's types want one.
  if (socket.getProtocol() === "TLSv1.3") {
    out["tls-exporter"] = () => socket.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0));
  }
  if (endPoint) out["tls-server-end-point"] = () => endPoint;
  return out;
}

/** RFC 5929 tls-server-end-point data for a PEM certificate (its first certificate). */
export function endPointBinding(certPem: string): Buffer | undefined {
  const m = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(certPem);
  if (!m) return undefined;
  const raw = Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
  const digest = endPointHash(raw);
  return digest ? createHash(digest).update(raw).digest() : undefined;
}

// Signature algorithm OID → the hash RFC 5929 §4.1 says to use (MD5 and SHA-1 become SHA-256).
const SIG_HASH: Record<string, string> = {
  "1.2.840.113549.1.1.4": "sha256", // md5WithRSAEncryption
  "1.2.840.113549.1.1.5": "sha256", // sha1WithRSAEncryption
  "1.2.840.113549.1.1.14": "sha224",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.2.840.10045.4.1": "sha256", // ecdsa-with-SHA1
  "1.2.840.10045.4.3.1": "sha224",
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.2.840.10040.4.3": "sha256", // dsa-with-sha1
  "2.16.840.1.101.3.4.3.2": "sha256", // dsa-with-sha256
};
const HASH_OID: Record<string, string> = {
  "1.3.14.3.2.26": "sha256", // sha1
  "2.16.840.1.101.3.4.2.4": "sha224",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};
const RSASSA_PSS = "1.2.840.113549.1.1.10";

/**
 * The hash for tls-server-end-point, from the certificate's signatureAlgorithm; undefined
 * when RFC 5929 does not define one (e.g. Ed25519), in which case the type is not offered.
 */
export function endPointHash(der: Buffer): string | undefined {
  try {
    const cert = readTlv(der, 0);
    const tbs = readTlv(der, cert.start);
    const algId = readTlv(der, tbs.end);
    const oid = readTlv(der, algId.start);
    if (oid.tag !== 0x06) return undefined;
    const name = decodeOid(der.subarray(oid.start, oid.end));
    if (name !== RSASSA_PSS) return SIG_HASH[name];
    // RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1, ... }
    if (oid.end >= algId.end) return "sha256";
    const params = readTlv(der, oid.end);
    if (params.start >= params.end) return "sha256";
    const first = readTlv(der, params.start);
    if (first.tag !== 0xa0) return "sha256";
    const hashAlg = readTlv(der, first.start);
    const hashOid = readTlv(der, hashAlg.start);
    return HASH_OID[decodeOid(der.subarray(hashOid.start, hashOid.end))];
  } catch {
    return undefined;
  }
}

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(buf: Buffer, offset: number): Tlv {
  const tag = buf[offset]!;
  let len = buf[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error("unsupported DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  if (tag === undefined || start + len > buf.length) throw new Error("truncated DER");
  return { tag, start, end: start + len };
}

function decodeOid(bytes: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}
