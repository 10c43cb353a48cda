"""Shared by the slixmpp interop scripts: a ClientXMPP that records its SASL exchange.

Each script prints JSON lines on stdout: progress events ({"event": ...}) and, last, one
{"result": ...} line; it exits non-zero on failure. Everything has an internal deadline so
that a script never hangs. slixmpp's own debug log (the raw XML it sends and receives) goes
to stderr.
"""
import asyncio
import base64
import json
import logging
import os
import ssl
import sys

import slixmpp

NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_STREAMS = "http://etherx.jabber.org/streams"


def emit(obj):
    print(json.dumps(obj), flush=True)


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        emit({"result": {"ok": False, "error": f"missing environment variable {name}"}})
        sys.exit(2)
    return value


def setup_logging():
    level = logging.DEBUG if os.environ.get("SLIX_DEBUG", "1") == "1" else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")


def describe_initial_response(mechanism, value):
    """What a test may see of an <auth/>: the GS2 header for SCRAM, the identities for PLAIN."""
    raw = value if isinstance(value, (bytes, bytearray)) else (value or "").encode()
    if mechanism.startswith("SCRAM-"):
        text = raw.decode("utf-8", "replace")
        parts = text.split(",")
        return {"gs2_header": ",".join(parts[:2]) + ",", "client_first_bare": ",".join(parts[2:3])}
    if mechanism == "PLAIN":
        fields = raw.split(b"\0")
        if len(fields) == 3:
            return {"authzid": fields[0].decode("utf-8", "replace"), "authcid": fields[1].decode("utf-8", "replace")}
    return {}


class RecordingClient(slixmpp.ClientXMPP):
    """A ClientXMPP with default SASL settings that records what happens during login."""

    def __init__(self, jid, password, **kwargs):
        super().__init__(jid, password, **kwargs)
        # The server's certificate is self-signed (and names "localhost", not 127.0.0.1).
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.sasl = []          # one entry per <auth/>, with its outcome
        self.seen_features = []  # the children of each <stream:features/>
        self.offered_mechanisms = []  # the SASL mechanisms of each <stream:features/> offering some
        self.auth_ok = False
        self.mechanism_used = None
        self.tls_version = None
        self.channel_binding_len = None
        self.add_filter("out", self._record_out)
        self.add_filter("in", self._record_in)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("auth_success", self._on_auth_success)
        self.add_event_handler("failed_all_auth", self._on_failed_all_auth)

    def _record_out(self, stanza):
        try:
            xml = stanza.xml
            if xml.tag == "{%s}auth" % NS_SASL:
                mech = xml.get("mechanism")
                text = (xml.text or "").strip()
                value = b"" if text in ("", "=") else base64.b64decode(text)
                entry = {"mechanism": mech, **describe_initial_response(mech, value)}
                if self.tls_version is None:
                    sock = self.socket
                    if isinstance(sock, (ssl.SSLSocket, ssl.SSLObject)):
                        self.tls_version = sock.version()
                        cb = sock.get_channel_binding()
                        self.channel_binding_len = None if cb is None else len(cb)
                self.sasl.append(entry)
        except Exception as exc:  # never break the client because of the recording
            logging.exception("recording an outgoing element failed: %s", exc)
        return stanza

    def _record_in(self, stanza):
        try:
            xml = stanza.xml
            if xml.tag == "{%s}features" % NS_STREAMS:
                self.seen_features.append([child.tag for child in xml])
                mechs = xml.find("{%s}mechanisms" % NS_SASL)
                if mechs is not None:
                    self.offered_mechanisms.append([(m.text or "").strip() for m in mechs.findall("{%s}mechanism" % NS_SASL)])
        except Exception as exc:
            logging.exception("recording an incoming element failed: %s", exc)
        return stanza

    def _current(self):
        if not self.sasl:
            self.sasl.append({"mechanism": None})
        return self.sasl[-1]

    def _on_failed_auth(self, failure):
        entry = self._current()
        entry["outcome"] = "failure"
        entry["condition"] = failure["condition"]
        entry["text"] = failure["text"] or None

    def _on_auth_success(self, success):
        entry = self._current()
        entry["outcome"] = "success"
        self.auth_ok = True
        mech = self["feature_mechanisms"].mech
        self.mechanism_used = mech.name if mech is not None else None

    def _on_failed_all_auth(self, _event):
        emit({"event": "failed_all_auth"})

    def login_report(self):
        return {
            "sasl": self.sasl,
            "auth_ok": self.auth_ok,
            "mechanism_used": self.mechanism_used,
            "tls_version": self.tls_version,
            "client_channel_binding_len": self.channel_binding_len,
            "features": self.seen_features,
            "offered_mechanisms": self.offered_mechanisms,
            "jid": str(self.boundjid),
        }


async def finish_when(client, done, deadline, before_disconnect=None):
    """Waits for `done` (a future) or the deadline, runs before_disconnect() (a coroutine
    function, given 5 seconds), then disconnects; returns the reason."""
    reason = "done"
    try:
        await asyncio.wait_for(asyncio.shield(done), timeout=deadline)
    except asyncio.TimeoutError:
        reason = "timeout"
    if before_disconnect is not None:
        try:
            await asyncio.wait_for(before_disconnect(), timeout=5)
        except asyncio.TimeoutError:
            pass
    try:
        gone = client.disconnected
        client.disconnect(wait=2)
        await asyncio.wait_for(gone, timeout=5)
    except Exception:
        pass
    return reason


async def cancel_pending_tasks():
    """Cancels slixmpp's leftover background tasks, so that the loop closes quietly."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
