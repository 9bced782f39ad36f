//! Trackers: `vrrp_script` (run periodically as its user, with timeout, fall and rise),
//! `track_file` (a number read from a file), `track_interface` (link state) and
//! `vrrp_track_process` (a count of processes, [`crate::track_process`]), each
//! publishing its current result on a `watch` channel, and [`evaluate`], the pure
//! function that turns an instance's tracker results into its effective priority and
//! fault state as keepalived does.
//!
//! Scripts run on their own tasks: a slow script never delays an advert.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::spec::{
    DEFAULT_SCRIPT_USER, ScriptSpec, TrackFileSpec, TrackProcessSpec, TrackerKind, TrackerRef,
};
use crate::view::FaultCause;

/// The current result of one tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    /// Script succeeded / interface up / file value zero.
    pub ok: bool,
    /// The number read from a tracked file (0 for other kinds).
    pub value: i64,
}

impl Tracked {
    /// A good result.
    pub const OK: Tracked = Tracked { ok: true, value: 0 };
    /// A failed result.
    pub const FAILED: Tracked = Tracked {
        ok: false,
        value: 0,
    };

    /// [`Tracked::OK`] or [`Tracked::FAILED`].
    pub fn of(ok: bool) -> Self {
        if ok { Self::OK } else { Self::FAILED }
    }
}

/// What all trackers of an instance amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Base priority plus every delta (clamping to 1..=254 is the state machine's job).
    pub priority: u8,
    /// A tracker with weight 0 failed (or a file's value took the priority to 0 or less).
    pub fault: bool,
    /// The kind of the first tracker that put the instance into FAULT (with `reverse`
    /// applied as for the fault itself); `None` when `fault` is false.
    pub fault_cause: Option<TrackerKind>,
    /// Each tracker's contribution to the priority, in the order given.
    pub deltas: Vec<i32>,
}

/// keepalived's priority arithmetic (vrrp_track.c):
///
/// - weight 0: a failure puts the instance into FAULT;
/// - script / interface / process, weight > 0: added while OK (a process: while it has
///   its quorum); weight < 0: added while failed; `reverse` inverts the result first;
/// - file: `value × weight` is added (negated with `reverse`); with weight 0 a non-zero
///   value is a FAULT; a total of -254 or less too.
pub fn evaluate(base: u8, trackers: &[(TrackerRef, Tracked)]) -> Evaluation {
    let mut fault_cause = None;
    let mut deltas = Vec::with_capacity(trackers.len());
    for (t, r) in trackers {
        let mut faults = false;
        let delta = match t.kind {
            TrackerKind::File => {
                if t.weight == 0 {
                    faults = r.value != 0;
                    0
                } else {
                    let d = r.value.saturating_mul(i64::from(t.weight));
                    let d = if t.reverse { -d } else { d };
                    faults = d <= -254;
                    d.clamp(-254, 254) as i32
                }
            }
            TrackerKind::Script | TrackerKind::Interface | TrackerKind::Process => {
                let ok = r.ok != t.reverse;
                if t.weight == 0 {
                    faults = !ok;
                    0
                } else if (t.weight > 0) == ok {
                    t.weight
                } else {
                    0
                }
            }
        };
        if faults {
            fault_cause.get_or_insert(t.kind);
        }
        deltas.push(delta);
    }
    let total: i32 = i32::from(base) + deltas.iter().sum::<i32>();
    Evaluation {
        priority: if base == 255 {
            255
        } else {
            total.clamp(1, 254) as u8
        },
        fault: fault_cause.is_some(),
        fault_cause,
        deltas,
    }
}

/// A user and group to run scripts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

fn lookup(file: &str, name: &str) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.first() != Some(&name) || fields.len() < 3 {
            return None;
        }
        let id = fields.get(2)?.parse().ok()?;
        let gid = fields.get(3).and_then(|g| g.parse().ok()).unwrap_or(id);
        Some((id, gid))
    })
}

