"""Uploads a file with slixmpp's XEP-0363 plugin (upload_file: disco of the domain, slot
request, PUT with aiohttp), downloads it back from the GET URL, and tries a file larger than
the service's max-file-size (which slixmpp refuses itself, from the disco form).

Environment: WARDEN_HOST, WARDEN_PORT, XMPP_JID (bare), XMPP_PASSWORD, UPLOAD_SIZE,
TOO_LARGE_SIZE, DEADLINE (seconds). SSL_CERT_FILE names the server's certificate, so aiohttp
checks the HTTPS service's certificate for real.
Prints {"result": {...}} and exits 0 when the upload and the download matched, 1 otherwise.
"""
import asyncio
import hashlib
import io
import os
import sys

import aiohttp
from slixmpp.plugins.xep_0363.http_upload import FileTooBig

from common import RecordingClient, cancel_pending_tasks, emit, env, finish_when, setup_logging

# slixmpp 1.8.3's service discovery (xep_0030 get_info_from_domain, which find_upload_service
# uses) hands coroutines to asyncio.wait, which Python 3.11 refuses ("Passing coroutines is
# forbidden"). Wrapping them in tasks, as Python did before 3.11, lets slixmpp's own discovery run.
_asyncio_wait = asyncio.wait


async def _wait_accepting_coroutines(fs, *args, **kwargs):
    return await _asyncio_wait([asyncio.ensure_future(f) for f in fs], *args, **kwargs)


asyncio.wait = _wait_accepting_coroutines


async def main():
    setup_logging()
    host = env("WARDEN_HOST", "127.0.0.1")
    port = int(env("WARDEN_PORT"))
    deadline = float(env("DEADLINE", "30"))
    size = int(env("UPLOAD_SIZE"))
    too_large = int(env("TOO_LARGE_SIZE"))
    client = RecordingClient(env("XMPP_JID") + "/slix-upload", env("XMPP_PASSWORD"))
    client.register_plugin("xep_0363")
    done = asyncio.get_event_loop().create_future()
    report = {"url": None, "status": None, "sent_sha256": None, "got_sha256": None, "headers": {}, "too_large": None, "error": None}
    data = os.urandom(size)
    report["sent_sha256"] = hashlib.sha256(data).hexdigest()

    async def on_session_start(_event):
        try:
            url = await client["xep_0363"].upload_file("photo one.png", size=size, input_file=io.BytesIO(data), timeout=10)
            report["url"] = url
            report["max_file_size"] = client["xep_0363"].max_file_size
            async with aiohttp.ClientSession() as http:
                async with http.get(url) as resp:
                    body = await resp.read()
                    report["status"] = resp.status
                    report["headers"] = {k.lower(): v for k, v in resp.headers.items()}
                    report["got_sha256"] = hashlib.sha256(body).hexdigest()
            try:
                await client["xep_0363"].upload_file("big.bin", size=too_large, input_file=io.BytesIO(b"x" * too_large), timeout=10)
                report["too_large"] = "uploaded"
            except FileTooBig as exc:
                report["too_large"] = "FileTooBig: " + str(exc)
        except Exception as exc:
            report["error"] = f"{type(exc).__name__}: {exc}"
        if not done.done():
            done.set_result(True)

    def finished(_event=None):
        if not done.done():
            done.set_result(True)

    client.add_event_handler("session_start", on_session_start)
    client.add_event_handler("failed_all_auth", finished)
    client.add_event_handler("disconnected", finished)
    client.connect((host, port))
    reason = await finish_when(client, done, deadline)
    ok = report["error"] is None and report["status"] == 200 and report["got_sha256"] == report["sent_sha256"]
    emit({"result": {"ok": ok, "finished": reason, **report}})
    await cancel_pending_tasks()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.get_event_loop().run_until_complete(main()))
