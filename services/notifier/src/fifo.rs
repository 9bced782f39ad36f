//! keepalived's notify FIFOs: `notify_fifo` (every line), `vrrp_notify_fifo`
//! (`INSTANCE`/`GROUP` lines) and `lvs_notify_fifo` (`VS`/`RS` lines), each
//! with its optional `…_script` reader.
//!
//! The lines are keepalived 2.2.7's, byte for byte: `notify_fifo()` in
//! vrrp_notify.c (`INSTANCE "VI_1" MASTER 100\n`, a group's priority is 0) and
//! `notify_fifo_vs()`/`notify_fifo_rs()` in check/ipwrapper.c
//! (`VS [198.51.100.10]:tcp:80 UP\n`,
//! `RS [203.0.113.12]:tcp:80 [198.51.100.10]:tcp:80 DOWN\n`). Opening follows
//! lib/notify.c `fifo_open()`: create the FIFO (mode 0644, owned by its user,
//! else keepalived's default script user) unless it exists, start the script
//! with the FIFO's path as its last argument, then open the FIFO read-write
//! and non-blocking; a FIFO we created is unlinked at stop.
//!
//! Unlike keepalived, a line that does not fit (the reader is behind and the
//! pipe is full) is retried in order rather than dropped.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;
use std::sync::Mutex;

use keepalived_api::v1;
use keepalived_config::{Config, NotifyFifo, Script};

use crate::job::ScriptJob;
use crate::notice::{Notice, State};
use crate::script;

/// One FIFO to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoSpec {
    /// Path of the named pipe.
    pub path: String,
    /// Owner of a FIFO we create (`None`: the default script user).
    pub user: Option<String>,
    /// Its group.
    pub group: Option<String>,
    /// The reader to start, with the path as its last argument.
    pub script: Option<Script>,
    /// Which keyword named it (`notify_fifo`, `vrrp_notify_fifo`…), for logs.
    pub keyword: &'static str,
}

/// Where lines go, resolved from the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FifoSettings {
    /// Distinct FIFOs, global first.
    pub specs: Vec<FifoSpec>,
    /// Paths that get `INSTANCE`/`GROUP` lines.
    pub vrrp: Vec<String>,
    /// Paths that get `VS`/`RS` lines.
    pub lvs: Vec<String>,
    /// `fifo_write_vrrp_states_on_reload`.
    pub write_states_on_reload: bool,
    /// `enable_script_security`, for the FIFO scripts.
    pub script_security: bool,
    /// `script_user` (user, group), the scripts' default.
    pub script_user: Option<(String, Option<String>)>,
    /// Sync group names, in configuration order (the reload lines' order).
    pub groups: Vec<String>,
    /// Instance names, in configuration order.
    pub instances: Vec<String>,
}

impl FifoSettings {
    /// From the configuration (its crate has already dropped a VRRP or LVS
    /// FIFO that is the global one, as keepalived does).
    pub fn from_config(config: &Config) -> Self {
        let g = &config.global_defs;
        let mut s = Self {
            groups: config
                .vrrp_sync_groups
                .iter()
                .map(|sg| sg.name.clone())
                .collect(),
            instances: config
                .vrrp_instances
                .iter()
                .map(|vi| vi.name.clone())
                .collect(),
            write_states_on_reload: g.fifo_write_vrrp_states_on_reload,
            script_security: g.enable_script_security,
            script_user: g
                .script_user
                .clone()
                .map(|user| (user, g.script_group.clone())),
            ..Self::default()
        };
        let mut add = |fifo: &Option<NotifyFifo>, keyword, vrrp: bool, lvs: bool| {
            let Some(f) = fifo else { return };
            match s.specs.iter_mut().find(|spec| spec.path == f.path) {
                // vrrp_notify_fifo and lvs_notify_fifo naming one FIFO: one
                // pipe; the VRRP script wins (global_data.c).
                Some(spec) => {
                    if spec.script.is_none() {
                        spec.script.clone_from(&f.script);
                    }
                }
                None => s.specs.push(FifoSpec {
                    path: f.path.clone(),
                    user: f.user.clone(),
                    group: f.group.clone(),
                    script: f.script.clone(),
                    keyword,
                }),
            }
            if vrrp && !s.vrrp.contains(&f.path) {
                s.vrrp.push(f.path.clone());
            }
            if lvs && !s.lvs.contains(&f.path) {
                s.lvs.push(f.path.clone());
            }
        };
        add(&g.notify_fifo, "notify_fifo", true, true);
        add(&g.vrrp_notify_fifo, "vrrp_notify_fifo", true, false);
        add(&g.lvs_notify_fifo, "lvs_notify_fifo", false, true);
        s
    }

