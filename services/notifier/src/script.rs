//! Notify scripts: the command line split as keepalived splits it, the
//! `enable_script_security` check, the user a script runs as, and running it
//! with a timeout.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Once;
use std::time::Duration;

use crate::job::ScriptJob;

/// keepalived's default script user when `script_user` is not set.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// Splits a command line into words as keepalived's
/// `alloc_strvec_quoted_escaped` does: blanks separate words, `'…'` and
/// `"…"` quote (the quotes are removed), and a backslash takes the next
/// character literally (outside single quotes).
pub fn split_command(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Why a script was not run or did not finish.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScriptError {
    /// `enable_script_security` refused it (keepalived's words).
    #[error("Unsafe permissions found for script '{0}' - disabling.")]
    Insecure(String),
    /// The program could not be found.
    #[error("check_script_secure could not find script '{0}' - disabling")]
    NotFound(String),
    /// An empty command line.
    #[error("empty command line")]
    Empty,
    /// The user or group is unknown.
    #[error("Unable to resolve script {kind} '{name}'")]
    UnknownId {
        /// `username` or `groupname`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// Starting it failed.
    #[error("cannot run {program}: {error}")]
    Spawn {
        /// `argv[0]`.
        program: String,
        /// The OS error.
        error: String,
    },
    /// It ran longer than the timeout and was killed.
    #[error("{0} timed out after {1:?} and was killed")]
    Timeout(String, Duration),
}

impl ScriptError {
    /// Whether trying again can help (a refused or unknown script stays so
    /// until the operator acts).
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Spawn { .. } | Self::Timeout(..))
    }
}

/// The program's path: as given when it contains a slash, else the first
/// match in `PATH` (execvp's rule, which keepalived follows).
pub fn resolve_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// keepalived's `check_script_secure` rule: the script and every directory
/// above it must be owned by root and not writable by a non-root group or by
/// others (a directory with the sticky bit may be group/world-writable).
/// Returns the first unsafe path.
pub fn insecure_component(script: &Path) -> std::io::Result<Option<PathBuf>> {
    let script = std::fs::canonicalize(script)?;
    let mut current = Some(script.as_path());
    while let Some(path) = current {
        let meta = std::fs::metadata(path)?;
        let mode = meta.mode();
        let sticky_dir = meta.is_dir() && mode & 0o1000 != 0;
        let group_writable = meta.gid() != 0 && mode & 0o020 != 0;
        let world_writable = mode & 0o002 != 0;
        if meta.uid() != 0 || (!sticky_dir && (group_writable || world_writable)) {
            return Ok(Some(path.to_path_buf()));
        }
        current = path.parent();
    }
    Ok(None)
}

/// A user or group id from the local account files (`/etc/passwd`,
/// `/etc/group`). NSS sources beyond the files are not consulted.
fn lookup(file: &str, name: &str) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        let id = fields.next()?.parse().ok()?;
        let gid = fields.next().and_then(|g| g.parse().ok()).unwrap_or(id);
        Some((id, gid))
    })
}

/// Whom a script runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

static DEFAULT_USER_WARNING: Once = Once::new();

/// The user and group `job` runs as: its own or `script_user`, else
/// `keepalived_script`, else root with keepalived's warning (logged once, as
/// keepalived logs it once at start-up).
pub fn credentials(job: &ScriptJob) -> Result<Credentials, ScriptError> {
    let (uid, mut gid) = match &job.user {
        Some(user) => lookup("/etc/passwd", user).ok_or_else(|| ScriptError::UnknownId {
            kind: "username",
            name: user.clone(),
        })?,
        None => match lookup("/etc/passwd", DEFAULT_SCRIPT_USER) {
            Some(ids) => ids,
            None => {
                DEFAULT_USER_WARNING.call_once(|| {
                    tracing::warn!(
                        "default user '{DEFAULT_SCRIPT_USER}' for script execution does not exist - please create."
                    );
                });
                (0, 0)
            }
        },
    };
    if let Some(group) = &job.group {
        gid = lookup("/etc/group", group)
            .ok_or_else(|| ScriptError::UnknownId {
                kind: "groupname",
                name: group.clone(),
            })?
            .0;
    }
    Ok(Credentials { uid, gid })
}

