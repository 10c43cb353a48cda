// A bare RFC 7395 client for tests: sends exactly the frames a test gives it (with any HTTP
// headers, e.g. X-Forwarded-For), keeps every frame received, and waits for one that matches.
import { WebSocket } from "ws";

export const WS_OPEN = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>";

export interface RawWs {
  ws: WebSocket;
  frames: string[];
  /** Resolves with the close code once the WebSocket is closed. */
  closed: Promise<number>;
  /** The first frame (received so far or later) matching `re`; rejects when closed without one. */
  next(what: string, re: RegExp, timeoutMs?: number): Promise<string>;
}

export async function rawWs(url: string, headers: Record<string, string> = {}): Promise<RawWs> {
  const ws = new WebSocket(url, ["xmpp"], { headers, rejectUnauthorized: false });
  const frames: string[] = [];
  let wake: (() => void) | undefined;
  ws.on("message", (d) => {
    frames.push((d as Buffer).toString());
    wake?.();
  });
  const closed = new Promise<number>((res) =>
    ws.on("close", (code) => {
      res(code);
      wake?.();
    }),
  );
  await new Promise<void>((res, rej) => {
    ws.once("open", () => res());
    ws.once("error", rej);
  });
  const next = async (what: string, re: RegExp, timeoutMs = 5000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = frames.find((x) => re.test(x));
      if (f) return f;
      if (ws.readyState !== ws.OPEN) throw new Error(`closed before ${what}; frames: ${frames.join("\n")}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; frames: ${frames.join("\n")}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        wake = () => {
          clearTimeout(t);
          res();
        };
      });
    }
  };
  return { ws, frames, closed, next };
}
