//! Time in vrrp-core: the clock the state machine's timestamps come from, and the wait
//! for a deadline (tokio's timer, finished on a timerfd for a backup).

use std::time::Duration;

use keepalived_vrrp::time::Timestamp;
use tokio::time::Instant;

/// The process's monotonic clock as the state machine's microsecond [`Timestamp`].
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Self {
        Self {
            base: Instant::now(),
        }
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.base.elapsed().as_micros() as u64)
    }

    /// The instant of a timestamp.
    pub fn instant(&self, t: Timestamp) -> Instant {
        self.base + Duration::from_micros(t.as_micros())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// How long before a deadline the timerfd takes over from tokio's timer.
const PRECISE_LEAD: Duration = Duration::from_millis(3);

/// Waits for `deadline`. With `precise` (a backup: its next deadline is the
/// Master_Down_Timer, which bounds the failover time, RFC 5798 §6.4.2) tokio's timer,
/// which rounds up to whole milliseconds, sleeps until [`PRECISE_LEAD`] before it and a
/// timerfd the rest of the way, to the microsecond. In the steady state a backup's
/// deadline is pushed back by every advert long before it gets that close, so the
/// timerfd is armed only when the master has actually gone quiet.
pub(crate) async fn wait_deadline(
    deadline: Option<Instant>,
    precise: Option<&tokio::io::unix::AsyncFd<crate::sys::TimerFd>>,
) {
    let Some(deadline) = deadline else {
        return std::future::pending().await;
    };
    let Some(timer) = precise else {
        return tokio::time::sleep_until(deadline).await;
    };
    if let Some(lead) = deadline.checked_sub(PRECISE_LEAD) {
        tokio::time::sleep_until(lead).await;
    }
    let now = Instant::now();
    if deadline <= now {
        return;
    }
    if timer.get_ref().arm(deadline - now).is_err() {
        return tokio::time::sleep_until(deadline).await;
    }
    loop {
        let Ok(mut guard) = timer.readable().await else {
            return tokio::time::sleep_until(deadline).await;
        };
        match guard.try_io(|t| t.get_ref().consume()) {
            Ok(Ok(())) => return,
            Ok(Err(_)) => return tokio::time::sleep_until(deadline).await,
            // A stale readiness (an expiry re-arming discarded): wait on.
            Err(_would_block) => {}
        }
    }
}
