// Hostile XML for tests and the bench: the inputs an attacker sends to stall a server's XML
// parser (deep nesting, very wide elements, endless attribute values and text), a sender that
// streams them until the server gives up on the connection, and a prober that measures how
// promptly another, well-behaved connection is answered meanwhile.
import { once } from "node:events";
import { readFileSync } from "node:fs";
import type { RawClient } from "./raw-client.js";

export const STREAM_HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

/** The hostile shapes, each as (prefix, repeated unit): the bench and the tests share them. */
export const SHAPES = {
  /** <a><a><a>… never closed: one element per 3 bytes. */
  nested: { prefix: "", unit: "<a>" },
  /** <a><b/><b/>… one parent with ever more children. */
  wide: { prefix: "<a>", unit: "<b/>" },
  /** <a x='xxxx… an attribute value that never ends. */
  longAttribute: { prefix: "<a x='", unit: "x" },
  /** Bare text directly inside <stream:stream>. */
  text: { prefix: "", unit: "t" },
  /** <a b0='' b1='' … one opening tag with ever more attributes. */
  attributes: { prefix: "<a", unit: "" },
} as const;
export type Shape = keyof typeof SHAPES;

/** `bytes` (about) of a shape, after its prefix. */
export function hostile(shape: Shape, bytes: number): string {
  const { prefix, unit } = SHAPES[shape];
  if (shape === "attributes") {
    const parts: string[] = [prefix];
    let n = prefix.length;
    for (let i = 0; n < bytes; i++) {
      const a = ` b${i}=''`;
      parts.push(a);
      n += a.length;
    }
    return parts.join("");
  }
  return prefix + unit.repeat(Math.max(0, Math.ceil((bytes - prefix.length) / unit.length)));
}

export interface FloodResult {
  /** Bytes handed to the socket when the server's stream error arrived (or when we stopped). */
  writtenAtError: number;
  written: number;
  sawStreamError: boolean;
  closed: boolean;
}

/**
 * Sends `prefix`, then `unit` repeated, in writes of about 64 KB that wait for the socket to
 * drain, until `max` bytes are out, the server sends a stream error, or the connection closes.
 */
export async function flood(c: RawClient, prefix: string, unit: string, max: number): Promise<FloodResult> {
  const piece = unit.repeat(Math.max(1, Math.floor(65536 / Math.max(1, unit.length))));
  const errorSeen = () => c.received.includes("<stream:error");
  let written = 0,
    writtenAtError = -1;
  const sock = c.socket;
  const out = (s: string) => {
    written += Buffer.byteLength(s);
    return sock.write(s);
  };
  if (prefix) out(prefix);
  while (written < max && !c.closed && !sock.destroyed) {
    if (errorSeen()) {
      writtenAtError = written;
      break;
    }
    if (!out(piece)) {
      // Wait for room, or for the server to answer or close, whichever comes first.
      await Promise.race([once(sock, "drain"), once(sock, "close"), new Promise((r) => setTimeout(r, 50))]).catch(() => {});
    }
  }
  if (writtenAtError < 0 && errorSeen()) writtenAtError = written;
  return { writtenAtError, written, sawStreamError: errorSeen(), closed: c.closed };
}

/**
 * Pings the server over `c` back to back (XEP-0199) until stop() is called; collects the round
 * trip of each ping. A ping that gets no answer within `timeoutMs` counts as that long.
 */
export function pinger(c: RawClient, timeoutMs = 10_000): { stop(): Promise<number[]> } {
  const rtts: number[] = [];
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const id = `probe-${n}`;
      c.clear();
      const t0 = performance.now();
      c.send(`<iq type='get' id='${id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
      try {
        await c.waitFor(new RegExp(`id=['"]${id}['"]`), timeoutMs);
        rtts.push(performance.now() - t0);
      } catch {
        rtts.push(timeoutMs);
        if (c.closed) return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return rtts;
    },
  };
}

/** Resident memory of a process in KB (VmRSS from /proc/<pid>/status). */
export function rssKb(pid: number): number {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(s)?.[1] ?? NaN);
}
