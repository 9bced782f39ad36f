//! The per-instance VRRP state machine: RFC 5798 §6.4 (Initialize / Backup / Master) plus
//! keepalived's FAULT state and its additions, as a pure struct.
//!
//! The shell feeds [`Input`]s with the current [`Timestamp`] to [`Instance::handle`] (or
//! raw adverts to [`Instance::receive`]), carries out the returned [`Action`]s in order,
//! and calls `handle(now, Input::Timer)` when [`Instance::next_deadline`] is reached.
//! All timers (Master_Down_Timer, Adver_Timer, the delayed and periodic gratuitous ARP)
//! live here; the shell owns only one wake-up per instance.

use std::fmt;
use std::net::IpAddr;

use crate::codec::{Advert, Auth, DecodeError, Expectations, ReceivedAdvert, validate};
use crate::counters::Counters;
use crate::time::{AdvertInterval, Micros, Timestamp, master_down_interval, skew_time};

/// Priority of the address owner (RFC 5798 §5.2.4).
pub const PRIORITY_OWNER: u8 = 255;
/// Priority a master sends when it stops (RFC 5798 §5.2.4).
pub const PRIORITY_STOP: u8 = 0;

/// State of an instance (RFC 5798 §6.4, plus keepalived's FAULT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum State {
    /// RFC 5798 §6.4.1: waiting for a Startup event (also after Shutdown).
    Initialize,
    /// RFC 5798 §6.4.2: monitoring the master.
    Backup,
    /// RFC 5798 §6.4.3: forwarding for the virtual addresses.
    Master,
    /// keepalived: an interface, tracker or sync-group member is down; no adverts, no VIPs.
    Fault,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        })
    }
}

/// Why a transition happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Reason {
    /// Startup: every instance first enters BACKUP (keepalived, even with `state MASTER`).
    Startup,
    /// Startup of the address owner (priority 255) goes straight to MASTER (RFC 5798 §6.4.1).
    AddressOwner,
    /// No advert from a master within Master_Down_Interval (RFC 5798 §6.4.2).
    MasterDownTimerExpired,
    /// Master_Down_Timer expired after the master announced priority 0 (timer was Skew_Time).
    PriorityZeroHeard {
        /// The stopping master.
        from: IpAddr,
    },
    /// Master_Down_Timer expired while the master advertised a lower priority than ours
    /// and preemption was allowed (RFC 5798 §6.4.2: the advert is discarded).
    LowerPriorityHeardPreempt {
        /// Our effective priority.
        ours: u8,
        /// The master's priority.
        theirs: u8,
        /// The master.
        from: IpAddr,
    },
    /// A master heard a higher priority, or an equal one from a higher address
    /// (RFC 5798 §6.4.3).
    HigherPriorityHeard {
        /// Our effective priority.
        ours: u8,
        /// The other router's priority.
        theirs: u8,
        /// The other router.
        from: IpAddr,
    },
    /// An interface or tracker reported a fault.
    Fault,
    /// The fault cleared.
    FaultCleared,
    /// Maintenance mode was switched on (graceful demotion).
    Maintenance,
    /// Shutdown (SIGTERM).
    Shutdown,
    /// Forced by a `vrrp_sync_group` peer (see [`crate::sync`]).
    SyncGroup,
}

/// A valid advert reduced to what the election needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heard {
    /// Sender's primary address (the IP source).
    pub src: IpAddr,
    /// Sender's priority.
    pub priority: u8,
    /// Sender's advertisement interval (learned by a v3 backup, RFC 5798 §6.4.2).
    pub interval: AdvertInterval,
}

impl From<&ReceivedAdvert> for Heard {
    fn from(rx: &ReceivedAdvert) -> Self {
        Heard {
            src: rx.src,
            priority: rx.vrrp.priority,
            interval: rx.vrrp.interval,
        }
    }
}

