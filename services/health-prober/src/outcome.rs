//! What one check attempt found, in terms both keepalived's log wording and
//! the API's `FailureReason` can be derived from.

use keepalived_api::v1::FailureReason;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The connection was not established within `connect_timeout`.
    ConnectTimeout,
    /// Connection refused.
    Refused,
    /// Connection reset by the peer.
    Reset,
    /// Another socket error (unreachable, bind failure…).
    Network(String),
    /// Writing the request timed out.
    WriteTimeout,
    /// Reading the reply timed out.
    ReadTimeout,
    /// The peer closed before sending anything.
    NoData,
    /// HTTP status code outside the accepted set.
    Status(u16),
    /// Body digest differs from `digest`.
    Digest,
    /// TLS handshake or record failure.
    Tls(String),
    /// MISC_CHECK script exited with a failing status.
    ScriptExit(i32),
    /// MISC_CHECK script killed by a signal.
    ScriptSignal(i32),
    /// MISC_CHECK script ran past `misc_timeout`.
    ScriptTimeout,
    /// MISC_CHECK script could not be started.
    ScriptSpawn(String),
    /// An unexpected reply (SMTP code, DNS rcode, UDP payload…), described
    /// in keepalived's words where it has them.
    Protocol(String),
    /// FILE_CHECK's file says down, or cannot be read.
    File(String),
}

impl Failure {
    /// The API's reason code.
    pub fn reason(&self) -> FailureReason {
        match self {
            Failure::ConnectTimeout | Failure::WriteTimeout | Failure::ReadTimeout => {
                FailureReason::Timeout
            }
            Failure::ScriptTimeout => FailureReason::Timeout,
            Failure::Refused => FailureReason::Refused,
            Failure::Reset => FailureReason::Reset,
            Failure::Network(_) => FailureReason::Network,
            Failure::NoData | Failure::Protocol(_) => FailureReason::Protocol,
            Failure::Status(_) => FailureReason::StatusCode,
            Failure::Digest => FailureReason::DigestMismatch,
            Failure::Tls(_) => FailureReason::TlsError,
            Failure::ScriptExit(_) | Failure::ScriptSignal(_) | Failure::ScriptSpawn(_) => {
                FailureReason::ScriptExit
            }
            Failure::File(_) => FailureReason::File,
        }
    }

    /// A short human detail for the API (`status 500`, `exit status 1`…).
    pub fn detail(&self) -> String {
        match self {
            Failure::ConnectTimeout => "connect timeout".into(),
            Failure::Refused => "connection refused".into(),
            Failure::Reset => "connection reset".into(),
            Failure::Network(e) => e.clone(),
            Failure::WriteTimeout => "write timeout".into(),
            Failure::ReadTimeout => "read timeout".into(),
            Failure::NoData => "no data received".into(),
            Failure::Status(code) => format!("status {code}"),
            Failure::Digest => "digest mismatch".into(),
            Failure::Tls(e) => format!("TLS: {e}"),
            Failure::ScriptExit(code) => format!("exit status {code}"),
            Failure::ScriptSignal(sig) => format!("killed by signal {sig}"),
            Failure::ScriptTimeout => "script timed out".into(),
            Failure::ScriptSpawn(e) => format!("cannot run script: {e}"),
            Failure::Protocol(e) => e.clone(),
            Failure::File(e) => e.clone(),
        }
    }

    /// Classifies an I/O error of a connect or a read.
    pub fn from_io(error: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        match error.kind() {
            ErrorKind::ConnectionRefused => Failure::Refused,
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                Failure::Reset
            }
            ErrorKind::TimedOut => Failure::ConnectTimeout,
            _ => Failure::Network(error.to_string()),
        }
    }
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `None` on success.
    pub failure: Option<Failure>,
    /// MISC_CHECK `misc_dynamic`: the weight the script asked for.
    pub weight: Option<u32>,
    /// FILE_CHECK with a weight: what it adds to the real server's weight.
    pub weight_offset: Option<i32>,
}

impl Outcome {
    /// A successful attempt.
    pub fn ok() -> Self {
        Self {
            failure: None,
            weight: None,
            weight_offset: None,
        }
    }

    /// A failed attempt.
    pub fn failed(failure: Failure) -> Self {
        Self {
            failure: Some(failure),
            weight: None,
            weight_offset: None,
        }
    }

    /// Whether the attempt succeeded.
    pub fn success(&self) -> bool {
        self.failure.is_none()
    }
}
