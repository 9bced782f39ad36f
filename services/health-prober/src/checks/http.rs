//! HTTP_GET and SSL_GET: one new connection per URL and attempt, keepalived's
//! request bytes, status code ranges and the body's MD5 as genhash computes
//! it (the bytes after the header, up to Content-Length when given).

use std::sync::Arc;

use keepalived_config::{HttpCheck, StatusRange};
use md5::{Digest as _, Md5};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::conn::{ConnOpts, timed};
use super::tls::SslClient;
use crate::outcome::{Failure, Outcome};

/// keepalived's bound on the header it parses.
const MAX_HEADER: usize = 4096;

/// One URL to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlProbe {
    /// The exact request bytes.
    pub request: Vec<u8>,
    /// Accepted status codes (inclusive ranges).
    pub status: Vec<StatusRange>,
    /// Expected MD5 of the body.
    pub digest: Option<[u8; 16]>,
}

/// An HTTP_GET / SSL_GET checker ready to run.
#[derive(Debug, Clone)]
pub struct HttpProbe {
    /// The URLs, checked in order within one attempt.
    pub urls: Vec<UrlProbe>,
    /// SSL_GET's TLS (`None` for plain HTTP).
    pub tls: Option<Tls>,
}

/// How an SSL_GET attempt speaks TLS.
#[derive(Debug, Clone)]
pub struct Tls {
    /// The server name given to rustls (the IP, for which it sends no SNI,
    /// unless `enable_sni`).
    pub name: ServerName<'static>,
    /// The shared client context, read at each connect (reloads replace it).
    pub client: Arc<SslClient>,
}

/// Why a `digest` value is unusable.
#[derive(Debug, thiserror::Error)]
#[error("digest {0:?} is not 32 hex digits")]
pub struct BadDigest(pub String);

/// keepalived's request: `GET <path> HTTP/1.0`, `User-Agent: KeepAliveClient`,
/// `Connection: close` for `http_protocol 1.0C` and `1.1`, then `Host:` —
/// the virtualhost as given, else `IP:PORT` (`[IPv6]:PORT`).
pub fn request(
    path: &str,
    protocol: Option<&str>,
    vhost: Option<&str>,
    dst: std::net::SocketAddr,
) -> Vec<u8> {
    let (minor, close) = match protocol.map(str::to_ascii_uppercase).as_deref() {
        Some("1.1") => (1, true),
        Some("1.0C") => (0, true),
        _ => (0, false),
    };
    let host = match vhost {
        Some(v) => v.to_owned(),
        None => dst.to_string(),
    };
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!("GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{connection}Host: {host}\r\n\r\n")
        .into_bytes()
}

