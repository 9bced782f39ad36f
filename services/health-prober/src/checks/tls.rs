//! SSL_GET's TLS client: keepalived's one client context for every SSL_GET
//! checker (check_ssl.c `build_ssl_ctx`), built from the top-level
//! `SSL { password … ca … certificate … key … }` block, rebuilt on reload.
//!
//! What keepalived 2.2.7 does, and we with it:
//! - no `SSL` block: an "autogen" context, no client certificate;
//! - `certificate`: `SSL_CTX_use_certificate_chain_file` — the first PEM
//!   certificate is ours, the rest its chain;
//! - `key`: `SSL_CTX_use_PrivateKey_file` (PEM), refused when it is not the
//!   certificate's key (OpenSSL 3's `ssl_set_pkey`);
//! - `ca`: `SSL_CTX_load_verify_locations` — at least one certificate or CRL;
//! - `SSL_CTX_set_verify_depth(1)`, but never `SSL_CTX_set_verify`: the mode
//!   stays `SSL_VERIFY_NONE` and nothing reads `SSL_get_verify_result`, so
//!   the real server's certificate is never verified, `ca` or not. The CA
//!   file still serves OpenSSL's auto-chain (`ssl_add_cert_chain`, no
//!   `SSL_MODE_NO_AUTO_CHAIN`): a certificate file holding the certificate
//!   alone is sent with the issuers found in `ca`, which we do too.
//! - SNI only with `enable_sni` (from the virtualhost; see `http.rs`).
//!
//! Any file that cannot be loaded ends the checker process (check_daemon.c:
//! `init_ssl_ctx` fails, `stop_check(KEEPALIVED_EXIT_FATAL)`, at start and on
//! reload alike) with keepalived's lines; see [`init_ssl_ctx`].
//!
//! Not built: decrypting an encrypted private key with `password` (no crate
//! in the tree decrypts PKCS#8 or legacy PEM encryption); such a key counts
//! as one that cannot be loaded, with a warning that says so.

use std::sync::{Arc, OnceLock, RwLock};

use keepalived_config::SslContext;
use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

/// Accepts any certificate: keepalived's SSL_GET checks the service, not the PKI.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Our certificate and key, offered whenever the server asks for one
/// (OpenSSL sends its certificate whatever CA names the request lists).
#[derive(Debug)]
struct ClientCertificate(Arc<CertifiedKey>);

impl ResolvesClientCert for ClientCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        // No scheme in common: no certificate, as OpenSSL's tls_choose_sigalg.
        self.0
            .key
            .choose_scheme(sigschemes)
            .is_some()
            .then(|| self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn config_with(client: Option<Arc<CertifiedKey>>) -> Arc<ClientConfig> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)));
    Arc::new(match client {
        Some(key) => builder.with_client_cert_resolver(Arc::new(ClientCertificate(key))),
        None => builder.with_no_client_auth(),
    })
}

/// keepalived's "autogen" context (no `SSL` block): no client certificate,
/// no verification. One per process; building it is not free.
pub fn autogen() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG.get_or_init(|| config_with(None)).clone()
}

/// The context every SSL_GET attempt takes at connect time (keepalived's
/// `check_data->ssl->ctx`, which `SSL_new` reads per attempt): replaced on
/// reload, so checkers that keep their state across a reload use the new
/// certificate from their next attempt on.
#[derive(Debug)]
pub struct SslClient {
    current: RwLock<Arc<ClientConfig>>,
}

impl Default for SslClient {
    fn default() -> Self {
        Self {
            current: RwLock::new(autogen()),
        }
    }
}

impl SslClient {
    /// The context for the next attempt.
    pub fn config(&self) -> Arc<ClientConfig> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Installs a new context (a reload's).
    pub fn replace(&self, config: Arc<ClientConfig>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = config;
    }
}

/// Which of build_ssl_ctx's loads failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslFile {
    /// `certificate`.
    Certificate,
    /// `key`.
    Key,
    /// `ca`.
    Ca,
}

