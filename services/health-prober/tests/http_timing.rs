//! keepalived's HTTP_GET timing, measured from the target's side: the
//! instants at which attempts reach a loopback HTTP server.

mod support;

use std::time::Duration;

use keepalived_api::v1::{FailureReason, Verdict};
use support::*;

const HTTP: &str = "        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 1
            retry 3
            delay_before_retry 1
        }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_down_probing_while_down_and_recovery_follow_keepalived() {
    let target = HttpTarget::start().await;
    let prober = Prober::start(&config(
        "    delay_loop 2\n    warmup 0",
        &[(target.port, HTTP)],
    ));
    let id = format!("HTTP_GET:127.0.0.1:{}", target.port);
    let mut watch = prober.watch();

    // First check 1 s after start (warmup 0), then every delay_loop.
    let hits = wait_hits(&target, 2, Duration::from_secs(5)).await;
    assert_about(hits[0] - prober.started, 1.0, "first check");
    assert_about(hits[1] - hits[0], 2.0, "delay_loop spacing while healthy");

    // From now on the server answers 500.
    target.set(500, b"broken");
    let healthy = hits.len();
    let (down_at, change) = next_change(&mut watch, Duration::from_secs(12)).await;
    let hits = target.hits();
    let failing = &hits[healthy..];
    assert_eq!(failing.len(), 4, "retry 3: exactly 4 attempts before DOWN");
    assert_about(
        failing[0] - hits[healthy - 1],
        2.0,
        "first failing attempt at delay_loop",
    );
    for pair in failing.windows(2) {
        assert_about(
            pair[1] - pair[0],
            1.0,
            "delay_before_retry between failed attempts",
        );
    }
    assert_about(
        down_at - failing[3],
        0.0,
        "DOWN right after the 4th attempt",
    );
    assert_eq!(change.to, Verdict::Down as i32);
    assert_eq!(change.reason, "HTTP request failed");
    assert_eq!(
        change.mail_body,
        "=> CHECK failed on service : HTTP request failed <="
    );
    assert_eq!(change.attempts.len(), 4);
    assert!(
        change
            .attempts
            .iter()
            .all(|a| a.reason == FailureReason::StatusCode as i32 && a.detail == "status 500")
    );
    assert_eq!(prober.target(&id).verdict, Verdict::Down as i32);
    assert_eq!(prober.target(&id).consecutive_failures, 4);

    // Probing while down: every max(delay_before_retry, delay_loop) = 2 s.
    let hits = wait_hits(&target, healthy + 6, Duration::from_secs(6)).await;
    assert_about(
        hits[healthy + 4] - hits[healthy + 3],
        2.0,
        "probe while down",
    );
    assert_about(
        hits[healthy + 5] - hits[healthy + 4],
        2.0,
        "probe while down",
    );

    // Recovery: two successes delay_loop apart, UP after the second.
    target.set(200, b"ok");
    let before = target.hits().len();
    let (up_at, change) = next_change(&mut watch, Duration::from_secs(8)).await;
    let hits = target.hits();
    let recovering = &hits[before..];
    assert_eq!(recovering.len(), 2, "UP after exactly two successes");
    assert_about(
        recovering[1] - recovering[0],
        2.0,
        "second success delay_loop later",
    );
    assert_about(
        up_at - recovering[1],
        0.0,
        "UP right after the second success",
    );
    assert_eq!(change.to, Verdict::Up as i32);
    assert_eq!(change.mail_body, "=> CHECK succeed on service <=");
    let t = prober.target(&id);
    assert!(t.next_check.is_some() && t.last_result.as_ref().is_some_and(|r| r.success));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_check_that_fails_at_start_up_goes_down_after_one_attempt() {
    let target = HttpTarget::start().await;
    target.set(503, b"");
    let prober = Prober::start(&config(
        "    delay_loop 2\n    warmup 0",
        &[(target.port, HTTP)],
    ));
    let mut watch = prober.watch();
    let (down_at, change) = next_change(&mut watch, Duration::from_secs(5)).await;
    assert_eq!(change.to, Verdict::Down as i32);
    assert_eq!(target.hits().len(), 1, "the retry counter starts exhausted");
    assert_about(down_at - prober.started, 1.0, "DOWN at the first check");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alpha_starts_down_and_comes_up_on_its_first_success() {
    let target = HttpTarget::start().await;
    let body = HTTP.replace("retry 3", "retry 3\n            alpha");
    let prober = Prober::start(&config(
        "    delay_loop 2\n    warmup 0",
        &[(target.port, &body)],
    ));
    let id = format!("HTTP_GET:127.0.0.1:{}", target.port);
    assert_eq!(
        prober.target(&id).verdict,
        Verdict::Down as i32,
        "alpha: down at start"
    );
    let mut watch = prober.watch();
    let (up_at, change) = next_change(&mut watch, Duration::from_secs(5)).await;
    assert_eq!(change.to, Verdict::Up as i32);
    assert_eq!(target.hits().len(), 1, "one success when it never failed");
    assert_about(up_at - prober.started, 1.0, "UP at the first success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmup_spreads_first_checks_over_one_second_plus_warmup() {
    let mut servers = Vec::new();
    for _ in 0..8 {
        servers.push(HttpTarget::start().await);
    }
    let rs: Vec<(u16, &str)> = servers.iter().map(|s| (s.port, HTTP)).collect();
    let prober = Prober::start(&config("    delay_loop 30\n    warmup 2", &rs));
    let mut firsts = Vec::new();
    for s in &servers {
        let hits = wait_hits(s, 1, Duration::from_secs(5)).await;
        firsts.push((hits[0] - prober.started).as_secs_f64());
    }
    for f in &firsts {
        assert!(
            (0.9..=3.3).contains(f),
            "first check at {f:.3}s, not in 1 s + [0, 2 s)"
        );
    }
    let spread = firsts.iter().cloned().fold(f64::MIN, f64::max)
        - firsts.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread > 0.2, "first checks not spread: {firsts:?}");
}

/// keepalived checks one url per attempt, in turn, `delay_loop` apart; a
/// failure is retried on the same url and the verdict names it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_urls_are_checked_one_per_attempt_in_turn() {
    let target = HttpTarget::start().await;
    let body = "        HTTP_GET {
            url {
                path /first
            }
            url {
                path /second
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }";
    let prober = Prober::start(&config(
        "    delay_loop 1\n    warmup 0",
        &[(target.port, body)],
    ));
    let hits = wait_hits(&target, 4, Duration::from_secs(8)).await;
    let paths: Vec<String> = target
        .requests()
        .iter()
        .take(4)
        .map(|r| {
            let line = String::from_utf8_lossy(r);
            line.split_whitespace().nth(1).unwrap_or("").to_owned()
        })
        .collect();
    assert_eq!(paths, ["/first", "/second", "/first", "/second"]);
    for pair in hits[..4].windows(2) {
        assert_about(pair[1] - pair[0], 1.0, "one url per delay_loop");
    }
    // Both urls now fail: two attempts (retry 1) on the url in turn, DOWN.
    let mut watch = prober.watch();
    target.set(500, b"");
    let seen = target.hits().len();
    let (_, change) = next_change(&mut watch, Duration::from_secs(8)).await;
    assert_eq!(change.to, Verdict::Down as i32);
    let failing: Vec<String> = target.requests()[seen..]
        .iter()
        .map(|r| {
            let line = String::from_utf8_lossy(r);
            line.split_whitespace().nth(1).unwrap_or("").to_owned()
        })
        .collect();
    assert_eq!(failing.len(), 2, "retry 1: two attempts, {failing:?}");
    assert_eq!(
        failing[0], failing[1],
        "a failed url is retried, not the next one"
    );
}