    /// The FIFOs `notice`'s line goes to, and the line.
    pub fn route(&self, notice: &Notice) -> Option<(&[String], String)> {
        let line = line(notice)?;
        let paths = match notice {
            Notice::Instance { .. } | Notice::Priority { .. } | Notice::Group { .. } => &self.vrrp,
            Notice::RealServer { .. } | Notice::Quorum { .. } => &self.lvs,
        };
        (!paths.is_empty()).then_some((paths.as_slice(), line))
    }
}

/// What vrrp-core last said each instance and group is in, for
/// `fifo_write_vrrp_states_on_reload`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateBook {
    instances: BTreeMap<String, (State, u32)>,
    groups: BTreeMap<String, State>,
}

fn state_of(value: i32) -> State {
    match v1::VrrpState::try_from(value).unwrap_or(v1::VrrpState::Unspecified) {
        v1::VrrpState::Backup => State::Backup,
        v1::VrrpState::Master => State::Master,
        v1::VrrpState::Fault => State::Fault,
        v1::VrrpState::Stop => State::Stop,
        v1::VrrpState::Init | v1::VrrpState::Unspecified => State::Init,
    }
}

impl StateBook {
    /// Takes in a vrrp-core event: a snapshot replaces the instances' states
    /// (it carries no group states; those come from group transitions), a
    /// transition or a priority change updates one.
    pub fn observe(&mut self, event: &v1::VrrpEvent) {
        use v1::vrrp_event::Payload;
        match &event.payload {
            Some(Payload::Snapshot(s)) => {
                self.instances = s
                    .instances
                    .iter()
                    .map(|i| (i.name.clone(), (state_of(i.state), i.effective_priority)))
                    .collect();
            }
            Some(Payload::Transition(t)) => {
                self.instances
                    .insert(t.instance.clone(), (state_of(t.to), t.priority));
            }
            Some(Payload::PriorityChanged(p)) => {
                if let Some(entry) = self.instances.get_mut(&p.instance) {
                    entry.1 = p.to;
                }
            }
            Some(Payload::SyncGroupTransition(t)) => {
                self.groups.insert(t.group.clone(), state_of(t.to));
            }
            _ => {}
        }
    }

    /// vrrp_scheduler.c `vrrp_init_state` at a reload with
    /// `fifo_write_vrrp_states_on_reload`: every group's line, then every
    /// instance's, in configuration order (an instance still in INIT has
    /// none).
    pub fn reload_lines(&self, settings: &FifoSettings) -> Vec<String> {
        let groups = settings.groups.iter().filter_map(|name| {
            let state = *self.groups.get(name)?;
            (state != State::Init).then(|| state_line(true, name, state, 0))
        });
        let instances = settings.instances.iter().filter_map(|name| {
            let (state, priority) = *self.instances.get(name)?;
            (state != State::Init).then(|| state_line(false, name, state, priority))
        });
        groups.chain(instances).collect()
    }
}

