//! MISC_CHECK: runs `misc_path` through `sh -c` as keepalived does, with
//! `misc_timeout` (default: the delay_loop), optionally as `user`. Exit 0 is
//! up, 1 down; with `misc_dynamic` 2–255 is up with weight status − 2.

use std::os::unix::process::ExitStatusExt as _;
use std::process::Stdio;
use std::time::Duration;

use crate::outcome::{Failure, Outcome};

/// A MISC_CHECK ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiscProbe {
    /// The command line.
    pub command: String,
    /// Kill it after this.
    pub timeout: Duration,
    /// `misc_dynamic`.
    pub dynamic: bool,
    /// uid/gid from `user`.
    pub user: Option<(u32, u32)>,
}

/// Why `user` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Not in /etc/passwd.
    #[error("user {0:?} does not exist")]
    NoUser(String),
    /// Not in /etc/group.
    #[error("group {0:?} does not exist")]
    NoGroup(String),
}

fn lookup(file: &str, name: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .map(|l| l.split(':').map(str::to_owned).collect::<Vec<_>>())
        .find(|f| f.first().is_some_and(|n| n == name))
}

/// Resolves `user [group]` to uid/gid through /etc/passwd and /etc/group
/// (numeric ids are accepted as they are).
pub fn resolve_user(user: &str, group: Option<&str>) -> Result<(u32, u32), UserError> {
    let (uid, primary_gid) = match user.parse::<u32>() {
        Ok(uid) => (uid, uid),
        Err(_) => {
            let f = lookup("/etc/passwd", user).ok_or_else(|| UserError::NoUser(user.into()))?;
            let uid = f.get(2).and_then(|v| v.parse().ok());
            let gid = f.get(3).and_then(|v| v.parse().ok());
            match (uid, gid) {
                (Some(u), Some(g)) => (u, g),
                _ => return Err(UserError::NoUser(user.into())),
            }
        }
    };
    let gid = match group {
        None => primary_gid,
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => lookup("/etc/group", g)
                .and_then(|f| f.get(2).and_then(|v| v.parse().ok()))
                .ok_or_else(|| UserError::NoGroup(g.into()))?,
        },
    };
    Ok((uid, gid))
}

impl MiscProbe {
    /// One run of the script.
    pub async fn run(&self) -> Outcome {
        let mut command = tokio::process::Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => return Outcome::failed(Failure::ScriptSpawn(e.to_string())),
        };
        let status = match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => return Outcome::failed(Failure::ScriptSpawn(e.to_string())),
            Err(_) => {
                let _ = child.kill().await;
                return Outcome::failed(Failure::ScriptTimeout);
            }
        };
        match (status.code(), status.signal()) {
            (Some(0), _) => Outcome::ok(),
            (Some(code @ 2..=255), _) if self.dynamic => Outcome {
                failure: None,
                weight: Some(code as u32 - 2),
            },
            (Some(code), _) => Outcome::failed(Failure::ScriptExit(code)),
            (None, Some(signal)) => Outcome::failed(Failure::ScriptSignal(signal)),
            (None, None) => Outcome::failed(Failure::ScriptExit(-1)),
        }
    }
}
