//! Webhooks (a keepalived-rs extension): a JSON payload per notice, signed
//! with HMAC-SHA256 in `X-Keepalived-Signature: sha256=<hex>`, POSTed over
//! HTTP or HTTPS (rustls; the system's trust store, plus a webhook's own
//! `ca_file`).
//!
//! They come from `keepalived_rs { webhook NAME { … } }` or the command line:
//! `--webhook URL[,events=vrrp,realserver][,secret-file=PATH][,ca-file=PATH]`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac as _};
use http_body_util::{BodyExt as _, Full};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde_json::json;
use sha2::Sha256;

use crate::notice::Notice;

/// The kinds a webhook may filter on.
pub const EVENT_KINDS: [&str; 4] = ["vrrp", "sync_group", "realserver", "quorum"];

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-keepalived-signature";

/// The delivery id header, for receivers that deduplicate (delivery is at
/// least once).
pub const DELIVERY_HEADER: &str = "x-keepalived-delivery";

/// One configured endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSpec {
    /// `http://HOST:PORT/PATH`.
    pub url: String,
    /// Kinds sent; empty for all.
    pub events: Vec<String>,
    /// File with the HMAC secret; unsigned without one.
    pub secret_file: Option<String>,
    /// PEM certificates trusted for an `https://` URL besides the system's.
    pub ca_file: Option<String>,
}

/// A malformed `--webhook` value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// Not `http://` or `https://`.
    #[error("webhook URL {0:?} is not http:// or https://")]
    Scheme(String),
    /// An unknown option.
    #[error("unknown webhook option {0:?} (known: events=, secret-file=, ca-file=)")]
    Option(String),
    /// An unknown event kind.
    #[error("unknown webhook event kind {0:?} (known: vrrp, sync_group, realserver, quorum)")]
    Kind(String),
}

fn has_scheme(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

impl std::str::FromStr for WebhookSpec {
    type Err = SpecError;

    /// `URL[,events=K1,K2…][,secret-file=PATH]`: bare words after `events=`
    /// continue its list.
    fn from_str(text: &str) -> Result<Self, SpecError> {
        let mut parts = text.split(',');
        let url = parts.next().unwrap_or_default().to_owned();
        if !has_scheme(&url) {
            return Err(SpecError::Scheme(url));
        }
        let mut spec = Self {
            url,
            events: Vec::new(),
            secret_file: None,
            ca_file: None,
        };
        let mut in_events = false;
        for part in parts {
            let kind = if let Some(kind) = part.strip_prefix("events=") {
                in_events = true;
                kind
            } else if let Some(path) = part.strip_prefix("secret-file=") {
                in_events = false;
                spec.secret_file = Some(path.to_owned());
                continue;
            } else if let Some(path) = part.strip_prefix("ca-file=") {
                in_events = false;
                spec.ca_file = Some(path.to_owned());
                continue;
            } else if in_events && !part.contains('=') {
                part
            } else {
                return Err(SpecError::Option(part.to_owned()));
            };
            for kind in kind.split('+').filter(|k| !k.is_empty()) {
                if !EVENT_KINDS.contains(&kind) {
                    return Err(SpecError::Kind(kind.to_owned()));
                }
                spec.events.push(kind.to_owned());
            }
        }
        Ok(spec)
    }
}

impl WebhookSpec {
    /// The endpoint a `keepalived_rs { webhook NAME { … } }` block names.
    pub fn from_config(webhook: &keepalived_config::Webhook) -> Result<Self, SpecError> {
        if !has_scheme(&webhook.url) {
            return Err(SpecError::Scheme(webhook.url.clone()));
        }
        Ok(Self {
            url: webhook.url.clone(),
            events: webhook
                .events
                .iter()
                .map(|kind| kind.as_str().to_owned())
                .collect(),
            secret_file: webhook.secret_file.clone(),
            ca_file: webhook.ca_file.clone(),
        })
    }

    /// Whether this endpoint takes notices of `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|k| k == kind)
    }
}

/// What the payload says about the cause, beyond the notice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Event time, RFC 3339.
    pub time: String,
    /// Trace id of the causing event (32 hex digits), empty when none.
    pub trace_id: String,
    /// Producer of the event.
    pub producer: String,
    /// Its incarnation.
    pub incarnation: String,
    /// Its seq.
    pub seq: u64,
}

fn up_down(up: bool) -> &'static str {
    if up { "UP" } else { "DOWN" }
}

