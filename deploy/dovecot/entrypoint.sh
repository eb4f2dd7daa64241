#!/bin/sh
# Writes the bridge's master user from BRIDGE_MASTER_PASSWORD (the same .env value the PNA
# reads), so the one secret lives in one place, and pna-alert's settings (docs/alerts.md) from
# PNA_ALERT_TOKEN / PNA_ALERT_URL (Sieve passes programs no environment, so they go into the
# file the wrapper names), then runs Dovecot in the foreground.
set -eu
: "${BRIDGE_MASTER_USER:=admin}"
: "${BRIDGE_MASTER_PASSWORD:?set BRIDGE_MASTER_PASSWORD (see deploy/compose.env.example)}"
: "${PNA_ALERT_TOKEN:?set PNA_ALERT_TOKEN (see deploy/compose.env.example)}"
: "${PNA_ALERT_URL:=http://pna:8480}"
umask 077
printf '%s:{PLAIN}%s\n' "$BRIDGE_MASTER_USER" "$BRIDGE_MASTER_PASSWORD" > /etc/dovecot/master-users
chown root:dovecot /etc/dovecot/master-users
chmod 0640 /etc/dovecot/master-users
# Readable by the mail processes (user vmail) that run pna-alert; it holds the token.
cat > /etc/aggregators/sieve-alert.conf <<CONF
url = ${PNA_ALERT_URL}
token = ${PNA_ALERT_TOKEN}
spool = /var/spool/aggregators/alerts
CONF
chown root:vmail /etc/aggregators/sieve-alert.conf
chmod 0640 /etc/aggregators/sieve-alert.conf
exec /usr/sbin/dovecot -F