impl SslFile {
    /// keepalived's line for it (check_ssl.c `build_ssl_ctx`, word for word).
    pub fn keepalived_line(self) -> &'static str {
        match self {
            SslFile::Certificate => "SSL error : Cant load certificate file...",
            SslFile::Key => "SSL error : Cant load key file...",
            SslFile::Ca => "SSL error : Cant load CA file...",
        }
    }
}

impl std::fmt::Display for SslFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SslFile::Certificate => "certificate file",
            SslFile::Key => "key file",
            SslFile::Ca => "CA file",
        })
    }
}

/// The `SSL` block could not be turned into a TLS context: the prober stops,
/// as keepalived's checker process does.
#[derive(Debug, thiserror::Error)]
#[error("cannot initialise the SSL context of SSL_GET: {file} {path}: {reason}")]
pub struct SslInitError {
    /// The file that failed.
    pub file: SslFile,
    /// Its path, as configured.
    pub path: String,
    /// Why.
    pub reason: String,
}

fn fail(file: SslFile, path: &str, reason: impl std::fmt::Display) -> SslInitError {
    SslInitError {
        file,
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Builds the context of `ssl` (keepalived's `build_ssl_ctx`): `None` is the
/// autogen context. Pure of logging; see [`init_ssl_ctx`].
pub fn build_ssl_ctx(ssl: Option<&SslContext>) -> Result<Arc<ClientConfig>, SslInitError> {
    let Some(ssl) = ssl else {
        return Ok(autogen());
    };
    // keepalived's order: certificate, then key, then CA.
    let chain = ssl
        .certificate
        .as_deref()
        .map(|path| load_certificate_chain(path).map_err(|e| fail(SslFile::Certificate, path, e)))
        .transpose()?;
    let key = ssl
        .key
        .as_deref()
        .map(|path| {
            load_key(path, chain.as_ref().and_then(|c| c.first()))
                .map_err(|e| fail(SslFile::Key, path, e))
        })
        .transpose()?;
    let ca = ssl
        .ca
        .as_deref()
        .map(|path| load_ca(path).map_err(|e| fail(SslFile::Ca, path, e)))
        .transpose()?
        .unwrap_or_default();
    // OpenSSL presents a certificate only with its key (ssl3_check_client_certificate).
    let client = match (chain, key) {
        (Some(mut chain), Some(key)) => {
            if chain.len() == 1 {
                auto_chain(&mut chain, &ca);
            }
            Some(Arc::new(CertifiedKey::new(chain, key)))
        }
        _ => None,
    };
    Ok(config_with(client))
}

/// Builds the context as keepalived's `init_ssl_ctx` does: on failure its
/// lines, in its words, then the error that stops the prober (keepalived:
/// `stop_check(KEEPALIVED_EXIT_FATAL)`, and its parent then terminates).
/// The password is not logged (keepalived logs it in clear).
pub fn init_ssl_ctx(ssl: Option<&SslContext>) -> Result<Arc<ClientConfig>, SslInitError> {
    build_ssl_ctx(ssl).inspect_err(|error| {
        let shown = |v: Option<&String>| v.map_or("(null)", String::as_str).to_owned();
        let ssl = ssl.cloned().unwrap_or_default();
        if error.file == SslFile::Key && error.reason == ENCRYPTED {
            tracing::warn!(
                "SSL password is not implemented by keepalived-rs: the private key {} is encrypted and cannot be decrypted; it counts as a key that cannot be loaded",
                error.path
            );
        }
        tracing::error!("{}", error.file.keepalived_line());
        tracing::error!("  {}: {}", error.path, error.reason);
        tracing::error!("Error Initialize SSL, ctx Instance");
        tracing::error!("  SSL  keyfile:{}", shown(ssl.key.as_ref()));
        tracing::error!(
            "  SSL password:{}",
            ssl.password.as_ref().map_or("(null)", |_| "(not shown)")
        );
        tracing::error!("  SSL   cafile:{}", shown(ssl.ca.as_ref()));
        tracing::error!("Terminate...");
    })
}

/// Why an encrypted private key is refused.
const ENCRYPTED: &str =
    "the private key is encrypted (SSL password is not implemented by keepalived-rs)";

fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| e.to_string())
}

/// `SSL_CTX_use_certificate_chain_file`: every PEM certificate of the file,
/// ours first; none, or one that is not a certificate, fails.
fn load_certificate_chain(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{e:?}"))?;
    if chain.is_empty() {
        return Err("no PEM certificate in the file".into());
    }
    for cert in &chain {
        der::certificate(cert).ok_or("a PEM certificate of the file is not X.509 DER")?;
    }
    Ok(chain)
}

/// `SSL_CTX_use_PrivateKey_file(…, SSL_FILETYPE_PEM)`: the file's first
/// private key, which must be `cert`'s when there is one.
fn load_key(
    path: &str,
    cert: Option<&CertificateDer<'static>>,
) -> Result<Arc<dyn rustls::sign::SigningKey>, String> {
    let pem = read(path)?;
    // PKCS#8 `ENCRYPTED PRIVATE KEY`, or OpenSSL's legacy `Proc-Type: 4,ENCRYPTED`.
    if find(&pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || find(&pem, b"Proc-Type: 4,ENCRYPTED")
    {
        return Err(ENCRYPTED.into());
    }
    let der = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => "no PEM private key in the file".into(),
        e => format!("{e:?}"),
    })?;
    let key = provider()
        .key_provider
        .load_private_key(der)
        .map_err(|e| e.to_string())?;
    if let (Some(cert), Some(spki)) = (cert, key.public_key()) {
        let parsed = der::certificate(cert).ok_or("the certificate is not X.509 DER")?;
        if parsed.spki != spki.as_ref() {
            return Err("the key does not match the certificate".into());
        }
    }
    Ok(key)
}