/// An instance's or group's line (vrrp_notify.c `notify_fifo`).
pub fn state_line(group: bool, name: &str, state: State, priority: u32) -> String {
    let kind = if group { "GROUP" } else { "INSTANCE" };
    // keepalived prints a uint8_t priority; a group's is 0.
    let priority = if group { 0 } else { priority.min(255) };
    format!("{kind} \"{name}\" {state} {priority}\n")
}

/// keepalived's FIFO line for `notice`, newline included; `None` for a state
/// keepalived writes no line for (INIT).
pub fn line(notice: &Notice) -> Option<String> {
    match notice {
        Notice::Instance {
            to: State::Init, ..
        }
        | Notice::Group {
            to: State::Init, ..
        } => None,
        Notice::Instance {
            name, to, priority, ..
        } => Some(state_line(false, name, *to, *priority)),
        Notice::Priority {
            name,
            master,
            priority,
        } => Some(format!(
            "INSTANCE \"{name}\" {} {}\n",
            if *master {
                "MASTER_PRIORITY"
            } else {
                "BACKUP_PRIORITY"
            },
            priority.min(&255)
        )),
        Notice::Group { name, to, .. } => Some(state_line(true, name, *to, 0)),
        Notice::RealServer { rs, up, .. } => Some(format!(
            "RS {rs} {} {}\n",
            rs.vs,
            if *up { "UP" } else { "DOWN" }
        )),
        Notice::Quorum { vs, up, .. } => {
            Some(format!("VS {vs} {}\n", if *up { "UP" } else { "DOWN" }))
        }
    }
}

/// Why a line was not written.
#[derive(Debug, thiserror::Error)]
pub enum FifoError {
    /// The FIFO could not be created or opened at start.
    #[error("notify fifo {0} is not open")]
    NotOpen(String),
    /// The pipe is full: the reader is behind (tried again later).
    #[error("notify fifo {0} is full: its reader is not keeping up")]
    Full(String),
    /// Another write error.
    #[error("cannot write to notify fifo {0}: {1}")]
    Io(String, std::io::Error),
}

impl FifoError {
    /// Whether trying again can help.
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Full(_))
    }
}

struct Open {
    spec: FifoSpec,
    file: File,
    created: bool,
    /// The script's task, and what tells it to SIGTERM the script.
    script: Option<ScriptHandle>,
}

type ScriptHandle = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
);

/// The open FIFOs.
#[derive(Default)]
pub struct Fifos {
    open: Mutex<BTreeMap<String, Open>>,
}

impl Fifos {
    /// Opens `settings`' FIFOs, starting their scripts. Must run inside a
    /// tokio runtime (a script's exit is waited for there).
    pub fn open(settings: &FifoSettings) -> Self {
        let fifos = Self::default();
        fifos.reconcile(settings);
        fifos
    }

    /// At a reload: closes the FIFOs no longer configured (or configured
    /// differently) and opens the new ones; an unchanged FIFO stays open and
    /// its script keeps running.
    pub fn reconcile(&self, settings: &FifoSettings) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let stale: Vec<String> = open
            .iter()
            .filter(|(path, o)| {
                !settings
                    .specs
                    .iter()
                    .any(|s| &s.path == *path && *s == o.spec)
            })
            .map(|(path, _)| path.clone())
            .collect();
        for path in stale {
            if let Some(o) = open.remove(&path) {
                // Its script ends on its own task.
                let _ = close(o);
            }
        }
        for spec in &settings.specs {
            if open.contains_key(&spec.path) {
                continue;
            }
            if let Some(o) = open_one(spec, settings) {
                open.insert(spec.path.clone(), o);
            }
        }
    }

    /// Writes `line` to the FIFO at `path` in one write (a line is shorter
    /// than PIPE_BUF, so readers never see it torn).
    pub fn write(&self, path: &str, line: &str) -> Result<(), FifoError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let o = open
            .get_mut(path)
            .ok_or_else(|| FifoError::NotOpen(path.to_owned()))?;
        match o.file.write(line.as_bytes()) {
            Ok(n) if n == line.len() => Ok(()),
            Ok(_) => Err(FifoError::Full(path.to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                Err(FifoError::Full(path.to_owned()))
            }
            Err(e) => Err(FifoError::Io(path.to_owned(), e)),
        }
    }

    /// At stop: SIGTERMs the FIFO scripts (vrrp_daemon.c `script_killall`
    /// does so before anything else), unlinks the FIFOs we created (before
    /// closing, so a reader that reopens in a loop cannot get the old one
    /// back), then closes them.
    pub async fn close_all(&self) {
        let open = std::mem::take(&mut *self.open.lock().unwrap_or_else(|e| e.into_inner()));
        let tasks: Vec<_> = open.into_values().filter_map(close).collect();
        for task in tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
    }
}

