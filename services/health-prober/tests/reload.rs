//! SIGHUP reload semantics, measured from the targets' side: an unchanged
//! checker keeps its state and schedule (no extra attempt, no flap); a
//! changed one restarts; a new one starts; a removed one stops.

mod support;

use std::time::Duration;

use futures::StreamExt as _;
use keepalived_api::v1::{Verdict, health_event::Payload};
use support::*;

fn http(retry: u32) -> String {
    format!(
        "        HTTP_GET {{
            url {{
                path /
            }}
            connect_timeout 1
            retry {retry}
            delay_before_retry 1
        }}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_checkers_keep_state_and_schedule_across_a_reload() {
    let kept = HttpTarget::start().await;
    let changed = HttpTarget::start().await;
    let removed = HttpTarget::start().await;
    let added = HttpTarget::start().await;
    let opts = "    delay_loop 3\n    warmup 0";
    let before = config(
        opts,
        &[
            (kept.port, &http(2)),
            (changed.port, &http(2)),
            (removed.port, &http(2)),
        ],
    );
    let prober = Prober::start(&before);
    let kept_id = format!("HTTP_GET:127.0.0.1:{}", kept.port);
    // The kept target fails once (still UP, retry counter 1) before the reload.
    let first = wait_hits(&kept, 1, Duration::from_secs(4)).await[0];
    kept.set(500, b"");
    let second = wait_hits(&kept, 2, Duration::from_secs(5)).await[1];
    assert_about(second - first, 3.0, "delay_loop");
    kept.set(200, b"ok");
    // The target saw the request before the prober read the 500: wait for
    // the prober to count it (well inside the 1 s until the retry).
    let counted = tokio::time::Instant::now() + Duration::from_millis(800);
    while prober.target(&kept_id).consecutive_failures != 1 && tokio::time::Instant::now() < counted
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(prober.target(&kept_id).consecutive_failures, 1);
    let mut watch = prober.watch();
    // Reload half-way to the kept target's retry (due 1 s after `second`).
    tokio::time::sleep_until(second + Duration::from_millis(400)).await;
    let after = config(
        opts,
        &[
            (kept.port, &http(2)),
            (changed.port, &http(1)),
            (added.port, &http(2)),
        ],
    );
    let reloaded_at = tokio::time::Instant::now();
    prober.reload(&after);

    // The kept target: its retry comes 1 s after the failed attempt, as scheduled before.
    let third = wait_hits(&kept, 3, Duration::from_secs(4)).await[2];
    assert_about(third - second, 1.0, "the pending retry keeps its schedule");
    assert_eq!(kept.hits().len(), 3, "no extra attempt");
    assert_eq!(prober.target(&kept_id).verdict, Verdict::Up as i32);
    // The changed and added targets start afresh: 1 s after the reload.
    let changed_hits_before = changed.hits().len();
    let c = wait_hits(&changed, changed_hits_before + 1, Duration::from_secs(4)).await;
    assert_about(
        c[changed_hits_before] - reloaded_at,
        1.0,
        "changed checker restarts",
    );
    let changed_id = format!("HTTP_GET:127.0.0.1:{}", changed.port);
    assert_eq!(
        prober.target(&changed_id).verdict,
        Verdict::Up as i32,
        "changed checker listed"
    );
    let a = wait_hits(&added, 1, Duration::from_secs(4)).await;
    assert_about(a[0] - reloaded_at, 1.0, "new checker starts");
    // The removed one is no longer probed.
    let removed_hits = removed.hits().len();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        removed.hits().len(),
        removed_hits,
        "removed checker stopped"
    );
    // The kept target saw no verdict change: only added/removed events.
    let mut events = Vec::new();
    while let Ok(Some(Ok(event))) =
        tokio::time::timeout(Duration::from_millis(100), watch.next()).await
    {
        if let Some(Payload::TargetChanged(c)) = event.payload {
            events.push(c);
        }
    }
    assert!(
        events
            .iter()
            .all(|c| c.target.as_ref().unwrap().id != kept_id),
        "{events:?}"
    );
    assert_eq!(
        events.iter().filter(|c| c.added).count(),
        2,
        "changed + added"
    );
    assert_eq!(
        events.iter().filter(|c| c.removed).count(),
        2,
        "changed + removed"
    );
}