fn parse_digest(hex: &str) -> Result<[u8; 16], BadDigest> {
    let bad = || BadDigest(hex.to_owned());
    if hex.len() != 32 {
        return Err(bad());
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

impl HttpProbe {
    /// Builds the probe: Host from the url's, the checker's, then the real
    /// server's or virtual server's `virtualhost`.
    pub fn new(
        check: &HttpCheck,
        server_virtualhost: Option<&str>,
        dst: std::net::SocketAddr,
        tls: Option<Arc<SslClient>>,
    ) -> Result<Self, BadDigest> {
        let mut urls = Vec::new();
        for url in &check.urls {
            let vhost = url
                .virtualhost
                .as_deref()
                .or(check.virtualhost.as_deref())
                .or(server_virtualhost);
            urls.push(UrlProbe {
                request: request(&url.path, check.http_protocol.as_deref(), vhost, dst),
                status: url.status_code.clone(),
                digest: url.digest.as_deref().map(parse_digest).transpose()?,
            });
        }
        let tls = tls.map(|client| {
            let sni = check
                .enable_sni
                .then(|| check.virtualhost.as_deref().or(server_virtualhost))
                .flatten()
                .and_then(|name| ServerName::try_from(name.to_owned()).ok());
            // Without SNI rustls is given the IP, for which it sends no SNI.
            let name = sni.unwrap_or(ServerName::IpAddress(dst.ip().into()));
            Tls { name, client }
        });
        Ok(Self { urls, tls })
    }

    /// One attempt: url number `url` (the machine walks them in turn), on a
    /// new connection.
    pub async fn run(&self, conn: &ConnOpts, url: usize) -> Outcome {
        // The config refuses an HTTP checker without url.
        let Some(probe) = self.urls.get(url).or(self.urls.first()) else {
            return Outcome::failed(Failure::Protocol("no url to check".into()));
        };
        match self.fetch(conn, probe).await {
            Ok(()) => Outcome::ok(),
            Err(failure) => Outcome::failed(failure),
        }
    }

    async fn fetch(&self, conn: &ConnOpts, url: &UrlProbe) -> Result<(), Failure> {
        let stream = conn.tcp().await?;
        match &self.tls {
            None => exchange(stream, conn, url).await,
            // Boxed: the TLS handshake's state is large, and would otherwise
            // make every plain HTTP attempt's task as large.
            Some(tls) => Box::pin(fetch_tls(stream, tls, conn, url)).await,
        }
    }
}

async fn fetch_tls(
    stream: tokio::net::TcpStream,
    tls: &Tls,
    conn: &ConnOpts,
    url: &UrlProbe,
) -> Result<(), Failure> {
    // TLS writes its Finished and then the request back to back: without
    // this Nagle would hold the request for the ACK.
    let _ = stream.set_nodelay(true);
    // keepalived's SSL_new(check_data->ssl->ctx): the context of the moment.
    let connector = tokio_rustls::TlsConnector::from(tls.client.config());
    let tls = match tokio::time::timeout(conn.timeout, connector.connect(tls.name.clone(), stream))
        .await
    {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return Err(Failure::Tls(e.to_string())),
        Err(_) => return Err(Failure::ConnectTimeout),
    };
    exchange(tls, conn, url).await.map_err(|f| match f {
        Failure::Network(e) => Failure::Tls(e),
        other => other,
    })
}

/// Sends the request and judges the response.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    conn: &ConnOpts,
    url: &UrlProbe,
) -> Result<(), Failure> {
    timed(
        conn.timeout,
        Failure::WriteTimeout,
        stream.write_all(&url.request),
    )
    .await?;
    let mut response = Response::new(url.digest.is_some());
    // Not zeroed: read_buf fills the spare capacity.
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        let n = match tokio::time::timeout(conn.timeout, stream.read_buf(&mut buf)).await {
            Err(_) => return Err(Failure::ReadTimeout),
            Ok(Ok(n)) => n,
            // A TLS peer that closes without close_notify still sent a full reply.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Ok(Err(e)) => return Err(Failure::from_io(&e)),
        };
        if n == 0 {
            break;
        }
        response.feed(&buf[..n]);
    }
    response.judge(url)
}

/// The response as it streams in.
#[derive(Debug)]
pub struct Response {
    header: Vec<u8>,
    status: Option<u16>,
    content_length: Option<usize>,
    body_seen: usize,
    md5: Option<Md5>,
}

impl Response {
    /// A response; `digest` says whether to hash the body.
    pub fn new(digest: bool) -> Self {
        Self {
            header: Vec::new(),
            status: None,
            content_length: None,
            body_seen: 0,
            md5: digest.then(Md5::new),
        }
    }

    /// Feeds received bytes.
    pub fn feed(&mut self, mut data: &[u8]) {
        if self.status.is_none() {
            // The usual case: the whole header in the first read, parsed in place.
            let (head, body) = if self.header.is_empty()
                && let Some(end) = find(data, b"\r\n\r\n")
            {
                (&data[..end], &data[end + 4..])
            } else {
                let before = self.header.len();
                self.header.extend_from_slice(data);
                let Some(end) = find(&self.header, b"\r\n\r\n") else {
                    if self.header.len() > MAX_HEADER {
                        self.header.truncate(MAX_HEADER);
                    }
                    return;
                };
                let body_start = (end + 4).saturating_sub(before).min(data.len());
                self.header.truncate(end);
                (&self.header[..], &data[body_start..])
            };
            self.status = Some(parse_status(head).unwrap_or(0));
            // Only the digest needs to know where the body ends.
            if self.md5.is_some() {
                self.content_length = content_length(head);
            }
            data = body;
        }
        let take = match self.content_length {
            Some(len) => data.len().min(len.saturating_sub(self.body_seen)),
            None => data.len(),
        };
        if let Some(md5) = &mut self.md5 {
            md5.update(&data[..take]);
        }
        self.body_seen += take;
    }

