//! The checkers' I/O: each turns one attempt into an [`Outcome`]. Every
//! attempt opens its own socket and carries its own timeouts; nothing here
//! keeps state between attempts or decides up/down (that is `machine`).

pub mod conn;
pub mod dns;
pub mod file;
pub mod http;
pub mod misc;
pub mod ping;
pub mod smtp;
pub mod tls;
pub mod udp;

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use keepalived_config::CheckerKind;

use crate::outcome::Outcome;
use crate::spec::{TargetSpec, TrackedFile};
use conn::ConnOpts;

/// What kind of attempt to run.
#[derive(Debug)]
enum Kind {
    Http(http::HttpProbe),
    Tcp,
    Misc(misc::MiscProbe),
    Smtp(smtp::SmtpProbe),
    Dns(dns::DnsProbe),
    Udp(udp::UdpProbe),
    Ping(AtomicU16),
    File(TrackedFile),
}

/// A checker ready to run attempts.
#[derive(Debug)]
pub struct Probe {
    kind: Kind,
    conn: ConnOpts,
}

/// Why a checker cannot run (it is then left out, with a warning).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A `digest` is not 32 hex digits.
    #[error(transparent)]
    Digest(#[from] http::BadDigest),
    /// MISC_CHECK `user` unknown.
    #[error(transparent)]
    User(#[from] misc::UserError),
    /// DNS_CHECK `type` unknown.
    #[error(transparent)]
    DnsType(#[from] dns::UnknownType),
    /// UDP_CHECK payload or pattern not hex.
    #[error(transparent)]
    Hex(#[from] udp::BadHex),
    /// FILE_CHECK names no known track_file.
    #[error("FILE_CHECK follows track_file {0:?}, which is not defined")]
    NoTrackFile(String),
}

impl Probe {
    /// Prepares the checker of `spec`; SSL_GET attempts take their TLS
    /// context from `ssl` at each connect.
    pub fn new(spec: &TargetSpec, ssl: &Arc<tls::SslClient>) -> Result<Self, ProbeError> {
        let c = &spec.checker;
        let conn = ConnOpts {
            dst: spec.connect,
            bind: c
                .bindto
                .map(|ip| std::net::SocketAddr::new(ip, c.bind_port.unwrap_or(0)))
                .or_else(|| {
                    c.bind_port.map(|port| {
                        let any: std::net::IpAddr = if spec.connect.is_ipv4() {
                            std::net::Ipv4Addr::UNSPECIFIED.into()
                        } else {
                            std::net::Ipv6Addr::UNSPECIFIED.into()
                        };
                        std::net::SocketAddr::new(any, port)
                    })
                }),
            bind_if: c.bind_if.clone(),
            fwmark: c.fwmark,
            timeout: c.timing.connect_timeout.as_duration(),
        };
        let vhost = spec.server_virtualhost.as_deref();
        let kind = match &c.kind {
            CheckerKind::HttpGet(h) => {
                Kind::Http(http::HttpProbe::new(h, vhost, spec.connect, None)?)
            }
            CheckerKind::SslGet(h) => Kind::Http(http::HttpProbe::new(
                h,
                vhost,
                spec.connect,
                Some(ssl.clone()),
            )?),
            CheckerKind::TcpCheck => Kind::Tcp,
            CheckerKind::MiscCheck(m) => Kind::Misc(misc::MiscProbe {
                command: m.misc_path.clone(),
                // keepalived: misc_timeout, else the delay_loop.
                timeout: m.misc_timeout.unwrap_or(c.timing.delay_loop).as_duration(),
                dynamic: m.misc_dynamic,
                user: m
                    .user
                    .as_deref()
                    .map(|u| misc::resolve_user(u, m.group.as_deref()))
                    .transpose()?,
            }),
            CheckerKind::SmtpCheck(s) => Kind::Smtp(smtp::SmtpProbe {
                helo: s.helo_name.clone().unwrap_or_else(|| "localhost".into()),
            }),
            CheckerKind::DnsCheck(d) => Kind::Dns(dns::DnsProbe::new(&d.name, &d.query_type)?),
            CheckerKind::UdpCheck(u) => Kind::Udp(udp::UdpProbe {
                payload: u
                    .payload
                    .as_deref()
                    .map(udp::hex)
                    .transpose()?
                    .unwrap_or_default(),
                require_reply: u.require_reply,
                reply_pattern: u.reply_pattern.as_deref().map(udp::hex).transpose()?,
                min_len: u.min_reply_length.map(|v| v as usize),
                max_len: u.max_reply_length.map(|v| v as usize),
            }),
            CheckerKind::PingCheck => Kind::Ping(AtomicU16::new(0)),
            CheckerKind::FileCheck(f) => Kind::File(
                spec.file
                    .clone()
                    .ok_or_else(|| ProbeError::NoTrackFile(f.track_file.clone()))?,
            ),
        };
        Ok(Self { kind, conn })
    }

    /// Runs one attempt; `url` picks the HTTP url it fetches (keepalived
    /// checks one url per attempt, in turn).
    pub async fn run(&self, url: usize) -> Outcome {
        match &self.kind {
            Kind::Http(p) => p.run(&self.conn, url).await,
            Kind::Tcp => match self.conn.tcp().await {
                Ok(_stream) => Outcome::ok(),
                Err(f) => Outcome::failed(f),
            },
            Kind::Misc(p) => p.run().await,
            Kind::Smtp(p) => p.run(&self.conn).await,
            Kind::Dns(p) => p.run(&self.conn).await,
            Kind::Udp(p) => p.run(&self.conn).await,
            Kind::Ping(seq) => ping::run(&self.conn, seq.fetch_add(1, Ordering::Relaxed)).await,
            Kind::File(f) => file::run(f).await,
        }
    }
}
