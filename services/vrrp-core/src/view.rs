//! The state machine's types turned into the `keepalived.v1` messages the API and the bus
//! carry.

use keepalived_api::v1;
use keepalived_vrrp::counters::Counters;
use keepalived_vrrp::state::{Reason, State};

use crate::spec::TrackerKind;

/// `State` → `VrrpState`.
pub fn state(s: State) -> v1::VrrpState {
    match s {
        State::Initialize => v1::VrrpState::Init,
        State::Backup => v1::VrrpState::Backup,
        State::Master => v1::VrrpState::Master,
        State::Fault => v1::VrrpState::Fault,
    }
}

/// `VrrpState` (as carried in messages) → `State`; STOP and unknown values are INIT.
pub fn from_proto(s: i32) -> State {
    match v1::VrrpState::try_from(s) {
        Ok(v1::VrrpState::Backup) => State::Backup,
        Ok(v1::VrrpState::Master) => State::Master,
        Ok(v1::VrrpState::Fault) => State::Fault,
        _ => State::Initialize,
    }
}

/// What made an instance enter or leave FAULT, as far as the shell knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCause {
    /// The instance's interface (or a tracked one).
    Interface,
    /// A `vrrp_script`.
    Script,
    /// A `track_file`.
    File,
    /// A `vrrp_track_process`.
    Process,
    /// The instance is held in FAULT: its configuration uses a feature keepalived-rs does
    /// not implement (`InstanceSpec::held` says which).
    Held,
}

/// `Reason` → (`TransitionReason`, human-readable detail). `cause` names the tracker kind
/// behind a FAULT transition.
pub fn reason(r: &Reason, cause: Option<FaultCause>) -> (v1::TransitionReason, String) {
    use v1::TransitionReason as T;
    let fault = |cleared: bool| {
        let kind = match cause {
            Some(FaultCause::Script) => T::Script,
            Some(FaultCause::File) => T::TrackFile,
            Some(FaultCause::Process) => T::TrackProcess,
            Some(FaultCause::Interface) | None => T::Interface,
            // No reason of its own in keepalived.v1: it was started that way.
            Some(FaultCause::Held) => T::Startup,
        };
        (
            kind,
            if cleared {
                "fault cleared".to_owned()
            } else {
                "fault".to_owned()
            },
        )
    };
    match r {
        Reason::Startup => (T::Startup, "startup".into()),
        Reason::AddressOwner => (T::Startup, "address owner (priority 255)".into()),
        Reason::MasterDownTimerExpired => (
            T::MasterDownTimer,
            "no advert within Master_Down_Interval".into(),
        ),
        Reason::PriorityZeroHeard { from } => {
            (T::PriorityZeroHeard, format!("priority 0 from {from}"))
        }
        Reason::LowerPriorityHeardPreempt { ours, theirs, from } => (
            T::MasterDownTimer,
            format!("preempting lower priority {theirs} from {from}, ours {ours}"),
        ),
        Reason::HigherPriorityHeard { ours, theirs, from } => (
            T::HigherPriorityHeard,
            format!("higher priority {theirs} from {from}, ours {ours}"),
        ),
        Reason::Fault => fault(false),
        Reason::FaultCleared => fault(true),
        Reason::Maintenance => (T::Maintenance, "maintenance".into()),
        Reason::Shutdown => (T::Shutdown, "shutdown".into()),
        Reason::SyncGroup => (T::SyncGroup, "sync group".into()),
    }
}

/// `TrackerKind` → proto.
pub fn tracker_kind(k: TrackerKind) -> v1::TrackerKind {
    match k {
        TrackerKind::Script => v1::TrackerKind::Script,
        TrackerKind::Interface => v1::TrackerKind::Interface,
        TrackerKind::File => v1::TrackerKind::File,
        TrackerKind::Process => v1::TrackerKind::Process,
    }
}

/// keepalived's counters → proto.
pub fn counters(c: &Counters) -> v1::InstanceCounters {
    v1::InstanceCounters {
        advert_rcvd: c.advert_rcvd,
        advert_sent: c.advert_sent,
        become_master: c.become_master,
        release_master: c.release_master,
        packet_len_err: c.packet_len_err,
        advert_interval_err: c.advert_interval_err,
        ip_ttl_err: c.ip_ttl_err,
        invalid_type_rcvd: c.invalid_type_rcvd,
        addr_list_err: c.addr_list_err,
        invalid_authtype: c.invalid_authtype,
        authtype_mismatch: c.authtype_mismatch,
        auth_failure: c.auth_failure,
        pri_zero_rcvd: c.pri_zero_rcvd,
        pri_zero_sent: c.pri_zero_sent,
        checksum_err: c.checksum_err,
        version_err: c.version_err,
        vrid_mismatch: c.vrid_err,
        // Counted by the shell, not the state machine (LiveView::deliver).
        rx_queue_full: 0,
    }
}

/// The current wall-clock time as a protobuf timestamp.
pub fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(std::time::SystemTime::now())
}
