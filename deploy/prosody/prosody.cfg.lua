-- Prosody 0.12 for docker-compose.yml (docs/deployment.md, docs/xmpp.md): the virtual host
-- example.com for users and the PNA's publish-subscribe service as the external component
-- events.example.com (XEP-0114). Prosody 0.12 cannot read the environment, so entrypoint.sh
-- writes the component with its secret (PNA_XMPP_SECRET in .env, the same value the PNA is given
-- as Pna__Xmpp__Secret) into /run/prosody/components.cfg.lua, included at the end.
pidfile = "/run/prosody/prosody.pid"
data_path = "/var/lib/prosody"
log = { info = "*console"; }

interfaces = { "*" }
c2s_ports = { 5222 }
-- The component port is reached only from the compose network (not published).
component_interfaces = { "*" }
component_ports = { 5347 }
s2s_ports = { }
http_ports = { }
https_ports = { }

-- Inside the compose network; for real clients put certificates in place and require TLS.
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"
network_settings = { nagle = false }
modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "register"; }
modules_disabled = { "s2s"; }
allow_registration = false

VirtualHost "example.com"

-- Component "events.example.com" with component_secret: written by entrypoint.sh.
Include "/run/prosody/components.cfg.lua"
