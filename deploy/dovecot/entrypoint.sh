#!/bin/sh
# Writes the bridge's master user from BRIDGE_MASTER_PASSWORD (the same .env value the PNA
# reads), so the one secret lives in one place, then runs Dovecot in the foreground.
set -eu
: "${BRIDGE_MASTER_USER:=admin}"
: "${BRIDGE_MASTER_PASSWORD:?set BRIDGE_MASTER_PASSWORD (see deploy/compose.env.example)}"
umask 077
printf '%s:{PLAIN}%s\n' "$BRIDGE_MASTER_USER" "$BRIDGE_MASTER_PASSWORD" > /etc/dovecot/master-users
chown root:dovecot /etc/dovecot/master-users
chmod 0640 /etc/dovecot/master-users
exec /usr/sbin/dovecot -F
