//! Running `nft`: one command, its text on stdin, its JSON listing read back.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::NftBackend;
use crate::backend::BackendError;
impl NftBackend {
    /// Runs `nft args…` with `stdin` as its input: its stdout, or
    /// [`BackendError::Refused`] with its stderr when it fails.
    pub(super) fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, BackendError> {
        let mut child = Command::new(&self.nft)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| BackendError::Io(format!("cannot run {}: {e}", self.nft)))?;
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .ok_or_else(|| BackendError::Io("nft stdin".into()))?
                .write_all(text.as_bytes())
                .map_err(|e| BackendError::Io(format!("writing to nft: {e}")))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| BackendError::Io(format!("waiting for nft: {e}")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(BackendError::Refused(
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ))
        }
    }

    /// `nft -j list table family table`, `None` when the table does not exist.
    pub(super) fn list(&self, family: &str, table: &str) -> Result<Option<Value>, BackendError> {
        match self.run(&["-j", "list", "table", family, table], None) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| BackendError::Parse(format!("nft -j output: {e}"))),
            Err(BackendError::Refused(msg)) if msg.contains("No such file or directory") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
