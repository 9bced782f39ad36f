//! `virtual_rules` (installed while MASTER, with the routes) and `static_rules` (always):
//! policy routing rules through rtnetlink, IPv4 and IPv6, `proto keepalived` as vrrp_iprule.c
//! sets it.
//!
//! Read from an entry: `from`, `to` (a prefix or `all`), `table`/`lookup` (a number, `main`,
//! `local`, `default`), `priority`/`preference`/`pref`, `fwmark`, `iif`, `oif`. Any other word
//! (`not`, `goto`, `suppress_prefixlength`, `uidrange` …) leaves the rule out with a warning
//! naming it.

use std::net::IpAddr;

use keepalived_config::VirtualRule;
use netlink_packet_route::rule::{RuleAction, RuleMessage};

use crate::netlink::{Netlink, NetlinkError};
use crate::ports::AddressPort;

/// One rule, resolved from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// IPv6 rule.
    pub v6: bool,
    /// `from` prefix (none: all).
    pub from: Option<(IpAddr, u8)>,
    /// `to` prefix.
    pub to: Option<(IpAddr, u8)>,
    /// `table` (main when unset).
    pub table: u32,
    /// `priority`.
    pub priority: Option<u32>,
    /// `fwmark`.
    pub fwmark: Option<u32>,
    /// `iif`.
    pub iif: Option<String>,
    /// `oif`.
    pub oif: Option<String>,
}

fn prefix(text: &str) -> Result<Option<(IpAddr, u8)>, String> {
    if text == "all" {
        return Ok(None);
    }
    let (addr, len) = text.split_once('/').unwrap_or((text, ""));
    let a: IpAddr = addr
        .parse()
        .map_err(|_| format!("'{text}' is not a prefix"))?;
    let max = if a.is_ipv6() { 128 } else { 32 };
    let len = if len.is_empty() {
        max
    } else {
        len.parse::<u8>()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| format!("'{text}' has a bad prefix length"))?
    };
    Ok(Some((a, len)))
}

impl RuleSpec {
    /// From a configuration entry; the error names what is not supported.
    pub fn from_config(r: &VirtualRule) -> Result<Self, String> {
        if let Some(word) = r.extra.first() {
            return Err(format!("'{word}' is not supported in a rule"));
        }
        let from = r.from.as_deref().map(prefix).transpose()?.flatten();
        let to = r.to.as_deref().map(prefix).transpose()?.flatten();
        let v6 = from.or(to).is_some_and(|(a, _)| a.is_ipv6());
        if let (Some((a, _)), Some((b, _))) = (from, to)
            && a.is_ipv6() != b.is_ipv6()
        {
            return Err("from and to are of different families".into());
        }
        let table = match r.table.as_deref() {
            None | Some("main") => 254,
            Some("local") => 255,
            Some("default") => 253,
            Some(t) => t.parse::<u32>().map_err(|_| {
                format!("table '{t}': only numbers, main, local and default are supported")
            })?,
        };
        Ok(Self {
            v6,
            from,
            to,
            table,
            priority: r.priority,
            fwmark: r.fwmark,
            iif: r.iif.clone(),
            oif: r.oif.clone(),
        })
    }

    /// As `ip rule` would print it, for logs.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if let Some(p) = self.priority {
            s.push_str(&format!("{p}: "));
        }
        match self.from {
            Some((a, l)) => s.push_str(&format!("from {a}/{l}")),
            None => s.push_str("from all"),
        }
        if let Some((a, l)) = self.to {
            s.push_str(&format!(" to {a}/{l}"));
        }
        if let Some(m) = self.fwmark {
            s.push_str(&format!(" fwmark {m:#x}"));
        }
        if let Some(i) = &self.iif {
            s.push_str(&format!(" iif {i}"));
        }
        if let Some(o) = &self.oif {
            s.push_str(&format!(" oif {o}"));
        }
        s.push_str(&format!(" lookup {}", self.table));
        s
    }

    fn message(&self, netlink: &Netlink) -> RuleMessage {
        let mut req = netlink.handle().rule().add().table_id(self.table);
        req = req.action(RuleAction::ToTable);
        if let Some(p) = self.priority {
            req = req.priority(p);
        }
        if let Some(m) = self.fwmark {
            req = req.fw_mark(m);
        }
        if let Some(i) = &self.iif {
            req = req.input_interface(i.clone());
        }
        if let Some(o) = &self.oif {
            req = req.output_interface(o.clone());
        }
        let mut msg = if self.v6 {
            let mut r = req.v6();
            if let Some((IpAddr::V6(a), l)) = self.from {
                r = r.source_prefix(a, l);
            }
            if let Some((IpAddr::V6(a), l)) = self.to {
                r = r.destination_prefix(a, l);
            }
            r.message_mut().clone()
        } else {
            let mut r = req.v4();
            if let Some((IpAddr::V4(a), l)) = self.from {
                r = r.source_prefix(a, l);
            }
            if let Some((IpAddr::V4(a), l)) = self.to {
                r = r.destination_prefix(a, l);
            }
            r.message_mut().clone()
        };
        // vrrp_iprule.c: keepalived's rules carry RTPROT_KEEPALIVED (18).
        msg.attributes
            .push(netlink_packet_route::rule::RuleAttribute::Protocol(
                netlink_packet_route::route::RouteProtocol::KeepAlived,
            ));
        msg
    }
}

