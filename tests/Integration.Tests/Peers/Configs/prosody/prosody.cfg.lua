-- Prosody 0.12 for the integration tests (see /work/shared/testbed-notes.md, "Prosody 0.12").
-- ProsodyServer.cs fills in ${DIR}, ${C2S_PORT}, ${COMPONENT_PORT} and ${SECRET} and runs
-- `prosody --config <this> -F` from a temporary directory, on loopback only.
run_as_root = true
pidfile = "${DIR}/prosody.pid"
data_path = "${DIR}/data"
log = { info = "${DIR}/prosody.log"; warn = "*console"; }

interfaces = { "127.0.0.1" }
c2s_ports = { ${C2S_PORT} }
component_interfaces = { "127.0.0.1" }
component_ports = { ${COMPONENT_PORT} }
s2s_ports = { }
http_ports = { }
https_ports = { }

c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"
network_settings = { nagle = false }   -- else the first stanza of a burst takes 40-50 ms
modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; }
modules_disabled = { "s2s"; "offline"; }   -- routing between VirtualHosts is internal

VirtualHost "example.com"
VirtualHost "example.net"

-- One domain per test scenario: Prosody accepts one connection per component domain.
Component "events.example.com"
  component_secret = "${SECRET}"
Component "restart.example.com"
  component_secret = "${SECRET}"
Component "dup.example.com"
  component_secret = "${SECRET}"
Component "auth.example.com"
  component_secret = "${SECRET}"
