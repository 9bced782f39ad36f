//! The pure per-checker state machine: keepalived 2.2.7's retry semantics with
//! time passed in (no I/O, no clock). The shell feeds it the outcome of each
//! attempt with the attempt's start and end; it answers when the next attempt
//! is due, whether the verdict changed, and what keepalived would log.
//!
//! keepalived's checkers do not share one retry logic; each family has its own
//! epilog, reproduced here as a [`Flavor`]:
//!
//! - [`Flavor::Http`] (HTTP_GET, SSL_GET; `check_http.c` `epilog`/`timeout_epilog`):
//!   a failed attempt while up is retried `delay_before_retry` after it ends;
//!   the `retry + 1`-th failure marks the URL failed and the checker DOWN.
//!   While a URL is marked failed, attempts run every `max(delay_before_retry,
//!   delay_loop)`. The first success clears the failed mark (logged only as
//!   `HTTP status code success`), the next success `delay_loop` later brings
//!   the checker UP: hence two successes to recover. An attempt fetches ONE
//!   url; a success moves on to the next url `delay_loop` later, and the
//!   check is complete (UP) when the last url answers in turn. With
//!   `fast_recovery` the attempt after a success follows at once while the
//!   checker is down with no url marked failed, and before the first complete
//!   check (keepalived also skips the wait after a failure there, a busy loop
//!   against a refusing server; we keep `delay_before_retry` after failures).
//! - [`Flavor::Tcp`] (TCP_CHECK; also used for UDP_CHECK and PING_CHECK, whose
//!   epilogs were not verified against keepalived's source, and for
//!   FILE_CHECK with `retry` 0, as keepalived's follows its file without
//!   retries): one success brings it UP; the retry counter also
//!   cycles while down (`retry` attempts `delay_before_retry` apart, then one
//!   `delay_loop` gap).
//! - [`Flavor::Dns`] (DNS_CHECK, `dns_final`): like TCP while up; while down
//!   every attempt is `delay_loop` apart; a success brings it UP silently.
//! - [`Flavor::Smtp`] (SMTP_CHECK, `smtp_final`): each `delay_loop` cycle
//!   starts with a fresh retry count (also at start-up); the failure line is
//!   logged on the last attempt (or every attempt with `log_all_failures`).
//! - [`Flavor::Misc`] (MISC_CHECK): the next run is timed from the START of
//!   the previous one; failures while down are not counted.
//!
//! Common to all: the retry counter starts exhausted (`check_api.c`: "one
//! failure is enough initially"), so a server without `alpha` whose first
//! check fails goes DOWN after one attempt; `alpha` starts the checker DOWN.

use std::time::Duration;

/// Which keepalived epilog a checker follows (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// HTTP_GET and SSL_GET.
    Http,
    /// TCP_CHECK and the checkers built like it.
    Tcp,
    /// DNS_CHECK.
    Dns,
    /// SMTP_CHECK.
    Smtp,
    /// MISC_CHECK.
    Misc,
}

/// The resolved timing of one checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Interval between checks while healthy.
    pub delay_loop: Duration,
    /// Delay between a failed attempt and its retry.
    pub delay_before_retry: Duration,
    /// Retries after the first failed attempt (attempts before DOWN = retry + 1).
    pub retry: u32,
    /// Maximum random extra delay before the first check.
    pub warmup: Duration,
    /// Start DOWN, silent until the first success.
    pub alpha: bool,
    /// Log every failed attempt while up.
    pub log_all_failures: bool,
    /// HTTP `fast_recovery` (see the module docs).
    pub fast_recovery: bool,
}

/// The first check comes 1 s after start plus a random share of `warmup`
/// (keepalived: `1 s + random() % warmup`).
pub const FIRST_CHECK_BASE: Duration = Duration::from_secs(1);

/// What keepalived would log after an attempt; the wording depends on the
/// checker type and lives in `words`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// One failed attempt (`log_all_failures`, or DNS's last attempt).
    AttemptFailed,
    /// A success while down that does not yet bring the checker up
    /// (HTTP: `HTTP status code success to … url(/)`).
    SuccessWhileDown,
    /// The checker is (again, or at start confirmed) up.
    Up,
    /// The checker went down; `retries` is `Some(n)` for "failed after n
    /// retries." and `None` for plain "failed.".
    Down {
        /// Retries reported in the log line.
        retries: Option<u32>,
    },
}

/// The machine's answer to one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// When the next attempt is due (same clock as the attempt times).
    pub next_at: Duration,
    /// `Some(true)` when the checker went UP, `Some(false)` when it went DOWN.
    pub changed: Option<bool>,
    /// Log lines keepalived would write, in order.
    pub notes: Vec<Note>,
}