/// An input to the state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// RFC 5798 §6.4.1 Startup event.
    Startup,
    /// A deadline returned by [`Instance::next_deadline`] was reached.
    Timer,
    /// An advert that already passed [`crate::codec::validate`] (use [`Instance::receive`]
    /// to validate and count in one step).
    Advert(Heard),
    /// New effective priority from trackers/scripts (base ± weights); clamped to 1..=254
    /// as keepalived does unless the base priority is 255.
    PriorityChanged(u8),
    /// Aggregated fault state of the interfaces and trackers: `true` = down.
    Fault(bool),
    /// Maintenance mode on/off: demote gracefully and stay BACKUP while on.
    Maintenance(bool),
    /// RFC 5798 §6.4.3 Shutdown event.
    Shutdown,
    /// A sync-group peer forces this state (see [`crate::sync::follow`]).
    SyncGroup(State),
}

/// What became of a received advert ([`Instance::receive`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// Valid and counted in `advert_rcvd`: what the election does about it (often
    /// nothing: a backup hearing its master).
    Accepted(Vec<Action>),
    /// Dropped and counted under `reason` (RFC 3768 §7.1 / RFC 5798 §7.1 checks);
    /// `line` is keepalived's log line for it.
    Dropped {
        /// Why.
        reason: DecodeError,
        /// keepalived's wording, e.g. `(VI_1) invalid TTL/HL. Received 64 and expect 255`.
        line: String,
    },
}

impl Received {
    /// The actions as one list: an accepted advert's, or the log line of a drop.
    pub fn into_actions(self) -> Vec<Action> {
        match self {
            Received::Accepted(actions) => actions,
            Received::Dropped { line, .. } => vec![Action::Log(line)],
        }
    }
}

/// An action for the shell, to be carried out in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Action {
    /// Send one advert with this priority (build it with [`Instance::advert`]).
    SendAdvert {
        /// Priority to advertise (0 when stopping).
        priority: u8,
    },
    /// Add the VIPs to the interface.
    AddVips,
    /// Remove the VIPs from the interface.
    RemoveVips,
    /// Send `count` gratuitous ARPs (IPv4 VIPs) / unsolicited NAs (IPv6 VIPs) for every VIP.
    SendGarp {
        /// Frames per VIP.
        count: u32,
    },
    /// The state changed.
    Transition {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// The effective priority changed.
    PriorityChanged {
        /// Previous effective priority.
        from: u8,
        /// New effective priority.
        to: u8,
    },
    /// A log line in keepalived 2.2's wording, e.g. `(VI_1) Entering MASTER STATE`.
    Log(String),
}

