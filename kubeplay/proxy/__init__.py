"""Services: portals, endpoints, env vars, iptables proxy rules and pod routes, and their sync."""
