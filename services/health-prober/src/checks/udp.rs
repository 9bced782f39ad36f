//! UDP_CHECK: sends `payload` on a connected UDP socket. With
//! `require_reply` a reply must come within connect_timeout (and match
//! `reply_pattern` and the length bounds); without it the check fails only
//! when an ICMP port unreachable comes back.

use super::conn::ConnOpts;
use crate::outcome::{Failure, Outcome};

/// A UDP_CHECK ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpProbe {
    /// Bytes sent.
    pub payload: Vec<u8>,
    /// A reply is required.
    pub require_reply: bool,
    /// The reply must start with this.
    pub reply_pattern: Option<Vec<u8>>,
    /// Minimum reply length.
    pub min_len: Option<usize>,
    /// Maximum reply length.
    pub max_len: Option<usize>,
}

/// Why a hex string is unusable.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not hex bytes")]
pub struct BadHex(pub String);

/// Decodes keepalived's hex payload syntax (spaces allowed, optional `0x`).
pub fn hex(text: &str) -> Result<Vec<u8>, BadHex> {
    let digits: String = text
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(BadHex(text.to_owned()));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| BadHex(text.to_owned())))
        .collect()
}

impl UdpProbe {
    /// One attempt.
    pub async fn run(&self, conn: &ConnOpts) -> Outcome {
        match self.exchange(conn).await {
            Ok(()) => Outcome::ok(),
            Err(f) => Outcome::failed(f),
        }
    }

    async fn exchange(&self, conn: &ConnOpts) -> Result<(), Failure> {
        let socket = conn.udp().await?;
        socket
            .send(&self.payload)
            .await
            .map_err(|e| Failure::from_io(&e))?;
        let mut buf = vec![0u8; 65536];
        match tokio::time::timeout(conn.timeout, socket.recv(&mut buf)).await {
            Err(_) if self.require_reply => Err(Failure::ReadTimeout),
            Err(_) => Ok(()),
            Ok(Err(e)) => Err(Failure::from_io(&e)),
            Ok(Ok(n)) => {
                let reply = &buf[..n];
                if self.min_len.is_some_and(|m| n < m) || self.max_len.is_some_and(|m| n > m) {
                    return Err(Failure::Protocol(format!(
                        "reply of {n} bytes out of bounds"
                    )));
                }
                if let Some(pattern) = &self.reply_pattern
                    && !reply.starts_with(pattern)
                {
                    return Err(Failure::Protocol(
                        "reply does not match reply_pattern".into(),
                    ));
                }
                Ok(())
            }
        }
    }
}
