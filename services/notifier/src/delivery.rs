//! A delivery's record and its state machine (pure): pending → delivered, or
//! → retrying (last error, next attempt) → … → delivered or given up.

use std::time::Duration;

use keepalived_api::v1;
use serde::{Deserialize, Serialize};

use crate::job::Job;

/// Milliseconds since the Unix epoch (the spool's clock).
pub type Millis = i64;

/// The current wall-clock time in [`Millis`].
pub fn now_ms() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not yet attempted.
    Pending,
    /// Failed at least once; another attempt is due at `next_attempt`.
    Retrying,
    /// Done.
    Delivered,
    /// Attempts exhausted or refused for good.
    GivenUp,
}

impl Status {
    /// Delivered or given up: nothing more will happen.
    pub fn finished(self) -> bool {
        matches!(self, Self::Delivered | Self::GivenUp)
    }
}

/// The event a delivery came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    /// Producer identity (`vrrp-core@dr1`).
    pub producer: String,
    /// Its incarnation.
    pub incarnation: String,
    /// The event's seq.
    pub seq: u64,
    /// W3C traceparent of the event, empty when none.
    pub traceparent: String,
    /// W3C tracestate.
    pub tracestate: String,
    /// Trace id (hex), empty when none.
    pub trace_id: String,
    /// Notice kind (`vrrp`, `realserver`…).
    pub kind: String,
}

/// One delivery as spooled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Spool order: increases with every new delivery.
    pub seq: u64,
    /// Stable id: `<incarnation>-<event seq>-<index in the event's jobs>`, so
    /// the same event can never spool the same delivery twice.
    pub id: String,
    /// What to deliver.
    pub job: Job,
    /// Why.
    pub cause: Cause,
    /// Where it stands.
    pub status: Status,
    /// Attempts made.
    pub attempts: u32,
    /// Last error, empty when none.
    pub last_error: String,
    /// Created.
    pub created: Millis,
    /// Last changed.
    pub updated: Millis,
    /// When the next attempt is due (retrying only).
    pub next_attempt: Option<Millis>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered.
    Delivered,
    /// Failed; `retryable` says whether trying again can help.
    Failed {
        /// The error, for the API and logs.
        error: String,
        /// False for a refusal that stays (an insecure script).
        retryable: bool,
    },
}

impl Record {
    /// A new pending delivery.
    pub fn new(seq: u64, id: String, job: Job, cause: Cause, now: Millis) -> Self {
        Self {
            seq,
            id,
            job,
            cause,
            status: Status::Pending,
            attempts: 0,
            last_error: String::new(),
            created: now,
            updated: now,
            next_attempt: None,
        }
    }

    /// Applies an attempt's outcome. `max_attempts` of `None` retries for
    /// ever; `retry_in` is the (jittered) delay before the next attempt.
    pub fn apply(
        &mut self,
        outcome: Outcome,
        now: Millis,
        retry_in: Duration,
        max_attempts: Option<u32>,
    ) {
        self.attempts += 1;
        self.updated = now;
        match outcome {
            Outcome::Delivered => {
                self.status = Status::Delivered;
                self.next_attempt = None;
            }
            Outcome::Failed { error, retryable } => {
                self.last_error = error;
                let exhausted = max_attempts.is_some_and(|max| self.attempts >= max);
                if !retryable || exhausted {
                    self.status = Status::GivenUp;
                    self.next_attempt = None;
                } else {
                    self.status = Status::Retrying;
                    let delay = i64::try_from(retry_in.as_millis()).unwrap_or(i64::MAX);
                    self.next_attempt = Some(now.saturating_add(delay));
                }
            }
        }
    }

    /// The API's view.
    pub fn to_proto(&self) -> v1::Delivery {
        let state = match self.status {
            Status::Pending => v1::DeliveryState::Pending,
            Status::Retrying => v1::DeliveryState::Retrying,
            Status::Delivered => v1::DeliveryState::Delivered,
            Status::GivenUp => v1::DeliveryState::GivenUp,
        };
        v1::Delivery {
            id: self.id.clone(),
            channel: self.job.action.channel() as i32,
            destination: self.job.destination.clone(),
            summary: self.job.summary.clone(),
            cause_producer: self.cause.producer.clone(),
            cause_incarnation: self.cause.incarnation.clone(),
            cause_seq: self.cause.seq,
            state: state as i32,
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            created: Some(timestamp(self.created)),
            updated: Some(timestamp(self.updated)),
            next_attempt: self.next_attempt.map(timestamp),
            trace_id: self.cause.trace_id.clone(),
            lane: self.job.lane.clone(),
            event_kind: self.cause.kind.clone(),
        }
    }
}

fn timestamp(ms: Millis) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{Action, ScriptJob};

    fn record() -> Record {
        let job = Job {
            lane: "l".into(),
            destination: "d".into(),
            summary: "s".into(),
            action: Action::Script(ScriptJob {
                argv: vec!["/bin/true".into()],
                user: None,
                group: None,
                secure: false,
            }),
        };
        Record::new(1, "i-1-0".into(), job, Cause::default(), 1_000)
    }

    fn failed(retryable: bool) -> Outcome {
        Outcome::Failed {
            error: "connection refused".into(),
            retryable,
        }
    }

    #[test]
    fn failures_retry_with_error_and_next_attempt_then_deliver() {
        let mut r = record();
        r.apply(failed(true), 2_000, Duration::from_millis(500), None);
        assert_eq!(r.status, Status::Retrying);
        assert_eq!(r.next_attempt, Some(2_500));
        assert_eq!(r.last_error, "connection refused");
        let proto = r.to_proto();
        assert_eq!(proto.state, v1::DeliveryState::Retrying as i32);
        assert_eq!(proto.next_attempt.unwrap().seconds, 2);
        r.apply(Outcome::Delivered, 3_000, Duration::ZERO, None);
        assert_eq!(
            (r.status, r.attempts, r.next_attempt),
            (Status::Delivered, 2, None)
        );
    }

    #[test]
    fn max_attempts_and_permanent_refusals_give_up() {
        let mut r = record();
        r.apply(failed(true), 2_000, Duration::from_secs(1), Some(2));
        assert_eq!(r.status, Status::Retrying);
        r.apply(failed(true), 3_000, Duration::from_secs(1), Some(2));
        assert_eq!(r.status, Status::GivenUp);
        let mut r = record();
        r.apply(failed(false), 2_000, Duration::from_secs(1), None);
        assert_eq!((r.status, r.attempts), (Status::GivenUp, 1));
    }
}
