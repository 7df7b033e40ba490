"""SMTP credentials are sent only over TLS (issue 11), tried against a local fake server."""
import logging
import socketserver
import threading

import pytest

from app.infra.mail import MailSecurityError, send_mail

PASSWORD = "smtp-secret-pw"


class FakeSMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to be talked to by smtplib; records every line the client sends."""

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self):
        server = self.server
        self.reply("220 fake.example ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            text = line.decode(errors="replace").rstrip("\r\n")
            server.lines.append(text)
            command = text.split(" ")[0].upper()
            if command == "EHLO":
                extensions = ["250-fake.example", "250-AUTH PLAIN LOGIN"]
                if server.offer_starttls:
                    extensions.append("250-STARTTLS")
                self.reply("\r\n".join(extensions + ["250 SIZE 1000000"]))
            elif command == "STARTTLS":
                self.reply("220 go ahead")
                return  # no TLS here: the client's handshake fails
            elif command == "AUTH":
                self.reply("235 accepted")
            elif command == "DATA":
                self.reply("354 end with .")
                while self.rfile.readline().rstrip(b"\r\n") != b".":
                    pass
                server.delivered += 1
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture()
def smtp_server():
    def start(offer_starttls):
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FakeSMTPHandler)
        server.daemon_threads = True
        server.lines, server.delivered, server.offer_starttls = [], 0, offer_starttls
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    servers = []
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def use_server(app, monkeypatch, server, credentials=True):
    port = server.server_address[1]
    auth = f"mailer:{PASSWORD}@" if credentials else ""
    monkeypatch.setitem(app.config, "MAIL_URL", f"smtp://{auth}127.0.0.1:{port}")


def test_no_login_without_starttls(app, ctx, monkeypatch, smtp_server, caplog):
    server = smtp_server(offer_starttls=False)
    use_server(app, monkeypatch, server)
    # Alembic's fileConfig (a migration test earlier in the run) disables existing loggers.
    monkeypatch.setattr(logging.getLogger("app.infra.mail"), "disabled", False)
    with caplog.at_level(logging.ERROR, logger="app.infra.mail"):
        with pytest.raises(MailSecurityError, match="offers no TLS"):
            send_mail(["someone@example.jp"], "件名", "本文")
    assert any(line.upper().startswith("EHLO") for line in server.lines)
    assert not any(line.upper().startswith("AUTH") for line in server.lines)
    assert not any(PASSWORD in line for line in server.lines)
    assert server.delivered == 0
    assert "credentials not sent" in caplog.text


def test_failed_starttls_sends_no_login(app, ctx, monkeypatch, smtp_server):
    server = smtp_server(offer_starttls=True)
    use_server(app, monkeypatch, server)
    with pytest.raises(Exception):
        send_mail(["someone@example.jp"], "件名", "本文")
    assert "STARTTLS" in [line.upper() for line in server.lines]
    assert not any(line.upper().startswith("AUTH") for line in server.lines)
    assert server.delivered == 0


def test_relay_without_credentials_still_delivers_over_plain_smtp(app, ctx, monkeypatch, smtp_server):
    server = smtp_server(offer_starttls=False)
    use_server(app, monkeypatch, server, credentials=False)
    assert send_mail(["someone@example.jp"], "件名", "本文")
    assert server.delivered == 1
    assert not any(line.upper().startswith("AUTH") for line in server.lines)
