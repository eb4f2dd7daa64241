#!/usr/bin/env bash
# One-command local demo (docs/deployment.md "The one-command demo"): a throwaway Dovecot and
# Prosody on loopback, the PNA with the IMAP bridge co-hosted and XMPP on, an XMPP watcher
# subscribed to juliet@example.com, three mails delivered and one read; every notification is
# printed as it arrives. Everything lives in a temporary directory removed on exit.
#
#   sudo scripts/demo.sh            interactive: runs the flow, then waits for Enter (status page open)
#   sudo scripts/demo.sh --ci       no prompt; exits non-zero unless every expected notification arrived
#   options: --no-build (use the PNA already built in $PNA_DIR, default src/Pna/bin/Release/net10.0),
#            --keep (keep the directory)
#
# Needs root: apt-get installs what is missing, and Dovecot's mail processes switch to uid 65534.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

CI_MODE=0 BUILD=1 KEEP=0
for arg in "$@"; do
  case "$arg" in
    --ci) CI_MODE=1 ;;
    --no-build) BUILD=0 ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (sudo scripts/demo.sh): it installs packages and runs Dovecot"
command -v dotnet >/dev/null || die "the .NET 10 SDK is needed (dotnet not found)"

# --- 1. packages -------------------------------------------------------------------------------
PACKAGES=(dovecot-imapd prosody lua-unbound python3-slixmpp)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "Installing ${missing[*]} (apt-get; the stock services are not started)"
  policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ "$created_policy" = 1 ] && rm -f "$policy"
fi

# --- 2. a temporary directory, free ports, cleanup -----------------------------------------------
DIR=$(mktemp -d /tmp/aggregators-demo.XXXXXX)
chmod 0755 "$DIR"
PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "${WATCHER_PID:-}" ] && kill "$WATCHER_PID" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  [ -f "$DIR/dovecot.conf" ] && doveadm -c "$DIR/dovecot.conf" stop >/dev/null 2>&1 || true
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$KEEP" = 1 ] || { [ "$rc" -ne 0 ] && [ "$CI_MODE" = 1 ]; }; then
    echo "demo.sh: logs kept in $DIR"
  else
    rm -rf "$DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r IMAP C2S COMPONENT HTTP < <(/usr/bin/python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
)

