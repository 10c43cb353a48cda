// What a stream runs over: a TCP socket (optionally upgraded by STARTTLS), direct TLS, or
// (later) a WebSocket. Sessions only see this interface.
import net from "node:net";
import tls from "node:tls";

export interface Transport {
  readonly kind: "tcp" | "websocket";
  readonly remoteAddress: string;
  /** The TLS socket when the stream is encrypted (needed for channel binding). */
  readonly tlsSocket: tls.TLSSocket | undefined;
  /**
   * Encrypted to the client although not by us: TLS ended at a trusted proxy (WebSocket behind
   * a reverse proxy that says X-Forwarded-Proto: https). No channel binding then.
   */
  readonly secureViaProxy?: boolean;
  /** WebSocket frames carry whole elements and use <open/> / <close/> (RFC 7395). */
  readonly framed: boolean;
  canStartTls(): boolean;
  /** Upgrades in place; calls back once the handshake is done (or failed). */
  startTls(done: (err?: Error) => void): void;
  write(data: string): void;
  /** Flushes and closes. */
  end(): void;
  destroy(): void;
  setIdleTimeout(ms: number, onTimeout: () => void): void;
  onData(cb: (chunk: string) => void): void;
  onClose(cb: () => void): void;
  /** Output the client has not read passed c2s_send_buffer_limit: the session ends. */
  onOverflow(cb: () => void): void;
  /** Resolves once written output has drained to the socket (at once when nothing is backed up). */
  drained(): Promise<void>;
}

export interface TransportLimits {
  /** STARTTLS: milliseconds the TLS handshake may take, however the client trickles it. */
  handshakeTimeoutMs: number;
  /** Bytes of output buffered for a client that does not read before its session ends. */
  sendBufferLimit: number;
}

/**
 * A plain TCP or direct-TLS socket. Writes are corked for one tick so that a burst of stanzas costs one syscall.
 *
 * Backpressure: while the client's output is backed up (write() said so) nothing more is read
 * from it, until 'drain' — a client that floods and never reads stalls itself, not the server.
 * Output from others keeps coming; past sendBufferLimit the session is ended (onOverflow).
 */
export class SocketTransport implements Transport {
  readonly kind = "tcp";
  readonly framed = false;
  readonly remoteAddress: string;
  private socket: net.Socket;
  private corked = false;
  private dataCb?: (chunk: string) => void;
  private closeCb?: () => void;
  private overflowCb?: () => void;
  private closed = false;
  /** Reading is paused until the socket drains. */
  private paused = false;

  constructor(
    socket: net.Socket,
    private readonly secureContext: tls.SecureContext | undefined,
    private readonly limits: TransportLimits,
  ) {
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? "unknown";
    this.attach(socket);
  }

  get tlsSocket(): tls.TLSSocket | undefined {
    return this.socket instanceof tls.TLSSocket ? this.socket : undefined;
  }

  private attach(s: net.Socket): void {
    s.setEncoding("utf8");
    s.setNoDelay(true);
    s.on("data", this.onSocketData);
    s.on("close", this.onSocketClose);
    s.on("error", () => {
      /* 'close' follows; errors are not the peer's business */
    });
  }

  private readonly onSocketData = (chunk: string) => this.dataCb?.(chunk);
  private readonly onSocketClose = () => {
    if (this.closed) return;
    this.closed = true;
    this.closeCb?.();
  };

  canStartTls(): boolean {
    return !this.tlsSocket && !!this.secureContext;
  }

  startTls(done: (err?: Error) => void): void {
    const raw = this.socket;
    // Whatever is corked (the <proceed/>) must leave in clear before the handshake starts.
    if (this.corked) {
      this.corked = false;
      raw.uncork();
    }
    raw.removeListener("data", this.onSocketData);
    raw.removeListener("close", this.onSocketClose);
    if (this.paused) {
      raw.removeListener("drain", this.onDrain);
      this.paused = false;
    }
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.secureContext! });
    this.socket = secure;
    this.attach(secure);
    // A fixed deadline, not an idle timer: a trickled handshake must not hold the socket.
    const timer = setTimeout(() => secure.destroy(), this.limits.handshakeTimeoutMs);
    timer.unref();
    secure.once("secure", () => {
      clearTimeout(timer);
      done();
    });
    secure.once("error", (err: Error) => {
      clearTimeout(timer);
      done(err);
    });
  }

  write(data: string): void {
    if (this.closed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    if (this.socket.write(data)) return;
    if (this.socket.writableLength > this.limits.sendBufferLimit) {
      this.overflowCb?.();
      return;
    }
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
      this.socket.once("drain", this.onDrain);
    }
  }

  private readonly onDrain = () => {
    this.paused = false;
    if (!this.closed) this.socket.resume();
  };

  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }

  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };

  end(): void {
    if (this.closed) return;
    this.socket.end();
    // A peer that never closes its side must not hold the socket open.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  setIdleTimeout(ms: number, onTimeout: () => void): void {
    this.socket.setTimeout(ms);
    this.socket.removeAllListeners("timeout");
    this.socket.on("timeout", onTimeout);
  }

  onData(cb: (chunk: string) => void): void {
    this.dataCb = cb;
  }
  onClose(cb: () => void): void {
    this.closeCb = cb;
  }
  onOverflow(cb: () => void): void {
    this.overflowCb = cb;
  }
}