/// One checker's retry state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    flavor: Flavor,
    timing: Timing,
    is_up: bool,
    has_run: bool,
    retry_it: u32,
    /// HTTP: a URL is marked failed (set when retries are exhausted); it is
    /// then the current one.
    failed_url: bool,
    /// HTTP: how many urls the checker has, and the one the next attempt fetches.
    urls: usize,
    url_it: usize,
    /// MISC: the first success has been reported.
    initial_reported: bool,
    consecutive_failures: u32,
}

impl Machine {
    /// A checker at start-up: UP unless `alpha`, retry counter exhausted.
    pub fn new(flavor: Flavor, timing: Timing) -> Self {
        Self {
            flavor,
            timing,
            is_up: !timing.alpha,
            has_run: false,
            // SMTP restarts its count at every cycle, the first included.
            retry_it: if flavor == Flavor::Smtp {
                0
            } else {
                timing.retry
            },
            failed_url: false,
            urls: 1,
            url_it: 0,
            initial_reported: false,
            consecutive_failures: 0,
        }
    }

    /// A checker taking over a verdict it did not reach itself (a replica
    /// becoming a target's owner starts from the verdict on the bus): as if
    /// it had already run with that verdict, so its retries apply before it
    /// turns (a server up everywhere does not go down on the new owner's
    /// first failed attempt, nor does one down come up on its first success).
    pub fn seeded(mut self, up: bool) -> Self {
        self.is_up = up;
        self.has_run = true;
        self.retry_it = 0;
        // HTTP: while down the failing url is the one probed until it answers.
        self.failed_url = !up && self.flavor == Flavor::Http;
        self.initial_reported = true;
        self
    }

    /// An HTTP checker with `count` urls (one by default).
    pub fn with_urls(mut self, count: usize) -> Self {
        self.urls = count.max(1);
        self
    }

    /// The url (index into the checker's urls) the next attempt fetches.
    pub fn current_url(&self) -> usize {
        self.url_it
    }

    /// When the first attempt is due after a start at `now`; `share` in
    /// `[0, 1)` is the random share of `warmup`.
    pub fn first_check_at(&self, now: Duration, share: f64) -> Duration {
        let share = share.clamp(0.0, 1.0);
        now + FIRST_CHECK_BASE + self.timing.warmup.mul_f64(share)
    }

    /// Whether the checker is up.
    pub fn is_up(&self) -> bool {
        self.is_up
    }

    /// Failed attempts in a row.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// The timing this machine runs with.
    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// Feeds the outcome of one attempt that ran from `started` to `ended`.
    pub fn on_attempt(&mut self, started: Duration, ended: Duration, success: bool) -> Step {
        if success {
            self.consecutive_failures = 0;
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        }
        let was_up = self.is_up;
        let (next_at, notes) = match self.flavor {
            Flavor::Http => self.http(ended, success),
            Flavor::Tcp => self.tcp(ended, success),
            Flavor::Dns => self.dns(ended, success),
            Flavor::Smtp => self.smtp(ended, success),
            Flavor::Misc => self.misc(started, ended, success),
        };
        let changed = (was_up != self.is_up).then_some(self.is_up);
        Step {
            next_at,
            changed,
            notes,
        }
    }

    fn down_note(&self) -> Note {
        // keepalived prints the retry count only when retry > 0 and the
        // checker has run; HTTP and TCP set has_run before deciding.
        Note::Down {
            retries: (self.timing.retry > 0 && self.has_run).then_some(self.timing.retry),
        }
    }

    /// `check_http.c`: `http_handle_response` → `epilog(NEW)`, failures →
    /// `timeout_epilog` → `epilog(RETRY)` while up or before the first run,
    /// `epilog(FAILED)` once known dead.
    fn http(&mut self, ended: Duration, success: bool) -> (Duration, Vec<Note>) {
        let t = self.timing;
        let mut notes = Vec::new();
        if success {
            if !self.is_up {
                notes.push(Note::SuccessWhileDown);
            }
            // epilog(REGISTER_CHECKER_NEW): on to the next url.
            self.url_it += 1;
            self.retry_it = 0;
            if self.url_it >= self.urls && !self.failed_url {
                // Every url answered in turn: the check is complete.
                if !self.is_up || !self.has_run {
                    notes.push(Note::Up);
                    self.is_up = true;
                    self.has_run = true;
                }
                self.url_it = 0;
            } else if self.failed_url {
                // The failed url answers again: check all urls once more
                // before declaring the server up.
                self.failed_url = false;
                self.url_it = 0;
            }
            if !self.has_run {
                // Before the first complete check one failure is enough.
                self.retry_it = t.retry;
            }
            return (ended + self.http_delay(t.delay_loop), notes);
        }
        if self.is_up || !self.has_run {
            if t.log_all_failures {
                notes.push(Note::AttemptFailed);
            }
            self.has_run = true;
            self.retry_it += 1;
            if self.retry_it > t.retry {
                if self.is_up {
                    notes.push(self.down_note());
                    self.is_up = false;
                }
                // The current url is the failed one: it is probed until it answers.
                self.failed_url = true;
            }
        }
        let delay = if self.failed_url {
            t.delay_before_retry.max(t.delay_loop)
        } else {
            t.delay_before_retry
        };
        // keepalived's epilog would also skip this wait under fast_recovery,
        // which against a refusing server is a busy loop: the retry delay stays.
        (ended + delay, notes)
    }

