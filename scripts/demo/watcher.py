#!/usr/bin/python3
"""The demo's XMPP watcher (slixmpp): logs in as an XMPP user, subscribes to every mailbox of its
own mail account at the PNA's publish-subscribe service (docs/xmpp.md), and prints each
notification as it arrives, with running counts and the totals it carries.

  watcher.py --jid juliet@example.com --password juliet-pw --port 15222 \
             --service events.example.com [--expect-new 3 --expect-read 1 --timeout 120]

With --expect-*, it exits 0 once that many MessageNew events and that many read events
(MessageRead, or FlagsSet with unseen going down) have arrived, and 1 if --timeout passes first.
Without, it runs until killed. Needs /usr/bin/python3 with python3-slixmpp.
"""
import argparse
import asyncio
import collections
import sys
import time
import xml.etree.ElementTree as ET

import slixmpp

PUBSUB = "http://jabber.org/protocol/pubsub"
EVENT = "{http://jabber.org/protocol/pubsub#event}event"
MAIL_EVENT = "{urn:aggregators:xmpp:mail-event:0}mail-event"


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class Watcher(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.args = args
        self.started = time.monotonic()
        self.counts = collections.Counter()
        self.total = 0
        self.new = 0
        self.read = 0
        self.last_unseen = {}
        self.done = asyncio.Event()
        self.register_plugin("xep_0030")
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("failed_auth", lambda _: self.fail("XMPP login failed"))
        self.register_handler(slixmpp.xmlstream.handler.Callback(
            "pubsub event", slixmpp.xmlstream.matcher.MatchXPath("{jabber:client}message/" + EVENT), self.on_event))

    def fail(self, why):
        say("watcher: " + why)
        self.result = 1
        self.done.set()

    async def on_session_start(self, _):
        self.send_presence()
        await self["xep_0030"].get_info(jid=self.boundjid.domain, cached=False, timeout=10)
        account_jid = self.boundjid.user + "@" + self.args.service
        iq = self.make_iq_set(ito=account_jid)
        pubsub = ET.SubElement(iq.xml, "{%s}pubsub" % PUBSUB)
        ET.SubElement(pubsub, "{%s}subscribe" % PUBSUB, node="mail_events", jid=self.boundjid.bare)
        options = ET.SubElement(pubsub, "{%s}options" % PUBSUB)
        form = ET.SubElement(options, "{jabber:x:data}x", type="submit")
        for var, value in (("FORM_TYPE", PUBSUB + "#subscribe_options"), ("pubsub#subscription_depth", "all")):
            field = ET.SubElement(form, "{jabber:x:data}field", var=var)
            ET.SubElement(field, "{jabber:x:data}value").text = value
        try:
            await iq.send(timeout=15)
        except Exception as e:  # IqError, IqTimeout
            self.fail("subscribing to %s node mail_events failed: %s" % (account_jid, e))
            return
        say("watcher: %s subscribed to %s node mail_events (every mailbox)" % (self.boundjid.bare, account_jid))

    def on_event(self, msg):
        for item in msg.xml.find(EVENT).iter("{http://jabber.org/protocol/pubsub#event}item"):
            for ev in item.iter(MAIL_EVENT):
                self.show(ev)

    def show(self, ev):
        kind = ev.get("kind")
        label = ev.get("type") if kind == "event" else kind
        mailbox = ev.get("mailbox") or "(account)"
        totals = ev.find("{urn:aggregators:xmpp:mail-event:0}totals")
        unseen = int(totals.get("unseen")) if totals is not None else None
        self.total += 1
        self.counts[label] += 1
        if label == "MessageNew":
            self.new += 1
        previous = self.last_unseen.get(mailbox)
        if label == "MessageRead" or (label == "FlagsSet" and unseen is not None and previous is not None and unseen < previous):
            self.read += 1
        if unseen is not None:
            self.last_unseen[mailbox] = unseen
        summary = "messages=%s unseen=%s" % (totals.get("messages"), totals.get("unseen")) if totals is not None else "no totals"
        say("  [%6.1fs] notification #%d: %-12s %-8s %s   (%s)" % (
            time.monotonic() - self.started, self.total, label, mailbox, summary,
            ", ".join("%s %d" % kv for kv in sorted(self.counts.items()))))
        if self.args.expect_new is not None and self.new >= self.args.expect_new and self.read >= self.args.expect_read:
            say("watcher: all expected notifications arrived: %d MessageNew, %d read, %d in all" % (self.new, self.read, self.total))
            self.result = 0
            self.done.set()


async def main(args):
    w = Watcher(args)
    w.result = 1
    w.connect(address=("127.0.0.1", args.port), force_starttls=False, disable_starttls=True)
    try:
        await asyncio.wait_for(w.done.wait(), timeout=args.timeout)
    except asyncio.TimeoutError:
        if args.expect_new is not None:
            say("watcher: timed out after %ds: %d MessageNew of %d, %d read of %d expected" % (
                args.timeout, w.new, args.expect_new, w.read, args.expect_read))
        w.result = 1 if args.expect_new is not None else 0
    w.disconnect()
    return w.result


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--expect-new", type=int)
    p.add_argument("--expect-read", type=int, default=0)
    p.add_argument("--timeout", type=int, default=10 ** 9)
    sys.exit(asyncio.run(main(p.parse_args())))
