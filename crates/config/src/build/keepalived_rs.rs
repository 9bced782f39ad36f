//! `keepalived_rs { … }`: the keepalived-rs extensions.

use super::*;

/// `HOST:PORT` with a non-empty host and a numeric port (`[v6]:PORT` included).
fn is_host_port(s: &str) -> bool {
    s.rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
}

impl Builder<'_> {
    /// `keepalived_rs { … }`, merged into `x` (several blocks add up, like `global_defs`).
    pub(super) fn keepalived_rs(&mut self, node: &Node<'_>, x: &mut KeepalivedRs) {
        if !node.args.is_empty() {
            self.d.error(
                node.args[0].pos,
                "keepalived_rs takes no name, only a { } block",
            );
        }
        for n in self.block(node) {
            match kw(self, Ctx::KeepalivedRs, n) {
                "webhook" => {
                    if let Some(w) = self.webhook(n) {
                        if x.webhooks.iter().any(|o| o.name == w.name) {
                            self.d
                                .error(n.kw.pos, format!("webhook {} defined twice", w.name));
                        } else {
                            x.webhooks.push(w);
                        }
                    }
                }
                "verdict_policy" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.as_str() {
                            "majority" => x.verdict_policy = VerdictPolicy::Majority,
                            "any_down" => x.verdict_policy = VerdictPolicy::AnyDown,
                            "all_down" => x.verdict_policy = VerdictPolicy::AllDown,
                            o => self.d.error(
                                t.pos,
                                format!(
                                    "verdict_policy must be majority, any_down or all_down, got '{o}'"
                                ),
                            ),
                        }
                    }
                }
                "health_prober" => {
                    let Some(t) = self.arg(n) else { continue };
                    let ok = match t.text.split_once("://") {
                        Some(("tcp", hp)) => is_host_port(hp),
                        _ => t.text.strip_prefix("unix:").is_some_and(|p| !p.is_empty()),
                    };
                    if !ok {
                        self.d.error(
                            t.pos,
                            format!(
                                "health_prober '{}' is not tcp://HOST:PORT or unix:PATH",
                                t.text
                            ),
                        );
                    } else if x.health_probers.iter().any(|p| *p == t.text.as_str()) {
                        self.d
                            .error(t.pos, format!("health_prober '{}' listed twice", t.text));
                    } else if x.health_prober_dns.is_some() {
                        // ipvs-manager's --health-prober and --health-prober-dns conflict too.
                        self.d.error(
                            n.kw.pos,
                            "health_prober and health_prober_dns cannot both be set",
                        );
                    } else {
                        x.health_probers.push(t.text.owned());
                    }
                }
                "health_prober_dns" => {
                    let Some(t) = self.arg(n) else { continue };
                    if !is_host_port(&t.text) {
                        self.d.error(
                            t.pos,
                            format!("health_prober_dns '{}' is not HOST:PORT", t.text),
                        );
                    } else if !x.health_probers.is_empty() {
                        self.d.error(
                            n.kw.pos,
                            "health_prober and health_prober_dns cannot both be set",
                        );
                    } else {
                        x.health_prober_dns = Some(t.text.owned());
                    }
                }
                "health_prober_owners" => self.health_prober_owners(n, x),
                _ => self.unknown(Ctx::KeepalivedRs, n),
            }
        }
    }

    /// `health_prober_owners K|all`: how many live prober replicas check each target.
    fn health_prober_owners(&mut self, n: &Node<'_>, x: &mut KeepalivedRs) {
        let Some(t) = self.arg(n) else { return };
        match t.text.as_str() {
            "all" => x.health_prober_owners = ProberOwners::All,
            v => match v.parse::<u32>() {
                Ok(k) if k >= 1 => x.health_prober_owners = ProberOwners::Count(k),
                _ => self.d.error(
                    t.pos,
                    format!("health_prober_owners must be a number of replicas (1 or more) or all, got '{v}'"),
                ),
            },
        }
    }

    /// `webhook NAME { url …  secret_file …  events …  ca_file … }`.
    fn webhook(&mut self, node: &Node<'_>) -> Option<Webhook> {
        let name = self.name(node);
        let mut w = Webhook {
            name,
            url: String::new(),
            secret_file: None,
            events: Vec::new(),
            ca_file: None,
        };
        for n in self.block(node) {
            match kw(self, Ctx::Webhook, n) {
                "url" => {
                    if let Some(t) = self.arg(n) {
                        let host = t
                            .text
                            .strip_prefix("http://")
                            .or_else(|| t.text.strip_prefix("https://"));
                        if host.is_some_and(|h| !h.is_empty() && !h.starts_with('/')) {
                            w.url = t.text.owned();
                        } else {
                            self.d.error(
                                t.pos,
                                format!(
                                    "webhook url '{}' is not http://HOST/… or https://HOST/…",
                                    t.text
                                ),
                            );
                        }
                    }
                }
                "secret_file" => w.secret_file = self.string(n),
                "ca_file" => w.ca_file = self.string(n),
                "events" => {
                    self.no_block(n);
                    if n.args.is_empty() {
                        self.d
                            .error(n.kw.pos, "events needs at least one event kind");
                    }
                    for t in &n.args {
                        match WebhookEvent::ALL.iter().find(|(_, k)| *k == t.text.as_str()) {
                            Some((e, _)) if !w.events.contains(e) => w.events.push(*e),
                            Some(_) => {}
                            None => self.d.error(
                                t.pos,
                                format!(
                                    "unknown webhook event '{}' (known: vrrp, sync_group, realserver, quorum)",
                                    t.text
                                ),
                            ),
                        }
                    }
                }
                _ => self.unknown(Ctx::Webhook, n),
            }
        }
        if w.url.is_empty() {
            self.d
                .error(node.kw.pos, format!("webhook {} needs a url", w.name));
            return None;
        }
        Some(w)
    }
}
