//! `vrrp_track_process`: how many processes matching a name (and arguments) run, and
//! whether that number is within `quorum..=quorum_max`, debounced by `fork_delay` and
//! `terminate_delay` as keepalived 2.2.7's core/track_process.c does.
//!
//! keepalived learns of forks, exits and renames from the kernel's proc connector, which
//! only delivers to listeners in the initial network namespace. vrrp-core runs wherever its
//! interfaces are (often a container or a namespace), so it reads `/proc` instead: every
//! [`POLL`], one pass over `/proc/PID/stat` (the command name, and the zombie state) and,
//! when some tracker needs it, `/proc/PID/cmdline`. A process that lives for less than
//! one poll may go unseen, and a change is seen up to one poll later than keepalived sees it.
//! Only the processes of vrrp-core's own PID namespace are visible.
//!
//! The matching and the debounce are pure ([`matches()`], [`Quorum`]); [`scan`] and
//! [`run`] are the I/O around them.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use keepalived_config::ParamMatch;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::spec::TrackProcessSpec;
use crate::trackers::Tracked;

/// How often `/proc` is read.
pub const POLL: Duration = Duration::from_millis(250);

/// What one `/proc/PID` says about its process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcEntry {
    /// The command name (`comm`, at most 15 bytes), `None` for a zombie or when unread.
    pub comm: Option<String>,
    /// `/proc/PID/cmdline`: the arguments, each ending in a NUL (empty for kernel threads
    /// and zombies); `None` when unread.
    pub cmdline: Option<Vec<u8>>,
}

/// Whether `entry` is a process `spec` counts (track_process.c `read_procs` and
/// `check_params`).
///
/// Without `full_command` the command name must equal `process`. With it, the command
/// line's first word must; then, with `param_match`, the remaining words are compared with
/// `params`: `Exact` all of them, `Partial` the first ones, each whole, `Initial` the first
/// ones, the last given word as a prefix of its word.
pub fn matches(spec: &TrackProcessSpec, entry: &ProcEntry) -> bool {
    if !spec.full_command {
        return entry.comm.as_deref() == Some(spec.process.as_str());
    }
    let Some(cmdline) = entry.cmdline.as_deref() else {
        return false;
    };
    let (argv0, rest) = match cmdline.iter().position(|&b| b == 0) {
        Some(end) => (&cmdline[..end], &cmdline[end + 1..]),
        None => (cmdline, &[][..]),
    };
    if argv0 != spec.process.as_bytes() {
        return false;
    }
    let Some(how) = spec.param_match else {
        return true;
    };
    // keepalived keeps the arguments as one buffer of NUL-terminated words.
    let wanted: Vec<u8> = spec
        .params
        .iter()
        .flat_map(|p| p.bytes().chain(std::iter::once(0)))
        .collect();
    match how {
        ParamMatch::Exact => rest == wanted.as_slice(),
        ParamMatch::Partial => rest.starts_with(&wanted),
        // Everything but the last word's terminating NUL.
        ParamMatch::Initial => rest.starts_with(&wanted[..wanted.len().saturating_sub(1)]),
    }
}

/// Reads every process under `proc` (normally `/proc`): the command name when
/// `want_comm`, the command line when `want_cmdline`. A process that exits while it is
/// read is left out.
pub fn scan(proc: &Path, want_comm: bool, want_cmdline: bool) -> Vec<ProcEntry> {
    let Ok(dir) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ent in dir.flatten() {
        let name = ent.file_name();
        let Some(pid) = name.to_str() else { continue };
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid.starts_with('0') {
            continue;
        }
        let base = ent.path();
        let mut e = ProcEntry {
            comm: None,
            cmdline: None,
        };
        if want_comm {
            let Ok(stat) = std::fs::read_to_string(base.join("stat")) else {
                continue;
            };
            e.comm = stat_comm(&stat).map(str::to_owned);
        }
        if want_cmdline {
            let Ok(cmdline) = std::fs::read(base.join("cmdline")) else {
                continue;
            };
            e.cmdline = Some(cmdline);
        }
        out.push(e);
    }
    out
}

