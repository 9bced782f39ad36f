//! `virtual_ipaddress`, `virtual_ipaddress_excluded` and `virtual_routes` entries.

use super::*;

impl Builder<'_> {
    /// A `virtual_ipaddress` block (`excluded`: `virtual_ipaddress_excluded`, whose addresses
    /// keepalived does not hold to the instance's family: vrrp_data.c `alloc_vrrp_evip`).
    pub(super) fn vip_list(&mut self, n: &Node<'_>, excluded: bool) -> Vec<VirtualIp> {
        let mut out: Vec<VirtualIp> = Vec::new();
        for c in self.block(n) {
            let words: Vec<&Tok<'_>> = std::iter::once(&c.kw).chain(&c.args).collect();
            if let Some(v) = self.vip(&words) {
                if !excluded
                    && let Some(first) = out.first()
                    && first.address.is_ipv4() != v.address.is_ipv4()
                {
                    // vrrp_data.c: "address family must match VRRP instance - ignoring".
                    self.d.warn(
                        c.kw.pos,
                        format!(
                            "{}: address {} is of a different family than {}: keepalived \
                             ignores it (\"address family must match VRRP instance\"), and so \
                             does keepalived-rs",
                            n.kw.text, v.address, first.address
                        ),
                    );
                    continue;
                }
                out.push(v);
            }
        }
        out
    }

    fn vip(&mut self, w: &[&Tok<'_>]) -> Option<VirtualIp> {
        let (addr, prefix) = match w[0].text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (w[0].text.as_str(), None),
        };
        // vrrp_ipaddress.c `parse_ipaddress`: a bad address is skipped, a bad prefix length is
        // the full length.
        let Ok(address) = addr.parse::<IpAddr>() else {
            self.d.warn(
                w[0].pos,
                format!(
                    "VRRP parsed invalid IP {}. skipping IP... (as keepalived)",
                    w[0].text
                ),
            );
            return None;
        };
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(v) if v <= max => v,
                _ => {
                    self.d.warn(
                        w[0].pos,
                        format!(
                            "Invalid address prefix len {p} for address {address} - using {max} \
                             (as keepalived)"
                        ),
                    );
                    max
                }
            },
        };
        let mut v = VirtualIp {
            address,
            prefix_len,
            brd: None,
            dev: None,
            scope: None,
            label: None,
            peer: None,
            flags: Vec::new(),
        };
        let mut i = 1;
        while i < w.len() {
            let k = &w[i];
            let val = w.get(i + 1);
            let need = |b: &mut Self| {
                if val.is_none() {
                    b.d.error(k.pos, format!("'{}' needs a value", k.text));
                }
            };
            match k.text.as_str() {
                "brd" | "broadcast" => {
                    need(self);
                    v.brd = val.and_then(|t| self.ip_tok(t));
                    i += 1;
                }
                "dev" => {
                    need(self);
                    v.dev = val.map(|t| t.text.owned());
                    i += 1;
                    // vrrp_ipaddress.c: an address on a missing interface is dropped.
                    if let (Some(t), Some(m)) = (val, self.interfaces)
                        && !m.contains_key(t.text.as_str())
                    {
                        self.d.warn(
                            t.pos,
                            format!(
                                "WARNING - interface {} for ip address {} doesn't exist: \
                                 keepalived drops the address, and so does keepalived-rs",
                                t.text, w[0].text
                            ),
                        );
                        return None;
                    }
                }
                "scope" => {
                    need(self);
                    v.scope = val.map(|t| t.text.owned());
                    i += 1;
                }
                "label" => {
                    need(self);
                    v.label = val.map(|t| t.text.owned());
                    i += 1;
                }
                "peer" => {
                    need(self);
                    v.peer = val.and_then(|t| self.ip_tok(t));
                    i += 1;
                }
                "home" | "-nodad" | "nodad" | "noprefixroute" | "autojoin" | "no_track" => {
                    v.flags.push(k.text.owned())
                }
                // keepalived takes one address per line; a second one is an unknown option.
                o if o
                    .split('/')
                    .next()
                    .is_some_and(|a| a.parse::<IpAddr>().is_ok()) =>
                {
                    self.d.warn(
                        k.pos,
                        format!(
                            "Unknown configuration entry '{o}' for ip address - ignoring: \
                             keepalived reads one address per line, put '{o}' on its own line"
                        ),
                    )
                }
                o => self.d.warn(
                    k.pos,
                    format!(
                        "Unknown configuration entry '{o}' for ip address - ignoring, as \
                         keepalived does"
                    ),
                ),
            }
            i += 1;
        }
        Some(v)
    }

    pub(super) fn route(&mut self, c: &Node<'_>) -> VirtualRoute {
        let mut w = vec![c.kw.clone()];
        w.extend(c.args.iter().cloned());
        let mut r = VirtualRoute {
            to: String::new(),
            via: None,
            dev: None,
            src: None,
            metric: None,
            table: None,
            extra: Vec::new(),
        };
        let mut i = 0;
        while i < w.len() {
            let k = w[i].text.as_str();
            let val = w.get(i + 1);
            match k {
                "src" | "via" | "gw" | "dev" | "metric" | "table" | "to" => {
                    let Some(val) = val else {
                        self.d.error(w[i].pos, format!("'{k}' needs a value"));
                        break;
                    };
                    match k {
                        "src" => r.src = self.ip_tok(val),
                        "via" | "gw" => r.via = self.ip_tok(val),
                        "dev" => {
                            if let Some(m) = self.interfaces
                                && !m.contains_key(val.text.as_str())
                            {
                                self.d.warn(
                                    val.pos,
                                    format!(
                                        "WARNING - interface {} for VROUTE nexthop doesn't exist \
                                         (as keepalived)",
                                        val.text
                                    ),
                                );
                            }
                            r.dev = Some(val.text.owned())
                        }
                        "metric" => {
                            r.metric = self
                                .int_tok(val, 0, u32::MAX as i64, "metric")
                                .map(|v| v as u32)
                        }
                        "table" => r.table = Some(val.text.owned()),
                        _ => r.to = val.text.owned(),
                    }
                    i += 2;
                }
                // A route type (ip-route(8)) comes before the destination.
                "unicast" | "local" | "broadcast" | "multicast" | "throw" | "unreachable"
                | "prohibit" | "blackhole" | "nat"
                    if r.to.is_empty() =>
                {
                    r.extra.push(k.to_string());
                    i += 1;
                }
                _ if r.to.is_empty() => {
                    r.to = k.to_string();
                    i += 1;
                }
                _ => {
                    r.extra.push(k.to_string());
                    i += 1;
                }
            }
        }
        if r.to.is_empty() {
            self.d
                .error(c.kw.pos, "virtual route without a destination");
        } else if r.dev.is_none() && !r.extra.iter().any(|e| e == "no_track") {
            // vrrp_iproute.c `alloc_route`: the route is still installed, not tracked.
            self.d.warn(
                c.kw.pos,
                format!(
                    "Warning - cannot track route {} with no interface specified, not tracking \
                     (as keepalived)",
                    r.to
                ),
            );
        }
        r
    }

    /// A `virtual_rules` / `static_rules` entry: ip-rule(8)'s words as vrrp_iprule.c reads
    /// them; words this model does not name are kept in `extra` (vrrp-core says what it
    /// cannot install).
    pub(super) fn rule(&mut self, c: &Node<'_>) -> VirtualRule {
        let mut w = vec![c.kw.clone()];
        w.extend(c.args.iter().cloned());
        let mut r = VirtualRule {
            from: None,
            to: None,
            table: None,
            priority: None,
            fwmark: None,
            iif: None,
            oif: None,
            extra: Vec::new(),
        };
        let mut i = 0;
        while i < w.len() {
            let k = w[i].text.as_str();
            match k {
                "from" | "to" | "table" | "lookup" | "priority" | "preference" | "pref"
                | "fwmark" | "iif" | "oif" => {
                    let Some(val) = w.get(i + 1) else {
                        self.d.error(w[i].pos, format!("'{k}' needs a value"));
                        break;
                    };
                    let text = val.text.owned();
                    match k {
                        "from" => r.from = Some(text),
                        "to" => r.to = Some(text),
                        "table" | "lookup" => r.table = Some(text),
                        "priority" | "preference" | "pref" => {
                            r.priority = self
                                .int_tok(val, 0, u32::MAX as i64, "priority")
                                .map(|v| v as u32)
                        }
                        "fwmark" => {
                            r.fwmark = match text.strip_prefix("0x") {
                                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                                None => text.parse().ok(),
                            };
                            if r.fwmark.is_none() {
                                self.d
                                    .warn(val.pos, format!("fwmark '{text}' is invalid - ignored"));
                            }
                        }
                        "iif" => r.iif = Some(text),
                        _ => r.oif = Some(text),
                    }
                    i += 2;
                }
                _ => {
                    r.extra.push(k.to_string());
                    i += 1;
                }
            }
        }
        r
    }
}
