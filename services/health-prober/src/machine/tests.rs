//! Deterministic tests of the retry rules: time is a plain `Duration` driven
//! by the test; each timing rule of docs/keepalived-checker.md has its test.

use super::*;

const S: Duration = Duration::from_secs(1);

fn secs(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

fn timing(delay_loop: u32, retry: u32, dbr: u32) -> Timing {
    Timing {
        delay_loop: S * delay_loop,
        delay_before_retry: S * dbr,
        retry,
        warmup: S * delay_loop,
        alpha: false,
        log_all_failures: false,
        fast_recovery: false,
    }
}

/// One attempt as the driver saw it.
#[derive(Debug, Clone)]
struct Seen {
    started: Duration,
    step: Step,
}

/// Drives `machine` from `start` until `until`: the server answers per
/// `healthy(t)`, each attempt lasts `duration(success)`.
fn drive(
    machine: &mut Machine,
    first: Duration,
    until: Duration,
    healthy: impl Fn(Duration) -> bool,
    duration: impl Fn(bool) -> Duration,
) -> Vec<Seen> {
    let mut seen = Vec::new();
    let mut at = first;
    while at < until {
        let ok = healthy(at);
        let step = machine.on_attempt(at, at + duration(ok), ok);
        seen.push(Seen {
            started: at,
            step: step.clone(),
        });
        at = step.next_at;
    }
    seen
}

fn instant(_: bool) -> Duration {
    Duration::ZERO
}

#[test]
fn http_goes_down_after_retry_plus_one_failures_spaced_by_delay_before_retry() {
    let mut m = Machine::new(Flavor::Http, timing(2, 3, 1));
    // Healthy until t=10, refused (instant) afterwards.
    let seen = drive(&mut m, S, secs(20.0), |t| t < secs(10.0), instant);
    let first_fail = seen.iter().position(|s| s.started >= secs(10.0)).unwrap();
    let failing: Vec<&Seen> = seen[first_fail..].iter().collect();
    // Attempts 0..=3 are the retry + 1 attempts; DOWN on the fourth.
    for (i, s) in failing.iter().take(3).enumerate() {
        assert_eq!(
            s.step.changed, None,
            "attempt {i} must not change the verdict"
        );
        assert_eq!(
            s.step.next_at - s.started,
            S,
            "retry {i} is dbr after the end"
        );
    }
    assert_eq!(failing[3].step.changed, Some(false));
    assert_eq!(failing[3].step.notes, vec![Note::Down { retries: Some(3) }]);
    assert_eq!(failing[3].started - failing[0].started, 3 * S);
}

#[test]
fn a_timed_out_attempt_spaces_retries_by_connect_timeout_plus_delay_before_retry() {
    let mut m = Machine::new(Flavor::Http, timing(2, 3, 1));
    let connect_timeout = 2 * S;
    let seen = drive(
        &mut m,
        S,
        secs(30.0),
        |t| t < secs(4.0),
        |ok| if ok { Duration::ZERO } else { connect_timeout },
    );
    let fails: Vec<&Seen> = seen.iter().filter(|s| s.started >= secs(4.0)).collect();
    for pair in fails.windows(2).take(3) {
        assert_eq!(pair[1].started - pair[0].started, connect_timeout + S);
    }
    assert_eq!(fails[3].step.changed, Some(false));
}

#[test]
fn healthy_checks_repeat_every_delay_loop_after_the_previous_ends() {
    let mut m = Machine::new(Flavor::Http, timing(5, 1, 1));
    let took = Duration::from_millis(30);
    let seen = drive(&mut m, S, secs(30.0), |_| true, |_| took);
    for pair in seen.windows(2) {
        assert_eq!(pair[1].started - pair[0].started, 5 * S + took);
    }
    // Start-up success is logged once ("succeed on service"), then silence.
    assert_eq!(seen[0].step.notes, vec![Note::Up]);
    assert_eq!(seen[0].step.changed, None, "already up without alpha");
    assert!(seen[1..].iter().all(|s| s.step.notes.is_empty()));
}

#[test]
fn while_down_probes_every_max_of_delay_before_retry_and_delay_loop_silently() {
    for (dl, dbr) in [(2, 1), (1, 3)] {
        let mut m = Machine::new(Flavor::Http, timing(dl, 1, dbr));
        let seen = drive(&mut m, S, secs(40.0), |t| t < secs(3.0), instant);
        let down = seen
            .iter()
            .position(|s| s.step.changed == Some(false))
            .unwrap();
        for pair in seen[down..].windows(2) {
            assert_eq!(pair[1].started - pair[0].started, S * dl.max(dbr));
            assert!(pair[1].step.notes.is_empty());
        }
    }
}

#[test]
fn recovery_needs_two_successes_delay_loop_apart_and_logs_as_keepalived() {
    let mut m = Machine::new(Flavor::Http, timing(2, 3, 1));
    let seen = drive(
        &mut m,
        S,
        secs(40.0),
        |t| !(secs(5.0)..secs(20.0)).contains(&t),
        instant,
    );
    let back = seen.iter().position(|s| s.started >= secs(20.0)).unwrap();
    assert_eq!(seen[back].step.notes, vec![Note::SuccessWhileDown]);
    assert_eq!(seen[back].step.changed, None);
    assert_eq!(seen[back + 1].started - seen[back].started, 2 * S);
    assert_eq!(
        seen[back + 1].step.notes,
        vec![Note::SuccessWhileDown, Note::Up]
    );
    assert_eq!(seen[back + 1].step.changed, Some(true));
}

#[test]
fn down_then_success_then_failure_then_success_comes_up_on_the_last_success() {
    // keepalived clears the failed-URL mark on a success; a failure while down
    // does not set it again, so the next success brings the server up.
    let mut m = Machine::new(Flavor::Http, timing(2, 0, 1));
    let step = m.on_attempt(S, S, false);
    assert_eq!(step.changed, Some(false));
    assert_eq!(
        step.notes,
        vec![Note::Down { retries: None }],
        "retry 0: \"failed.\""
    );
    let step = m.on_attempt(3 * S, 3 * S, true);
    assert_eq!((step.changed, step.next_at), (None, 5 * S));
    let step = m.on_attempt(5 * S, 5 * S, false);
    assert_eq!(step.next_at, 6 * S, "no failed mark: dbr");
    let step = m.on_attempt(6 * S, 6 * S, true);
    assert_eq!(step.changed, Some(true));
}

#[test]
fn a_success_between_failures_resets_the_retry_count() {
    let mut m = Machine::new(Flavor::Http, timing(2, 2, 1));
    m.on_attempt(S, S, true);
    m.on_attempt(3 * S, 3 * S, false);
    m.on_attempt(4 * S, 4 * S, false);
    m.on_attempt(5 * S, 5 * S, true);
    assert_eq!(m.on_attempt(7 * S, 7 * S, false).changed, None);
    assert_eq!(m.on_attempt(8 * S, 8 * S, false).changed, None);
    assert_eq!(m.on_attempt(9 * S, 9 * S, false).changed, Some(false));
}

#[test]
fn first_check_failing_at_start_goes_down_after_one_attempt_and_says_retries() {
    let mut m = Machine::new(Flavor::Http, timing(2, 3, 1));
    assert!(m.is_up(), "without alpha a server starts up");
    let step = m.on_attempt(S, S, false);
    assert_eq!(step.changed, Some(false));
    assert_eq!(step.notes, vec![Note::Down { retries: Some(3) }]);
    assert_eq!(step.next_at, 3 * S, "then probes at max(dbr, delay_loop)");
}

#[test]
fn alpha_starts_down_silent_while_failing_and_up_on_first_success() {
    let mut t = timing(2, 3, 1);
    t.alpha = true;
    let mut m = Machine::new(Flavor::Http, t);
    assert!(!m.is_up());
    let step = m.on_attempt(S, S, true);
    assert_eq!(step.notes, vec![Note::SuccessWhileDown, Note::Up]);
    assert_eq!(step.changed, Some(true), "one success when it never failed");

    let mut m = Machine::new(Flavor::Http, t);
    for i in 0..4 {
        let step = m.on_attempt(
            secs(1.0 + 2.0 * f64::from(i)),
            secs(1.0 + 2.0 * f64::from(i)),
            false,
        );
        assert!(
            step.notes.is_empty() && step.changed.is_none(),
            "alpha is silent"
        );
    }
    assert_eq!(m.on_attempt(9 * S, 9 * S, true).changed, None);
    assert_eq!(m.on_attempt(11 * S, 11 * S, true).changed, Some(true));
}

#[test]
fn first_check_is_one_second_plus_a_random_share_of_warmup() {
    let mut t = timing(10, 1, 1);
    t.warmup = 4 * S;
    let m = Machine::new(Flavor::Http, t);
    assert_eq!(m.first_check_at(100 * S, 0.0), 101 * S);
    assert_eq!(m.first_check_at(100 * S, 0.5), 103 * S);
    t.warmup = Duration::ZERO;
    assert_eq!(
        Machine::new(Flavor::Tcp, t).first_check_at(Duration::ZERO, 0.9),
        S
    );
}

#[test]
fn log_all_failures_notes_each_failed_attempt_while_up_only() {
    let mut t = timing(2, 2, 1);
    t.log_all_failures = true;
    let mut m = Machine::new(Flavor::Http, t);
    m.on_attempt(S, S, true);
    assert_eq!(
        m.on_attempt(3 * S, 3 * S, false).notes,
        vec![Note::AttemptFailed]
    );
    assert_eq!(
        m.on_attempt(4 * S, 4 * S, false).notes,
        vec![Note::AttemptFailed]
    );
    assert_eq!(
        m.on_attempt(5 * S, 5 * S, false).notes,
        vec![Note::AttemptFailed, Note::Down { retries: Some(2) }]
    );
    assert!(m.on_attempt(7 * S, 7 * S, false).notes.is_empty());
}

#[test]
fn consecutive_failures_count_and_reset() {
    let mut m = Machine::new(Flavor::Http, timing(2, 5, 1));
    for _ in 0..3 {
        m.on_attempt(S, S, false);
    }
    assert_eq!(m.consecutive_failures(), 3);
    m.on_attempt(S, S, true);
    assert_eq!(m.consecutive_failures(), 0);
}

#[test]
fn tcp_comes_up_on_one_success_and_cycles_retries_while_down() {
    let mut m = Machine::new(Flavor::Tcp, timing(5, 2, 1));
    let step = m.on_attempt(S, S, false);
    assert_eq!(step.changed, Some(false));
    assert_eq!(
        step.notes,
        vec![Note::Down { retries: None }],
        "first run: \"failed.\""
    );
    assert_eq!(step.next_at, 6 * S);
    // While down: dbr, dbr, then delay_loop.
    assert_eq!(m.on_attempt(6 * S, 6 * S, false).next_at, 7 * S);
    assert_eq!(m.on_attempt(7 * S, 7 * S, false).next_at, 8 * S);
    let step = m.on_attempt(8 * S, 8 * S, false);
    assert_eq!((step.next_at, step.notes.len()), (13 * S, 0));
    let step = m.on_attempt(13 * S, 13 * S, true);
    assert_eq!(step.changed, Some(true));
    assert_eq!(step.notes, vec![Note::Up]);
    // Up: retry + 1 attempts before DOWN, with the retry count.
    assert_eq!(m.on_attempt(18 * S, 18 * S, false).changed, None);
    assert_eq!(m.on_attempt(19 * S, 19 * S, false).changed, None);
    let step = m.on_attempt(20 * S, 20 * S, false);
    assert_eq!(step.notes, vec![Note::Down { retries: Some(2) }]);
}

#[test]
fn dns_probes_every_delay_loop_while_down_and_comes_up_silently() {
    let mut m = Machine::new(Flavor::Dns, timing(4, 1, 1));
    m.on_attempt(S, S, true);
    let step = m.on_attempt(5 * S, 5 * S, false);
    assert_eq!((step.changed, step.next_at), (None, 6 * S));
    let step = m.on_attempt(6 * S, 6 * S, false);
    assert_eq!(step.changed, Some(false));
    assert_eq!(step.notes, vec![Note::Down { retries: Some(1) }]);
    assert_eq!(step.next_at, 10 * S);
    assert_eq!(m.on_attempt(10 * S, 10 * S, false).next_at, 14 * S);
    let step = m.on_attempt(14 * S, 14 * S, true);
    assert_eq!((step.changed, step.notes.len()), (Some(true), 0));
}

#[test]
fn misc_is_timed_from_the_start_of_the_run_and_retries_only_while_up() {
    let mut t = timing(5, 1, 2);
    t.warmup = Duration::ZERO;
    let mut m = Machine::new(Flavor::Misc, t);
    let step = m.on_attempt(S, secs(1.5), true);
    assert_eq!(step.notes, vec![Note::Up], "first success is reported");
    assert_eq!(step.next_at, 6 * S, "delay_loop from the start");
    let step = m.on_attempt(6 * S, secs(6.5), false);
    assert_eq!((step.changed, step.next_at), (None, 8 * S));
    let step = m.on_attempt(8 * S, secs(8.5), false);
    assert_eq!(step.changed, Some(false));
    assert_eq!(step.notes, vec![Note::Down { retries: None }]);
    assert_eq!(step.next_at, 13 * S);
    // A run longer than the interval: next one right after it ends.
    let step = m.on_attempt(13 * S, 20 * S, false);
    assert_eq!((step.next_at, step.notes.len()), (20 * S, 0));
    assert_eq!(m.on_attempt(20 * S, 20 * S, true).changed, Some(true));
}

#[test]
fn misc_with_retry_zero_goes_down_on_the_first_failure() {
    let mut m = Machine::new(Flavor::Misc, timing(5, 0, 0));
    m.on_attempt(S, S, true);
    assert_eq!(m.on_attempt(6 * S, 6 * S, false).changed, Some(false));
}

#[test]
fn a_real_server_is_up_only_while_all_its_checkers_are_up() {
    assert!(real_server_up([true, true]));
    assert!(!real_server_up([true, false]));
    assert!(real_server_up(std::iter::empty()));
}

#[test]
fn smtp_retries_each_cycle_from_zero_and_logs_the_last_failure() {
    let mut m = Machine::new(Flavor::Smtp, timing(5, 1, 1));
    // Start-up: the count is fresh, so two attempts before DOWN.
    let step = m.on_attempt(S, S, false);
    assert_eq!(
        (step.changed, step.next_at, step.notes.len()),
        (None, 2 * S, 0)
    );
    let step = m.on_attempt(2 * S, 2 * S, false);
    assert_eq!(step.changed, Some(false));
    assert_eq!(step.notes, vec![Note::AttemptFailed]);
    assert_eq!(step.next_at, 7 * S);
    let step = m.on_attempt(7 * S, 7 * S, true);
    assert_eq!(
        (step.changed, step.notes.clone()),
        (Some(true), vec![Note::Up])
    );
}

/// Like [`drive`], for an HTTP checker whose answer depends on the url.
fn drive_urls(
    machine: &mut Machine,
    first: Duration,
    until: Duration,
    healthy: impl Fn(Duration, usize) -> bool,
) -> Vec<(usize, Seen)> {
    let mut seen = Vec::new();
    let mut at = first;
    while at < until {
        let url = machine.current_url();
        let step = machine.on_attempt(at, at, healthy(at, url));
        seen.push((
            url,
            Seen {
                started: at,
                step: step.clone(),
            },
        ));
        at = step.next_at;
    }
    seen
}

#[test]
fn http_checks_one_url_per_attempt_in_turn_and_comes_up_after_the_last() {
    let mut m = Machine::new(Flavor::Http, timing(2, 1, 1)).with_urls(3);
    let seen = drive_urls(&mut m, S, secs(13.0), |_, _| true);
    let urls: Vec<usize> = seen.iter().map(|(u, _)| *u).collect();
    assert_eq!(urls, vec![0, 1, 2, 0, 1, 2]);
    for pair in seen.windows(2) {
        assert_eq!(pair[1].1.started - pair[0].1.started, 2 * S);
    }
    // keepalived logs "succeed on service" when the last url of the first
    // pass answers, not before.
    let notes: Vec<&Vec<Note>> = seen.iter().map(|(_, s)| &s.step.notes).collect();
    assert_eq!(notes[0], &Vec::<Note>::new());
    assert_eq!(notes[1], &Vec::<Note>::new());
    assert_eq!(notes[2], &vec![Note::Up]);
    assert!(notes[3..].iter().all(|n| n.is_empty()));
}

#[test]
fn a_failing_url_is_retried_alone_and_recovery_walks_every_url_again() {
    let mut m = Machine::new(Flavor::Http, timing(2, 1, 1)).with_urls(3);
    // url 1 fails from t=10 to t=20.
    let broken = |t: Duration, url: usize| !(url == 1 && t >= secs(10.0) && t < secs(20.0));
    let seen = drive_urls(&mut m, S, secs(40.0), broken);
    let down = seen
        .iter()
        .position(|(_, s)| s.step.changed == Some(false))
        .unwrap();
    // retry 1: two attempts on url 1, then DOWN.
    assert_eq!(seen[down].0, 1);
    assert_eq!(seen[down - 1].0, 1);
    assert!(!seen[down - 1].1.step.notes.contains(&Note::Up));
    // While down only url 1 is probed, until it answers at t >= 20.
    let back = seen
        .iter()
        .position(|(u, s)| *u == 1 && s.started >= secs(20.0))
        .unwrap();
    assert!(seen[down + 1..back].iter().all(|(u, _)| *u == 1));
    // Its success restarts the pass at url 0; UP when url 2 answers.
    let after: Vec<usize> = seen[back..back + 4].iter().map(|(u, _)| *u).collect();
    assert_eq!(after, vec![1, 0, 1, 2]);
    assert_eq!(seen[back + 3].1.step.changed, Some(true));
    assert!(
        seen[back..back + 3]
            .iter()
            .all(|(_, s)| s.step.changed.is_none())
    );
    assert_eq!(
        seen[back + 1].1.started - seen[back].1.started,
        2 * S,
        "without fast_recovery the pass waits delay_loop"
    );
}

#[test]
fn fast_recovery_checks_again_at_once_while_recovering_but_not_after_a_failure() {
    let mut t = timing(5, 1, 2);
    t.fast_recovery = true;
    let mut m = Machine::new(Flavor::Http, t).with_urls(2);
    // At start, before the first complete check: url 0 answers, url 1 at once.
    let first = m.on_attempt(S, S, true);
    assert_eq!(
        first.next_at, S,
        "fast_recovery: no wait before the first complete check"
    );
    let up = m.on_attempt(S, S, true);
    assert_eq!(up.notes, vec![Note::Up]);
    assert_eq!(up.next_at, S + 5 * S, "once up, delay_loop");
    // Down on url 0 (two failures), then probed every max(dbr, delay_loop).
    m.on_attempt(secs(6.0), secs(6.0), false);
    let down = m.on_attempt(secs(8.0), secs(8.0), false);
    assert_eq!(down.changed, Some(false));
    assert_eq!(down.next_at, secs(13.0));
    // The failed url answers: the pass over every url follows at once.
    let cleared = m.on_attempt(secs(13.0), secs(13.0), true);
    assert_eq!(cleared.next_at, secs(13.0));
    // A failure in that pass keeps delay_before_retry (no busy loop).
    let failed = m.on_attempt(secs(13.0), secs(13.0), false);
    assert_eq!(failed.next_at, secs(15.0));
    let ok0 = m.on_attempt(secs(15.0), secs(15.0), true);
    assert_eq!(ok0.next_at, secs(15.0));
    let ok1 = m.on_attempt(secs(15.0), secs(15.0), true);
    assert_eq!(ok1.changed, Some(true));
    assert_eq!(ok1.next_at, secs(20.0));
}

#[test]
fn a_seeded_machine_keeps_its_verdict_through_one_failure_and_needs_its_retries() {
    for flavor in [Flavor::Http, Flavor::Tcp, Flavor::Dns, Flavor::Misc] {
        let mut up = Machine::new(flavor, timing(4, 1, 1)).seeded(true);
        // A fresh machine goes down on its first failure ("one failure is
        // enough initially"); a seeded one runs its retries first.
        let first = up.on_attempt(S, S, false);
        assert_eq!(first.changed, None, "{flavor:?}");
        assert!(up.is_up(), "{flavor:?}");
        let mut down = Machine::new(flavor, timing(4, 1, 1)).seeded(false);
        assert!(!down.is_up());
        // A success while seeded down does not log "Adding service" at once for HTTP
        // (two successes to recover, as keepalived's failed url).
        let step = down.on_attempt(S, S, true);
        if flavor == Flavor::Http {
            assert_eq!(step.changed, None);
        }
    }
    let mut fresh = Machine::new(Flavor::Tcp, timing(4, 1, 1));
    assert_eq!(fresh.on_attempt(S, S, false).changed, Some(false));
}