/// Closes `o`; returns its script's task, told to stop.
fn close(o: Open) -> Option<tokio::task::JoinHandle<()>> {
    let task = o.script.map(|(stop, task)| {
        let _ = stop.send(());
        task
    });
    if o.created {
        let _ = std::fs::remove_file(&o.spec.path);
    }
    drop(o.file);
    task
}

/// `vrrp_`, `lvs_` or nothing, as keepalived prefixes its FIFO messages.
fn prefix(keyword: &str) -> &str {
    keyword.strip_suffix("notify_fifo").unwrap_or("")
}

/// lib/notify.c `fifo_open`, with its log wording.
fn open_one(spec: &FifoSpec, settings: &FifoSettings) -> Option<Open> {
    let kind = prefix(spec.keyword);
    let path = Path::new(&spec.path);
    let created = match nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)) {
        Ok(()) => {
            chown(spec);
            true
        }
        Err(nix::errno::Errno::EEXIST) => false,
        Err(_) => {
            tracing::info!("Unable to create {kind}notify fifo {}", spec.path);
            return None;
        }
    };
    if !created && !std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo()) {
        // keepalived would write into whatever is there; refuse it plainly.
        tracing::info!(
            "Unable to open {kind}notify fifo {} - it is not a FIFO",
            spec.path
        );
        return None;
    }
    let script = spec
        .script
        .as_ref()
        .and_then(|s| start_script(spec, s, settings));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags((nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOFOLLOW).bits())
        .open(path);
    match file {
        Ok(file) => {
            tracing::info!(fifo = %spec.path, created, "{kind}notify fifo open");
            Some(Open {
                spec: spec.clone(),
                file,
                created,
                script,
            })
        }
        Err(e) => {
            tracing::info!(
                "Unable to open {kind}notify fifo {} - errno {}",
                spec.path,
                e.raw_os_error().unwrap_or(0)
            );
            if created {
                let _ = std::fs::remove_file(path);
            }
            None
        }
    }
}

/// Owner of a FIFO we created: its user and group, else the default script
/// user (`keepalived_script`, else root).
fn chown(spec: &FifoSpec) {
    let job = ScriptJob {
        argv: Vec::new(),
        user: spec.user.clone(),
        group: spec.group.clone(),
        secure: false,
    };
    let Ok(ids) = script::credentials(&job) else {
        tracing::info!("Failed to set uid:gid for fifo {}", spec.path);
        return;
    };
    let uid = (ids.uid != script::current_uid()).then_some(ids.uid);
    let gid = (ids.gid != script::current_gid()).then_some(ids.gid);
    if (uid.is_some() || gid.is_some()) && std::os::unix::fs::chown(&spec.path, uid, gid).is_err() {
        tracing::info!("Failed to set uid:gid for fifo {}", spec.path);
    }
}

