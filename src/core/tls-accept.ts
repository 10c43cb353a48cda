// Direct TLS listeners (XEP-0368 c2s, HTTPS) that count a connection from its TCP accept and
// give its handshake a fixed deadline.
//
// Why not tls.createServer: its handshakeTimeout is an idle timer (a ClientHello dribbled one
// byte every few seconds keeps it alive for ever), and the connection only reaches our code,
// and our per-IP count, once the handshake is done — so thousands of half-finished handshakes
// were held uncounted. Here the plain TCP server accepts, the admission check runs before any
// TLS work (a refused connection costs one accept and one close), and tls.TLSSocket wraps the
// socket with a timer that no amount of trickling resets.
import net from "node:net";
import tls from "node:tls";

export interface TlsAcceptOptions {
  secureContext: () => tls.SecureContext;
  ALPNProtocols: string[];
  /** Milliseconds from accept to the end of the handshake; the connection is dropped after. */
  handshakeTimeoutMs: number;
  /**
   * Called at accept, before any TLS work: returns the function that releases the connection's
   * place once its handshake ends (either way), or undefined to refuse it.
   */
  admit: (ip: string) => (() => void) | undefined;
  /** A finished handshake. */
  onSecure: (socket: tls.TLSSocket) => void;
}

/** A plain TCP server doing the above. */
export function tlsAcceptServer(opts: TlsAcceptOptions): net.Server {
  return net.createServer(tlsAccept(opts));
}

/** The 'connection' listener doing the above, for a server that is not a net.Server of ours (HTTPS). */
export function tlsAccept(opts: TlsAcceptOptions): (raw: net.Socket) => void {
  return (raw) => {
    raw.on("error", () => {
      /* a failed handshake is the client's problem; 'close' follows */
    });
    const release = opts.admit(raw.remoteAddress ?? "unknown");
    // No stream exists before the handshake, so there is nowhere to put a stream error:
    // refusing costs no more than the close.
    if (!release) {
      raw.destroy();
      return;
    }
    let pending = true;
    const done = () => {
      if (!pending) return;
      pending = false;
      clearTimeout(timer);
      release();
    };
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: opts.secureContext(), ALPNProtocols: opts.ALPNProtocols });
    const timer = setTimeout(() => {
      done();
      secure.destroy();
      raw.destroy();
    }, opts.handshakeTimeoutMs);
    timer.unref();
    secure.on("error", () => {
      done();
      secure.destroy();
    });
    secure.once("close", done);
    // The HTTP server accepts half-open sockets (allowHalfOpen), and the TLS socket inherits
    // that: a client that hangs up before its handshake ends would stay open until the
    // deadline, and keep the listener's server.close() from ever finishing. After the
    // handshake the HTTP layer handles half-open connections itself.
    secure.once("end", () => {
      if (pending) secure.destroy();
    });
    secure.once("secure", () => {
      done();
      opts.onSecure(secure);
    });
  };
}