/// `SSL_CTX_load_verify_locations(ctx, ca, NULL)`: at least one PEM
/// certificate or CRL (OpenSSL's `X509_load_cert_crl_file`). The certificates
/// are kept for the auto-chain; nothing verifies with them.
fn load_ca(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{e:?}"))?;
    let crls = CertificateRevocationListDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{e:?}"))?;
    if certs.is_empty() && crls.is_empty() {
        return Err("no PEM certificate or CRL in the file".into());
    }
    Ok(certs)
}

/// OpenSSL's auto-chain (`ssl_add_cert_chain` when the certificate file holds
/// no chain): our certificate's issuers, as far as the CA file has them, root
/// included. Names are compared as encoded (OpenSSL compares canonical forms;
/// the same for certificates of one CA).
fn auto_chain(chain: &mut Vec<CertificateDer<'static>>, ca: &[CertificateDer<'static>]) {
    while chain.len() <= ca.len() {
        let Some(last) = chain.last().and_then(|c| der::certificate(c)) else {
            return;
        };
        if last.issuer == last.subject {
            return;
        }
        let issuer = ca.iter().find(|candidate| {
            der::certificate(candidate).is_some_and(|c| c.subject == last.issuer)
                && !chain.contains(candidate)
        });
        match issuer {
            Some(issuer) => chain.push(issuer.clone()),
            None => return,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Just enough DER to read a certificate's names and key (RFC 5280 §4.1).
mod der {
    /// The parts of a certificate the context needs, as encoded (tag and length included).
    pub struct Parts<'a> {
        pub issuer: &'a [u8],
        pub subject: &'a [u8],
        pub spki: &'a [u8],
    }

    /// One TLV, and what follows it.
    struct Tlv<'a> {
        tag: u8,
        /// The whole TLV, tag and length included.
        whole: &'a [u8],
        value: &'a [u8],
        rest: &'a [u8],
    }

    fn tlv(input: &[u8]) -> Option<Tlv<'_>> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        let header = input.len() - rest.len();
        Some(Tlv {
            tag,
            whole: &input[..header + len],
            value: &rest[..len],
            rest: &rest[len..],
        })
    }

    /// The next TLV, which must have `tag`.
    fn expect(input: &[u8], tag: u8) -> Option<Tlv<'_>> {
        tlv(input).filter(|t| t.tag == tag)
    }

    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const VERSION: u8 = 0xa0;

    /// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
    /// OPTIONAL, serialNumber, signature, issuer, validity, subject,
    /// subjectPublicKeyInfo, … }, … }
    pub fn certificate(der: &[u8]) -> Option<Parts<'_>> {
        let cert = expect(der, SEQUENCE)?;
        let tbs = expect(cert.value, SEQUENCE)?;
        let mut rest = tbs.value;
        if rest.first() == Some(&VERSION) {
            rest = tlv(rest)?.rest;
        }
        let serial = expect(rest, INTEGER)?;
        let signature = expect(serial.rest, SEQUENCE)?;
        let issuer = expect(signature.rest, SEQUENCE)?;
        let validity = expect(issuer.rest, SEQUENCE)?;
        let subject = expect(validity.rest, SEQUENCE)?;
        let spki = expect(subject.rest, SEQUENCE)?;
        Some(Parts {
            issuer: issuer.whole,
            subject: subject.whole,
            spki: spki.whole,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::PublicKeyData as _;

    struct Pki {
        dir: tempfile::TempDir,
    }

    impl Pki {
        fn new() -> Self {
            Self {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn write(&self, name: &str, text: &str) -> String {
            let path = self.dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        }
    }

    fn ca_and_leaf() -> (
        rcgen::Certificate,
        rcgen::KeyPair,
        rcgen::Certificate,
        rcgen::KeyPair,
    ) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "test CA");
        let ca = params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(params, &ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let mut leaf_params = rcgen::CertificateParams::new(vec!["client".into()]).unwrap();
        leaf_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "client");
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        (ca, ca_key, leaf, leaf_key)
    }

    fn ssl(pki: &Pki, cert: &str, key: &str, ca: Option<&str>) -> SslContext {
        SslContext {
            password: None,
            certificate: Some(pki.write("cert.pem", cert)),
            key: Some(pki.write("key.pem", key)),
            ca: ca.map(|ca| pki.write("ca.pem", ca)),
        }
    }

    #[test]
    fn reads_names_and_key_of_a_certificate() {
        let (ca, ca_key, leaf, _) = ca_and_leaf();
        let parts = der::certificate(leaf.der()).unwrap();
        let ca_parts = der::certificate(ca.der()).unwrap();
        assert_eq!(parts.issuer, ca_parts.subject);
        assert_eq!(ca_parts.issuer, ca_parts.subject);
        assert_ne!(parts.subject, parts.issuer);
        assert_eq!(ca_parts.spki, ca_key.subject_public_key_info().as_slice());
        assert!(der::certificate(b"\x30\x03\x02\x01\x00").is_none());
    }

    #[test]
    fn a_certificate_and_its_key_make_a_client_certificate() {
        let pki = Pki::new();
        let (ca, _, leaf, leaf_key) = ca_and_leaf();
        let config = build_ssl_ctx(Some(&ssl(
            &pki,
            &leaf.pem(),
            &leaf_key.serialize_pem(),
            None,
        )))
        .unwrap();
        assert!(config.client_auth_cert_resolver.has_certs());
        // Without `ca` the chain is the file's; with it, OpenSSL's auto-chain adds the CA.
        let chain = |config: &ClientConfig| {
            config
                .client_auth_cert_resolver
                .resolve(&[], &[SignatureScheme::ECDSA_NISTP256_SHA256])
                .map(|k| k.cert.len())
        };
        assert_eq!(chain(&config), Some(1));
        let config = build_ssl_ctx(Some(&ssl(
            &pki,
            &leaf.pem(),
            &leaf_key.serialize_pem(),
            Some(&ca.pem()),
        )))
        .unwrap();
        assert_eq!(chain(&config), Some(2));
        // A chain given in the certificate file is sent as it is.
        let config = build_ssl_ctx(Some(&ssl(
            &pki,
            &(leaf.pem() + &leaf.pem()),
            &leaf_key.serialize_pem(),
            Some(&ca.pem()),
        )))
        .unwrap();
        assert_eq!(chain(&config), Some(2));
    }

    #[test]
    fn no_block_or_no_key_sends_no_certificate() {
        assert!(
            !build_ssl_ctx(None)
                .unwrap()
                .client_auth_cert_resolver
                .has_certs()
        );
        let pki = Pki::new();
        let (_, _, leaf, _) = ca_and_leaf();
        let only_cert = SslContext {
            certificate: Some(pki.write("cert.pem", &leaf.pem())),
            ..Default::default()
        };
        let config = build_ssl_ctx(Some(&only_cert)).unwrap();
        assert!(!config.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn files_that_cannot_be_loaded_fail_in_keepalived_order() {
        let pki = Pki::new();
        let (ca, _, leaf, leaf_key) = ca_and_leaf();
        let (_, _, _, other_key) = ca_and_leaf();
        let missing = pki.dir.path().join("missing.pem").display().to_string();
        let file_of = |ssl: SslContext| build_ssl_ctx(Some(&ssl)).unwrap_err().file;

        let mut bad = ssl(
            &pki,
            &leaf.pem(),
            &leaf_key.serialize_pem(),
            Some(&ca.pem()),
        );
        bad.certificate = Some(missing.clone());
        bad.key = Some(missing.clone());
        assert_eq!(file_of(bad), SslFile::Certificate, "the certificate first");

        let not_pem = ssl(&pki, "junk\n", &leaf_key.serialize_pem(), None);
        assert_eq!(file_of(not_pem), SslFile::Certificate);

        let mismatch = ssl(&pki, &leaf.pem(), &other_key.serialize_pem(), None);
        let error = build_ssl_ctx(Some(&mismatch)).unwrap_err();
        assert_eq!(error.file, SslFile::Key);
        assert!(error.reason.contains("does not match"), "{error}");

        let no_key = ssl(&pki, &leaf.pem(), &leaf.pem(), None);
        assert_eq!(file_of(no_key), SslFile::Key);

        let mut no_ca = ssl(&pki, &leaf.pem(), &leaf_key.serialize_pem(), None);
        no_ca.ca = Some(missing);
        assert_eq!(file_of(no_ca), SslFile::Ca);
        let empty_ca = ssl(
            &pki,
            &leaf.pem(),
            &leaf_key.serialize_pem(),
            Some("nothing\n"),
        );
        assert_eq!(file_of(empty_ca), SslFile::Ca);
    }

    #[test]
    fn an_encrypted_key_is_not_loaded_and_says_ssl_password() {
        let pki = Pki::new();
        let (_, _, leaf, _) = ca_and_leaf();
        // As `openssl pkcs8 -topk8 -v2 aes256` and `openssl rsa -aes256` write them.
        for key in [
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nMIIEow==\n-----END RSA PRIVATE KEY-----\n",
        ] {
            let mut with_password = ssl(&pki, &leaf.pem(), key, None);
            with_password.password = Some("KEYPASS".into());
            let error = build_ssl_ctx(Some(&with_password)).unwrap_err();
            assert_eq!(error.file, SslFile::Key);
            assert!(
                error.reason.contains("SSL password is not implemented"),
                "{error}"
            );
        }
    }
}
