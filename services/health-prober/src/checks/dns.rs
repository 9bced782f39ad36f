//! DNS_CHECK: one UDP query for `name`/`type` with recursion desired;
//! success on a reply with the query's id, QR set and RCODE NOERROR
//! (`check_dns.c`). Replies with another id are ignored, as keepalived does.

use super::conn::ConnOpts;
use crate::outcome::{Failure, Outcome};

/// keepalived's DNS_CHECK types.
pub const TYPES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("RRSIG", 46),
    ("DNSKEY", 48),
];

/// Why a DNS_CHECK cannot be built.
#[derive(Debug, thiserror::Error)]
#[error("unknown DNS_CHECK type {0:?}")]
pub struct UnknownType(pub String);

/// A DNS_CHECK ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsProbe {
    /// Query name (`.` for the root).
    pub name: String,
    /// Query type code.
    pub qtype: u16,
}

impl DnsProbe {
    /// From the configured name and type label.
    pub fn new(name: &str, qtype: &str) -> Result<Self, UnknownType> {
        let qtype = TYPES
            .iter()
            .find(|(label, _)| label.eq_ignore_ascii_case(qtype))
            .map(|(_, code)| *code)
            .ok_or_else(|| UnknownType(qtype.to_owned()))?;
        Ok(Self {
            name: name.to_owned(),
            qtype,
        })
    }

    /// The query datagram with `id`.
    pub fn query(&self, id: u16) -> Vec<u8> {
        let mut q = Vec::with_capacity(32 + self.name.len());
        q.extend_from_slice(&id.to_be_bytes());
        q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
        q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QD=1, AN=NS=AR=0
        for label in self.name.split('.').filter(|l| !l.is_empty()) {
            q.push(label.len().min(63) as u8);
            q.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
        }
        q.push(0);
        q.extend_from_slice(&self.qtype.to_be_bytes());
        q.extend_from_slice(&1u16.to_be_bytes()); // IN
        q
    }

    /// One attempt.
    pub async fn run(&self, conn: &ConnOpts) -> Outcome {
        match self.exchange(conn).await {
            Ok(()) => Outcome::ok(),
            Err(f) => Outcome::failed(f),
        }
    }

    async fn exchange(&self, conn: &ConnOpts) -> Result<(), Failure> {
        let socket = conn.udp().await?;
        let id: u16 = rand::random();
        socket
            .send(&self.query(id))
            .await
            .map_err(|e| Failure::Protocol(format!("failed to write socket. ({e})")))?;
        let deadline = tokio::time::Instant::now() + conn.timeout;
        let mut buf = [0u8; 1024];
        loop {
            let n = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_) => return Err(Failure::ReadTimeout),
                Ok(Err(e)) => return Err(Failure::from_io(&e)),
                Ok(Ok(n)) => n,
            };
            if n < 12 || buf[..2] != id.to_be_bytes() || buf[2] & 0x80 == 0 {
                continue; // too short, another id, or not a response
            }
            let rcode = buf[3] & 0x0f;
            if rcode != 0 {
                return Err(Failure::Protocol(format!(
                    "read error occurred. (rcode = {rcode})"
                )));
            }
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encodes_name_type_and_class() {
        let p = DnsProbe::new("example.com", "a").unwrap();
        assert_eq!(
            p.query(0x1234),
            [
                0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, b'e', b'x', b'a', b'm', b'p', b'l',
                b'e', 3, b'c', b'o', b'm', 0, 0, 1, 0, 1
            ]
        );
        let root = DnsProbe::new(".", "SOA").unwrap();
        assert_eq!(&root.query(1)[12..], [0, 0, 6, 0, 1]);
        assert!(DnsProbe::new(".", "BOGUS").is_err());
    }
}