/// Resolves the user a script runs as, as keepalived does: the script's `user`, else
/// `script_user`, else `keepalived_script`. A missing default user is a warning and the
/// script runs as root when script security is off; otherwise the script cannot run.
pub fn credentials(
    script: &ScriptSpec,
    default: &(String, Option<String>),
    script_security: bool,
) -> Result<Credentials, String> {
    let (user, group) = match &script.user {
        Some(u) => (u.clone(), script.group.clone()),
        None => default.clone(),
    };
    let Some((uid, mut gid)) = lookup("/etc/passwd", &user) else {
        // Only the *default* user falls back to root; a `user` the host lacks disables the
        // script (the loader already removes such a script, as keepalived does).
        if script.user.is_none() && user == DEFAULT_SCRIPT_USER {
            if script_security {
                return Err(format!(
                    "default user '{user}' for script execution does not exist and enable_script_security is set - VRRP_Script({}) disabled",
                    script.name
                ));
            }
            tracing::warn!(
                "WARNING - default user '{user}' for script execution does not exist - please create."
            );
            return Ok(Credentials { uid: 0, gid: 0 });
        }
        return Err(format!(
            "VRRP_Script({}) user '{user}' does not exist - script disabled",
            script.name
        ));
    };
    if let Some(group) = group {
        match lookup("/etc/group", &group) {
            Some((g, _)) => gid = g,
            None => {
                return Err(format!(
                    "VRRP_Script({}) group '{group}' does not exist - script disabled",
                    script.name
                ));
            }
        }
    }
    Ok(Credentials { uid, gid })
}

/// How one run of a script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Exited(i32),
    Signalled(i32),
    TimedOut,
    NotRun,
}

async fn run_once(spec: &ScriptSpec, creds: Credentials) -> Outcome {
    use std::os::unix::process::ExitStatusExt as _;
    let mut words = spec.command.split_whitespace();
    let Some(program) = words.next() else {
        return Outcome::NotRun;
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(words)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if creds.uid != 0 || creds.gid != 0 {
        // std's CommandExt::uid/gid: setgid then setuid in the child before exec.
        command.uid(creds.uid).gid(creds.gid);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            tracing::warn!("VRRP_Script({}) cannot be run: {error}", spec.name);
            return Outcome::NotRun;
        }
    };
    match tokio::time::timeout(spec.timeout, child.wait()).await {
        Ok(Ok(status)) => match (status.code(), status.signal()) {
            (Some(code), _) => Outcome::Exited(code),
            (None, Some(sig)) => Outcome::Signalled(sig),
            (None, None) => Outcome::NotRun,
        },
        Ok(Err(_)) => Outcome::NotRun,
        Err(_) => {
            let _ = child.kill().await;
            Outcome::TimedOut
        }
    }
}

/// keepalived's script result counter: 0..=rise+fall-1, OK from `rise` up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptState {
    result: u32,
    rise: u32,
    fall: u32,
}

impl ScriptState {
    /// Initial state: OK (counter at the top) unless `init_fail`.
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        Self {
            result: if init_fail { 0 } else { rise + fall - 1 },
            rise,
            fall,
        }
    }

    /// Whether the script currently counts as OK.
    pub fn ok(&self) -> bool {
        self.result >= self.rise
    }

    /// Records one run; returns `Some(new_ok)` when the OK/failed status flips.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        let before = self.ok();
        if success {
            self.result = if self.result < self.rise {
                self.result + 1
            } else {
                self.rise + self.fall - 1
            };
            // From failed, `rise` consecutive successes reach OK.
        } else if self.result > self.rise {
            self.result -= 1;
        } else {
            self.result = 0;
        }
        let after = self.ok();
        (before != after).then_some(after)
    }
}