    /// Judges the complete response against `url`.
    pub fn judge(self, url: &UrlProbe) -> Result<(), Failure> {
        let Some(status) = self.status else {
            return Err(Failure::NoData);
        };
        let accepted = if url.status.is_empty() {
            (200..=299).contains(&status)
        } else {
            url.status.iter().any(|r| (r.from..=r.to).contains(&status))
        };
        if !accepted {
            return Err(Failure::Status(status));
        }
        if let (Some(expected), Some(md5)) = (url.digest, self.md5)
            && md5.finalize().as_slice() != expected
        {
            return Err(Failure::Digest);
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `HTTP/1.x NNN …` → NNN.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let mut parts = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|part| !part.is_empty());
    if !parts.next()?.starts_with(b"HTTP/") {
        return None;
    }
    std::str::from_utf8(parts.next()?).ok()?.parse().ok()
}

/// The `Content-Length` header's value, if any.
fn content_length(head: &[u8]) -> Option<usize> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        name.trim_ascii()
            .eq_ignore_ascii_case(b"content-length")
            .then(|| std::str::from_utf8(value.trim_ascii()).ok()?.parse().ok())
            .flatten()
    })
}

/// Keeps a probe shareable between attempts.
pub type SharedHttpProbe = Arc<HttpProbe>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_keepalived_s_byte_for_byte() {
        let dst = "203.0.113.12:80".parse().unwrap();
        assert_eq!(
            request("/", None, None, dst),
            b"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 203.0.113.12:80\r\n\r\n"
        );
        assert_eq!(
            request("/x", Some("1.1"), Some("www.example.com"), dst),
            b"GET /x HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n"
        );
        assert_eq!(
            request("/", None, None, "[2001:db8::1]:8080".parse().unwrap()),
            b"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: [2001:db8::1]:8080\r\n\r\n"
        );
    }

    fn url(status: Vec<StatusRange>, digest: Option<&str>) -> UrlProbe {
        UrlProbe {
            request: Vec::new(),
            status,
            digest: digest.map(|d| parse_digest(d).unwrap()),
        }
    }

    #[test]
    fn status_ranges_and_digest_are_judged_like_keepalived() {
        let reply = b"HTTP/1.0 302 Found\r\nContent-Length: 5\r\n\r\nhello trailing";
        let judge = |u: &UrlProbe| {
            let mut r = Response::new(u.digest.is_some());
            // Split across reads, inside the header and the body.
            r.feed(&reply[..10]);
            r.feed(&reply[10..45]);
            r.feed(&reply[45..]);
            r.judge(u)
        };
        assert_eq!(
            judge(&url(vec![], None)),
            Err(Failure::Status(302)),
            "default 200-299"
        );
        assert_eq!(
            judge(&url(vec![StatusRange { from: 300, to: 399 }], None)),
            Ok(())
        );
        // md5("hello") — only Content-Length bytes are hashed.
        let hello = "5d41402abc4b2a76b9719d911017c592";
        assert_eq!(
            judge(&url(vec![StatusRange { from: 302, to: 302 }], Some(hello))),
            Ok(())
        );
        let other = "00000000000000000000000000000000";
        assert_eq!(
            judge(&url(vec![StatusRange { from: 302, to: 302 }], Some(other))),
            Err(Failure::Digest)
        );
        assert_eq!(
            Response::new(false).judge(&url(vec![], None)),
            Err(Failure::NoData)
        );
    }
}
