//! https webhooks against a TLS server on 127.0.0.1 whose certificate a private CA
//! issued: delivered (body and signature intact) when the webhook's `ca_file` trusts that
//! CA, refused (and retried, never sent in clear) when nothing does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use notifier::webhook::{SIGNATURE_HEADER, post, signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

/// What the server received: the request head and body of each request.
type Received = Arc<Mutex<Vec<(String, String)>>>;

struct Ca {
    cert: rcgen::Certificate,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Ca {
    fn new() -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "webhook test CA");
        let cert = params.self_signed(&key).unwrap();
        Self {
            cert,
            issuer: rcgen::Issuer::new(params, key),
        }
    }
}

/// An HTTPS server for 127.0.0.1 with a certificate `ca` issued; answers 204.
async fn server(ca: &Ca) -> (u16, Received) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".into()]).unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert.der().to_vec())],
        PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Received::default();
    let seen = received.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (acceptor, seen) = (acceptor.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut tls = BufReader::new(tls);
                let (mut head, mut line, mut length) = (String::new(), String::new(), 0);
                while tls.read_line(&mut line).await.is_ok_and(|n| n > 2) {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    head.push_str(&line);
                    line.clear();
                }
                let mut body = vec![0; length];
                tls.read_exact(&mut body).await.unwrap();
                seen.lock()
                    .unwrap()
                    .push((head, String::from_utf8(body).unwrap()));
                let _ = tls
                    .get_mut()
                    .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                    .await;
                let _ = tls.get_mut().shutdown().await;
            });
        }
    });
    (port, received)
}

#[tokio::test]
async fn an_https_webhook_trusting_its_ca_is_delivered_signed() {
    let ca = Ca::new();
    let (port, received) = server(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let body = r#"{"event":"vrrp","instance":"VI_1"}"#;
    post(
        &format!("https://127.0.0.1:{port}/hooks/k?x=1"),
        body,
        Some(secret.to_str().unwrap()),
        Some(ca_file.to_str().unwrap()),
        "d-1",
        Duration::from_secs(10),
    )
    .await
    .expect("delivered over TLS");
    let received = received.lock().unwrap();
    let (head, got) = &received[0];
    assert!(head.starts_with("POST /hooks/k?x=1 HTTP/1.1\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("host: 127.0.0.1:{port}")),
        "{head}"
    );
    assert!(
        head.contains(&signature(b"s3cret", body.as_bytes())),
        "{SIGNATURE_HEADER} missing: {head}"
    );
    assert_eq!(got, body);
}

#[tokio::test]
async fn an_https_webhook_whose_certificate_nothing_trusts_is_refused_and_not_sent() {
    let ca = Ca::new();
    let (port, received) = server(&ca).await;
    // The system store does not know the private CA, and no ca_file names it.
    let error = post(
        &format!("https://127.0.0.1:{port}/hook"),
        "{}",
        None,
        None,
        "d-2",
        Duration::from_secs(10),
    )
    .await
    .expect_err("an unknown issuer is refused");
    let text = error.to_string();
    assert!(
        text.contains("TLS") && text.contains("certificate"),
        "{text}"
    );
    assert!(received.lock().unwrap().is_empty(), "nothing sent");
    // Another CA's file does not help either.
    let other = Ca::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("other.pem");
    std::fs::write(&ca_file, other.cert.pem()).unwrap();
    assert!(
        post(
            &format!("https://127.0.0.1:{port}/hook"),
            "{}",
            None,
            Some(ca_file.to_str().unwrap()),
            "d-3",
            Duration::from_secs(10),
        )
        .await
        .is_err()
    );
    assert!(received.lock().unwrap().is_empty());
}