async fn script_loop(
    spec: ScriptSpec,
    creds: Credentials,
    tx: watch::Sender<Tracked>,
    stop: CancellationToken,
) {
    let mut state = ScriptState::new(spec.rise, spec.fall, spec.init_fail);
    let mut last_status: Option<i32> = None;
    let mut ticker = tokio::time::interval(spec.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let outcome = tokio::select! {
            () = stop.cancelled() => return,
            o = run_once(&spec, creds) => o,
        };
        let (success, detail, status) = match outcome {
            Outcome::Exited(0) => (true, String::new(), 0),
            Outcome::Exited(code) => (false, format!("exited with status {code}"), code),
            Outcome::Signalled(sig) => (false, format!("killed by signal {sig}"), 128 + sig),
            Outcome::TimedOut => (false, "timed out".to_owned(), -1),
            Outcome::NotRun => (false, "could not be run".to_owned(), 127),
        };
        if last_status.unwrap_or(0) != status {
            tracing::info!("Script `{}` now returning {status}", spec.name);
        }
        last_status = Some(status);
        match state.record(success) {
            Some(true) => tracing::info!("VRRP_Script({}) succeeded", spec.name),
            Some(false) => tracing::info!("VRRP_Script({}) failed ({detail})", spec.name),
            None => {}
        }
        tx.send_if_modified(|t| {
            let new = Tracked::of(state.ok());
            std::mem::replace(t, new) != new
        });
    }
}

/// Reads the number in a tracked file: missing or empty is 0 (keepalived), garbage is 0
/// with a warning.
fn read_value(path: &str) -> i64 {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let word = text.split_whitespace().next().unwrap_or("0");
            word.parse().unwrap_or_else(|_| {
                tracing::warn!("track_file {path}: {word:?} is not a number, using 0");
                0
            })
        }
        Err(_) => 0,
    }
}

/// How often a tracked file is polled while inotify cannot watch it (its directory does
/// not exist, or inotify is unavailable); a watch is tried again at every poll.
pub const TRACK_FILE_POLL: Duration = Duration::from_millis(100);

/// While inotify watches a tracked file it is re-read anyway after this long without an
/// event (a change inotify cannot see, e.g. on a network filesystem, is still noticed).
pub const TRACK_FILE_REREAD: Duration = Duration::from_secs(5);

/// Re-reads a tracked file and publishes its value if it changed.
fn update_file(spec: &TrackFileSpec, tx: &watch::Sender<Tracked>) {
    let value = read_value(&spec.path);
    tx.send_if_modified(|t| {
        let new = Tracked {
            ok: value == 0,
            value,
        };
        if *t != new {
            tracing::info!(
                "track_file {} value changed from {} to {value}",
                spec.name,
                t.value
            );
        }
        std::mem::replace(t, new) != new
    });
}

/// Follows a tracked file: inotify on its directory (keepalived's way: a write, a
/// replacement by rename, creation or removal is seen at once), polling every
/// [`TRACK_FILE_POLL`] while no watch can be set up.
async fn file_loop(spec: TrackFileSpec, tx: watch::Sender<Tracked>, stop: CancellationToken) {
    let mut warned = false;
    loop {
        // `AsyncFd::new` is deprecated for `T`s that might not own their descriptor;
        // `FileWatch` owns it and is dropped only with the `AsyncFd`.
        #[allow(deprecated)]
        let watch = crate::sys::FileWatch::new(std::path::Path::new(&spec.path))
            .and_then(tokio::io::unix::AsyncFd::new);
        let fd = match watch {
            Ok(fd) => fd,
            Err(error) => {
                if !warned {
                    tracing::warn!(
                        "track_file {}: cannot watch {} ({error}); polling every {TRACK_FILE_POLL:?}",
                        spec.name,
                        spec.path
                    );
                    warned = true;
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(TRACK_FILE_POLL) => {}
                }
                update_file(&spec, &tx);
                continue;
            }
        };
        warned = false;
        // The file may have changed before the watch existed.
        update_file(&spec, &tx);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(TRACK_FILE_REREAD) => update_file(&spec, &tx),
                ready = fd.readable() => {
                    let Ok(mut guard) = ready else { break };
                    match guard.try_io(|w| w.get_ref().drain()) {
                        Ok(Ok(events)) => {
                            if events.touched {
                                update_file(&spec, &tx);
                            }
                            if events.ended {
                                // The directory went away: watch again (or poll).
                                break;
                            }
                        }
                        Ok(Err(error)) => {
                            tracing::warn!("track_file {}: inotify: {error}", spec.name);
                            break;
                        }
                        Err(_would_block) => {}
                    }
                }
            }
        }
    }
}