/// Checks `job` (its program, `enable_script_security`, its user) and makes
/// the command that runs it with keepalived's credentials, its standard
/// streams closed.
pub fn command(job: &ScriptJob) -> Result<tokio::process::Command, ScriptError> {
    let program = job.argv.first().ok_or(ScriptError::Empty)?;
    let path = resolve_program(program).ok_or_else(|| ScriptError::NotFound(program.clone()))?;
    match insecure_component(&path) {
        Ok(None) => {}
        Ok(Some(unsafe_path)) if job.secure => {
            return Err(ScriptError::Insecure(unsafe_path.display().to_string()));
        }
        Ok(Some(unsafe_path)) => {
            tracing::warn!(
                "Unsafe permissions found for script '{}'.",
                unsafe_path.display()
            );
        }
        Err(_) => return Err(ScriptError::NotFound(program.clone())),
    }
    let ids = credentials(job)?;
    let mut command = tokio::process::Command::new(&path);
    command
        .args(&job.argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // setgid/setuid happen in the child between fork and exec (std's
    // CommandExt); skip them when they would not change anything so an
    // unprivileged notifier can still run scripts as itself.
    if ids.gid != current_gid() {
        command.gid(ids.gid);
    }
    if ids.uid != current_uid() {
        command.uid(ids.uid);
    }
    Ok(command)
}

/// Checks, then runs `job` to completion (or kills it at `timeout`). The exit
/// status is logged, not an error: keepalived does not act on a notify
/// script's status either.
pub async fn run(job: &ScriptJob, timeout: Duration) -> Result<Option<i32>, ScriptError> {
    let mut command = command(job)?;
    let program = &job.argv[0];
    command.kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| ScriptError::Spawn {
        program: program.clone(),
        error: e.to_string(),
    })?;
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => {
            if !status.success() {
                tracing::info!(script = %job.argv.join(" "), %status, "notify script exited with a failure status");
            }
            Ok(status.code())
        }
        Ok(Err(e)) => Err(ScriptError::Spawn {
            program: program.clone(),
            error: e.to_string(),
        }),
        Err(_) => {
            let _ = child.kill().await;
            Err(ScriptError::Timeout(job.argv.join(" "), timeout))
        }
    }
}

/// The process's uid, from /proc (no libc call needed).
pub(crate) fn current_uid() -> u32 {
    std::fs::metadata("/proc/self").map_or(0, |m| m.uid())
}

/// The process's gid, from /proc.
pub(crate) fn current_gid() -> u32 {
    std::fs::metadata("/proc/self").map_or(0, |m| m.gid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_keepalived() {
        assert_eq!(
            split_command("/etc/keepalived/notify.sh master"),
            ["/etc/keepalived/notify.sh", "master"]
        );
        assert_eq!(
            split_command(r#"/bin/bash -c 'rm /tmp/x'  "a \"b\"" c\ d"#),
            ["/bin/bash", "-c", "rm /tmp/x", "a \"b\"", "c d"]
        );
        assert_eq!(split_command("  "), Vec::<String>::new());
        assert_eq!(split_command("''"), [""]);
    }

    #[test]
    fn a_world_writable_script_or_directory_is_insecure() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o757)).unwrap();
        assert_eq!(insecure_component(&script).unwrap(), Some(script.clone()));
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        if current_uid() == 0 {
            // /tmp is sticky and root-owned: the path is safe.
            assert_eq!(insecure_component(&script).unwrap(), None);
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
            assert_eq!(
                insecure_component(&script).unwrap(),
                Some(std::fs::canonicalize(dir.path()).unwrap())
            );
        } else {
            // Owned by a non-root user: insecure at once.
            assert!(insecure_component(&script).unwrap().is_some());
        }
    }
}
