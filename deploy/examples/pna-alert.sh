#!/bin/sh
# The Sieve alert hook for a plain install (docs/alerts.md): copy to Dovecot's
# sieve_execute_bin_dir as "pna-alert" (e.g. /etc/dovecot/sieve-bin/pna-alert, mode 0755).
# Pigeonhole passes only USER HOME SENDER RECIPIENT ORIG_RECIPIENT HOST, so the settings file
# and the .NET runtime are named here (a self-contained publish needs no DOTNET_ROOT).
export DOTNET_ROOT=/usr/share/dotnet
export HOME=/tmp DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
export PNA_ALERT_CONFIG=/etc/aggregators/sieve-alert.conf
exec /opt/aggregators/pna-alert/Aggregators.SieveAlert "$@"
