#!/usr/bin/env bash
# Installs the real peers the integration tests run against (Debian packages), without letting
# their package scripts start system services. Idempotent: packages already present are skipped.
# Needs root (apt-get). See ../shared/testbed-notes.md for how each peer is run by the tests.
set -euo pipefail

# One line per peer: the packages it needs. Keep in step with tests/Integration.Tests/Peers.
PACKAGES=(
  # IMAP: Dovecot with LMTP and Pigeonhole Sieve
  dovecot-imapd dovecot-lmtpd dovecot-sieve
  # XMPP: Prosody (lua-unbound avoids its DNS warning) and slixmpp as a real client library
  prosody lua-unbound python3-slixmpp
  # XMPP: ejabberd (the pubsub scenario runs against both servers)
  ejabberd
  # SIP: sipp scenarios, baresip (mwi.so, ctrl_tcp) as a real softphone, Kamailio as its outbound proxy
  sip-tester baresip-core kamailio
  # process tools the fixtures use
  procps iproute2
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: all test peers present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi

echo "install-test-deps: installing ${missing[*]}"
# Keep postinst scripts from starting the stock services (they would hold 143/993/5222).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Stock daemons are kept from starting by policy-rc.d above. Nothing is killed here: test
# instances of the same programs may be running (the tests run their own, from their own
# configs, on their own ports).
echo "install-test-deps: done"
