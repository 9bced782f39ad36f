//! MISC_CHECK: runs `misc_path` through `sh -c` as keepalived does, with
//! `misc_timeout` (default: the delay_loop), optionally as `user`. Exit 0 is
//! up, 1 down; with `misc_dynamic` 2–255 is up with weight status − 2.
//!
//! The script runs in a process group of its own. Past `misc_timeout` the
//! group gets SIGTERM, and SIGKILL 2 s later if it lives on; a script that
//! dies of the SIGTERM has its group killed too, so nothing it started
//! survives (keepalived 2.2.7's `misc_check_child_thread`).

use std::os::unix::process::ExitStatusExt as _;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

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

/// keepalived's grace between SIGTERM and SIGKILL, and after SIGKILL.
const TERMINATION_GRACE: Duration = Duration::from_secs(2);

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
            .process_group(0)
            .kill_on_drop(true);
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => return Outcome::failed(Failure::ScriptSpawn(e.to_string())),
        };
        let group = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw);
        // An attempt dropped mid-run (reload, shutdown) takes the group with it.
        let mut guard = GroupGuard(group);
        let status = match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => return Outcome::failed(Failure::ScriptSpawn(e.to_string())),
            Err(_) => match terminate(&mut child, group).await {
                // Killed by our signals (or not even by SIGKILL): timed out.
                None => return Outcome::failed(Failure::ScriptTimeout),
                Some(status)
                    if status.signal().is_some_and(|s| {
                        s == Signal::SIGTERM as i32 || s == Signal::SIGKILL as i32
                    }) =>
                {
                    return Outcome::failed(Failure::ScriptTimeout);
                }
                // It ended its own way meanwhile: judged like any run.
                Some(status) => status,
            },
        };
        guard.0 = None;
        self.judge(status)
    }

    fn judge(&self, status: ExitStatus) -> Outcome {
        match (status.code(), status.signal()) {
            (Some(0), _) => Outcome::ok(),
            (Some(code @ 2..=255), _) if self.dynamic => Outcome {
                weight: Some(code as u32 - 2),
                ..Outcome::ok()
            },
            (Some(code), _) => Outcome::failed(Failure::ScriptExit(code)),
            (None, Some(signal)) => Outcome::failed(Failure::ScriptSignal(signal)),
            (None, None) => Outcome::failed(Failure::ScriptExit(-1)),
        }
    }
}

/// SIGKILLs the script's process group when dropped while armed.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

/// Ends a script past its timeout: SIGTERM to its group, SIGKILL after the
/// grace; the script's status, or `None` when even SIGKILL did not end it.
async fn terminate(child: &mut tokio::process::Child, group: Option<Pid>) -> Option<ExitStatus> {
    let signal_group = |signal| {
        if let Some(group) = group {
            // ESRCH: the group is already gone, nothing to do.
            let _ = killpg(group, signal);
        }
    };
    signal_group(Signal::SIGTERM);
    if let Ok(Ok(status)) = tokio::time::timeout(TERMINATION_GRACE, child.wait()).await {
        // Whatever it started must not outlive it.
        signal_group(Signal::SIGKILL);
        return Some(status);
    }
    signal_group(Signal::SIGKILL);
    match tokio::time::timeout(TERMINATION_GRACE, child.wait()).await {
        Ok(Ok(status)) => Some(status),
        _ => {
            tracing::info!(
                "Child (PID {}) failed to terminate after kill",
                group.map(|g| g.as_raw()).unwrap_or_default()
            );
            None
        }
    }
}
