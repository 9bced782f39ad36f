//! Errors of the IPVS client.

use crate::codec::{DecodeError, EncodeError};

/// Why an IPVS request failed.
#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    /// The kernel has no "IPVS" generic-netlink family: IP_VS is not built, not loaded and not
    /// loadable. `--backend auto` falls back to nftables on this error.
    #[error("IPVS is not available in this kernel (no \"IPVS\" generic-netlink family)")]
    NotAvailable,
    /// The netlink socket failed (including lost replies: ENOBUFS).
    #[error("netlink socket: {0}")]
    Io(#[from] std::io::Error),
    /// The kernel refused the request.
    #[error("kernel refused: {} (errno {errno}){}", std::io::Error::from_raw_os_error(*errno), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kernel {
        /// Positive errno: EEXIST (already there), ESRCH (no such service), ENOENT (no such
        /// destination or scheduler), EPERM (no CAP_NET_ADMIN), EINVAL (bad attributes)…
        errno: i32,
        /// The kernel's extended-ack text, when it gave one.
        message: Option<String>,
    },
    /// The request cannot be expressed (bad scheduler name, fwmark 0).
    #[error("invalid request: {0}")]
    Encode(#[from] EncodeError),
    /// The kernel's answer could not be decoded.
    #[error("cannot decode the kernel's answer: {0}")]
    Decode(#[from] DecodeError),
}

impl IpvsError {
    /// The errno of a kernel refusal.
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The object to add is already there (EEXIST).
    pub fn is_already_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// The service (ESRCH) or destination (ENOENT) named by the request does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self.errno(), Some(libc::ESRCH) | Some(libc::ENOENT))
    }
}

/// Why [`crate::Ipvs::apply`] stopped.
///
/// Operations `0..index` were applied. Operation `index` failed (or, for an [`IpvsError::Io`],
/// its outcome is unknown). Operations `index + 1..sent` had already been sent in the same
/// batch and the kernel does not stop at a failed message, so they were attempted and may have
/// been applied; operations from `sent` on were not sent. Re-read the table before retrying.
#[derive(Debug, thiserror::Error)]
#[error("IPVS operation #{index} failed: {source}")]
pub struct ApplyError {
    /// Index (into the slice given to `apply`) of the first failed operation.
    pub index: usize,
    /// Number of operations handed to the kernel: `index < sent <= ops.len()` for a kernel
    /// refusal; `sent == index` when the datagram holding op `index` could not be sent; `0`
    /// when validation refused op `index` before anything was sent.
    pub sent: usize,
    /// What went wrong.
    #[source]
    pub source: IpvsError,
}
