//! The record format: the comment of a service's record set (its key,
//! scheduler, persistence) and its elements `address . port . mark`, the
//! mark packing weight and method; and the number and address writers every
//! part's text uses.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::table::{Dest, DestKey, Family, Method, Persistence, Proto, ServiceKey, ServiceSpec};
/// Prefix of the record-set comment, versioned.
const RECORD: &str = "ka1";

/// The method's code, in the low two bits of a record element's mark.
pub(super) fn method_code(m: Method) -> u32 {
    match m {
        Method::Dr => 0,
        Method::Nat => 1,
        Method::Tun => 2,
    }
}

/// The method of a mark's low two bits.
pub(super) fn method_of(code: u32) -> Option<Method> {
    match code {
        0 => Some(Method::Dr),
        1 => Some(Method::Nat),
        2 => Some(Method::Tun),
        _ => None,
    }
}

/// The record comment: `ka1 tcp,198.51.100.10,80 rr 30/255.255.255.0 0`.
pub(super) fn record_comment(key: &ServiceKey, spec: &ServiceSpec) -> String {
    let k = match key {
        ServiceKey::Addr { proto, ip, port } => format!("{},{ip},{port}", proto.name()),
        ServiceKey::Fwmark { family, mark } => format!(
            "fwm,{},{mark}",
            if *family == Family::Inet {
                "inet"
            } else {
                "inet6"
            }
        ),
    };
    let p = match spec.persistence {
        None => "-".to_owned(),
        Some(Persistence {
            timeout,
            netmask: None,
        }) => timeout.to_string(),
        Some(Persistence {
            timeout,
            netmask: Some(m),
        }) => format!("{timeout}/{m}"),
    };
    format!("{RECORD} {k} {} {p} {}", spec.scheduler, u8::from(spec.ops))
}

pub(super) fn parse_record(comment: &str) -> Option<(ServiceKey, ServiceSpec)> {
    let mut it = comment.split(' ');
    if it.next()? != RECORD {
        return None;
    }
    let k: Vec<&str> = it.next()?.split(',').collect();
    let key = match k.as_slice() {
        ["fwm", fam, mark] => ServiceKey::Fwmark {
            family: if *fam == "inet" {
                Family::Inet
            } else {
                Family::Inet6
            },
            mark: mark.parse().ok()?,
        },
        [proto, ip, port] => ServiceKey::Addr {
            proto: Proto::from_name(proto)?,
            ip: ip.parse().ok()?,
            port: port.parse().ok()?,
        },
        _ => return None,
    };
    let scheduler = it.next()?.to_owned();
    let persistence = match it.next()? {
        "-" => None,
        p => {
            let (t, m) = match p.split_once('/') {
                Some((t, m)) => (t, Some(m.parse().ok()?)),
                None => (p, None),
            };
            Some(Persistence {
                timeout: t.parse().ok()?,
                netmask: m,
            })
        }
    };
    let ops = it.next()? == "1";
    Some((
        key,
        ServiceSpec {
            scheduler,
            persistence,
            ops,
        },
    ))
}

/// The record elements of a service: `address . port . mark`, the mark
/// packing weight and method.
pub(super) fn record_element(d: &DestKey, spec: &Dest) -> String {
    let mut out = String::new();
    write_record_element(&mut out, d, spec);
    out
}

pub(super) fn write_record_element(out: &mut String, d: &DestKey, spec: &Dest) {
    push_ip(out, d.ip);
    out.push_str(" . ");
    push_decimal(out, u64::from(d.port));
    let _ = write!(
        out,
        " . {:#x}",
        (spec.weight << 2) | method_code(spec.method)
    );
}

/// Appends `n` in decimal (rendering 10,000-server tables writes ~100,000
/// numbers; `write!` costs several times this).
pub(super) fn push_decimal(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

/// Appends an address as `Display` writes it (IPv4 by hand, the fast path).
pub(super) fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            for (k, o) in a.octets().into_iter().enumerate() {
                if k > 0 {
                    out.push('.');
                }
                push_decimal(out, u64::from(o));
            }
        }
        IpAddr::V6(_) => {
            let _ = write!(out, "{ip}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses_are_written_as_display_writes_them() {
        for n in [0u64, 7, 10, 65521, u64::MAX] {
            let mut out = String::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        for ip in [
            "203.0.113.0",
            "203.0.113.39",
            "198.51.100.255",
            "2001:db8::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut out = String::new();
            push_ip(&mut out, ip);
            assert_eq!(out, ip.to_string());
        }
    }
}
