//! Webhooks (a keepalived-rs extension): a JSON payload per notice, signed
//! with HMAC-SHA256 in `X-Keepalived-Signature: sha256=<hex>`, POSTed over
//! plain HTTP.
//!
//! keepalived.conf has no keyword for them (and the shared parser rejects
//! unknown ones), so they come from the command line:
//! `--webhook URL[,events=vrrp,realserver][,secret-file=PATH]`.

use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac as _};
use http_body_util::{BodyExt as _, Full};
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
}

/// A malformed `--webhook` value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// Not `http://`.
    #[error("webhook URL {0:?} is not http:// (https is not built yet)")]
    Scheme(String),
    /// An unknown option.
    #[error("unknown webhook option {0:?} (known: events=, secret-file=)")]
    Option(String),
    /// An unknown event kind.
    #[error("unknown webhook event kind {0:?} (known: vrrp, sync_group, realserver, quorum)")]
    Kind(String),
}

impl std::str::FromStr for WebhookSpec {
    type Err = SpecError;

    /// `URL[,events=K1,K2…][,secret-file=PATH]`: bare words after `events=`
    /// continue its list.
    fn from_str(text: &str) -> Result<Self, SpecError> {
        let mut parts = text.split(',');
        let url = parts.next().unwrap_or_default().to_owned();
        if !url.starts_with("http://") {
            return Err(SpecError::Scheme(url));
        }
        let mut spec = Self {
            url,
            events: Vec::new(),
            secret_file: None,
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
        if !webhook.url.starts_with("http://") {
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

/// A shared HTTP/1 client.
pub type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

/// A client for webhooks.
pub fn client() -> Client {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// POSTs `body` to `url`, signed with the secret in `secret_file`. Any 2xx is
/// delivered; anything else (5xx, 4xx, no answer) is an error to retry.
pub async fn post(
    client: &Client,
    url: &str,
    body: &str,
    secret_file: Option<&str>,
    delivery_id: &str,
    timeout: Duration,
) -> Result<(), PostError> {
    let uri: http::Uri = url.parse().map_err(|_| PostError::Url(url.to_owned()))?;
    let mut request = http::Request::post(uri)
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
        let response = client
            .request(request)
            .await
            .map_err(|e| PostError::Transport {
                url: url.to_owned(),
                error: e.to_string(),
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
        assert!("https://h/".parse::<WebhookSpec>().is_err());
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
            ..webhook
        };
        assert!(matches!(
            WebhookSpec::from_config(&https),
            Err(SpecError::Scheme(_))
        ));
    }
}
