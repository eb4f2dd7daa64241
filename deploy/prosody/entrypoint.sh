#!/bin/sh
# Prosody 0.12 cannot read the environment from its config: write the PNA's component with its
# secret (PNA_XMPP_SECRET, shared with the PNA) into the file prosody.cfg.lua includes, then run
# Prosody in the foreground.
set -eu
: "${PNA_XMPP_SECRET:?set PNA_XMPP_SECRET (see deploy/compose.env.example)}"
case "$PNA_XMPP_SECRET" in *'"'*|*'\'*) echo "PNA_XMPP_SECRET must not contain \" or \\" >&2; exit 1 ;; esac
umask 077
printf 'Component "events.example.com"\n  component_secret = "%s"\n' "$PNA_XMPP_SECRET" > /run/prosody/components.cfg.lua
exec /usr/bin/prosody -F
