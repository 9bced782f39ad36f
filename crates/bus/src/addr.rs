//! Addresses of gRPC endpoints: `tcp://HOST:PORT`, `unix:PATH` (also
//! `unix://PATH`), and `http(s)://HOST:PORT` for clients.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use hyper_util::rt::TokioIo;
use keepalived_telemetry::{ClientTraceLayer, ClientTraceService};
use tonic::transport::{Channel, Endpoint, Uri};

/// A gRPC endpoint address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// `tcp://HOST:PORT` (plaintext or TLS, as the listener is configured).
    Tcp {
        /// Host name or address (IPv6 in brackets).
        host: String,
        /// Port.
        port: u16,
    },
    /// `unix:PATH`.
    Unix(PathBuf),
    /// `https://HOST:PORT`: TCP with TLS (client side).
    Https {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
}

/// A malformed address.
#[derive(Debug, thiserror::Error)]
#[error("invalid address {input:?}: {reason} (expected tcp://HOST:PORT or unix:PATH)")]
pub struct AddressError {
    input: String,
    reason: &'static str,
}

fn host_port(input: &str, rest: &str) -> Result<(String, u16), AddressError> {
    let err = |reason| AddressError {
        input: input.to_owned(),
        reason,
    };
    let (host, port) = rest.rsplit_once(':').ok_or_else(|| err("missing :PORT"))?;
    if host.is_empty() {
        return Err(err("missing HOST"));
    }
    let port = port
        .parse()
        .map_err(|_| err("PORT is not a number 0-65535"))?;
    Ok((host.to_owned(), port))
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if let Some(path) = input
            .strip_prefix("unix://")
            .or_else(|| input.strip_prefix("unix:"))
        {
            if path.is_empty() {
                return Err(AddressError {
                    input: input.to_owned(),
                    reason: "empty PATH",
                });
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = input
            .strip_prefix("tcp://")
            .or_else(|| input.strip_prefix("http://"))
        {
            let (host, port) = host_port(input, rest.trim_end_matches('/'))?;
            return Ok(Self::Tcp { host, port });
        }
        if let Some(rest) = input.strip_prefix("https://") {
            let (host, port) = host_port(input, rest.trim_end_matches('/'))?;
            return Ok(Self::Https { host, port });
        }
        Err(AddressError {
            input: input.to_owned(),
            reason: "unknown scheme",
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
            Self::Https { host, port } => write!(f, "https://{host}:{port}"),
        }
    }
}

/// A channel that sends the current trace context with every call.
pub type TracedChannel = ClientTraceService<Channel>;

/// Connects to `address` (eagerly: errors surface here). Unix sockets are
/// reached through a custom connector; the authority is then irrelevant.
pub async fn connect(address: &Address) -> Result<TracedChannel, tonic::transport::Error> {
    connect_with(address, |e| e).await
}

/// Like [`connect`], with a chance to adjust the endpoint (TLS, timeouts).
pub async fn connect_with(
    address: &Address,
    configure: impl FnOnce(Endpoint) -> Endpoint,
) -> Result<TracedChannel, tonic::transport::Error> {
    let channel = match address {
        Address::Tcp { host, port } => {
            let endpoint = Endpoint::from_shared(format!("http://{host}:{port}"))?;
            configure(endpoint).connect().await?
        }
        Address::Https { host, port } => {
            let endpoint = Endpoint::from_shared(format!("https://{host}:{port}"))?;
            configure(endpoint).connect().await?
        }
        Address::Unix(path) => {
            let path = path.clone();
            let endpoint = Endpoint::from_static("http://localhost");
            configure(endpoint)
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        let stream = tokio::net::UnixStream::connect(path).await?;
                        Ok::<_, std::io::Error>(TokioIo::new(stream))
                    }
                }))
                .await?
        }
    };
    Ok(tower::Layer::layer(&ClientTraceLayer, channel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(
            "tcp://127.0.0.1:50051".parse::<Address>().unwrap(),
            Address::Tcp {
                host: "127.0.0.1".into(),
                port: 50051
            }
        );
        assert_eq!(
            "tcp://[::1]:50052".parse::<Address>().unwrap(),
            Address::Tcp {
                host: "[::1]".into(),
                port: 50052
            }
        );
        assert_eq!(
            "unix:/run/keepalived-rs/vrrp.sock"
                .parse::<Address>()
                .unwrap(),
            Address::Unix("/run/keepalived-rs/vrrp.sock".into())
        );
        assert_eq!(
            "unix:///run/x.sock".parse::<Address>().unwrap(),
            Address::Unix("/run/x.sock".into())
        );
        assert_eq!(
            "http://prober:50053"
                .parse::<Address>()
                .unwrap()
                .to_string(),
            "tcp://prober:50053"
        );
    }

    #[test]
    fn rejects_malformed_addresses_with_the_reason() {
        for (input, reason) in [
            ("127.0.0.1:50051", "unknown scheme"),
            ("tcp://127.0.0.1", "missing :PORT"),
            ("tcp://:80", "missing HOST"),
            ("tcp://h:99999", "PORT is not a number"),
            ("unix:", "empty PATH"),
        ] {
            let err = input.parse::<Address>().unwrap_err().to_string();
            assert!(err.contains(reason), "{input}: {err}");
        }
    }
}