/// Starts the FIFO's script (`SCRIPT… PATH`) and logs its end as keepalived
/// does (`vrrp notify fifo script terminated`). The returned sender stops it
/// with SIGTERM, as keepalived stops its scripts at shutdown.
fn start_script(spec: &FifoSpec, s: &Script, settings: &FifoSettings) -> Option<ScriptHandle> {
    let mut argv = script::split_command(&s.command);
    argv.push(spec.path.clone());
    let (user, group) = match (&s.user, &settings.script_user) {
        (Some(user), _) => (Some(user.clone()), s.group.clone()),
        (None, Some((user, group))) => (Some(user.clone()), group.clone()),
        (None, None) => (None, None),
    };
    let job = ScriptJob {
        argv,
        user,
        group,
        secure: settings.script_security,
    };
    let words = prefix(spec.keyword).trim_end_matches('_');
    let label = if words.is_empty() {
        "notify fifo script".to_owned()
    } else {
        format!("{words} notify fifo script")
    };
    let spawned = script::command(&job).and_then(|mut c| {
        c.spawn().map_err(|e| script::ScriptError::Spawn {
            program: job.argv[0].clone(),
            error: e.to_string(),
        })
    });
    match spawned {
        Ok(mut child) => {
            tracing::info!(script = %job.argv.join(" "), "{label} started");
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(async move {
                tokio::select! {
                    _ = child.wait() => {}
                    Ok(()) = stopped => {
                        // Still ours while not reaped: id() is None after.
                        if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                            let _ = nix::sys::signal::kill(
                                nix::unistd::Pid::from_raw(pid),
                                nix::sys::signal::Signal::SIGTERM,
                            );
                        }
                        let _ = child.wait().await;
                    }
                }
                tracing::info!("{label} terminated");
            });
            Some((stop, task))
        }
        Err(error) => {
            tracing::warn!(%error, "{label} not started");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notice::{RsName, VsName};

    fn vs() -> VsName {
        VsName::Addr {
            ip: "198.51.100.10".into(),
            port: 80,
            protocol: "tcp".into(),
        }
    }

    #[test]
    fn lines_are_keepalived_2_2_7s() {
        let i = Notice::Instance {
            name: "VI_1".into(),
            from: State::Backup,
            to: State::Master,
            priority: 100,
        };
        assert_eq!(line(&i).unwrap(), "INSTANCE \"VI_1\" MASTER 100\n");
        let g = Notice::Group {
            name: "G1".into(),
            from: State::Master,
            to: State::Stop,
        };
        assert_eq!(line(&g).unwrap(), "GROUP \"G1\" STOP 0\n");
        let rs = Notice::RealServer {
            rs: RsName {
                vs: vs(),
                ip: "203.0.113.12".into(),
                port: 80,
            },
            up: false,
            reason: String::new(),
            checker: "TCP_CHECK".into(),
            mail_body: None,
        };
        assert_eq!(
            line(&rs).unwrap(),
            "RS [203.0.113.12]:tcp:80 [198.51.100.10]:tcp:80 DOWN\n"
        );
        let q = Notice::Quorum {
            vs: VsName::Fwmark { mark: 3 },
            up: true,
            quorum: 1,
            hysteresis: 0,
            alive_weight: 1,
        };
        assert_eq!(line(&q).unwrap(), "VS FWM 3 UP\n");
    }

    fn settings(global: &str) -> FifoSettings {
        let text = format!("global_defs {{\n{global}\n}}\n");
        let loaded = keepalived_config::load_str(
            &text,
            Path::new("/k.conf"),
            &keepalived_config::LoadOptions::default(),
        )
        .unwrap();
        FifoSettings::from_config(&loaded.config)
    }

    #[test]
    fn the_global_fifo_gets_both_kinds_and_the_others_their_own() {
        let s = settings(
            "notify_fifo /run/all.fifo\nvrrp_notify_fifo /run/v.fifo\nlvs_notify_fifo /run/l.fifo",
        );
        assert_eq!(s.vrrp, ["/run/all.fifo", "/run/v.fifo"]);
        assert_eq!(s.lvs, ["/run/all.fifo", "/run/l.fifo"]);
        assert_eq!(s.specs.len(), 3);
        // The VRRP FIFO that is the global one is dropped: no line twice.
        let s = settings("notify_fifo /run/all.fifo\nvrrp_notify_fifo /run/all.fifo");
        assert_eq!(s.vrrp, ["/run/all.fifo"]);
        assert_eq!(s.specs.len(), 1);
        // VRRP and LVS sharing one FIFO: one pipe, the VRRP script.
        let s = settings(
            "vrrp_notify_fifo /run/x.fifo\nvrrp_notify_fifo_script /bin/v\n\
             lvs_notify_fifo /run/x.fifo\nlvs_notify_fifo_script /bin/l",
        );
        assert_eq!(s.specs.len(), 1);
        assert_eq!(s.specs[0].script.as_ref().unwrap().command, "/bin/v");
        assert_eq!((s.vrrp.len(), s.lvs.len()), (1, 1));
    }

    #[test]
    fn reload_lines_are_groups_then_instances_in_configuration_order() {
        let mut s = settings("fifo_write_vrrp_states_on_reload");
        s.groups = vec!["G".into()];
        s.instances = vec!["VI_2".into(), "VI_1".into(), "VI_3".into()];
        let mut book = StateBook::default();
        let transition = |name: &str, to: v1::VrrpState, priority| v1::VrrpEvent {
            header: None,
            payload: Some(v1::vrrp_event::Payload::Transition(
                v1::InstanceTransition {
                    instance: name.into(),
                    to: to as i32,
                    priority,
                    ..Default::default()
                },
            )),
        };
        book.observe(&transition("VI_1", v1::VrrpState::Master, 100));
        book.observe(&transition("VI_2", v1::VrrpState::Backup, 90));
        book.observe(&v1::VrrpEvent {
            header: None,
            payload: Some(v1::vrrp_event::Payload::PriorityChanged(
                v1::PriorityChange {
                    instance: "VI_2".into(),
                    from: 90,
                    to: 80,
                    ..Default::default()
                },
            )),
        });
        book.observe(&v1::VrrpEvent {
            header: None,
            payload: Some(v1::vrrp_event::Payload::SyncGroupTransition(
                v1::SyncGroupTransition {
                    group: "G".into(),
                    to: v1::VrrpState::Backup as i32,
                    ..Default::default()
                },
            )),
        });
        assert_eq!(
            book.reload_lines(&s),
            [
                "GROUP \"G\" BACKUP 0\n",
                "INSTANCE \"VI_2\" BACKUP 80\n",
                "INSTANCE \"VI_1\" MASTER 100\n"
            ]
        );
    }

    #[tokio::test]
    async fn a_created_fifo_gets_the_lines_in_order_and_is_removed_at_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.fifo").display().to_string();
        let s = settings(&format!("notify_fifo {path}"));
        let fifos = Fifos::open(&s);
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_fifo());
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(meta.permissions().mode() & 0o777, 0o644);
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(&path)
            .unwrap();
        fifos
            .write(&path, "INSTANCE \"VI_1\" BACKUP 100\n")
            .unwrap();
        fifos
            .write(&path, "INSTANCE \"VI_1\" MASTER 100\n")
            .unwrap();
        let mut buf = [0u8; 256];
        let n = std::io::Read::read(&mut reader, &mut buf).unwrap();
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\n"
        );
        assert!(matches!(
            fifos.write("/nonexistent", "x\n"),
            Err(FifoError::NotOpen(_))
        ));
        fifos.close_all().await;
        assert!(!Path::new(&path).exists());
    }

    #[tokio::test]
    async fn an_existing_fifo_is_kept_at_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.fifo");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let s = settings(&format!("vrrp_notify_fifo {}", path.display()));
        let fifos = Fifos::open(&s);
        fifos.close_all().await;
        assert!(path.exists());
    }
}
