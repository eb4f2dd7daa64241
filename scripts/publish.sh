#!/usr/bin/env bash
# Publishes the PNA, the CNA, the standalone IMAP bridge and pna-alert (the Sieve alert hook,
# docs/alerts.md) for a plain-process install (docs/deployment.md, deploy/systemd/):
#   scripts/publish.sh                         framework-dependent (needs the ASP.NET Core 10 runtime)
#   scripts/publish.sh --self-contained        also self-contained for linux-x64 (no runtime needed)
#   scripts/publish.sh --self-contained --rid linux-arm64 --out /tmp/pub
# Output: <out>/{pna,cna,imapbridge,pna-alert} and, self-contained, <out>/<rid>/{…the same}.
# pna-alert keeps its native launcher (Aggregators.SieveAlert): Dovecot's Sieve wrapper execs it.
set -euo pipefail
cd "$(dirname "$0")/.."

out=artifacts/publish
rid=linux-x64
self_contained=0
while [ $# -gt 0 ]; do
  case "$1" in
    --self-contained) self_contained=1 ;;
    --rid) rid=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "publish.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

projects=(pna:src/Pna/Pna.csproj cna:src/Cna/Cna.csproj imapbridge:src/ImapBridge/ImapBridge.csproj
          pna-alert:src/SieveAlert/SieveAlert.csproj)

for p in "${projects[@]}"; do
  name=${p%%:*} project=${p#*:}
  echo "publish.sh: $name (framework-dependent) -> $out/$name"
  apphost=false
  [ "$name" = pna-alert ] && apphost=true # run as a program by Sieve, not with "dotnet x.dll"
  dotnet publish "$project" -c Release --nologo -v quiet -o "$out/$name" -p:UseAppHost=$apphost
done

if [ "$self_contained" = 1 ]; then
  for p in "${projects[@]}"; do
    name=${p%%:*} project=${p#*:}
    echo "publish.sh: $name (self-contained, $rid) -> $out/$rid/$name"
    # The runtime packs (Microsoft.NETCore.App.Runtime.<rid>, Microsoft.AspNetCore.App.Runtime.<rid>)
    # come from the NuGet feed; the next plain build restores without the RID again.
    dotnet publish "$project" -c Release --nologo -v quiet -r "$rid" --self-contained true -o "$out/$rid/$name"
  done
fi
echo "publish.sh: done"