    /// `fast_recovery` after a success: no wait while down with no url
    /// marked failed, nor before the first complete check.
    fn http_delay(&self, delay: Duration) -> Duration {
        if self.timing.fast_recovery && (!self.has_run || (!self.is_up && !self.failed_url)) {
            Duration::ZERO
        } else {
            delay
        }
    }

    /// `check_tcp.c` `tcp_epilog`.
    fn tcp(&mut self, ended: Duration, success: bool) -> (Duration, Vec<Note>) {
        let t = self.timing;
        let mut notes = Vec::new();
        if !success && self.is_up && t.log_all_failures {
            notes.push(Note::AttemptFailed);
        }
        let delay = if success || self.retry_it >= t.retry {
            self.retry_it = 0;
            if success && (!self.is_up || !self.has_run) {
                notes.push(Note::Up);
                self.is_up = true;
            } else if !success && (self.is_up || !self.has_run) {
                notes.push(self.down_note());
                self.is_up = false;
            }
            t.delay_loop
        } else {
            self.retry_it += 1;
            t.delay_before_retry
        };
        self.has_run = true;
        (ended + delay, notes)
    }

    /// `check_dns.c` `dns_final`.
    fn dns(&mut self, ended: Duration, success: bool) -> (Duration, Vec<Note>) {
        let t = self.timing;
        let mut notes = Vec::new();
        if !success {
            if self.is_up || !self.has_run {
                let exhausted = self.retry_it >= t.retry;
                if t.log_all_failures || exhausted {
                    notes.push(if exhausted {
                        self.down_note()
                    } else {
                        Note::AttemptFailed
                    });
                }
                if !exhausted {
                    self.retry_it += 1;
                    self.has_run = true;
                    return (ended + t.delay_before_retry, notes);
                }
                self.is_up = false;
            }
        } else if !self.is_up || !self.has_run {
            // dns_final logs nothing on success; the UP shows in the verdict.
            self.is_up = true;
        }
        self.has_run = true;
        self.retry_it = 0;
        (ended + t.delay_loop, notes)
    }

    /// `check_smtp.c` `smtp_final` (one host per checker).
    fn smtp(&mut self, ended: Duration, success: bool) -> (Duration, Vec<Note>) {
        let t = self.timing;
        let mut notes = Vec::new();
        if success {
            self.retry_it = 0;
            if !self.is_up || !self.has_run {
                notes.push(Note::Up);
                self.is_up = true;
            }
            self.has_run = true;
            return (ended + t.delay_loop, notes);
        }
        let may_log = self.is_up || !self.has_run;
        if may_log && (t.log_all_failures || self.retry_it >= t.retry) {
            notes.push(Note::AttemptFailed);
        }
        self.retry_it += 1;
        if self.retry_it <= t.retry {
            return (ended + t.delay_before_retry, notes);
        }
        if may_log && self.is_up {
            // The failure line above is keepalived's only DOWN line here.
            self.is_up = false;
        }
        self.retry_it = 0;
        (ended + t.delay_loop, notes)
    }

    /// `check_misc.c` `misc_check_child_thread`.
    fn misc(&mut self, started: Duration, ended: Duration, success: bool) -> (Duration, Vec<Note>) {
        let t = self.timing;
        let mut notes = Vec::new();
        if success {
            if !self.is_up || !self.initial_reported {
                notes.push(Note::Up);
                self.is_up = true;
                self.initial_reported = true;
            }
            self.retry_it = 0;
        } else if self.is_up {
            if self.retry_it < t.retry {
                self.retry_it += 1;
            } else {
                notes.push(Note::Down { retries: None });
                self.is_up = false;
                self.retry_it = 0;
            }
        }
        self.has_run = true;
        // Timed from the start of the run; never in the past.
        let delay = if self.retry_it > 0 {
            t.delay_before_retry
        } else {
            t.delay_loop
        };
        ((started + delay).max(ended), notes)
    }
}

/// A real server with several checkers is up only while all of them are up
/// (keepalived's `num_failed_checkers == 0`).
pub fn real_server_up(checkers_up: impl IntoIterator<Item = bool>) -> bool {
    checkers_up.into_iter().all(|up| up)
}

#[cfg(test)]
mod tests;