/// Configuration of one instance (a `vrrp_instance` block), with keepalived's defaults
/// from [`InstanceParams::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceParams {
    /// Instance name as in the logs (`VI_1`).
    pub name: String,
    /// `virtual_router_id`.
    pub vrid: u8,
    /// `priority` (base priority; 255 = address owner).
    pub priority: u8,
    /// `advert_int`, in the unit of the configured `version`.
    pub interval: AdvertInterval,
    /// `authentication` (VRRPv2 only).
    pub auth: Auth,
    /// Our primary address on the interface (the IP source of our adverts); breaks ties
    /// between equal priorities (RFC 5798 §6.4.3).
    pub primary_address: IpAddr,
    /// `virtual_ipaddress`.
    pub vips: Vec<IpAddr>,
    /// Preempt_Mode: `true` unless `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay`: after startup (and after first hearing a lower-priority master)
    /// wait this long before preempting it. Zero = none.
    pub preempt_delay: Micros,
    /// Accept_Mode (`accept` / `no_accept`): exposed for the shell's firewall handling.
    pub accept: bool,
    /// `garp_master_delay`: second gratuitous ARP burst this long after becoming master
    /// (keepalived default 5 s; zero = none).
    pub garp_master_delay: Micros,
    /// `garp_master_repeat`: frames per VIP in each burst (default 5).
    pub garp_master_repeat: u32,
    /// `garp_master_refresh`: periodic refresh while master (default none).
    pub garp_master_refresh: Option<Micros>,
    /// `garp_master_refresh_repeat`: frames per VIP in each refresh (default 1).
    pub garp_master_refresh_repeat: u32,
    /// `garp_lower_prio_repeat`: frames per VIP a master sends when it hears a lower
    /// priority (keepalived: defaults to `garp_master_repeat`; 0 = none).
    pub garp_lower_prio_repeat: u32,
    /// `garp_lower_prio_delay`: the second such burst this long after (default 5 s).
    pub garp_lower_prio_delay: Micros,
    /// `skip_check_adv_addr`: check the address list only on adverts from a new master.
    pub skip_check_adv_addr: bool,
    /// `unicast_peer` configured: the TTL check is skipped, as keepalived does.
    pub unicast: bool,
    /// `lower_prio_no_advert` (on in strict mode): a master hearing a lower priority
    /// does not answer with an advert of its own (keepalived vrrp.c `vrrp_state_master_rx`).
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert` (off in strict mode): a master hearing a higher priority
    /// sends one advert of its own before it becomes backup.
    pub higher_prio_send_advert: bool,
}

impl InstanceParams {
    /// Parameters with keepalived's defaults for everything not given: preempt on, no
    /// preempt delay, accept off, GARP 5 frames at once and 5 more after 5 s, no refresh.
    pub fn new(
        name: impl Into<String>,
        vrid: u8,
        priority: u8,
        interval: AdvertInterval,
        primary_address: IpAddr,
        vips: Vec<IpAddr>,
    ) -> Self {
        InstanceParams {
            name: name.into(),
            vrid,
            priority,
            interval,
            auth: Auth::None,
            primary_address,
            vips,
            preempt: true,
            preempt_delay: Micros::ZERO,
            accept: false,
            garp_master_delay: Micros::from_secs(5),
            garp_master_repeat: 5,
            garp_master_refresh: None,
            garp_master_refresh_repeat: 1,
            garp_lower_prio_repeat: 5,
            garp_lower_prio_delay: Micros::from_secs(5),
            skip_check_adv_addr: false,
            unicast: false,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
        }
    }
}

/// What armed the Master_Down_Timer last, to name the reason when it expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DownCause {
    /// Armed from startup, fault recovery or a valid master advert.
    Silence,
    /// A priority-0 advert set it to Skew_Time.
    PriorityZero(IpAddr),
    /// A lower-priority master's adverts are being discarded.
    Preempt { theirs: u8, from: IpAddr },
}

/// One VRRP instance: configuration, state, timers and counters.
#[derive(Clone, Debug)]
pub struct Instance {
    params: InstanceParams,
    state: State,
    effective_priority: u8,
    /// Master_Adver_Interval: learned from the master while backup (v3), ours otherwise.
    master_adver_int: AdvertInterval,
    master_down_at: Option<Timestamp>,
    advert_at: Option<Timestamp>,
    garp_delay_at: Option<Timestamp>,
    garp_refresh_at: Option<Timestamp>,
    /// Preemption of a lower-priority master is allowed from this time (preempt_delay).
    preempt_at: Option<Timestamp>,
    down_cause: DownCause,
    last_master: Option<IpAddr>,
    faulted: bool,
    maintenance: bool,
    counters: Counters,
}

impl Instance {
    /// A new instance in [`State::Initialize`]; send [`Input::Startup`] to start it.
    pub fn new(params: InstanceParams) -> Self {
        Instance {
            effective_priority: params.priority,
            master_adver_int: params.interval,
            params,
            state: State::Initialize,
            master_down_at: None,
            advert_at: None,
            garp_delay_at: None,
            garp_refresh_at: None,
            preempt_at: None,
            down_cause: DownCause::Silence,
            last_master: None,
            faulted: false,
            maintenance: false,
            counters: Counters::default(),
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Configuration.
    pub fn params(&self) -> &InstanceParams {
        &self.params
    }

    /// Current effective priority.
    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    /// Master_Adver_Interval currently in use.
    pub fn master_adver_int(&self) -> AdvertInterval {
        self.master_adver_int
    }

    /// Statistics.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Accept_Mode (RFC 5798 §6.1): whether a non-owner master accepts packets for the VIPs.
    pub fn accept_mode(&self) -> bool {
        self.params.accept
    }

    /// Whether maintenance mode is on.
    pub fn in_maintenance(&self) -> bool {
        self.maintenance
    }

    /// The address of the master last heard while backup, if any.
    pub fn last_master(&self) -> Option<IpAddr> {
        self.last_master
    }

    /// The advert to send for [`Action::SendAdvert`] with `priority`.
    pub fn advert(&self, priority: u8) -> Advert {
        Advert {
            vrid: self.params.vrid,
            priority,
            interval: self.params.interval,
            auth: match self.params.interval {
                AdvertInterval::V2(_) => self.params.auth,
                AdvertInterval::V3(_) => Auth::None,
            },
            addresses: self.params.vips.clone(),
        }
    }

    /// The earliest time the shell must call `handle(now, Input::Timer)`.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        [
            self.master_down_at,
            self.advert_at,
            self.garp_delay_at,
            self.garp_refresh_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Validate a received advert against this instance (RFC 3768 §7.1 / RFC 5798 §7.1),
    /// count it, and process it if valid. An invalid advert is counted under its reason
    /// and leaves every timer as it was; the shell gets the reason and keepalived's line.
    pub fn receive(&mut self, now: Timestamp, rx: &ReceivedAdvert) -> Received {
        let exp = Expectations {
            vrid: self.params.vrid,
            interval: self.params.interval,
            auth: self.params.auth,
            vips: self.params.vips.clone(),
            unicast: self.params.unicast,
        };
        // keepalived's check_vip_addr: always, unless skip_check_adv_addr and the advert
        // comes from the master we already know (a master always checks).
        let check_addresses = !self.params.skip_check_adv_addr
            || self.state != State::Backup
            || self.last_master != Some(rx.src);
        match validate(rx, &exp, check_addresses) {
            Ok(()) => {
                self.counters.advert_rcvd += 1;
                if rx.vrrp.priority == PRIORITY_STOP {
                    self.counters.pri_zero_rcvd += 1;
                }
                Received::Accepted(self.handle(now, Input::Advert(Heard::from(rx))))
            }
            Err(reason) => {
                let line = self.drop_packet(&reason);
                Received::Dropped { reason, line }
            }
        }
    }

    /// Count a packet the shell could not even decode (see [`crate::codec`]) and return
    /// its keepalived log line.
    pub fn drop_packet(&mut self, err: &DecodeError) -> String {
        self.counters.record_drop(err);
        format!("({}) {}", self.params.name, err)
    }

    /// Process one input at time `now`.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::Startup => self.on_startup(now, &mut out),
            Input::Timer => self.on_timer(now, &mut out),
            Input::Advert(heard) => match self.state {
                State::Backup => self.backup_rx(now, heard, &mut out),
                State::Master => self.master_rx(now, heard, &mut out),
                // RFC 5798 §6.4.1: Initialize ignores adverts; keepalived's FAULT too.
                State::Initialize | State::Fault => {}
            },
            Input::PriorityChanged(p) => self.on_priority(p, &mut out),
            Input::Fault(down) => self.on_fault(now, down, &mut out),
            Input::Maintenance(on) => self.on_maintenance(now, on, &mut out),
            Input::Shutdown => self.on_shutdown(&mut out),
            Input::SyncGroup(to) => self.on_sync(now, to, &mut out),
        }
        out
    }

    fn log(&self, text: &str) -> Action {
        Action::Log(format!("({}) {}", self.params.name, text))
    }

    fn send_advert(&mut self, priority: u8, out: &mut Vec<Action>) {
        self.counters.advert_sent += 1;
        if priority == PRIORITY_STOP {
            self.counters.pri_zero_sent += 1;
        }
        out.push(Action::SendAdvert { priority });
    }

    fn transition(&mut self, to: State, reason: Reason, out: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        out.push(Action::Transition { from, to, reason });
    }

    fn clear_master_timers(&mut self) {
        self.advert_at = None;
        self.garp_delay_at = None;
        self.garp_refresh_at = None;
    }

    fn arm_master_down(&mut self, now: Timestamp) {
        self.master_down_at = if self.maintenance {
            None
        } else {
            Some(now + master_down_interval(self.effective_priority, self.master_adver_int))
        };
    }

    fn on_startup(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if self.state != State::Initialize {
            return;
        }
        if self.params.preempt_delay > Micros::ZERO {
            // keepalived: no preemption until preempt_delay after startup.
            self.preempt_at = Some(now + self.params.preempt_delay);
        }
        if self.faulted {
            out.push(self.log("Entering FAULT STATE"));
            self.transition(State::Fault, Reason::Fault, out);
            return;
        }
        if self.effective_priority == PRIORITY_OWNER && !self.maintenance {
            // RFC 5798 §6.4.1: the address owner becomes master at once.
            self.become_master(now, Reason::AddressOwner, out);
            return;
        }
        // keepalived starts every other instance in BACKUP, even with `state MASTER`,
        // removing any VIPs left over from a previous run.
        out.push(self.log("Entering BACKUP STATE (init)"));
        out.push(Action::RemoveVips);
        self.transition(State::Backup, Reason::Startup, out);
        self.master_adver_int = self.params.interval;
        self.down_cause = DownCause::Silence;
        self.arm_master_down(now);
    }

    fn on_timer(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        match self.state {
            State::Backup => {
                if self.master_down_at.is_some_and(|t| t <= now) {
                    self.master_down_at = None;
                    // RFC 5798 §6.4.2: Master_Down_Timer fires → transition to Master.
                    out.push(self.log("Receive advertisement timeout"));
                    let reason = match self.down_cause {
                        DownCause::Silence => Reason::MasterDownTimerExpired,
                        DownCause::PriorityZero(from) => Reason::PriorityZeroHeard { from },
                        DownCause::Preempt { theirs, from } => Reason::LowerPriorityHeardPreempt {
                            ours: self.effective_priority,
                            theirs,
                            from,
                        },
                    };
                    self.become_master(now, reason, out);
                }
            }
            State::Master => {
                if self.advert_at.is_some_and(|t| t <= now) {
                    // RFC 5798 §6.4.3: Adver_Timer fires → send an advert, reset the timer.
                    self.send_advert(self.effective_priority, out);
                    self.advert_at = Some(now + self.params.interval.to_micros());
                }
                if self.garp_delay_at.is_some_and(|t| t <= now) {
                    // keepalived's garp_master_delay: the second burst.
                    self.garp_delay_at = None;
                    out.push(Action::SendGarp {
                        count: self.params.garp_master_repeat,
                    });
                }
                if self.garp_refresh_at.is_some_and(|t| t <= now) {
                    out.push(Action::SendGarp {
                        count: self.params.garp_master_refresh_repeat,
                    });
                    self.garp_refresh_at = self.params.garp_master_refresh.map(|r| now + r);
                }
            }
            State::Initialize | State::Fault => {}
        }
    }

    /// RFC 5798 §6.4.1 / §6.4.2 "transition to Master", in keepalived's order: the advert
    /// first (so the old master drops the VIPs before our GARPs), then the VIPs, then
    /// `garp_master_repeat` GARPs, a second burst after `garp_master_delay`.
    fn become_master(&mut self, now: Timestamp, reason: Reason, out: &mut Vec<Action>) {
        out.push(self.log("Entering MASTER STATE"));
        self.transition(State::Master, reason, out);
        self.counters.become_master += 1;
        self.master_down_at = None;
        self.master_adver_int = self.params.interval;
        self.send_advert(self.effective_priority, out);
        out.push(self.log("setting VIPs."));
        out.push(Action::AddVips);
        out.push(Action::SendGarp {
            count: self.params.garp_master_repeat,
        });
        self.advert_at = Some(now + self.params.interval.to_micros());
        self.garp_delay_at = (self.params.garp_master_delay > Micros::ZERO)
            .then(|| now + self.params.garp_master_delay);
        self.garp_refresh_at = self.params.garp_master_refresh.map(|r| now + r);
    }

    /// Leave MASTER for BACKUP or FAULT: VIPs go, the down timer restarts.
    fn leave_master(&mut self, now: Timestamp, to: State, reason: Reason, out: &mut Vec<Action>) {
        out.push(self.log(&format!("Entering {to} STATE")));
        if to == State::Fault || reason == Reason::Maintenance {
            // keepalived sends priority 0 when leaving master for FAULT, so a backup takes
            // over after Skew_Time instead of Master_Down_Interval.
            self.send_advert(PRIORITY_STOP, out);
        }
        out.push(self.log("removing VIPs."));
        out.push(Action::RemoveVips);
        self.transition(to, reason, out);
        self.counters.release_master += 1;
        self.clear_master_timers();
        self.down_cause = DownCause::Silence;
        if to == State::Backup {
            // keepalived clears the preempt delay when it becomes backup; it restarts on
            // the next lower-priority advert.
            self.preempt_at = None;
            self.arm_master_down(now);
        } else {
            self.master_down_at = None;
        }
    }

    /// RFC 5798 §6.4.2, with keepalived's preempt_delay.
    fn backup_rx(&mut self, now: Timestamp, heard: Heard, out: &mut Vec<Action>) {
        let ours = self.effective_priority;
        if heard.priority == PRIORITY_STOP {
            // "If the Priority in the ADVERTISEMENT is zero, then: Set the Master_Down_Timer
            // to Skew_Time".
            out.push(self.log("Backup received priority 0 advertisement"));
            self.down_cause = DownCause::PriorityZero(heard.src);
            if !self.maintenance {
                self.master_down_at = Some(now + skew_time(ours, self.master_adver_int));
            }
            return;
        }
        let delaying =
            self.params.preempt_delay > Micros::ZERO && self.preempt_at.is_none_or(|t| t > now);
        if !self.params.preempt || heard.priority >= ours || delaying {
            // "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is greater
            // than or equal to the local Priority": learn Master_Adver_Interval (v3), reset
            // Master_Down_Timer to Master_Down_Interval.
            if let AdvertInterval::V3(_) = heard.interval {
                self.master_adver_int = heard.interval;
            }
            self.last_master = Some(heard.src);
            self.down_cause = DownCause::Silence;
            if self.params.preempt_delay > Micros::ZERO {
                if heard.priority >= ours {
                    self.preempt_at = None;
                } else if self.preempt_at.is_none() {
                    self.preempt_at = Some(now + self.params.preempt_delay);
                }
            }
            self.arm_master_down(now);
        } else {
            // "Otherwise: Discard the ADVERTISEMENT" — the timer keeps running and we take
            // over when it fires.
            out.push(self.log(&format!(
                "received lower priority ({}) advert from {} - discarding",
                heard.priority, heard.src
            )));
            self.last_master = Some(heard.src);
            self.down_cause = DownCause::Preempt {
                theirs: heard.priority,
                from: heard.src,
            };
        }
    }

    /// RFC 5798 §6.4.3, with keepalived's immediate answer to a lower priority.
    fn master_rx(&mut self, now: Timestamp, heard: Heard, out: &mut Vec<Action>) {
        let ours = self.effective_priority;
        if heard.priority == PRIORITY_STOP {
            // "If the Priority in the ADVERTISEMENT is zero, then: Send an ADVERTISEMENT;
            // Reset the Adver_Timer to Advertisement_Interval".
            out.push(self.log("Master received priority 0 message"));
            self.send_advert(ours, out);
            self.advert_at = Some(now + self.params.interval.to_micros());
            return;
        }
        let theirs_higher = heard.priority > ours
            || (heard.priority == ours && heard.src > self.params.primary_address);
        if theirs_higher {
            // "If the Priority in the ADVERTISEMENT is greater than the local Priority, or
            // equal and the primary address of the sender is greater than ours":
            // cancel Adver_Timer, set Master_Adver_Interval, Master_Down_Timer, → Backup.
            let text = if heard.priority > ours {
                format!(
                    "Master received advert from {} with higher priority {}, ours {}",
                    heard.src, heard.priority, ours
                )
            } else {
                format!(
                    "Master received advert from {} with same priority {} but higher IP address than ours",
                    heard.src, heard.priority
                )
            };
            out.push(self.log(&text));
            if self.params.higher_prio_send_advert {
                self.send_advert(ours, out);
            }
            let reason = Reason::HigherPriorityHeard {
                ours,
                theirs: heard.priority,
                from: heard.src,
            };
            self.leave_master(now, State::Backup, reason, out);
            if let AdvertInterval::V3(_) = heard.interval {
                self.master_adver_int = heard.interval;
                self.arm_master_down(now);
            }
            self.last_master = Some(heard.src);
            return;
        }
        if heard.priority == ours && heard.src == self.params.primary_address {
            out.push(self.log(
                "WARNING - equal priority advert received from remote host with our IP address.",
            ));
            return;
        }
        // Lower priority (or equal from a lower address). RFC 5798 says discard; keepalived
        // answers at once with its own advert so the other router backs off, and — since
        // the other router may have been master (split brain) and announced the VIPs —
        // re-announces them: `garp_lower_prio_repeat` GARPs now, a second burst after
        // `garp_lower_prio_delay`.
        out.push(self.log(&format!(
            "Received advert from {} with lower priority {}, ours {}{}",
            heard.src,
            heard.priority,
            ours,
            if self.params.lower_prio_no_advert {
                ""
            } else {
                ", forcing new election"
            }
        )));
        if !self.params.lower_prio_no_advert {
            self.send_advert(ours, out);
        }
        if self.params.garp_lower_prio_repeat > 0 {
            out.push(Action::SendGarp {
                count: self.params.garp_lower_prio_repeat,
            });
            if self.params.garp_lower_prio_delay > Micros::ZERO {
                self.garp_delay_at = Some(now + self.params.garp_lower_prio_delay);
            }
        }
    }

    fn on_priority(&mut self, requested: u8, out: &mut Vec<Action>) {
        // keepalived keeps a non-owner's effective priority within 1..=254.
        let p = if self.params.priority == PRIORITY_OWNER {
            requested
        } else {
            requested.clamp(1, 254)
        };
        if p == self.effective_priority {
            return;
        }
        let from = self.effective_priority;
        self.effective_priority = p;
        out.push(self.log(&format!("Changing effective priority from {from} to {p}")));
        out.push(Action::PriorityChanged { from, to: p });
    }

    fn on_fault(&mut self, now: Timestamp, down: bool, out: &mut Vec<Action>) {
        if down == self.faulted {
            return;
        }
        self.faulted = down;
        match (down, self.state) {
            (true, State::Master) => self.leave_master(now, State::Fault, Reason::Fault, out),
            (true, State::Backup) => {
                out.push(self.log("Entering FAULT STATE"));
                self.transition(State::Fault, Reason::Fault, out);
                self.master_down_at = None;
            }
            (false, State::Fault) => self.recover(now, Reason::FaultCleared, out),
            // Before Startup, or already where it should be.
            _ => {}
        }
    }

    /// FAULT → BACKUP, waiting a full Master_Down_Interval with our own interval
    /// (keepalived's vrrp_state_leave_fault); the owner goes straight to MASTER.
    fn recover(&mut self, now: Timestamp, reason: Reason, out: &mut Vec<Action>) {
        if self.effective_priority == PRIORITY_OWNER && !self.maintenance {
            self.become_master(now, reason, out);
            return;
        }
        out.push(self.log("Entering BACKUP STATE"));
        self.transition(State::Backup, reason, out);
        self.master_adver_int = self.params.interval;
        self.down_cause = DownCause::Silence;
        self.preempt_at = None;
        self.arm_master_down(now);
    }

    fn on_maintenance(&mut self, now: Timestamp, on: bool, out: &mut Vec<Action>) {
        if on == self.maintenance {
            return;
        }
        self.maintenance = on;
        match (on, self.state) {
            (true, State::Master) => {
                self.leave_master(now, State::Backup, Reason::Maintenance, out)
            }
            (true, State::Backup) => self.master_down_at = None,
            (false, State::Backup) => self.arm_master_down(now),
            _ => {}
        }
    }

    fn on_shutdown(&mut self, out: &mut Vec<Action>) {
        match self.state {
            State::Initialize => return,
            State::Master => {
                // RFC 5798 §6.4.3 Shutdown: cancel Adver_Timer, send priority 0, → Initialize.
                self.send_advert(PRIORITY_STOP, out);
                out.push(self.log("removing VIPs."));
                out.push(Action::RemoveVips);
                self.counters.release_master += 1;
            }
            State::Backup | State::Fault => {}
        }
        self.transition(State::Initialize, Reason::Shutdown, out);
        self.clear_master_timers();
        self.master_down_at = None;
    }

    fn on_sync(&mut self, now: Timestamp, to: State, out: &mut Vec<Action>) {
        match (self.state, to) {
            (State::Master, State::Backup) | (State::Master, State::Fault) => {
                self.leave_master(now, to, Reason::SyncGroup, out)
            }
            (State::Backup, State::Master) if !self.maintenance => {
                self.become_master(now, Reason::SyncGroup, out)
            }
            (State::Backup, State::Fault) => {
                out.push(self.log("Entering FAULT STATE"));
                self.transition(State::Fault, Reason::SyncGroup, out);
                self.master_down_at = None;
            }
            (State::Fault, State::Backup) if !self.faulted => {
                self.recover(now, Reason::SyncGroup, out)
            }
            _ => {}
        }
    }
}
