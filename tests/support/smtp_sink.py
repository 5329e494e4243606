#!/usr/bin/env python3
"""A real SMTP server for tests/it/providers.rs: aiosmtpd (PyPI) on an ephemeral port.

It prints `READY <port>` once listening, then writes each accepted message to
`<out>/<n>.json`: the envelope, whether the session was TLS and authenticated, and the message
as Python's own `email` package reads it (headers decoded, text and HTML parts), so the test
checks what a real receiver would see, not what our builder meant to write.

Recipients steer failures: `reject-permanent@…` gets 550 at RCPT, `reject-temporary@…` 451.

Options: --tls CERT KEY (offer STARTTLS and require it, or with --implicit-tls speak TLS from
the first byte), --auth USER:PASSWORD (require AUTH PLAIN/LOGIN, over TLS when TLS is on).
Stops when its stdin closes (the test dropped it) or on SIGTERM.
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local == "reject-permanent":
            return "550 5.1.1 No such user here"
        if local == "reject-temporary":
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            # After STARTTLS aiosmtpd records the TLS session; with implicit TLS the transport
            # itself is the TLS one.
            "tls": session.ssl is not None
            or (server.transport is not None and server.transport.get_extra_info("ssl_object") is not None),
            "authenticated": bool(session.authenticated),
            "login": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            "helo": session.host_name,
            # Every header, decoded (RFC 2047) by the email package.
            "headers": [[k, str(v)] for k, v in msg.items()],
            "content_type": msg.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "raw": raw.decode("ascii", errors="replace"),
            # Attached files: name, type, size and their first bytes (a PDF starts "%PDF").
            "attachments": [
                {
                    "filename": a.get_filename(),
                    "content_type": a.get_content_type(),
                    "size": len(a.get_payload(decode=True) or b""),
                    "head": (a.get_payload(decode=True) or b"")[:8].decode("latin-1"),
                }
                for a in msg.iter_attachments()
            ],
        }
        self.count += 1
        path = os.path.join(self.out, f"{self.count:04}.json")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(tmp, path)  # the test never reads a half-written file
        return "250 2.0.0 Message accepted"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--auth")
    args = p.parse_args()
    # aiosmtpd's own warnings (a deprecated property it reads itself) are noise in test output.
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    context = None
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls[0], args.tls[1])

    authenticator = None
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            # handled=False: aiosmtpd answers a failure itself (535).
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    handler = Sink(args.out)
    starttls = context is not None and not args.implicit_tls

    def factory():
        return SMTP(
            handler,
            hostname="sink.test",
            tls_context=context if starttls else None,
            require_starttls=starttls,
            authenticator=authenticator,
            auth_required=authenticator is not None,
            auth_require_tls=context is not None,
        )

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            factory, "127.0.0.1", 0, ssl=context if args.implicit_tls else None
        )
        port = server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        # Stop when the test goes away: its end of our stdin closes.
        await loop.run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
