//! One task per VRRP instance: it owns the pure [`keepalived_vrrp::state::Instance`],
//! wakes at its `next_deadline()`, feeds it packets, tracker results, maintenance and
//! sync-group inputs, and carries out the actions it returns — adverts on the raw
//! socket, VIPs through rtnetlink, gratuitous ARPs on the packet socket, events on the
//! bus, log lines in keepalived's wording.
//!
//! The API view ([`LiveView`]) is rebuilt only when something it shows changes (state,
//! priority, VIPs, trackers, the master heard, maintenance); the counters, which change
//! with every packet, are copied into it (a 136-byte copy under an uncontended lock) and
//! merged into the view only when the API reads it.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use keepalived_api::v1::{self, vrrp_event::Payload};
use keepalived_bus::Producer;
use keepalived_vrrp::codec::{
    DecodeError, IpIdCounter, PseudoHeader, ReceivedAdvert, encode_advert_ipv4, encode_vrrp,
};
use keepalived_vrrp::counters::Counters;
use keepalived_vrrp::garp::{MacAddr, gratuitous_arp, unsolicited_na};
use keepalived_vrrp::state::{Action, Input, Instance, Received, State};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

pub use crate::clock::Clock;
use crate::clock::wait_deadline;
use crate::netlink::LinkInfo;
use crate::ports::{AddressPort, AdvertPort, FramePort};
use crate::spec::{InstanceSpec, TrackerKind, TrackerRef};
use crate::trackers::{Tracked, evaluate, fault_cause};
use crate::view::{self, FaultCause};

/// A message to an instance task.
#[derive(Debug)]
pub enum Control {
    /// Maintenance on/off; answered once carried out.
    Maintenance(bool, oneshot::Sender<()>),
    /// A sync-group peer forces this state.
    Sync(State),
    /// Stop: a master sends priority 0 and removes its VIPs; answered once done.
    Shutdown(oneshot::Sender<()>),
    /// Stop because a reload removed the instance: as [`Control::Shutdown`], but
    /// notified as keepalived notifies a deleted instance (vrrp.c `clear_diff_vrrp`):
    /// FAULT, or nothing when it is in FAULT already.
    Remove(oneshot::Sender<()>),
}

/// A packet from the interface's socket, decoded or not.
pub type Packet = Result<ReceivedAdvert, DecodeError>;

/// How many received packets wait for an instance at most. A peer sends one advert per
/// interval, so only a flood fills it; what does not fit is dropped and counted
/// (`rx_queue_full`), and the kernel drops the rest at the socket: a flood cannot delay
/// the instance's own timers or grow memory.
pub const PACKET_QUEUE: usize = 64;

/// A member's state for sync groups, reported to the engine at every transition and
/// whenever its own fault comes or goes without one (a member the group already holds in
/// FAULT). The engine keeps the last notice of each instance: that is the group's view.
#[derive(Debug, Clone)]
pub struct TransitionNotice {
    /// Instance name.
    pub instance: String,
    /// Its state: new when `transition`, unchanged otherwise.
    pub to: State,
    /// Whether the instance has a fault of its own (interface, trackers, held).
    pub own_fault: bool,
    /// Whether the state changed (the group then follows it).
    pub transition: bool,
}

/// Everything an instance task needs from the engine.
#[derive(Clone)]
pub struct InstanceContext {
    /// Clock.
    pub clock: Clock,
    /// Whether a backup sleeps on a `timerfd` for the last milliseconds before its
    /// deadline (see `wait_deadline`); off where the clock is tokio's paused one (tests).
    pub precise_timers: bool,
    /// Interfaces and addresses (rtnetlink in the service).
    pub netlink: Arc<dyn AddressPort>,
    /// Packet socket for GARPs.
    pub garp: Arc<dyn FramePort>,
    /// The bus.
    pub producer: Producer<v1::VrrpEvent>,
    /// Where transitions are reported.
    pub transitions: mpsc::UnboundedSender<TransitionNotice>,
}