/// The running script, file and process trackers, by name.
#[derive(Debug, Default)]
pub struct TrackerHub {
    scripts: BTreeMap<String, (ScriptSpec, watch::Receiver<Tracked>, CancellationToken)>,
    files: BTreeMap<String, (TrackFileSpec, watch::Receiver<Tracked>, CancellationToken)>,
    /// The tracked processes share one reader of `/proc`, restarted when they change.
    processes: Processes,
}

/// The `vrrp_track_process` trackers and their `/proc` reader.
#[derive(Debug, Default)]
struct Processes {
    specs: BTreeMap<String, TrackProcessSpec>,
    channels: BTreeMap<String, Arc<watch::Sender<Tracked>>>,
    stop: CancellationToken,
}

impl TrackerHub {
    /// Starts (or keeps, when unchanged) the trackers of `scripts`, `files` and
    /// `processes`; stops those no longer configured or changed.
    pub fn apply(
        &mut self,
        scripts: &BTreeMap<String, ScriptSpec>,
        files: &BTreeMap<String, TrackFileSpec>,
        processes: &BTreeMap<String, TrackProcessSpec>,
        script_user: &(String, Option<String>),
        script_security: bool,
    ) {
        if self.processes.specs != *processes {
            self.processes.stop.cancel();
            let quorums = crate::track_process::initial(processes.values());
            // An unchanged process keeps its channel: the instances that track it are kept
            // by a reload and stay subscribed.
            let mut channels = BTreeMap::new();
            for (spec, q) in processes.values().zip(&quorums) {
                let now = Tracked::of(q.have_quorum());
                let channel = match self.processes.channels.remove(&spec.name) {
                    Some(tx) if self.processes.specs.get(&spec.name) == Some(spec) => {
                        tx.send_if_modified(|t| std::mem::replace(t, now) != now);
                        tx
                    }
                    _ => Arc::new(watch::channel(now).0),
                };
                channels.insert(spec.name.clone(), channel);
            }
            let stop = CancellationToken::new();
            if !processes.is_empty() {
                tokio::spawn(crate::track_process::run(
                    processes.values().cloned().collect(),
                    quorums,
                    channels.values().cloned().collect(),
                    stop.clone(),
                ));
            }
            self.processes = Processes {
                specs: processes.clone(),
                channels,
                stop,
            };
        }
        self.scripts.retain(|name, (spec, _, stop)| {
            let keep = scripts.get(name) == Some(spec);
            if !keep {
                stop.cancel();
            }
            keep
        });
        for (name, spec) in scripts {
            if self.scripts.contains_key(name) {
                continue;
            }
            let initial = Tracked::of(!spec.init_fail);
            let (tx, rx) = watch::channel(initial);
            let stop = CancellationToken::new();
            match credentials(spec, script_user, script_security) {
                Ok(creds) => {
                    tokio::spawn(script_loop(spec.clone(), creds, tx, stop.clone()));
                }
                // The script never runs; it keeps its initial result.
                Err(message) => tracing::error!("{message}"),
            }
            self.scripts.insert(name.clone(), (spec.clone(), rx, stop));
        }
        self.files.retain(|name, (spec, _, stop)| {
            let keep = files.get(name) == Some(spec);
            if !keep {
                stop.cancel();
            }
            keep
        });
        for (name, spec) in files {
            if self.files.contains_key(name) {
                continue;
            }
            if let Some((value, overwrite)) = spec.init_file
                && (overwrite || !std::path::Path::new(&spec.path).exists())
                && let Err(error) = std::fs::write(&spec.path, format!("{value}\n"))
            {
                tracing::warn!(
                    "track_file {name}: cannot initialise {}: {error}",
                    spec.path
                );
            }
            let value = read_value(&spec.path);
            let (tx, rx) = watch::channel(Tracked {
                ok: value == 0,
                value,
            });
            let stop = CancellationToken::new();
            tokio::spawn(file_loop(spec.clone(), tx, stop.clone()));
            self.files.insert(name.clone(), (spec.clone(), rx, stop));
        }
    }

