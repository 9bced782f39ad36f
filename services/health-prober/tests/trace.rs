//! A transition is published inside the span of its episode, so its bus
//! event carries a W3C trace context and each episode is its own trace.

mod support;

use std::time::Duration;

use keepalived_api::v1::Verdict;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdict_changes_carry_the_trace_context_of_their_episode() {
    let _telemetry = keepalived_telemetry::init(
        "health-prober-test",
        &keepalived_telemetry::LogOptions {
            console: false,
            detail: false,
            no_syslog: true,
        },
    )
    .unwrap();
    let target = HttpTarget::start().await;
    let body = "        TCP_CHECK {\n            connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }";
    let prober = Prober::start(&config(
        "    delay_loop 1\n    warmup 0",
        &[(target.port, body)],
    ));
    wait_hits(&target, 1, Duration::from_secs(4)).await;
    let mut watch = prober.watch();
    target.stop();
    let (down_header, down) = next_change_with_header(&mut watch, Duration::from_secs(6)).await;
    target.restart().await;
    let (up_header, up) = next_change_with_header(&mut watch, Duration::from_secs(6)).await;
    assert_eq!((down.to, up.to), (Verdict::Down as i32, Verdict::Up as i32));
    let trace_id = |h: &keepalived_api::v1::EventHeader| {
        keepalived_telemetry::trace_id_of(h.trace.as_ref().expect("trace context"))
            .map(str::to_owned)
            .expect("a traceparent: published inside a span")
    };
    assert_ne!(
        trace_id(&down_header),
        trace_id(&up_header),
        "each episode is its own trace"
    );
}