/// A VIP with the interface it lives on.
#[derive(Debug, Clone)]
struct Vip {
    spec: crate::spec::VipSpec,
    link: LinkInfo,
    present: bool,
    /// IPv6 forwarding is on for the VIP's interface: the unsolicited NA carries the
    /// Router flag (RFC 4861 §4.4), as keepalived sends it.
    router: bool,
}

/// What the API sees of one running instance.
#[derive(Debug, Default)]
pub struct LiveView {
    /// Everything but the counters; rebuilt when any of it changes.
    view: RwLock<v1::Instance>,
    /// keepalived's counters, copied after every packet and advert.
    counters: Mutex<Counters>,
    /// Packets dropped before the instance saw them: its queue was full.
    queue_full: AtomicU64,
}

impl LiveView {
    /// The instance as the API shows it, with its current counters.
    pub fn snapshot(&self) -> v1::Instance {
        let mut view = self.view.read().unwrap_or_else(|e| e.into_inner()).clone();
        let counters = *self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let mut counters = view::counters(&counters);
        counters.rx_queue_full = self.queue_full.load(Ordering::Relaxed);
        view.counters = Some(counters);
        view
    }

    /// Hands `packet` to the instance unless its queue is full (then counted, dropped).
    pub fn deliver(&self, queue: &mpsc::Sender<Packet>, packet: Packet) {
        if let Err(mpsc::error::TrySendError::Full(_)) = queue.try_send(packet) {
            self.queue_full.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the API sees of a running instance.
#[derive(Debug, Clone)]
pub struct Handle {
    /// Instance name.
    pub name: String,
    /// The spec it was started from (before the primary address was filled in).
    pub spec: InstanceSpec,
    /// Its control channel.
    pub tx: mpsc::UnboundedSender<Control>,
    /// Its current view.
    pub view: Arc<LiveView>,
}

impl std::fmt::Debug for InstanceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceContext")
            .field("clock", &self.clock)
            .field("precise_timers", &self.precise_timers)
            .finish_non_exhaustive()
    }
}

/// Resolved I/O of an instance.
struct Io {
    socket: Arc<dyn AdvertPort>,
    /// Source of our adverts: `unicast_src_ip`, else the interface's first IPv4 address
    /// (IPv4) or its link-local address (IPv6, RFC 5798 §5.1.2.1).
    src: IpAddr,
    /// The interface adverts leave by (IPv6 sends name it per packet).
    ifindex: u32,
    vips: Vec<Vip>,
    routes: crate::routes::InstanceRoutes,
    rules: crate::rules::InstanceRules,
    ip_id: IpIdCounter,
}

/// Rate limit of dropped-packet log lines (keepalived logs each; a flood must not flood
/// the log).
const DROP_LOG_EVERY: Duration = Duration::from_secs(1);

struct DropLog {
    last: Option<Instant>,
    suppressed: u64,
    /// The instance's span, entered only for a line actually written.
    span: tracing::Span,
}

impl DropLog {
    fn log(&mut self, line: &str) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < DROP_LOG_EVERY)
        {
            self.suppressed += 1;
            return;
        }
        let _entered = self.span.enter();
        if self.suppressed > 0 {
            tracing::info!(
                "{line} ({} more dropped packets not logged)",
                self.suppressed
            );
        } else {
            tracing::info!("{line}");
        }
        self.last = Some(now);
        self.suppressed = 0;
    }
}

struct Task {
    spec: InstanceSpec,
    inst: Instance,
    io: Io,
    shared: InstanceContext,
    trackers: Vec<(TrackerRef, watch::Receiver<Tracked>)>,
    link: watch::Receiver<bool>,
    view: Arc<LiveView>,
    /// Whether it has a fault of its own, as last reported to the engine.
    own_fault: bool,
    fault_cause: Option<FaultCause>,
    state_since: prost_types::Timestamp,
    state_reason: v1::TransitionReason,
    master_heard: Option<(IpAddr, u8)>,
    /// Stopping because a reload removed the instance ([`Control::Remove`]).
    removed: bool,
    drops: DropLog,
    span: tracing::Span,
}