    /// The result channel of a script or file tracker.
    pub fn subscribe(&self, kind: TrackerKind, name: &str) -> Option<watch::Receiver<Tracked>> {
        match kind {
            TrackerKind::Script => self.scripts.get(name).map(|(_, rx, _)| rx.clone()),
            TrackerKind::File => self.files.get(name).map(|(_, rx, _)| rx.clone()),
            TrackerKind::Process => self.processes.channels.get(name).map(|tx| tx.subscribe()),
            TrackerKind::Interface => None,
        }
    }

    /// Stops every tracker.
    pub fn stop_all(&mut self) {
        for (_, _, stop) in self.scripts.values() {
            stop.cancel();
        }
        for (_, _, stop) in self.files.values() {
            stop.cancel();
        }
        self.scripts.clear();
        self.files.clear();
        self.processes.stop.cancel();
        self.processes = Processes::default();
    }
}

/// Why an instance is in FAULT: its interface first, else the tracker that failed, else
/// the cause it had (a fault clearing keeps its cause for the FaultCleared reason).
pub(crate) fn fault_cause(
    link_up: bool,
    eval: &Evaluation,
    previous: Option<FaultCause>,
) -> Option<FaultCause> {
    if !link_up {
        return Some(FaultCause::Interface);
    }
    eval.fault_cause
        .map(|k| match k {
            TrackerKind::Script => FaultCause::Script,
            TrackerKind::File => FaultCause::File,
            TrackerKind::Process => FaultCause::Process,
            TrackerKind::Interface => FaultCause::Interface,
        })
        .or(previous)
}

#[cfg(test)]
mod tests {
    use keepalived_api::v1;

    use super::*;
    use crate::view;

    fn script(weight: i32) -> TrackerRef {
        TrackerRef {
            kind: TrackerKind::Script,
            name: "chk".into(),
            weight,
            reverse: false,
        }
    }

    #[test]
    fn seed_chk_down_failing_takes_99_to_84() {
        let e = evaluate(99, &[(script(-15), Tracked::FAILED)]);
        assert_eq!((e.priority, e.fault, e.deltas), (84, false, vec![-15]));
        let e = evaluate(99, &[(script(-15), Tracked::OK)]);
        assert_eq!(e.priority, 99);
    }

    #[test]
    fn positive_weight_adds_while_ok_and_zero_weight_faults() {
        assert_eq!(evaluate(90, &[(script(20), Tracked::OK)]).priority, 110);
        assert_eq!(evaluate(90, &[(script(20), Tracked::FAILED)]).priority, 90);
        assert!(evaluate(90, &[(script(0), Tracked::FAILED)]).fault);
        assert!(!evaluate(90, &[(script(0), Tracked::OK)]).fault);
    }

    #[test]
    fn the_fault_cause_is_the_tracker_that_faults_with_reverse_applied() {
        let reversed = TrackerRef {
            reverse: true,
            ..script(0)
        };
        // `weight 0 reverse`: a script that succeeds is the fault.
        let e = evaluate(100, &[(reversed.clone(), Tracked::OK)]);
        assert_eq!((e.fault, e.fault_cause), (true, Some(TrackerKind::Script)));
        let e = evaluate(100, &[(reversed, Tracked::FAILED)]);
        assert_eq!((e.fault, e.fault_cause), (false, None));
        // The first faulting tracker names the cause, whatever comes before it.
        let iface = TrackerRef {
            kind: TrackerKind::Interface,
            name: "eth1".into(),
            weight: 0,
            reverse: false,
        };
        let file = TrackerRef {
            kind: TrackerKind::File,
            name: "f".into(),
            weight: 1,
            reverse: false,
        };
        let e = evaluate(
            100,
            &[
                (iface, Tracked::OK),
                (
                    file,
                    Tracked {
                        ok: false,
                        value: -300,
                    },
                ),
                (script(0), Tracked::FAILED),
            ],
        );
        assert_eq!(e.fault_cause, Some(TrackerKind::File));
    }