/// The command name in a `/proc/PID/stat` line (`PID (comm) S …`), `None` for a zombie.
fn stat_comm(stat: &str) -> Option<&str> {
    let open = stat.find('(')?;
    // comm may itself hold ')': the last one closes it.
    let close = stat.rfind(')')?;
    let state = stat.get(close + 2..)?.chars().next()?;
    (state != 'Z' && close > open).then(|| &stat[open + 1..close])
}

/// One tracked process's quorum as reported, with the debounce of `fork_delay` and
/// `terminate_delay`: a change of the count that moves it into (or out of) the quorum only
/// counts once it has lasted the delay of the event that caused it (a fork, or an exit),
/// and a change back within the delay cancels it, as keepalived's timers do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quorum {
    quorum: u32,
    quorum_max: u32,
    fork_delay: Duration,
    terminate_delay: Duration,
    count: u32,
    have_quorum: bool,
    /// When the pending change is due.
    pending: Option<Instant>,
}

impl Quorum {
    /// Starts from the `count` seen at start, with no delay (keepalived's
    /// `initialise_process_tracking_priorities`).
    pub fn new(spec: &TrackProcessSpec, count: u32) -> Self {
        let mut q = Self {
            quorum: spec.quorum,
            quorum_max: spec.quorum_max,
            fork_delay: spec.fork_delay,
            terminate_delay: spec.terminate_delay,
            count,
            have_quorum: false,
            pending: None,
        };
        q.have_quorum = q.in_quorum(count);
        q
    }

    fn in_quorum(&self, count: u32) -> bool {
        (self.quorum..=self.quorum_max).contains(&count)
    }

    /// Whether the process has its quorum, as reported.
    pub fn have_quorum(&self) -> bool {
        self.have_quorum
    }

    /// The number of matching processes last seen.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// When a pending change is due, if one is.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending
    }

    /// Takes a new count at `now`; returns the new reported quorum when it changes.
    pub fn observe(&mut self, count: u32, now: Instant) -> Option<bool> {
        let before = self.count;
        self.count = count;
        if self.in_quorum(count) == self.have_quorum {
            // Back where it was reported: a pending change is cancelled.
            self.pending = None;
            return None;
        }
        if self.pending.is_none() {
            let delay = if count > before {
                self.fork_delay
            } else {
                self.terminate_delay
            };
            if delay.is_zero() {
                self.have_quorum = !self.have_quorum;
                return Some(self.have_quorum);
            }
            self.pending = Some(now + delay);
        }
        self.expire(now)
    }

    /// At `now`, applies a pending change that is due; returns the new reported quorum.
    pub fn expire(&mut self, now: Instant) -> Option<bool> {
        match self.pending {
            Some(due) if due <= now => {
                self.pending = None;
                let now_up = self.in_quorum(self.count);
                (now_up != self.have_quorum).then(|| {
                    self.have_quorum = now_up;
                    now_up
                })
            }
            _ => None,
        }
    }
}

/// How many entries each spec counts.
pub fn counts<'a>(
    specs: impl IntoIterator<Item = &'a TrackProcessSpec>,
    entries: &[ProcEntry],
) -> Vec<u32> {
    specs
        .into_iter()
        .map(|s| entries.iter().filter(|e| matches(s, e)).count() as u32)
        .collect()
}

/// What must be read of each process for `specs`: (command names, command lines).
fn wanted<'a>(specs: impl IntoIterator<Item = &'a TrackProcessSpec>) -> (bool, bool) {
    specs.into_iter().fold((false, false), |(comm, cmd), s| {
        (comm || !s.full_command, cmd || s.full_command)
    })
}

/// Reads `/proc` once for `specs` (keepalived's start-up `read_procs`): each process's
/// quorum, with no delay, in the specs' order.
pub fn initial<'a>(specs: impl IntoIterator<Item = &'a TrackProcessSpec> + Clone) -> Vec<Quorum> {
    let (want_comm, want_cmdline) = wanted(specs.clone());
    let entries = scan(Path::new("/proc"), want_comm, want_cmdline);
    specs
        .clone()
        .into_iter()
        .zip(counts(specs, &entries))
        .map(|(spec, count)| {
            let q = Quorum::new(spec, count);
            tracing::info!(
                "Tracked process {}: {count} running, quorum {}",
                spec.name,
                if q.have_quorum() {
                    "achieved"
                } else {
                    "not achieved"
                }
            );
            q
        })
        .collect()
}