/// Resolves the interface and addresses of `spec`, registers with the socket, and
/// starts the task. Returns the handle and the task's join handle.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    spec: InstanceSpec,
    shared: InstanceContext,
    socket: Arc<dyn AdvertPort>,
    rx: mpsc::UnboundedReceiver<Control>,
    tx: mpsc::UnboundedSender<Control>,
    packets: mpsc::Receiver<Packet>,
    trackers: Vec<(TrackerRef, watch::Receiver<Tracked>)>,
    link: watch::Receiver<bool>,
    vmac: Option<crate::vmac::Vmac>,
) -> anyhow::Result<(Handle, tokio::task::JoinHandle<()>)> {
    let name = spec.params.name.clone();
    let original = spec.clone();
    let mut spec = spec;
    let iface = shared.netlink.link(&spec.interface).await?;
    // With a VMAC, adverts leave by it (unless `vmac_xmit_base`); an IPv4 advert's
    // source is still the parent's address, the VMAC having none of its own.
    let sending = match &vmac {
        Some(v) if !v.xmit_base => v.index,
        _ => iface.index,
    };
    let src = match spec.unicast_src {
        Some(a) => a,
        // A held instance sends nothing: it needs no source address.
        None if spec.held.is_some() => spec.params.primary_address,
        None if spec.is_ipv6() => shared
            .netlink
            .ipv6_link_local(sending)
            .await?
            .first()
            .copied()
            .map(IpAddr::V6)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "({name}) interface {} has no usable IPv6 link-local address to send adverts from",
                    spec.interface
                )
            })?,
        None => {
            let vip_addrs: Vec<IpAddr> = spec.vips.iter().map(|v| v.address).collect();
            shared
                .netlink
                .ipv4_addresses(iface.index)
                .await?
                .into_iter()
                .find(|a| !vip_addrs.contains(&IpAddr::V4(*a)))
                .map(IpAddr::V4)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "({name}) interface {} has no IPv4 address to send adverts from",
                        spec.interface
                    )
                })?
        }
    };
    spec.params.primary_address = src;
    let ipv6 = spec.is_ipv6();
    for v in &mut spec.vips {
        if let Some(vm) = vmac
            .as_ref()
            .filter(|_| crate::vmac::moves_to_vmac(v, &original.interface, ipv6))
        {
            v.dev = vm.name.clone();
        }
    }
    let mut vips = Vec::new();
    for v in &spec.vips {
        let link = if let Some(vm) = vmac.as_ref().filter(|vm| vm.name == v.dev) {
            crate::netlink::LinkInfo {
                index: vm.index,
                mac: vm.mac,
                up: true,
            }
        } else if v.dev == spec.interface {
            iface.clone()
        } else {
            shared.netlink.link(&v.dev).await?
        };
        let router = v.address.is_ipv6()
            && std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{}/forwarding", v.dev))
                .is_ok_and(|f| f.trim() == "1");
        vips.push(Vip {
            spec: v.clone(),
            link,
            present: false,
            router,
        });
    }
    let view = Arc::new(LiveView {
        view: RwLock::new(v1::Instance {
            name: name.clone(),
            ..Default::default()
        }),
        counters: Mutex::new(Counters::default()),
        queue_full: AtomicU64::new(0),
    });
    let span = tracing::info_span!("vrrp_instance", instance = %name);
    let routes = crate::routes::InstanceRoutes::new(&spec.routes);
    let rules = crate::rules::InstanceRules::new(&spec.rules);
    let mut task = Task {
        inst: Instance::new(spec.params.clone()),
        spec,
        io: Io {
            socket,
            src,
            ifindex: sending,
            vips,
            routes,
            rules,
            ip_id: IpIdCounter::new(),
        },
        shared,
        trackers,
        link,
        view: view.clone(),
        own_fault: false,
        fault_cause: None,
        state_since: view::now(),
        state_reason: v1::TransitionReason::Unspecified,
        master_heard: None,
        removed: false,
        drops: DropLog {
            last: None,
            suppressed: 0,
            span: span.clone(),
        },
        span: span.clone(),
    };
    task.refresh_view();
    // The task is not instrumented with its span: entering a span on every poll (an
    // OpenTelemetry layer times each entry) was the largest single cost of a master's
    // steady state. The span is entered where something is logged or published.
    let join = tokio::spawn(async move { task.run(rx, packets).await });
    Ok((
        Handle {
            name,
            spec: original,
            tx,
            view,
        },
        join,
    ))
}

