//! The full render: both tables deleted and recreated in one `nft -f` file,
//! which nft applies as one transaction.

use std::fmt::Write as _;

use super::record::{push_decimal, record_comment, write_record_element};
use super::slots::{SlotMemo, SlotRule, is_ipv6};
use super::{DR_TABLE, TABLE, TABLE6};
use crate::backend::BackendError;
use crate::table::TableState;
/// A named slot map. Declared `typeof numgen …` because nft 1.0.6 crashes
/// listing a map declared `typeof jhash …`; both keys are 32-bit integers.
fn slot_map(out: &mut String, i: usize, r: &SlotRule) {
    let _ = write!(
        out,
        "  map vs{i}_slots {{\n    typeof numgen inc mod 1 : {}\n    elements = {{ ",
        r.value_type
    );
    for (n, &owner) in r.owners.iter().enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        push_decimal(out, n as u64);
        out.push_str(" : ");
        r.targets[owner as usize].push_to(out);
    }
    out.push_str(" }\n  }\n");
}

/// Renders the whole ruleset: delete-and-recreate the tables inside one
/// file, which nft applies as one transaction (the `ip6` NAT table only when
/// an IPv6 NAT service needs it).
pub fn render(table: &TableState, device: &str) -> Result<String, BackendError> {
    render_memo(&mut SlotMemo::default(), table, device)
}

/// [`render`], reusing (and refreshing) the slot rules of `memo`.
pub fn render_memo(
    memo: &mut SlotMemo,
    table: &TableState,
    device: &str,
) -> Result<String, BackendError> {
    memo.0.retain(|k, _| table.services.contains_key(k));
    let mut out = String::with_capacity(4096);
    // `table x {}` first so that `delete table x` cannot fail when absent.
    let _ = writeln!(out, "table ip {TABLE} {{}}\ndelete table ip {TABLE}");
    let _ = writeln!(
        out,
        "table netdev {DR_TABLE} {{}}\ndelete table netdev {DR_TABLE}"
    );
    // The ip6 table only where IPv6 is in use (a host booted with IPv6 disabled need not
    // have it); the backend drops one it saw in the kernel ([`super::DROP_TABLE6`]).
    if table.services.keys().any(is_ipv6) {
        out.push_str(super::DROP_TABLE6);
    }
    let mut nat_rules = String::new();
    let mut nat6 = String::new();
    let mut nat6_rules = String::new();
    let mut dr_maps = String::new();
    let mut dr_rules = String::new();
    let _ = writeln!(out, "table ip {TABLE} {{");
    for (i, (key, service)) in table.services.iter().enumerate() {
        let _ = write!(
            out,
            "  set vs{i} {{\n    type {} . inet_service . mark\n    comment \"{}\"\n",
            if is_ipv6(key) {
                "ipv6_addr"
            } else {
                "ipv4_addr"
            },
            record_comment(key, &service.spec)
        );
        if !service.dests.is_empty() {
            out.push_str("    elements = { ");
            for (n, (d, spec)) in service.dests.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                write_record_element(&mut out, d, spec);
            }
            out.push_str(" }\n");
        }
        out.push_str("  }\n");
        let Some(r) = memo.rule(i, key, service, device)? else {
            continue;
        };
        if r.dr {
            slot_map(&mut dr_maps, i, r);
            let _ = writeln!(dr_rules, "    {}", r.rule);
        } else if r.ipv6 {
            slot_map(&mut nat6, i, r);
            let _ = writeln!(nat6, "  chain vs{i} {{\n    {}\n  }}", r.rule);
            if let Some(jump) = &r.jump {
                let _ = writeln!(nat6_rules, "    {jump}");
            }
        } else {
            slot_map(&mut out, i, r);
            let _ = writeln!(out, "  chain vs{i} {{\n    {}\n  }}", r.rule);
            if let Some(jump) = &r.jump {
                let _ = writeln!(nat_rules, "    {jump}");
            }
        }
    }
    let _ = writeln!(
        out,
        "  chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;\n{nat_rules}  }}\n}}"
    );
    if !nat6_rules.is_empty() {
        let _ = writeln!(
            out,
            "table ip6 {TABLE6} {{\n{nat6}  chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;\n{nat6_rules}  }}\n}}"
        );
    }
    if !dr_rules.is_empty() {
        let _ = writeln!(
            out,
            "table netdev {DR_TABLE} {{\n{dr_maps}  chain ingress {{\n    type filter hook ingress device \"{device}\" priority 0; policy accept;\n{dr_rules}  }}\n}}"
        );
    }
    Ok(out)
}