/// Follows the processes of `specs` (with their [`initial`] quorums and result channels, in
/// the same order) until `stop`: reads `/proc` every [`POLL`], and wakes for a pending delay
/// when it is due.
pub async fn run(
    specs: Vec<TrackProcessSpec>,
    mut quorums: Vec<Quorum>,
    senders: Vec<Arc<watch::Sender<Tracked>>>,
    stop: CancellationToken,
) {
    let (want_comm, want_cmdline) = wanted(&specs);
    let mut next_poll = Instant::now() + POLL;
    loop {
        let due = quorums.iter().filter_map(Quorum::deadline).min();
        let wake = due.map_or(next_poll, |d| d.min(next_poll));
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep_until(wake) => {}
        }
        let now = Instant::now();
        let changes: Vec<Option<bool>> = if now >= next_poll {
            next_poll = now + POLL;
            // A pass over /proc is a few hundred file reads: off the runtime's threads.
            let read = tokio::task::spawn_blocking(move || {
                scan(Path::new("/proc"), want_comm, want_cmdline)
            });
            let Ok(entries) = read.await else { continue };
            let counts = counts(&specs, &entries);
            quorums
                .iter_mut()
                .zip(counts)
                .map(|(q, c)| q.observe(c, now))
                .collect()
        } else {
            quorums.iter_mut().map(|q| q.expire(now)).collect()
        };
        for ((spec, tx), change) in specs.iter().zip(&senders).zip(changes) {
            let Some(now_up) = change else { continue };
            // track_process.c / vrrp_track.c `process_update_track_process_status`.
            tracing::info!(
                "Quorum {} for tracked process {}",
                if now_up { "gained" } else { "lost" },
                spec.name
            );
            tx.send_replace(Tracked::of(now_up));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(process: &str) -> TrackProcessSpec {
        TrackProcessSpec {
            name: "p".into(),
            process: process.into(),
            params: Vec::new(),
            param_match: None,
            full_command: false,
            quorum: 1,
            quorum_max: u32::MAX,
            terminate_delay: Duration::ZERO,
            fork_delay: Duration::ZERO,
        }
    }

    fn comm(c: &str) -> ProcEntry {
        ProcEntry {
            comm: Some(c.into()),
            cmdline: None,
        }
    }

    fn cmd(words: &[&str]) -> ProcEntry {
        ProcEntry {
            comm: None,
            cmdline: Some(words.iter().flat_map(|w| w.bytes().chain([0])).collect()),
        }
    }

    #[test]
    fn the_command_name_is_matched_whole() {
        let s = spec("haproxy");
        assert!(matches(&s, &comm("haproxy")));
        assert!(!matches(&s, &comm("haproxy2")));
        assert!(!matches(&s, &comm("hapro")));
        // A zombie has no name to match.
        assert!(!matches(
            &s,
            &ProcEntry {
                comm: None,
                cmdline: None
            }
        ));
    }

    #[test]
    fn full_command_matches_the_first_word_and_then_the_arguments() {
        let mut s = spec("/usr/sbin/haproxy");
        s.full_command = true;
        assert!(matches(&s, &cmd(&["/usr/sbin/haproxy", "-f", "x"])));
        assert!(!matches(&s, &cmd(&["haproxy", "-f", "x"])));
        s.params = vec!["-f".into(), "/etc/h".into()];
        s.param_match = Some(ParamMatch::Exact);
        assert!(matches(&s, &cmd(&["/usr/sbin/haproxy", "-f", "/etc/h"])));
        assert!(!matches(
            &s,
            &cmd(&["/usr/sbin/haproxy", "-f", "/etc/h", "-D"])
        ));
        assert!(!matches(&s, &cmd(&["/usr/sbin/haproxy", "-f", "/etc/hh"])));
        s.param_match = Some(ParamMatch::Partial);
        assert!(matches(
            &s,
            &cmd(&["/usr/sbin/haproxy", "-f", "/etc/h", "-D"])
        ));
        assert!(!matches(&s, &cmd(&["/usr/sbin/haproxy", "-f", "/etc/hh"])));
        s.param_match = Some(ParamMatch::Initial);
        assert!(matches(&s, &cmd(&["/usr/sbin/haproxy", "-f", "/etc/hh"])));
        assert!(!matches(&s, &cmd(&["/usr/sbin/haproxy", "-g", "/etc/h"])));
        // `param_match` without arguments: exact means no arguments at all.
        s.params.clear();
        s.param_match = Some(ParamMatch::Exact);
        assert!(matches(&s, &cmd(&["/usr/sbin/haproxy"])));
        assert!(!matches(&s, &cmd(&["/usr/sbin/haproxy", "-D"])));
    }

    #[test]
    fn stat_lines_give_the_name_and_skip_zombies() {
        assert_eq!(stat_comm("42 (sleep) S 1 42 42 0"), Some("sleep"));
        assert_eq!(stat_comm("42 (a) b) R 1"), Some("a) b"));
        assert_eq!(stat_comm("42 (sleep) Z 1 42"), None);
    }

    #[test]
    fn scan_reads_a_proc_tree() {
        let dir = tempfile::tempdir().unwrap();
        for (pid, stat, cmdline) in [
            ("7", "7 (nginx) S 1", &b"nginx: master\0"[..]),
            ("8", "8 (nginx) Z 7", &b""[..]),
            ("9", "9 (sleep) S 1", &b"sleep\x00100\x00"[..]),
        ] {
            std::fs::create_dir(dir.path().join(pid)).unwrap();
            std::fs::write(dir.path().join(pid).join("stat"), stat).unwrap();
            std::fs::write(dir.path().join(pid).join("cmdline"), cmdline).unwrap();
        }
        std::fs::create_dir(dir.path().join("self")).unwrap();
        let entries = scan(dir.path(), true, true);
        assert_eq!(entries.len(), 3);
        let nginx = spec("nginx");
        let mut sleep = spec("sleep");
        sleep.full_command = true;
        sleep.params = vec!["100".into()];
        sleep.param_match = Some(ParamMatch::Exact);
        assert_eq!(counts([&nginx, &sleep], &entries), vec![1, 1]);
    }

    #[tokio::test(start_paused = true)]
    async fn delays_debounce_quorum_changes_and_a_change_back_cancels() {
        let mut s = spec("x");
        s.quorum = 2;
        s.quorum_max = 3;
        s.terminate_delay = Duration::from_secs(2);
        s.fork_delay = Duration::from_secs(1);
        let t0 = Instant::now();
        let mut q = Quorum::new(&s, 2);
        assert!(q.have_quorum());
        // One exits: lost only after terminate_delay.
        assert_eq!(q.observe(1, t0), None);
        assert_eq!(q.deadline(), Some(t0 + Duration::from_secs(2)));
        assert_eq!(q.observe(1, t0 + Duration::from_millis(1500)), None);
        assert_eq!(q.expire(t0 + Duration::from_secs(2)), Some(false));
        // It comes back, and exits again within fork_delay: no change at all.
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(q.observe(2, t1), None);
        assert_eq!(q.observe(1, t1 + Duration::from_millis(500)), None);
        assert_eq!(q.deadline(), None);
        assert_eq!(q.expire(t1 + Duration::from_secs(5)), None);
        assert!(!q.have_quorum());
        // Up again for good.
        let t2 = t0 + Duration::from_secs(20);
        assert_eq!(q.observe(3, t2), None);
        assert_eq!(q.observe(3, t2 + Duration::from_secs(1)), Some(true));
        // Too many is a loss too, after the fork's delay.
        assert_eq!(q.observe(4, t2 + Duration::from_secs(5)), None);
        assert_eq!(q.expire(t2 + Duration::from_secs(6)), Some(false));
    }

    #[test]
    fn without_delays_a_change_counts_at_once_and_quorum_max_0_means_none_running() {
        let mut s = spec("x");
        let t = Instant::now();
        let mut q = Quorum::new(&s, 0);
        assert!(!q.have_quorum());
        assert_eq!(q.observe(1, t), Some(true));
        assert_eq!(q.observe(0, t), Some(false));
        s.quorum = 0;
        s.quorum_max = 0;
        let mut q = Quorum::new(&s, 0);
        assert!(q.have_quorum());
        assert_eq!(q.observe(1, t), Some(false));
    }
}
