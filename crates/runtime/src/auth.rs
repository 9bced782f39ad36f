//! Authorisation of state-changing RPCs (docs/architecture.md, "The gRPC
//! surface every service shares"): read RPCs are open on
//! every listener; an RPC that changes state is allowed only for a unix-socket
//! peer with uid 0, or a TLS client whose certificate was verified against
//! `--tls-client-ca`. Anyone else gets PERMISSION_DENIED before the service
//! sees the request.

use std::collections::HashSet;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo, UdsConnectInfo};

/// Who is calling, as far as authorisation cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A unix-socket peer; `uid` from SO_PEERCRED.
    Unix {
        /// The peer process's user id.
        uid: u32,
    },
    /// A TLS client that presented a certificate rustls verified against the
    /// client CA (a client without one is [`Caller::Tcp`]).
    TlsClientCertificate,
    /// A TCP peer without a client certificate.
    Tcp,
    /// No connection information (should not happen behind our listeners).
    Unknown,
}

impl Caller {
    /// Identifies the caller of `request` from the connection information
    /// tonic's server attaches to it.
    pub fn of<B>(request: &http::Request<B>) -> Self {
        let ext = request.extensions();
        if let Some(uds) = ext.get::<UdsConnectInfo>() {
            return match &uds.peer_cred {
                Some(cred) => Self::Unix { uid: cred.uid() },
                None => Self::Unknown,
            };
        }
        if let Some(tls) = ext.get::<TlsConnectInfo<TcpConnectInfo>>() {
            return if tls.peer_certs().is_some_and(|certs| !certs.is_empty()) {
                Self::TlsClientCertificate
            } else {
                Self::Tcp
            };
        }
        if ext.get::<TcpConnectInfo>().is_some() {
            return Self::Tcp;
        }
        Self::Unknown
    }

    /// Whether this caller may change state.
    pub fn is_authorised(&self) -> bool {
        matches!(self, Self::Unix { uid: 0 } | Self::TlsClientCertificate)
    }
}

/// Refuses the listed gRPC methods (full paths such as
/// `/keepalived.v1.Vrrp/SetMaintenance`) to unauthorised callers.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    mutating: Arc<HashSet<String>>,
}

impl AuthLayer {
    /// Guards `methods` (gRPC paths).
    pub fn new<I, S>(methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            mutating: Arc::new(methods.into_iter().map(Into::into).collect()),
        }
    }
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            mutating: self.mutating.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    mutating: Arc<HashSet<String>>,
}

impl<S, B, R> tower_service::Service<http::Request<B>> for AuthService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<S::Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if self.mutating.contains(path) {
            let caller = Caller::of(&request);
            if !caller.is_authorised() {
                tracing::warn!(method = path, ?caller, "refused state-changing RPC");
                let status = tonic::Status::permission_denied(format!(
                    "{path} changes state: call it over the unix socket as root, or with a TLS \
                     client certificate signed by --tls-client-ca"
                ));
                return Either::Left(ready(Ok(status.into_http())));
            }
            tracing::info!(method = path, ?caller, "authorised state-changing RPC");
        }
        Either::Right(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_service::Service as _;

    fn request(path: &str) -> http::Request<()> {
        http::Request::builder().uri(path).body(()).unwrap()
    }

    fn service() -> AuthService<
        impl tower_service::Service<
            http::Request<()>,
            Response = http::Response<String>,
            Error = std::convert::Infallible,
        >,
    > {
        let inner = tower::service_fn(|_req: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new("inner".to_string()))
        });
        tower_layer::Layer::layer(
            &AuthLayer::new(["/keepalived.v1.Vrrp/SetMaintenance"]),
            inner,
        )
    }

    fn grpc_status(response: &http::Response<String>) -> Option<&str> {
        response
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn read_rpcs_pass_for_anyone() {
        let response = service()
            .call(request("/keepalived.v1.Vrrp/ListInstances"))
            .await
            .unwrap();
        assert_eq!(response.body(), "inner");
    }

    #[tokio::test]
    async fn mutating_rpc_without_credentials_is_permission_denied() {
        let mut req = request("/keepalived.v1.Vrrp/SetMaintenance");
        req.extensions_mut().insert(TcpConnectInfo {
            local_addr: None,
            remote_addr: None,
        });
        let response = service().call(req).await.unwrap();
        assert_eq!(grpc_status(&response), Some("7"), "PERMISSION_DENIED is 7");
        assert_eq!(response.body(), "");
    }

    #[test]
    fn only_root_over_unix_or_verified_tls_is_authorised() {
        assert!(Caller::Unix { uid: 0 }.is_authorised());
        assert!(!Caller::Unix { uid: 1000 }.is_authorised());
        assert!(Caller::TlsClientCertificate.is_authorised());
        assert!(!Caller::Tcp.is_authorised());
        assert!(!Caller::Unknown.is_authorised());
    }
}