/// A set of rules, and which of them we installed.
#[derive(Debug, Default)]
pub struct InstanceRules {
    rules: Vec<(RuleSpec, bool)>,
}

impl InstanceRules {
    /// The rules, none installed yet.
    pub fn new(specs: &[RuleSpec]) -> Self {
        Self {
            rules: specs.iter().map(|s| (s.clone(), false)).collect(),
        }
    }

    /// Whether any is installed.
    pub fn any_present(&self) -> bool {
        self.rules.iter().any(|(_, p)| *p)
    }

    /// Installs every rule (an existing identical rule is success).
    pub async fn add_all(&mut self, netlink: &dyn AddressPort, owner: &str) {
        for (spec, present) in &mut self.rules {
            match netlink.add_rule(spec).await {
                Ok(added) => {
                    *present = true;
                    if added {
                        tracing::info!("({owner}) rule {} added", spec.describe());
                    }
                }
                Err(error) => tracing::error!("({owner}) {error}"),
            }
        }
    }

    /// Removes every rule, also one left behind by an earlier run.
    pub async fn remove_all(&mut self, netlink: &dyn AddressPort, owner: &str) {
        for (spec, present) in &mut self.rules {
            match netlink.del_rule(spec).await {
                Ok(true) => tracing::info!("({owner}) rule {} removed", spec.describe()),
                Ok(false) => {}
                Err(error) => tracing::error!("({owner}) {error}"),
            }
            *present = false;
        }
    }
}

/// `ip rule add RULE`: true when added, false when an identical rule was there.
pub(crate) async fn add(netlink: &Netlink, spec: &RuleSpec) -> Result<bool, NetlinkError> {
    let mut req = netlink.handle().rule().add();
    *req.message_mut() = spec.message(netlink);
    match req.execute().await {
        Ok(()) => Ok(true),
        Err(e) if crate::netlink::errno(&e) == Some(libc::EEXIST) => Ok(false),
        Err(source) => Err(NetlinkError::Request {
            what: format!("adding rule {}", spec.describe()),
            source,
        }),
    }
}

/// `ip rule del RULE`: whether it was there.
pub(crate) async fn del(netlink: &Netlink, spec: &RuleSpec) -> Result<bool, NetlinkError> {
    match netlink
        .handle()
        .rule()
        .del(spec.message(netlink))
        .execute()
        .await
    {
        Ok(()) => Ok(true),
        Err(e)
            if matches!(
                crate::netlink::errno(&e),
                Some(libc::ENOENT) | Some(libc::ESRCH)
            ) =>
        {
            Ok(false)
        }
        Err(source) => Err(NetlinkError::Request {
            what: format!("removing rule {}", spec.describe()),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> VirtualRule {
        VirtualRule {
            from: None,
            to: None,
            table: None,
            priority: None,
            fwmark: None,
            iif: None,
            oif: None,
            extra: vec![],
        }
    }

    #[test]
    fn entries_resolve_as_ip_rule_reads_them() {
        let mut r = rule();
        r.to = Some("2001:db8:3::/64".into());
        r.table = Some("100".into());
        r.priority = Some(101);
        let s = RuleSpec::from_config(&r).unwrap();
        assert!(s.v6);
        assert_eq!(s.describe(), "101: from all to 2001:db8:3::/64 lookup 100");
        let mut r = rule();
        r.from = Some("all".into());
        r.fwmark = Some(7);
        assert_eq!(
            RuleSpec::from_config(&r).unwrap().describe(),
            "from all fwmark 0x7 lookup 254"
        );
        let mut r = rule();
        r.extra = vec!["not".into()];
        assert!(RuleSpec::from_config(&r).is_err());
        let mut r = rule();
        r.from = Some("198.51.100.0/24".into());
        r.to = Some("2001:db8::/32".into());
        assert!(RuleSpec::from_config(&r).is_err());
    }
}
