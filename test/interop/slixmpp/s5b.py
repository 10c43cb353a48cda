"""A file-transfer bytestream (XEP-0065) between two slixmpp clients through the server's
proxy, slixmpp doing every step itself: the initiator discovers the proxy (disco#items of the
server, disco#info of each item, the streamhost query), offers it to the target, the target
(auto_accept) connects to it and says so, the initiator connects and activates, then sends
SIZE deterministic bytes. Reports what the target received (length and SHA-256).

Environment: WARDEN_HOST, WARDEN_PORT, SENDER_JID, RECEIVER_JID (bare), XMPP_PASSWORD (both),
SIZE, DEADLINE (seconds). Prints {"result": {...}}; exits 0 when every byte arrived.
"""
import asyncio
import hashlib
import random
import sys

import slixmpp

from common import cancel_pending_tasks, emit, env, setup_logging


def client(jid, password):
    c = slixmpp.ClientXMPP(jid, password)
    c.ssl_context.check_hostname = False
    c.ssl_context.verify_mode = 0
    c.register_plugin("xep_0030")
    c.register_plugin("xep_0065", {"auto_accept": True})
    return c


async def main():
    setup_logging()
    host = env("WARDEN_HOST", "127.0.0.1")
    port = int(env("WARDEN_PORT"))
    size = int(env("SIZE", "300000"))
    deadline = float(env("DEADLINE", "30"))
    password = env("XMPP_PASSWORD")
    sender = client(env("SENDER_JID") + "/s5b-send", password)
    receiver = client(env("RECEIVER_JID") + "/s5b-recv", password)
    payload = random.Random(65).randbytes(size)
    received = bytearray()
    state = {"proxies": None, "error": None}
    all_in = asyncio.get_event_loop().create_future()

    def on_data(data):
        received.extend(data)
        if len(received) >= size and not all_in.done():
            all_in.set_result(True)

    receiver.add_event_handler("socks5_data", on_data)
    ready = [asyncio.get_event_loop().create_future() for _ in range(2)]
    sender.add_event_handler("session_start", lambda _e: ready[0].done() or ready[0].set_result(True))
    receiver.add_event_handler("session_start", lambda _e: ready[1].done() or ready[1].set_result(True))
    sender.connect((host, port))
    receiver.connect((host, port))
    try:
        await asyncio.wait_for(asyncio.gather(*ready), timeout=deadline)
        proxies = await sender["xep_0065"].discover_proxies(timeout=10)
        state["proxies"] = {str(k): [str(v[0]), int(v[1])] for k, v in proxies.items()}
        sock = await sender["xep_0065"].handshake(receiver.boundjid, timeout=10)
        if sock is None:
            raise RuntimeError("handshake gave no socket")
        for i in range(0, size, 16384):
            await sock.write(payload[i:i + 16384])
        await asyncio.wait_for(all_in, timeout=deadline)
    except Exception as exc:  # reported, not raised: the test shows it
        state["error"] = "%s: %s" % (type(exc).__name__, exc)
    ok = state["error"] is None and bytes(received) == payload
    emit({"result": {"ok": ok, "received": len(received), "sha256": hashlib.sha256(bytes(received)).hexdigest(),
                     "expected_sha256": hashlib.sha256(payload).hexdigest(), **state}})
    # slixmpp 1.8's xep_0065 close() calls a close() its protocol objects lack: close the transports.
    for c in (sender, receiver):
        for proto in list(c["xep_0065"]._sessions.values()):
            proto.transport.close()
    for c in (sender, receiver):
        c.disconnect(wait=1)
    await asyncio.sleep(0.5)
    await cancel_pending_tasks()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.get_event_loop().run_until_complete(main()))