/// The JSON payload for `notice`.
pub fn payload(notice: &Notice, router_id: &str, cx: &Context) -> String {
    let mut value = match notice {
        Notice::Instance {
            name,
            from,
            to,
            priority,
        } => json!({
            "event": "vrrp", "instance": name, "old_state": from.word(),
            "new_state": to.word(), "priority": priority,
        }),
        Notice::Priority {
            name,
            master,
            priority,
        } => json!({
            "event": "vrrp_priority", "instance": name, "master": master, "priority": priority,
        }),
        Notice::Group { name, from, to } => json!({
            "event": "sync_group", "group": name, "old_state": from.word(), "new_state": to.word(),
        }),
        Notice::RealServer {
            rs,
            up,
            reason,
            checker,
            ..
        } => json!({
            "event": "realserver", "virtual_server": rs.vs.to_string(),
            "real_server": rs.to_string(), "old_state": up_down(!up), "new_state": up_down(*up),
            "reason": reason, "checker": checker,
        }),
        Notice::Quorum {
            vs,
            up,
            quorum,
            hysteresis,
            alive_weight,
        } => json!({
            "event": "quorum", "virtual_server": vs.to_string(), "old_state": up_down(!up),
            "new_state": up_down(*up), "quorum": quorum, "hysteresis": hysteresis,
            "alive_weight": alive_weight,
        }),
    };
    let object = value.as_object_mut().expect("a JSON object");
    object.insert("router_id".into(), json!(router_id));
    object.insert("time".into(), json!(cx.time));
    object.insert("trace_id".into(), json!(cx.trace_id));
    object.insert(
        "cause".into(),
        json!({"producer": cx.producer, "incarnation": cx.incarnation, "seq": cx.seq}),
    );
    value.to_string()
}

/// One line for the API.
pub fn summary(notice: &Notice) -> String {
    match notice {
        Notice::Instance { name, from, to, .. } => format!("vrrp {name} {from} -> {to}"),
        Notice::Priority { name, priority, .. } => format!("vrrp {name} priority {priority}"),
        Notice::Group { name, from, to } => format!("sync_group {name} {from} -> {to}"),
        Notice::RealServer { rs, up, .. } => {
            format!("realserver {rs} of {} {}", rs.vs, up_down(*up))
        }
        Notice::Quorum { vs, up, .. } => format!("quorum {vs} {}", up_down(*up)),
    }
}

/// `sha256=<hex HMAC-SHA256 of body>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Where a URL points.
struct Target {
    https: bool,
    /// Host name or address, without IPv6 brackets.
    host: String,
    port: u16,
    /// `host[:port]` as the `Host` header carries it.
    authority: String,
}

impl Target {
    fn of(uri: &http::Uri) -> Option<Self> {
        let https = match uri.scheme_str()? {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let host = uri.host()?;
        Some(Self {
            https,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            authority: uri.authority()?.to_string(),
        })
    }
}

/// One request over a new connection (TLS for https).
async fn send(
    target: &Target,
    ca_file: Option<&str>,
    request: http::Request<Full<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, String> {
    let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    if !target.https {
        return exchange(tcp, request).await;
    }
    let config = tls_config(ca_file)?;
    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|e| format!("{}: {e}", target.host))?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    exchange(tls, request).await
}

async fn exchange<S>(
    stream: S,
    request: http::Request<Full<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())
}

/// The system's trust store: `SSL_CERT_FILE`, else Debian's bundle.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn pem_certificates(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {path}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{path} holds no PEM certificate"));
    }
    Ok(certs)
}

