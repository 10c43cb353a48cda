// The SOCKS5 side of the bytestreams proxy (XEP-0065 v1.8.2 §6, §9; RFC 1928): both parties
// connect, authenticate with "no authentication" (the only method: the hash is the secret),
// and CONNECT to the DOMAINNAME SHA1(SID + initiator JID + target JID) in hex, port 0. The
// first connection with a hash is the target, the second the initiator; bytes they send before
// the initiator's <activate/> are kept, not relayed (§9.1). Activation joins the two.
// Hand-written: npm's SOCKS5 servers are proxies to the Internet (CONNECT to a real host),
// which is exactly what this must never do; the part of RFC 1928 needed here is small.
import type net from "node:net";

/** Bounds checked before any work, so that the proxy cannot be used to hold resources. */
export interface RelayLimits {
  /** Connections not yet joined (handshaking or waiting for activation), in all. */
  maxPending: number;
  /** The same, from one address. */
  maxPendingPerIp: number;
  /** Joined pairs relaying at once. */
  maxActive: number;
  handshakeTimeoutMs: number;
  /** How long a connected party may wait for the other one and for activation. */
  pendingTimeoutMs: number;
  /** A joined pair with no traffic either way for this long is closed. */
  idleTimeoutMs: number;
}

interface Waiting {
  socket: net.Socket;
  /** Bytes sent before activation, put back on the socket when the relay starts. */
  early: Buffer;
  /** Takes it off the pending counts (once). */
  uncount: () => void;
  /** Its close listener while it waits. */
  onClose?: () => void;
}
interface Pair {
  target: Waiting;
  initiator?: Waiting;
  timer: NodeJS.Timeout;
}

const VERSION = 5;
const NO_AUTH = 0;
const CONNECT = 1;
const DOMAINNAME = 3;
const REPLY = { ok: 0, notAllowed: 2, commandNotSupported: 7, addressNotSupported: 8 } as const;
const HASH = /^[0-9a-f]{40}$/;

export type Activation = "activated" | "unknown" | "one-party" | "busy";

export class Socks5Relay {
  private readonly pairs = new Map<string, Pair>();
  private readonly perIp = new Map<string, number>();
  private pending = 0;
  private readonly active = new Set<net.Socket>();

  constructor(private readonly limits: RelayLimits) {}

  /** A new TCP connection to the proxy's port. */
  accept(socket: net.Socket): void {
    const ip = socket.remoteAddress ?? "";
    if (this.pending >= this.limits.maxPending || (this.perIp.get(ip) ?? 0) >= this.limits.maxPendingPerIp) return void socket.destroy();
    this.count(ip, 1);
    let counted = true;
    const uncount = () => {
      if (counted) this.count(ip, -1);
      counted = false;
    };
    socket.once("close", uncount);
    socket.on("error", () => socket.destroy());
    const timer = setTimeout(() => socket.destroy(), this.limits.handshakeTimeoutMs);
    let buf = Buffer.alloc(0);
    let greeted = false;
    const fail = (code: number) => {
      clearTimeout(timer);
      endSoon(socket, Buffer.from([VERSION, code, 0, 1, 0, 0, 0, 0, 0, 0]));
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > 2 + 255 + 7 + 255) return socket.destroy();
      if (!greeted) {
        // Greeting: VER, NMETHODS, METHODS (RFC 1928 §3).
        if (buf.length < 2) return;
        if (buf[0] !== VERSION) return socket.destroy();
        const n = buf[1]!;
        if (buf.length < 2 + n) return;
        if (!buf.subarray(2, 2 + n).includes(NO_AUTH)) return (clearTimeout(timer), endSoon(socket, Buffer.from([VERSION, 0xff])));
        socket.write(Buffer.from([VERSION, NO_AUTH]));
        buf = buf.subarray(2 + n);
        greeted = true;
      }
      // Request: VER, CMD, RSV, ATYP, then a DOMAINNAME (length, name) and the port (RFC 1928 §4).
      if (buf.length < 5) return;
      if (buf[0] !== VERSION) return socket.destroy();
      if (buf[1] !== CONNECT) return fail(REPLY.commandNotSupported);
      if (buf[3] !== DOMAINNAME) return fail(REPLY.addressNotSupported);
      const len = buf[4]!;
      if (buf.length < 5 + len + 2) return;
      const hash = buf.subarray(5, 5 + len).toString("latin1");
      if (!HASH.test(hash)) return fail(REPLY.addressNotSupported);
      socket.off("data", onData);
      socket.pause();
      clearTimeout(timer);
      this.join(hash, { socket, early: buf.subarray(5 + len + 2), uncount });
    };
    socket.on("data", onData);
  }

  private join(hash: string, party: Waiting): void {
    const pair = this.pairs.get(hash);
    // §9.1: one target per bytestream, no multicast; a third party is refused.
    if (pair?.initiator) return endSoon(party.socket, reply(REPLY.notAllowed, hash));
    if (pair) pair.initiator = party;
    else {
      const timer = setTimeout(() => this.drop(hash), this.limits.pendingTimeoutMs);
      this.pairs.set(hash, { target: party, timer });
    }
    party.onClose = () => this.drop(hash);
    party.socket.once("close", party.onClose);
    party.socket.write(reply(REPLY.ok, hash));
  }

  /** Ends a pair that was not activated (a party left, or it waited too long). */
  private drop(hash: string): void {
    const pair = this.pairs.get(hash);
    if (!pair) return;
    this.pairs.delete(hash);
    clearTimeout(pair.timer);
    pair.target.socket.destroy();
    pair.initiator?.socket.destroy();
  }

  /** The initiator's <activate/>: joins the two connections with this hash. */
  activate(hash: string): Activation {
    const pair = this.pairs.get(hash);
    if (!pair) return "unknown";
    if (!pair.initiator) return "one-party";
    if (this.active.size / 2 >= this.limits.maxActive) return "busy";
    this.pairs.delete(hash);
    clearTimeout(pair.timer);
    const a = pair.target;
    const b = pair.initiator;
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      from.uncount();
      this.active.add(from.socket);
      if (from.onClose) from.socket.off("close", from.onClose);
      // One side gone: the other gets what is left in flight, then its end (pipe ends it on a clean end).
      from.socket.once("close", () => {
        this.active.delete(from.socket);
        endSoon(to.socket);
      });
      from.socket.setTimeout(this.limits.idleTimeoutMs, () => from.socket.destroy());
      if (from.early.length) from.socket.unshift(from.early);
      from.socket.pipe(to.socket);
    }
    return "activated";
  }

  /** Closes every connection (server stop). */
  close(): void {
    for (const hash of [...this.pairs.keys()]) this.drop(hash);
    for (const s of [...this.active]) s.destroy();
  }

  private count(ip: string, d: number): void {
    this.pending += d;
    const n = (this.perIp.get(ip) ?? 0) + d;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }
}

/** Ends a socket after writing `last`, and destroys it should the peer never close its side. */
function endSoon(socket: net.Socket, last?: Buffer): void {
  if (last) socket.end(last);
  else socket.end();
  setTimeout(() => socket.destroy(), 5000).unref();
}

/** The reply to CONNECT: BND.ADDR and BND.PORT echo the request (XEP-0065 §6.3.2). */
function reply(code: number, hash: string): Buffer {
  return Buffer.concat([Buffer.from([VERSION, code, 0, DOMAINNAME, hash.length]), Buffer.from(hash, "latin1"), Buffer.from([0, 0])]);
}