    #[test]
    fn file_value_times_weight_and_weight_zero_faults() {
        let file = |weight| TrackerRef {
            kind: TrackerKind::File,
            name: "f".into(),
            weight,
            reverse: false,
        };
        let v = |value| Tracked {
            ok: value == 0,
            value,
        };
        assert_eq!(evaluate(100, &[(file(-2), v(5))]).priority, 90);
        assert!(evaluate(100, &[(file(0), v(1))]).fault);
        assert!(evaluate(100, &[(file(1), v(-300))]).fault);
    }

    #[test]
    fn fall_two_rise_one_as_keepalived_counts() {
        let mut s = ScriptState::new(1, 2, false);
        assert!(s.ok());
        assert_eq!(
            s.record(false),
            None,
            "one failure is not enough with fall 2"
        );
        assert_eq!(s.record(false), Some(false));
        assert_eq!(s.record(false), None);
        assert_eq!(s.record(true), Some(true), "rise 1: one success restores");
        let mut s = ScriptState::new(2, 1, true);
        assert!(!s.ok());
        assert_eq!(s.record(true), None);
        assert_eq!(s.record(true), Some(true));
    }

    /// A tracked file's changes arrive through inotify: well within
    /// [`TRACK_FILE_REREAD`] (the only other way a watched file is re-read), for a write,
    /// an atomic replacement (rename over it) and a removal.
    #[test]
    fn track_file_changes_are_seen_through_inotify() {
        let dir = std::env::temp_dir().join(format!("vc-trackfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prio");
        std::fs::write(&path, "0\n").unwrap();
        // The watch itself works here (else the tracker would fall back to polling and
        // this test would not be about inotify).
        crate::sys::FileWatch::new(&path).expect("inotify watch");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let spec = TrackFileSpec {
                name: "prio".into(),
                path: path.display().to_string(),
                init_file: None,
            };
            let mut hub = TrackerHub::default();
            hub.apply(
                &BTreeMap::new(),
                &BTreeMap::from([("prio".to_owned(), spec)]),
                &BTreeMap::new(),
                &("nobody".to_owned(), None),
                false,
            );
            let mut rx = hub.subscribe(TrackerKind::File, "prio").unwrap();
            assert_eq!(rx.borrow().value, 0);
            // Let the watch be set up.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let bound = TRACK_FILE_REREAD / 5;
            let mut expect = async |value: i64| {
                let started = tokio::time::Instant::now();
                tokio::time::timeout(bound, rx.wait_for(|t| t.value == value))
                    .await
                    .unwrap_or_else(|_| panic!("value {value} not seen within {bound:?}"))
                    .unwrap();
                started.elapsed()
            };
            std::fs::write(&path, "7\n").unwrap();
            expect(7).await;
            let tmp = dir.join("prio.tmp");
            std::fs::write(&tmp, "-3\n").unwrap();
            std::fs::rename(&tmp, &path).unwrap();
            expect(-3).await;
            std::fs::remove_file(&path).unwrap();
            expect(0).await;
            hub.stop_all();
        });
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_reverse_weight_zero_script_fault_is_published_as_a_script_fault() {
        let chk = TrackerRef {
            kind: TrackerKind::Script,
            name: "chk".into(),
            weight: 0,
            reverse: true,
        };
        // `weight 0 reverse` and the script succeeds: FAULT, caused by the script.
        let eval = evaluate(100, &[(chk.clone(), Tracked::OK)]);
        assert!(eval.fault);
        assert_eq!(fault_cause(true, &eval, None), Some(FaultCause::Script));
        assert_eq!(
            view::reason(
                &keepalived_vrrp::state::Reason::Fault,
                fault_cause(true, &eval, None)
            )
            .0,
            v1::TransitionReason::Script
        );
        // The script fails again: the fault clears and keeps its cause for FaultCleared.
        let cleared = evaluate(100, &[(chk, Tracked::FAILED)]);
        assert!(!cleared.fault);
        assert_eq!(
            fault_cause(true, &cleared, Some(FaultCause::Script)),
            Some(FaultCause::Script)
        );
        // The interface down wins over any tracker.
        assert_eq!(fault_cause(false, &eval, None), Some(FaultCause::Interface));
    }
}