/// The client TLS settings: the system's roots (read once) and `ca_file`'s.
fn tls_config(ca_file: Option<&str>) -> Result<Arc<rustls::ClientConfig>, String> {
    static SYSTEM: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    let system = SYSTEM.get_or_init(|| {
        let path = std::env::var("SSL_CERT_FILE").unwrap_or_else(|_| SYSTEM_CA_BUNDLE.into());
        pem_certificates(&path)
            .inspect_err(|e| tracing::warn!("https webhooks: no system trust store ({e})"))
            .unwrap_or_default()
    });
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(system.iter().cloned());
    if let Some(path) = ca_file {
        for cert in pem_certificates(path)? {
            roots
                .add(cert)
                .map_err(|e| format!("{path}: not a CA certificate: {e}"))?;
        }
    }
    if roots.is_empty() {
        return Err("no trusted certificate (no system store and no ca_file)".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Why a POST failed.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The secret file could not be read.
    #[error("cannot read webhook secret {path}: {error}")]
    Secret {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// A bad URL.
    #[error("bad webhook URL {0}")]
    Url(String),
    /// Connection or protocol failure.
    #[error("webhook {url}: {error}")]
    Transport {
        /// The URL.
        url: String,
        /// Why.
        error: String,
    },
    /// A non-2xx answer.
    #[error("webhook {url} answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: http::StatusCode,
    },
    /// No answer in time.
    #[error("webhook {0} timed out")]
    Timeout(String),
}

/// POSTs `body` to `url`, signed with the secret in `secret_file`; an
/// `https://` URL is verified against the system's trust store and
/// `ca_file`. Any 2xx is delivered; anything else (5xx, 4xx, no answer, a
/// certificate refused) is an error to retry. One connection per delivery:
/// webhooks follow transitions, which are rare.
pub async fn post(
    url: &str,
    body: &str,
    secret_file: Option<&str>,
    ca_file: Option<&str>,
    delivery_id: &str,
    timeout: Duration,
) -> Result<(), PostError> {
    let uri: http::Uri = url.parse().map_err(|_| PostError::Url(url.to_owned()))?;
    let target = Target::of(&uri).ok_or_else(|| PostError::Url(url.to_owned()))?;
    let path = uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), ToString::to_string);
    let mut request = http::Request::post(path)
        .header(http::header::HOST, target.authority.clone())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, "keepalived-rs-notifier")
        .header(DELIVERY_HEADER, delivery_id);
    if let Some(path) = secret_file {
        let secret = std::fs::read(path).map_err(|error| PostError::Secret {
            path: path.to_owned(),
            error,
        })?;
        // A trailing newline from `echo secret > file` is not part of it.
        let secret = secret.trim_ascii_end();
        request = request.header(SIGNATURE_HEADER, signature(secret, body.as_bytes()));
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|_| PostError::Url(url.to_owned()))?;
    let exchange = async {
        let response =
            send(&target, ca_file, request)
                .await
                .map_err(|error| PostError::Transport {
                    url: url.to_owned(),
                    error,
                })?;
        let status = response.status();
        // Drain the body so the connection can be reused.
        let _ = response.into_body().collect().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(PostError::Status {
                url: url.to_owned(),
                status,
            })
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| PostError::Timeout(url.to_owned()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notice::State;

    #[test]
    fn specs_parse_filters_and_secret() {
        let spec: WebhookSpec = "http://127.0.0.1:9/h,events=vrrp,realserver,secret-file=/s"
            .parse()
            .unwrap();
        assert_eq!(spec.events, ["vrrp", "realserver"]);
        assert_eq!(spec.secret_file.as_deref(), Some("/s"));
        assert!(spec.wants("vrrp") && !spec.wants("quorum"));
        let all: WebhookSpec = "http://h/".parse().unwrap();
        assert!(all.wants("quorum"));
        let https: WebhookSpec = "https://h/,ca-file=/etc/ca.pem".parse().unwrap();
        assert_eq!(https.ca_file.as_deref(), Some("/etc/ca.pem"));
        assert!("ftp://h/".parse::<WebhookSpec>().is_err());
        assert_eq!(
            "http://h/,events=bogus".parse::<WebhookSpec>(),
            Err(SpecError::Kind("bogus".into()))
        );
        assert_eq!(
            "http://h/,retries=3".parse::<WebhookSpec>(),
            Err(SpecError::Option("retries=3".into()))
        );
    }

    /// RFC 4231 test case 2.
    #[test]
    fn signature_is_hex_hmac_sha256() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn payload_names_instance_states_router_and_trace() {
        let notice = Notice::Instance {
            name: "VI_1".into(),
            from: State::Backup,
            to: State::Master,
            priority: 99,
        };
        let cx = Context {
            time: "2026-11-28T15:33:29Z".into(),
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            producer: "vrrp-core@dr1".into(),
            incarnation: "abc".into(),
            seq: 7,
        };
        let value: serde_json::Value = serde_json::from_str(&payload(&notice, "R1", &cx)).unwrap();
        assert_eq!(value["event"], "vrrp");
        assert_eq!(value["instance"], "VI_1");
        assert_eq!(value["old_state"], "BACKUP");
        assert_eq!(value["new_state"], "MASTER");
        assert_eq!(value["router_id"], "R1");
        assert_eq!(value["trace_id"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(value["cause"]["seq"], 7);
    }

    #[test]
    fn a_config_webhook_becomes_a_spec_with_the_same_event_kinds() {
        let webhook = keepalived_config::Webhook {
            name: "ops".into(),
            url: "http://198.51.100.50:8080/hook".into(),
            secret_file: Some("/etc/keepalived/hook.secret".into()),
            events: vec![
                keepalived_config::WebhookEvent::Vrrp,
                keepalived_config::WebhookEvent::Realserver,
            ],
            ca_file: None,
        };
        let spec = WebhookSpec::from_config(&webhook).unwrap();
        assert_eq!(spec.url, "http://198.51.100.50:8080/hook");
        assert_eq!(spec.events, ["vrrp", "realserver"]);
        assert_eq!(
            spec.secret_file.as_deref(),
            Some("/etc/keepalived/hook.secret")
        );
        // The config's kinds are exactly the notifier's.
        for (_, keyword) in keepalived_config::WebhookEvent::ALL {
            assert!(EVENT_KINDS.contains(&keyword), "{keyword}");
        }
        let https = keepalived_config::Webhook {
            url: "https://198.51.100.50/hook".into(),
            ca_file: Some("/etc/keepalived/ops-ca.pem".into()),
            ..webhook
        };
        let spec = WebhookSpec::from_config(&https).unwrap();
        assert_eq!(spec.ca_file.as_deref(), Some("/etc/keepalived/ops-ca.pem"));
    }
}
