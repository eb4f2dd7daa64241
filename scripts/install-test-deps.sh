#!/usr/bin/env bash
# Installs the real peers the integration tests run against (Debian packages), without letting
# their package scripts start system services. Idempotent: packages already present are skipped.
# Needs root (apt-get). See ../shared/testbed-notes.md for how each peer is run by the tests.
set -euo pipefail

# One line per peer: the packages it needs. Keep in step with tests/Integration.Tests/Peers.
PACKAGES=(
  # IMAP: Dovecot with LMTP and Pigeonhole Sieve
  dovecot-imapd dovecot-lmtpd dovecot-sieve
  # IMAP: Cyrus 3.6 tools and SASL (imapd/idled are extracted below: cyrus-imapd conflicts with dovecot-imapd)
  cyrus-common sasl2-bin
  # XMPP: Prosody (lua-unbound avoids its DNS warning) and slixmpp as a real client library
  prosody lua-unbound python3-slixmpp
  # XMPP: ejabberd (the pubsub scenario runs against both servers)
  ejabberd
  # SIP: sipp scenarios, baresip (mwi.so, ctrl_tcp) as a real softphone, Kamailio as its outbound proxy
  sip-tester baresip-core kamailio
  # process tools the fixtures use
  procps iproute2
  # a real terminal for MailWatch's live view (tests/Integration.Tests/MailWatch/MailWatchTerminalTests.cs)
  tmux
  # Deploy.Tests: `docker-compose config` (v1) parses docker-compose.yml without a container engine
  docker-compose
  # Deploy.Tests: the PNA status page rendered and screenshotted in headless Chromium
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Cyrus imapd and idled: `apt-get download` the cyrus-imapd of cyrus-common's version and extract it
# (testbed-notes, Cyrus section); tests/Integration.Tests/Peers/CyrusServer.cs looks here.
CYRUS_CACHE=/var/cache/aggregators-tests
extract_cyrus_imapd() {
  local version dir
  version=$(dpkg-query -W -f='${Version}' cyrus-common)
  dir="$CYRUS_CACHE/cyrus-imapd-$version"
  if [ -x "$dir/usr/lib/cyrus/bin/imapd" ] && [ -x "$dir/usr/lib/cyrus/bin/idled" ]; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: Cyrus imapd not extracted in $dir; run this script as root" >&2
    exit 1
  fi
  mkdir -p "$CYRUS_CACHE"
  (cd "$CYRUS_CACHE" && apt-get download -qq "cyrus-imapd=$version" && dpkg-deb -x "cyrus-imapd_${version#*:}_$(dpkg --print-architecture).deb" "$dir")
  echo "install-test-deps: extracted cyrus-imapd $version into $dir"
}

if [ ${#missing[@]} -eq 0 ]; then
  extract_cyrus_imapd
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

extract_cyrus_imapd

# Stock daemons are kept from starting by policy-rc.d above. Nothing is killed here: test
# instances of the same programs may be running (the tests run their own, from their own
# configs, on their own ports).
echo "install-test-deps: done"