wait_for() { # wait_for DESCRIPTION SECONDS COMMAND...
  local what=$1 seconds=$2; shift 2
  for _ in $(seq $((seconds * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "$what did not come up within ${seconds}s (logs in $DIR)"
}

# --- 3. Dovecot ----------------------------------------------------------------------------------
step "Starting Dovecot on 127.0.0.1:$IMAP (user juliet@example.com)"
mkdir -p "$DIR"/dovecot/{run,state,log,mail}
chmod 0777 "$DIR/dovecot/mail"
cat > "$DIR/dovecot/users" <<'EOF'
juliet@example.com:{PLAIN}juliet-pass::::::
EOF
echo "admin:{PLAIN}demo-master-pass" > "$DIR/dovecot/master-users"
echo "* user=admin lrwstipekxa" > "$DIR/dovecot/global-acl"
cat > "$DIR/dovecot.conf" <<EOF
# Like tests/Integration.Tests/Peers/Configs/dovecot/dovecot.conf and deploy/dovecot/dovecot.conf.
base_dir = $DIR/dovecot/run
state_dir = $DIR/dovecot/state
log_path = $DIR/dovecot/log/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
imap_capability = +NOTIF=xmpp:events.example.com
passdb {
  driver = passwd-file
  master = yes
  args = scheme=PLAIN $DIR/dovecot/master-users
  result_success = continue
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/dovecot/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $DIR/dovecot/users
  default_fields = uid=65534 gid=65534 home=$DIR/dovecot/mail/%d/%n
}
mail_location = maildir:~/Maildir
mailbox_list_index = yes
mail_plugins = acl
protocol imap {
  mail_plugins = \$mail_plugins imap_acl
}
lda_mailbox_autocreate = yes
plugin {
  acl = vfile:$DIR/dovecot/global-acl
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
EOF
/usr/sbin/dovecot -F -c "$DIR/dovecot.conf" > "$DIR/dovecot/log/process.log" 2>&1 &
PIDS+=($!)
imap_ready() { /usr/bin/python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$IMAP),1); sys.exit(0 if s.recv(200).startswith(b'* OK') else 1)"; }
wait_for "Dovecot" 20 imap_ready

deliver() { # deliver SUBJECT
  printf 'From: romeo@example.net\r\nTo: juliet@example.com\r\nSubject: %s\r\nMessage-ID: <%s@example.net>\r\n\r\nHello from the demo.\r\n' \
    "$1" "$(date +%s%N)" | /usr/lib/dovecot/dovecot-lda -c "$DIR/dovecot.conf" -d juliet@example.com -f romeo@example.net
}

# --- 4. Prosody ----------------------------------------------------------------------------------
step "Starting Prosody: clients on 127.0.0.1:$C2S, the PNA's component events.example.com on $COMPONENT"
mkdir -p "$DIR/prosody/data"
cat > "$DIR/prosody/prosody.cfg.lua" <<EOF
-- Like tests/Integration.Tests/Peers/Configs/prosody/prosody.cfg.lua and deploy/prosody/prosody.cfg.lua.
run_as_root = true
pidfile = "$DIR/prosody/prosody.pid"
data_path = "$DIR/prosody/data"
log = { info = "$DIR/prosody/prosody.log"; warn = "$DIR/prosody/prosody.log"; }
interfaces = { "127.0.0.1" }
c2s_ports = { $C2S }
component_interfaces = { "127.0.0.1" }
component_ports = { $COMPONENT }
s2s_ports = { }
http_ports = { }
https_ports = { }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"
network_settings = { nagle = false }
modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; }
modules_disabled = { "s2s"; "offline"; }
VirtualHost "example.com"
Component "events.example.com"
  component_secret = "demo-component-secret"
EOF
prosodyctl --config "$DIR/prosody/prosody.cfg.lua" register juliet example.com juliet-xmpp-pass >/dev/null
prosody --config "$DIR/prosody/prosody.cfg.lua" -F > "$DIR/prosody/process.log" 2>&1 &
PIDS+=($!)
port_open() { /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),1)"; }
wait_for "Prosody" 20 port_open "$C2S"
wait_for "Prosody's component port" 20 port_open "$COMPONENT"

# --- 5. the PNA with the bridge ------------------------------------------------------------------
# PNA_DIR: where a built PNA is (the tests point it at their own build configuration).
PNA_DIR=${PNA_DIR:-$REPO/src/Pna/bin/Release/net10.0}
if [ "$BUILD" = 1 ]; then
  step "Building the PNA (dotnet build -c Release src/Pna)"
  dotnet build -c Release --nologo -v quiet "$REPO/src/Pna/Pna.csproj" -o "$PNA_DIR" > "$DIR/build.log" 2>&1 || { cat "$DIR/build.log"; die "build failed"; }
fi
[ -f "$PNA_DIR/Aggregators.Pna.dll" ] || die "no PNA build in $PNA_DIR (run without --no-build)"
step "Starting the PNA on http://127.0.0.1:$HTTP with the IMAP bridge co-hosted and XMPP on"
mkdir -p "$DIR/pna"
dotnet "$PNA_DIR/Aggregators.Pna.dll" \
  --urls="http://127.0.0.1:$HTTP" \
  --Pna:DataDirectory="$DIR/pna" \
  --Pna:Xmpp:Enabled=true --Pna:Xmpp:Host=127.0.0.1 --Pna:Xmpp:Port="$COMPONENT" \
  --Pna:Xmpp:ComponentDomain=events.example.com --Pna:Xmpp:Secret=demo-component-secret \
  --Pna:Xmpp:MailDomain=example.com \
  --Bridge:Enabled=true --Bridge:Servers:0:Name=dovecot --Bridge:Servers:0:Host=127.0.0.1 \
  --Bridge:Servers:0:Port="$IMAP" --Bridge:Servers:0:Security=None \
  --Bridge:Servers:0:MasterUser:User=admin --Bridge:Servers:0:MasterUser:Password=demo-master-pass \
  --Bridge:Servers:0:Users:0=juliet@example.com \
  > "$DIR/pna/pna.log" 2>&1 &
PIDS+=($!)
http_ok() { curl -fsS "http://127.0.0.1:$HTTP$1"; }
wait_for "the PNA" 60 http_ok /readyz
watching() { curl -fsS "http://127.0.0.1:$HTTP/v1/status" | grep -q '"state":"Watching"'; }
wait_for "the bridge's watcher" 60 watching
echo "   status page: http://127.0.0.1:$HTTP/status   (JSON: /v1/status)"

# --- 6. a first mail, so the account has a mailbox to subscribe to --------------------------------
step "Delivering a first mail (dovecot-lda), so juliet's INBOX exists at the PNA"
deliver "Welcome"
known() { curl -fsS "http://127.0.0.1:$HTTP/v1/accounts/juliet@example.com/mailboxes" | grep -q '"mailbox":"INBOX"'; }
wait_for "juliet's INBOX at the PNA" 60 known

# --- 7. the watcher ------------------------------------------------------------------------------
step "Subscribing an XMPP watcher (juliet@example.com, slixmpp) to juliet@events.example.com"
WATCH_ARGS=(--jid juliet@example.com --password juliet-xmpp-pass --port "$C2S" --service events.example.com)
if [ "$CI_MODE" = 1 ]; then WATCH_ARGS+=(--expect-new 3 --expect-read 1 --timeout 180); fi
/usr/bin/python3 -u "$REPO/scripts/demo/watcher.py" "${WATCH_ARGS[@]}" > "$DIR/watcher.out" 2>"$DIR/watcher.err" &
WATCHER_PID=$!
tail -n +1 -f "$DIR/watcher.out" --pid "$WATCHER_PID" &
TAIL_PID=$!
PIDS+=("$TAIL_PID")
subscribed() { grep -q "subscribed to" "$DIR/watcher.out"; }
wait_for "the watcher's subscription" 60 subscribed
# The initial notification (the current totals) comes right after the subscription.
initial() { grep -q "initial" "$DIR/watcher.out"; }
wait_for "the initial notification" 30 initial

# --- 8. mail flows -------------------------------------------------------------------------------
step "Delivering three mails"
for subject in "Lunch?" "Minutes of Monday" "Your parcel"; do
  deliver "$subject"
  echo "   delivered: $subject"
  sleep 1
done
step "Reading one: IMAP STORE +FLAGS (\\Seen) on the first new mail (doveadm flags add)"
new_seen() { [ "$(grep -c "MessageNew" "$DIR/watcher.out")" -ge 3 ]; }
wait_for "the three MessageNew notifications" 60 new_seen
doveadm -c "$DIR/dovecot.conf" flags add -u juliet@example.com '\Seen' mailbox INBOX uid 2

if [ "$CI_MODE" = 1 ]; then
  rc=0
  wait "$WATCHER_PID" || rc=$?
  WATCHER_PID=
  sleep 0.2
  if [ "$rc" -ne 0 ]; then
    echo "demo.sh: FAILED: the expected notifications did not all arrive" >&2
    echo "--- watcher stderr"; cat "$DIR/watcher.err"; echo "--- PNA log (tail)"; tail -n 40 "$DIR/pna/pna.log"
    exit 1
  fi
  summary=$(curl -fsS "http://127.0.0.1:$HTTP/v1/status")
  echo "demo.sh: OK: $(grep -c 'notification #' "$DIR/watcher.out") notifications; status: $(echo "$summary" | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin); a=s["accounts"][0]; m=a["mailboxes"][0]; print("%s %s messages=%s unseen=%s, watcher %s, %d subscription(s)" % (a["account"], m["mailbox"], m["messages"], m["unseen"], a["watchers"][0]["state"], sum(t["active"] for t in s["transports"])))')"
  exit 0
fi

step "Done. The status page stays up: http://127.0.0.1:$HTTP/status"
echo "   Deliver more with: printf 'Subject: hi\\n\\nhello\\n' | /usr/lib/dovecot/dovecot-lda -c $DIR/dovecot.conf -d juliet@example.com"
read -r -p "   Press Enter to stop everything and clean up. " _ || true
