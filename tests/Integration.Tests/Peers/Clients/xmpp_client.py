#!/usr/bin/python3
"""A real XMPP client (slixmpp 1.8) for the integration tests.

Logs in over plain TCP on loopback, then prints one JSON object per line on stdout for
everything the test may assert on, and obeys JSON commands read line by line from stdin:

  events:   {"event": "session_start", "jid": ...}
            {"event": "message", "from": ..., "to": ..., "type": ..., "id": ..., "body": ..., "subject": ..., "oob_url": ...}
            {"event": "disco_info", "tag": ..., "from": ..., "identities": [[category, type, lang, name]], "features": [...]}
            {"event": "disco_error", "tag": ..., "condition": ..., "text": ...}
            {"event": "disco_timeout", "tag": ...}
            {"event": "failed_auth"} / {"event": "disconnected"}
            {"event": "pubsub", "from": ..., "xml": "<event xmlns='http://jabber.org/protocol/pubsub#event'>..."}
            {"event": "iq_result", "tag": ..., "xml": "<iq ...>"} / {"event": "iq_error", "tag": ..., "condition": ..., "xml": ...}
            {"event": "iq_timeout", "tag": ...}
  commands: {"cmd": "disco_info", "to": JID, "tag": ANY}
            {"cmd": "iq", "type": "get"|"set", "to": JID, "xml": PAYLOAD, "tag": ANY}  (any request, e.g. pubsub)
            {"cmd": "quit"}

Run with /usr/bin/python3 (python3-slixmpp is only importable there):
  xmpp_client.py --jid juliet@example.com --password juliet-pw --port 15222
"""
import argparse
import asyncio
import json
import logging
import sys
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath


def emit(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


class TestClient(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.register_plugin("xep_0030")
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("message", self.on_message)
        # slixmpp's "message" event is for messages with a body; pubsub events have none.
        self.register_handler(Callback("pubsub event", MatchXPath(
            "{jabber:client}message/{http://jabber.org/protocol/pubsub#event}event"), self.on_pubsub))
        self.add_event_handler("failed_auth", lambda _: emit(event="failed_auth"))
        self.add_event_handler("disconnected", lambda _: emit(event="disconnected"))

    async def on_session_start(self, _):
        self.send_presence()
        # A round trip to the server after the presence: the server handles a session's
        # stanzas in order, so once this answer is here we are "available" and messages to
        # the bare JID reach us (without it a message sent right away can be dropped).
        await self["xep_0030"].get_info(jid=self.boundjid.domain, cached=False, timeout=10)
        emit(event="session_start", jid=str(self.boundjid))
        asyncio.ensure_future(self.read_commands())

    def on_pubsub(self, msg):
        event = msg.xml.find("{http://jabber.org/protocol/pubsub#event}event")
        emit(event="pubsub", **{"from": str(msg["from"]), "type": msg["type"], "id": msg["id"]},
             xml=ET.tostring(event, encoding="unicode"))

    def on_message(self, msg):
        # jabber:x:oob (XEP-0066) carries the IMAP URL of an alert (RFC 5437 section 2.7).
        oob = msg.xml.find("{jabber:x:oob}x/{jabber:x:oob}url")
        emit(event="message", **{"from": str(msg["from"]), "to": str(msg["to"]), "type": msg["type"],
                                 "id": msg["id"], "body": msg["body"], "subject": msg["subject"],
                                 "oob_url": oob.text if oob is not None else None})

    async def read_commands(self):
        loop = asyncio.get_event_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                break
            command = json.loads(line)
            if command["cmd"] == "disco_info":
                asyncio.ensure_future(self.disco_info(command["to"], command.get("tag")))
            elif command["cmd"] == "iq":
                asyncio.ensure_future(self.raw_iq(command))
            elif command["cmd"] == "quit":
                break
        self.disconnect()

    async def disco_info(self, to, tag):
        try:
            reply = await self["xep_0030"].get_info(jid=to, cached=False, timeout=10)
            info = reply["disco_info"]
            emit(event="disco_info", tag=tag, **{"from": str(reply["from"])},
                 identities=sorted([list(i) for i in info["identities"]], key=str),
                 features=sorted(info["features"]))
        except IqError as e:
            emit(event="disco_error", tag=tag, condition=e.iq["error"]["condition"], text=e.iq["error"]["text"])
        except IqTimeout:
            emit(event="disco_timeout", tag=tag)


    async def raw_iq(self, command):
        iq = self.Iq()
        iq["type"] = command["type"]
        iq["to"] = command["to"]
        iq.xml.append(ET.fromstring(command["xml"]))
        tag = command.get("tag")
        try:
            reply = await iq.send(timeout=10)
            emit(event="iq_result", tag=tag, xml=str(reply))
        except IqError as e:
            emit(event="iq_error", tag=tag, condition=e.iq["error"]["condition"], xml=str(e.iq))
        except IqTimeout:
            emit(event="iq_timeout", tag=tag)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    client = TestClient(args.jid, args.password)
    client.connect(address=("127.0.0.1", args.port), force_starttls=False, disable_starttls=True)
    client.process(forever=False)


if __name__ == "__main__":
    main()