impl Task {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Control>,
        mut packets: mpsc::Receiver<Packet>,
    ) {
        // Tracker and link changes wake this task through one Notify.
        let changed = Arc::new(Notify::new());
        let stop = CancellationToken::new();
        let _stop_guard = stop.clone().drop_guard();
        for (_, r) in &self.trackers {
            forward(r.clone(), changed.clone(), stop.clone());
        }
        forward(self.link.clone(), changed.clone(), stop.clone());
        // See `wait_deadline`; without a timerfd, tokio's timer alone.
        #[allow(deprecated)] // AsyncFd::new: TimerFd owns its descriptor (see socket.rs).
        let precise = if self.shared.precise_timers {
            crate::sys::TimerFd::new()
                .and_then(tokio::io::unix::AsyncFd::new)
                .inspect_err(|error| {
                    tracing::warn!(
                        "({}) no timerfd ({error}): timers have millisecond resolution",
                        self.spec.params.name
                    );
                })
                .ok()
        } else {
            None
        };
        // Initial priority and fault state before Startup (so a failed tracker starts
        // the instance in FAULT, as keepalived does).
        self.apply_trackers().await;
        let actions = self.inst.handle(self.shared.clock.now(), Input::Startup);
        self.execute(actions).await;
        loop {
            let deadline = self
                .inst
                .next_deadline()
                .map(|t| self.shared.clock.instant(t));
            tokio::select! {
                // The timers first: adverts we owe and the master-down timer are not
                // delayed by received packets (a flood waits in its bounded queue). An
                // advert still queued when Master_Down_Interval ends came after three
                // missed intervals: becoming master then is what RFC 5798 §6.4.2 says.
                biased;
                () = wait_deadline(
                    deadline,
                    precise.as_ref().filter(|_| self.inst.state() == State::Backup),
                ) => {
                    let a = self.inst.handle(self.shared.clock.now(), Input::Timer);
                    self.execute(a).await;
                    self.publish_counters();
                }
                msg = rx.recv() => {
                    let Some(msg) = msg else { return };
                    match msg {
                        Control::Maintenance(on, reply) => {
                            self.span.in_scope(|| tracing::info!("({}) maintenance {}", self.spec.params.name, if on { "on" } else { "off" }));
                            let a = self.inst.handle(self.shared.clock.now(), Input::Maintenance(on));
                            self.execute(a).await;
                            self.refresh_view();
                            let _ = reply.send(());
                        }
                        Control::Sync(to) => {
                            let a = self.inst.handle(self.shared.clock.now(), Input::SyncGroup(to));
                            self.execute(a).await;
                            self.publish_counters();
                        }
                        Control::Shutdown(reply) => {
                            self.stop(reply, false).await;
                            return;
                        }
                        Control::Remove(reply) => {
                            self.stop(reply, true).await;
                            return;
                        }
                    }
                }
                () = changed.notified() => self.apply_trackers().await,
                Some(packet) = packets.recv() => self.packet(packet).await,
            }
        }
    }

    /// Re-evaluates the trackers and the interface, feeding the state machine.
    async fn apply_trackers(&mut self) {
        let results: Vec<(TrackerRef, Tracked)> = self
            .trackers
            .iter()
            .map(|(t, r)| {
                let mut value = *r.borrow();
                if t.kind == TrackerKind::Interface {
                    value = Tracked {
                        ok: value.ok,
                        value: 0,
                    };
                }
                (t.clone(), value)
            })
            .collect();
        let eval = evaluate(self.spec.params.priority, &results);
        let link_up = *self.link.borrow();
        let held = self.spec.held.is_some();
        let fault = held || eval.fault || !link_up;
        self.fault_cause = if held {
            Some(FaultCause::Held)
        } else {
            fault_cause(link_up, &eval, self.fault_cause)
        };
        if !link_up && !held && !self.own_fault {
            self.span
                .in_scope(|| tracing::info!("Netlink reports {} down", self.spec.interface));
        }
        let was_fault = std::mem::replace(&mut self.own_fault, fault);
        let state_before = self.inst.state();
        let now = self.shared.clock.now();
        let mut actions = self.inst.handle(now, Input::PriorityChanged(eval.priority));
        actions.extend(self.inst.handle(now, Input::Fault(fault)));
        self.execute(actions).await;
        // A transition told the engine already; a fault of its own that came or went
        // without one (held in FAULT by the group) must reach it too.
        if was_fault != fault && self.inst.state() == state_before {
            self.notify_group(state_before, false);
        }
        // The tracker states are in the view even when nothing else changed.
        self.refresh_view();
    }

    async fn packet(&mut self, packet: Result<ReceivedAdvert, DecodeError>) {
        let now = self.shared.clock.now();
        let actions = match packet {
            // A held instance takes no part in the election.
            _ if self.spec.held.is_some() => return,
            Ok(rx) => {
                if self.spec.params.unicast && !self.spec.unicast_peers.contains(&rx.src) {
                    self.drops.log(&format!(
                        "({}) unicast source address {} is not a unicast peer - ignoring",
                        self.spec.params.name, rx.src
                    ));
                    return;
                }
                let last_master = self.inst.last_master();
                match self.inst.receive(now, &rx) {
                    Received::Accepted(actions) => {
                        let heard = Some((rx.src, rx.vrrp.priority));
                        if self.master_heard != heard || self.inst.last_master() != last_master {
                            // The master shown in the view changed.
                            self.master_heard = heard;
                            self.refresh_view();
                        }
                        actions
                    }
                    Received::Dropped { line, .. } => {
                        // Only the drop's log line: rate-limited.
                        self.drops.log(&line);
                        self.publish_counters();
                        return;
                    }
                }
            }
            Err(err) => {
                let line = self.inst.drop_packet(&err);
                self.drops.log(&line);
                self.publish_counters();
                return;
            }
        };
        // A backup hearing its master (the common case) gets no action at all.
        if !actions.is_empty() {
            self.execute(actions).await;
        }
        self.publish_counters();
    }

    /// Tells the engine this member's state (for sync groups).
    fn notify_group(&self, to: State, transition: bool) {
        let _ = self.shared.transitions.send(TransitionNotice {
            instance: self.spec.params.name.clone(),
            to,
            own_fault: self.own_fault,
            transition,
        });
    }

    /// Copies the counters where the API reads them.
    fn publish_counters(&self) {
        *self.view.counters.lock().unwrap_or_else(|e| e.into_inner()) = *self.inst.counters();
    }

    /// Carries out the actions in order, inside this instance's span so every event
    /// carries its trace context.
    async fn execute(&mut self, actions: Vec<Action>) {
        // The steady state of a master (an advert per interval) needs neither a span nor
        // a new view: nothing it shows changes.
        if actions
            .iter()
            .all(|a| matches!(a, Action::SendAdvert { .. }))
        {
            for a in actions {
                if let Action::SendAdvert { priority } = a {
                    self.send_advert(priority);
                }
            }
            return;
        }
        let span = tracing::info_span!(parent: &self.span, "vrrp_actions");
        self.execute_in(actions).instrument(span).await;
    }

    async fn execute_in(&mut self, actions: Vec<Action>) {
        let changed = actions
            .iter()
            .any(|a| !matches!(a, Action::SendAdvert { .. } | Action::Log(_)));
        for action in actions {
            match action {
                Action::Log(line) => tracing::info!("{line}"),
                Action::SendAdvert { priority } => self.send_advert(priority),
                Action::AddVips => self.add_vips().await,
                Action::RemoveVips => self.remove_vips().await,
                Action::SendGarp { count } => self.send_garps(count),
                Action::Transition { from, to, reason } => {
                    // The protocol's Shutdown ends in Initialize; on the bus it is
                    // keepalived's STOP, which runs notify_stop (and mails nothing).
                    let stopping = matches!(reason, keepalived_vrrp::state::Reason::Shutdown);
                    // A removed instance is notified FAULT (keepalived's default without
                    // `notify_deleted`), and not at all when it is in FAULT already.
                    let removed = stopping && self.removed;
                    if removed && from == State::Fault {
                        self.refresh_view();
                        continue;
                    }
                    let (r, mut detail) = view::reason(&reason, self.fault_cause);
                    if let Some(why) = &self.spec.held {
                        detail = format!("{detail}: {why}");
                    }
                    self.state_since = view::now();
                    self.state_reason = r;
                    if to == State::Master {
                        self.master_heard = None;
                    }
                    let instance_state = self.refresh_view();
                    self.shared.producer.publish(v1::VrrpEvent {
                        header: None,
                        payload: Some(Payload::Transition(v1::InstanceTransition {
                            instance: self.spec.params.name.clone(),
                            from: view::state(from) as i32,
                            to: if removed {
                                v1::VrrpState::Fault as i32
                            } else if stopping {
                                v1::VrrpState::Stop as i32
                            } else {
                                view::state(to) as i32
                            },
                            reason: if removed {
                                v1::TransitionReason::Reload as i32
                            } else {
                                r as i32
                            },
                            detail,
                            priority: u32::from(self.inst.effective_priority()),
                            instance_state: Some(instance_state),
                        })),
                    });
                    self.notify_group(to, true);
                }
                Action::PriorityChanged { from, to } => {
                    let cause = self
                        .trackers
                        .iter()
                        .find(|(t, r)| t.weight != 0 && (!r.borrow().ok || r.borrow().value != 0))
                        .map(|(t, _)| t.name.clone())
                        .unwrap_or_default();
                    self.shared.producer.publish(v1::VrrpEvent {
                        header: None,
                        payload: Some(Payload::PriorityChanged(v1::PriorityChange {
                            instance: self.spec.params.name.clone(),
                            from: u32::from(from),
                            to: u32::from(to),
                            cause,
                            state: view::state(self.inst.state()) as i32,
                        })),
                    });
                }
            }
        }
        if changed {
            self.refresh_view();
        }
    }

    /// Stops: a master sends priority 0; none of our VIPs, routes or rules stays behind.
    /// `removed`: a reload removed the instance ([`Control::Remove`]).
    async fn stop(&mut self, reply: oneshot::Sender<()>, removed: bool) {
        self.removed = removed;
        let a = self.inst.handle(self.shared.clock.now(), Input::Shutdown);
        self.execute(a).await;
        if self.io.vips.iter().any(|v| v.present)
            || self.io.routes.any_present()
            || self.io.rules.any_present()
        {
            let span = self.span.clone();
            self.remove_vips().instrument(span).await;
        }
        let _ = reply.send(());
    }

    fn send_advert(&mut self, priority: u8) {
        let advert = self.inst.advert(priority);
        let group = [self.spec.group];
        let peers: &[IpAddr] = if self.spec.unicast_peers.is_empty() {
            &group
        } else {
            &self.spec.unicast_peers
        };
        for &dst in peers {
            let sent = match (self.io.src, dst) {
                (IpAddr::V4(src), IpAddr::V4(dst)) => {
                    encode_advert_ipv4(&advert, src, dst, self.io.ip_id.next_id())
                        .map(|packet| self.io.socket.send_v4(&packet, dst))
                }
                // RFC 5798 §5.1.2: the kernel builds the IPv6 header; the checksum covers
                // the pseudo-header of exactly the source and destination sent with.
                (IpAddr::V6(src), IpAddr::V6(dst)) => {
                    encode_vrrp(&advert, &PseudoHeader::V6 { src, dst })
                        .map(|payload| self.io.socket.send_v6(&payload, src, dst, self.io.ifindex))
                }
                (src, dst) => {
                    tracing::error!(
                        "({}) advert source {src} and destination {dst} differ in family",
                        self.spec.params.name
                    );
                    continue;
                }
            };
            match sent {
                Ok(result) => {
                    if let Err(error) = result {
                        self.drops.log(&format!(
                            "({}) cannot send advert to {dst} on {}: {error}",
                            self.spec.params.name,
                            self.io.socket.interface()
                        ));
                    }
                }
                Err(error) => {
                    tracing::error!("({}) cannot encode advert: {error}", self.spec.params.name)
                }
            }
        }
    }

    async fn add_vips(&mut self) {
        let mut added = Vec::new();
        for i in 0..self.io.vips.len() {
            let vip = &self.io.vips[i];
            match self.shared.netlink.add_vip(vip.link.index, &vip.spec).await {
                Ok(()) => {
                    self.io.vips[i].present = true;
                    added.push(self.vip_view(i));
                }
                Err(error) => tracing::error!("({}) {error}", self.spec.params.name),
            }
        }
        self.publish_vips(added, Vec::new());
        // virtual_routes follow the VIPs (a route may use one as its source).
        let name = self.spec.params.name.clone();
        self.io
            .routes
            .add_all(self.shared.netlink.as_ref(), &name)
            .await;
        self.io
            .rules
            .add_all(self.shared.netlink.as_ref(), &name)
            .await;
    }

    async fn remove_vips(&mut self) {
        let name = self.spec.params.name.clone();
        self.io
            .rules
            .remove_all(self.shared.netlink.as_ref(), &name)
            .await;
        self.io
            .routes
            .remove_all(self.shared.netlink.as_ref(), &name)
            .await;
        let mut removed = Vec::new();
        for i in 0..self.io.vips.len() {
            let vip = &self.io.vips[i];
            match self.shared.netlink.del_vip(vip.link.index, &vip.spec).await {
                Ok(was_there) => {
                    let was_ours = self.io.vips[i].present;
                    self.io.vips[i].present = false;
                    if was_there || was_ours {
                        if !was_ours {
                            tracing::info!(
                                "({}) removed stale VIP {} from {}",
                                self.spec.params.name,
                                self.io.vips[i].spec.cidr(),
                                self.io.vips[i].spec.dev
                            );
                        }
                        removed.push(self.vip_view(i));
                    }
                }
                Err(error) => tracing::error!("({}) {error}", self.spec.params.name),
            }
        }
        if !removed.is_empty() {
            self.publish_vips(Vec::new(), removed);
        }
    }

    fn publish_vips(&self, added: Vec<v1::VirtualIp>, removed: Vec<v1::VirtualIp>) {
        self.shared.producer.publish(v1::VrrpEvent {
            header: None,
            payload: Some(Payload::VipsChanged(v1::VipsChange {
                instance: self.spec.params.name.clone(),
                added,
                removed,
            })),
        });
    }

    /// RFC 5798 §6.4.1/§6.4.2: a gratuitous ARP per IPv4 VIP, `count` times, as keepalived
    /// (ARP requests, target MAC ff:ff:ff:ff:ff:ff), and an unsolicited Neighbour
    /// Advertisement per IPv6 VIP (RFC 4861 §7.2.6, to ff02::1 / 33:33:00:00:00:01).
    fn send_garps(&mut self, count: u32) {
        let mut by_dev: Vec<(String, Vec<String>)> = Vec::new();
        for vip in &self.io.vips {
            let mac = MacAddr(vip.link.mac);
            let (frame, what): (Vec<u8>, &str) = match vip.spec.address {
                IpAddr::V4(address) => {
                    tracing::info!(
                        "({}) Sending/queueing gratuitous ARPs on {} for {address}",
                        self.spec.params.name,
                        vip.spec.dev
                    );
                    (gratuitous_arp(mac, address).to_vec(), "gratuitous ARP")
                }
                IpAddr::V6(address) => {
                    tracing::info!(
                        "({}) Sending/queueing Unsolicited Neighbour Adverts on {} for {address}",
                        self.spec.params.name,
                        vip.spec.dev
                    );
                    (
                        unsolicited_na(mac, address, vip.router).to_vec(),
                        "unsolicited neighbour advert",
                    )
                }
            };
            let address = vip.spec.address;
            for _ in 0..count {
                if let Err(error) = self.shared.garp.send_frame(vip.link.index, &frame) {
                    tracing::warn!(
                        "({}) cannot send {what} on {}: {error}",
                        self.spec.params.name,
                        vip.spec.dev
                    );
                    break;
                }
            }
            match by_dev.iter_mut().find(|(d, _)| *d == vip.spec.dev) {
                Some((_, list)) => list.push(address.to_string()),
                None => by_dev.push((vip.spec.dev.clone(), vec![address.to_string()])),
            }
        }
        for (interface, addresses) in by_dev {
            self.shared.producer.publish(v1::VrrpEvent {
                header: None,
                payload: Some(Payload::GarpSent(v1::GarpSent {
                    instance: self.spec.params.name.clone(),
                    interface,
                    addresses,
                    count,
                })),
            });
        }
    }

    fn vip_view(&self, i: usize) -> v1::VirtualIp {
        let v = &self.io.vips[i];
        v1::VirtualIp {
            address: v.spec.cidr(),
            dev: v.spec.dev.clone(),
            label: v.spec.label.clone().unwrap_or_default(),
            scope: v.spec.scope.clone().unwrap_or_default(),
            broadcast: v.spec.brd.map(|b| b.to_string()).unwrap_or_default(),
            present: v.present,
            excluded: v.spec.excluded,
        }
    }

    /// Rebuilds the API view of this instance; returns it (with the counters).
    fn refresh_view(&mut self) -> v1::Instance {
        let state = self.inst.state();
        let (master_address, master_priority) = match state {
            State::Master => (
                self.io.src.to_string(),
                u32::from(self.inst.effective_priority()),
            ),
            State::Backup => match (self.inst.last_master(), self.master_heard) {
                (Some(a), Some((b, p))) if a == b => (a.to_string(), u32::from(p)),
                (Some(a), _) => (a.to_string(), 0),
                (None, _) => (String::new(), 0),
            },
            _ => (String::new(), 0),
        };
        let results: Vec<(TrackerRef, Tracked)> = self
            .trackers
            .iter()
            .map(|(t, r)| (t.clone(), *r.borrow()))
            .collect();
        let eval = evaluate(self.spec.params.priority, &results);
        let trackers = results
            .iter()
            .zip(&eval.deltas)
            .map(|((t, r), d)| v1::Tracker {
                kind: view::tracker_kind(t.kind) as i32,
                name: t.name.clone(),
                ok: r.ok,
                weight: t.weight,
                priority_delta: *d,
            })
            .collect();
        let instance = v1::Instance {
            name: self.spec.params.name.clone(),
            state: view::state(state) as i32,
            state_since: Some(self.state_since),
            state_reason: self.state_reason as i32,
            base_priority: u32::from(self.spec.params.priority),
            effective_priority: u32::from(self.inst.effective_priority()),
            interface: self.spec.interface.clone(),
            vrid: u32::from(self.spec.params.vrid),
            version: u32::from(self.spec.version),
            advert_interval_centis: self.spec.advert_int_centis,
            master_address,
            master_priority,
            vips: (0..self.io.vips.len()).map(|i| self.vip_view(i)).collect(),
            trackers,
            counters: None,
            maintenance: self.inst.in_maintenance(),
            sync_group: self.spec.sync_group.clone().unwrap_or_default(),
            configured_state: if self.spec.configured_master {
                v1::VrrpState::Master
            } else {
                v1::VrrpState::Backup
            } as i32,
        };
        *self.view.view.write().unwrap_or_else(|e| e.into_inner()) = instance.clone();
        self.publish_counters();
        v1::Instance {
            counters: Some(view::counters(self.inst.counters())),
            ..instance
        }
    }
}

/// What the shell publishes as the cause of a FAULT: the interface when it is down, else
/// the tracker the evaluation names, else (a fault clearing) the cause it had.
/// Wakes `changed` whenever `r` changes, until `stop`.
fn forward<T: Send + Sync + 'static>(
    mut r: watch::Receiver<T>,
    changed: Arc<Notify>,
    stop: CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                res = r.changed() => {
                    if res.is_err() {
                        return;
                    }
                    changed.notify_one();
                }
            }
        }
    });
}
