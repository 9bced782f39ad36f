#!/usr/bin/env python3
"""The compose lab's SMTP sink: accepts every mail (aiosmtpd, from Debian's
python3-aiosmtpd), prints it to stdout (`docker compose logs smtp`) and saves
it as an .eml file in --maildir (a volume), so tests and people can read the
mail keepalived-rs sent."""
import argparse
import asyncio
import os
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, maildir):
        self.maildir = maildir
        self.count = 0
        os.makedirs(maildir, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        data = envelope.content.decode("utf8", errors="replace")
        name = os.path.join(self.maildir, "%d-%04d.eml" % (int(time.time()), self.count))
        with open(name + ".tmp", "w") as f:
            f.write(data)
        os.rename(name + ".tmp", name)
        print("---------- MESSAGE FOLLOWS ----------", flush=False)
        print("X-Peer: %s" % (session.peer[0],))
        print("X-MailFrom: %s" % envelope.mail_from)
        print("X-RcptTo: %s" % ", ".join(envelope.rcpt_tos))
        print(data.rstrip("\r\n").replace("\r\n", "\n"))
        print("------------ END MESSAGE ------------", flush=True)
        return "250 Message accepted for delivery"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", default="0.0.0.0:25")
    p.add_argument("--maildir", default="/var/mail/lab")
    a = p.parse_args()
    host, port = a.listen.rsplit(":", 1)
    controller = Controller(Sink(a.maildir), hostname=host, port=int(port))
    controller.start()
    print("smtp-sink: listening on %s, mail saved in %s" % (a.listen, a.maildir), flush=True)
    try:
        asyncio.new_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
