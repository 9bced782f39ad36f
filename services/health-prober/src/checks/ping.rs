//! PING_CHECK: one ICMP echo over an unprivileged ICMP datagram socket
//! (the kernel fills the identifier and checksum); success on an echo reply
//! within connect_timeout.

use super::conn::ConnOpts;
use crate::outcome::{Failure, Outcome};

/// One attempt.
pub async fn run(conn: &ConnOpts, seq: u16) -> Outcome {
    match echo(conn, seq).await {
        Ok(()) => Outcome::ok(),
        Err(f) => Outcome::failed(f),
    }
}

async fn echo(conn: &ConnOpts, seq: u16) -> Result<(), Failure> {
    let socket = conn.icmp()?;
    let dst = std::net::SocketAddr::new(conn.dst.ip(), 0);
    socket
        .connect(dst)
        .await
        .map_err(|e| Failure::from_io(&e))?;
    let (request, reply) = if conn.dst.is_ipv4() {
        (8u8, 0u8)
    } else {
        (128u8, 129u8)
    };
    let mut packet = vec![request, 0, 0, 0, 0, 0];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(b"keepalived-rs");
    socket
        .send(&packet)
        .await
        .map_err(|e| Failure::from_io(&e))?;
    let deadline = tokio::time::Instant::now() + conn.timeout;
    let mut buf = [0u8; 1500];
    loop {
        let n = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
            Err(_) => return Err(Failure::ReadTimeout),
            Ok(Err(e)) => return Err(Failure::from_io(&e)),
            Ok(Ok(n)) => n,
        };
        if n >= 8 && buf[0] == reply && buf[6..8] == seq.to_be_bytes() {
            return Ok(());
        }
    }
}
