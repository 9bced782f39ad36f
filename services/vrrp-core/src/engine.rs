//! The engine: the sockets of each interface and the dispatch of received packets to
//! instances by VRID, the trackers, the instance tasks, sync groups, reload by
//! difference, and the graceful stop.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use keepalived_api::v1;
use keepalived_bus::Producer;
use keepalived_vrrp::codec::{
    DecodeError, IPV4_HEADER_LEN, ReceivedAdvert, VRRP_GROUP_V6, parse_ipv4_packet,
    parse_ipv6_payload,
};
use keepalived_vrrp::state::State;
use keepalived_vrrp::sync::{Member, follow, group_state};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::instance::{
    self, Clock, Control, Handle, InstanceContext, LiveView, PACKET_QUEUE, Packet, TransitionNotice,
};
use crate::netlink::{LinkMonitor, Netlink};
use crate::socket::{RECV_BUFFER, VrrpSocket};
use crate::spec::{EngineSpec, InstanceSpec, TrackerKind};
use crate::sys::PacketSocket;
use crate::trackers::{Tracked, TrackerHub};

/// What the API reads: the router id and the running instances in configuration order.
#[derive(Debug, Default)]
pub struct Registry {
    /// `router_id`.
    pub router_id: String,
    /// Running instances.
    pub instances: Vec<Handle>,
}

/// The registry shared between the engine and the API.
pub type SharedRegistry = Arc<RwLock<Registry>>;

/// How long a stop waits for an instance to send its priority-0 advert and remove its
/// VIPs.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// The instances listening on one interface's socket.
type Routes = Arc<RwLock<Vec<Route>>>;

struct Route {
    vrid: u8,
    /// The instance's bounded packet queue.
    packets: mpsc::Sender<Packet>,
    /// Where a packet that did not fit is counted.
    view: Arc<LiveView>,
}

impl Route {
    fn deliver(&self, packet: Packet) {
        self.view.deliver(&self.packets, packet);
    }
}

struct InterfaceSocket {
    socket: Arc<VrrpSocket>,
    routes: Arc<RwLock<Vec<Route>>>,
    reader: JoinHandle<()>,
}

/// The VRID of a packet that did not decode, if its header goes that far.
fn vrid_byte(packet: &[u8]) -> Option<u8> {
    let ihl = usize::from(packet.first()? & 0x0f) * 4;
    packet.get(ihl.max(IPV4_HEADER_LEN) + 1).copied()
}

fn dispatch(packet: &[u8], routes: &[Route]) {
    dispatch_parsed(parse_ipv4_packet(packet), vrid_byte(packet), routes);
}

/// Hands a received packet (decoded or not) to the instances of its VRID; `vrid` is the
/// VRID byte of a packet that did not decode, if it has one.
fn dispatch_parsed(
    parsed: Result<ReceivedAdvert, DecodeError>,
    vrid: Option<u8>,
    routes: &[Route],
) {
    match parsed {
        Ok(rx) => {
            let mut matched = false;
            for r in routes.iter().filter(|r| r.vrid == rx.vrrp.vrid) {
                matched = true;
                r.deliver(Ok(rx.clone()));
            }
            if !matched {
                // RFC 5798 §7.1: the VRID is not configured here: counted by every
                // instance of the interface (keepalived's vrid error).
                for r in routes {
                    r.deliver(Err(DecodeError::VridMismatch {
                        got: rx.vrrp.vrid,
                        expected: r.vrid,
                    }));
                }
            }
        }
        Err(err) => {
            let targeted = routes.iter().any(|r| Some(r.vrid) == vrid);
            for r in routes.iter().filter(|r| !targeted || Some(r.vrid) == vrid) {
                r.deliver(Err(err.clone()));
            }
        }
    }
}

async fn read_loop(socket: Arc<VrrpSocket>, routes: Arc<RwLock<Vec<Route>>>) {
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        match socket.recv(&mut buf).await {
            Ok(n) => {
                let routes = routes.read().unwrap_or_else(|e| e.into_inner());
                dispatch(&buf[..n], &routes);
            }
            Err(error) => {
                tracing::error!("receiving on {}: {error}", socket.interface());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The reader of an IPv6 socket: the kernel gives the VRRP message alone, with the
/// source, and the destination and hop limit as ancillary data (RFC 5798 §7.1 checks
/// both through the checksum's pseudo-header and the hop limit).
async fn read_loop_v6(socket: Arc<VrrpSocket>, routes: Arc<RwLock<Vec<Route>>>) {
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        match socket.recv_v6(&mut buf).await {
            Ok(meta) => {
                let payload = &buf[..meta.len.min(buf.len())];
                // Without the ancillary data the packet fails the checks it feeds (the
                // checksum, hop limit 255) rather than passing them by assumption.
                let parsed = parse_ipv6_payload(
                    meta.src,
                    meta.dst.unwrap_or(VRRP_GROUP_V6),
                    meta.hop_limit.unwrap_or(0),
                    payload,
                );
                let routes = routes.read().unwrap_or_else(|e| e.into_inner());
                dispatch_parsed(parsed, payload.get(1).copied(), &routes);
            }
            Err(error) => {
                tracing::error!("receiving on {} (IPv6): {error}", socket.interface());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The running engine.
pub struct Engine {
    shared: InstanceContext,
    links: LinkMonitor,
    trackers: TrackerHub,
    /// One socket per interface and family (true = IPv6).
    sockets: HashMap<(String, bool), InterfaceSocket>,
    spec: EngineSpec,
    tasks: HashMap<String, JoinHandle<()>>,
    registry: SharedRegistry,
    transitions: mpsc::UnboundedReceiver<TransitionNotice>,
    /// Each instance's last state and own fault, from its notices (sync groups).
    members: HashMap<String, Member>,
    /// Each sync group's own state, as last published (`SyncGroupTransition`).
    groups: HashMap<String, State>,
    statics: crate::statics::Statics,
    /// The rtnetlink connection itself (VMACs need more than the instances' port).
    netlink: Netlink,
    /// Each instance's VMAC (`use_vmac`), by instance name.
    vmacs: HashMap<String, crate::vmac::Vmac>,
    vmac_host: crate::vmac::VmacHost,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens netlink and the packet socket, follows link state, and starts every
    /// instance of `spec`.
    pub async fn start(
        spec: EngineSpec,
        producer: Producer<v1::VrrpEvent>,
        registry: SharedRegistry,
    ) -> anyhow::Result<Self> {
        let netlink = Netlink::open()?;
        let links = LinkMonitor::start(&netlink).await?;
        let (transitions_tx, transitions) = mpsc::unbounded_channel();
        let shared = InstanceContext {
            clock: Clock::new(),
            precise_timers: true,
            netlink: Arc::new(netlink.clone()),
            garp: Arc::new(PacketSocket::open().map_err(|e| {
                anyhow::anyhow!("opening the AF_PACKET socket for gratuitous ARP: {e}")
            })?),
            producer,
            transitions: transitions_tx,
        };
        let mut engine = Self {
            shared,
            links,
            trackers: TrackerHub::default(),
            sockets: HashMap::new(),
            spec: EngineSpec::default(),
            tasks: HashMap::new(),
            registry,
            transitions,
            members: HashMap::new(),
            groups: HashMap::new(),
            statics: crate::statics::Statics::default(),
            netlink,
            vmacs: HashMap::new(),
            vmac_host: crate::vmac::VmacHost::default(),
        };
        engine.apply(spec).await;
        Ok(engine)
    }

    fn socket(
        &mut self,
        interface: &str,
        ipv6: bool,
    ) -> std::io::Result<(Arc<VrrpSocket>, Routes)> {
        let key = (interface.to_owned(), ipv6);
        if let Some(s) = self.sockets.get(&key) {
            return Ok((s.socket.clone(), s.routes.clone()));
        }
        let routes = Arc::new(RwLock::new(Vec::new()));
        let (socket, reader) = if ipv6 {
            let socket = Arc::new(VrrpSocket::open_v6(interface)?);
            let reader = tokio::spawn(read_loop_v6(socket.clone(), routes.clone()));
            (socket, reader)
        } else {
            let socket = Arc::new(VrrpSocket::open_v4(interface)?);
            let reader = tokio::spawn(read_loop(socket.clone(), routes.clone()));
            (socket, reader)
        };
        self.sockets.insert(
            key,
            InterfaceSocket {
                socket: socket.clone(),
                routes: routes.clone(),
                reader,
            },
        );
        Ok((socket, routes))
    }

    async fn start_instance(&mut self, spec: InstanceSpec) -> anyhow::Result<Handle> {
        let vmac = match &spec.vmac {
            Some(v) if spec.held.is_none() => Some(self.make_vmac(&spec, v).await?),
            _ => None,
        };
        let started = self.start_instance_on(spec.clone(), vmac.clone()).await;
        if let Some(v) = vmac {
            match &started {
                Ok(_) => {
                    self.vmacs.insert(spec.params.name.clone(), v);
                }
                Err(_) => {
                    self.vmac_host
                        .remove(&self.netlink, &spec.params.name, &v)
                        .await
                }
            }
        }
        started
    }

    /// Creates (or adopts) the VMAC of an instance (keepalived's `netlink_link_add_vmac`).
    async fn make_vmac(
        &mut self,
        spec: &InstanceSpec,
        want: &crate::vmac::VmacSpec,
    ) -> anyhow::Result<crate::vmac::Vmac> {
        let name = &spec.params.name;
        let ipv6 = spec.is_ipv6();
        let parent = self.netlink.link(&spec.interface).await?;
        let mac = want
            .mac
            .unwrap_or_else(|| crate::vmac::rfc_mac(spec.params.vrid, ipv6));
        let existing = crate::vmac::VmacHost::existing(&self.netlink).await?;
        let taken: Vec<String> = self.vmacs.values().map(|v| v.name.clone()).collect();
        let mut log = Vec::new();
        let plan = crate::vmac::plan(
            name,
            want,
            mac,
            spec.params.vrid,
            ipv6,
            parent.index,
            &existing,
            &taken,
            &mut log,
        );
        for line in log {
            tracing::info!("{line}");
        }
        // vrrp_vmac.c `set_link_local_address`: the configured source, else the parent's
        // link-local address, else one made from the parent's MAC.
        let link_local = if !ipv6 {
            None
        } else if let Some(IpAddr::V6(a)) = spec.unicast_src {
            Some(a)
        } else {
            Some(
                self.netlink
                    .ipv6_link_local(parent.index)
                    .await?
                    .first()
                    .copied()
                    .unwrap_or_else(|| crate::vmac::eui64_link_local(parent.mac)),
            )
        };
        let ipv6_vips = spec.vips.iter().any(|v| v.address.is_ipv6());
        Ok(self
            .vmac_host
            .create(
                &self.netlink,
                name,
                &plan,
                mac,
                (parent.index, &spec.interface),
                ipv6,
                ipv6_vips,
                link_local,
                want.xmit_base,
            )
            .await?)
    }

    async fn start_instance_on(
        &mut self,
        spec: InstanceSpec,
        vmac: Option<crate::vmac::Vmac>,
    ) -> anyhow::Result<Handle> {
        // Adverts are sent and read on the VMAC, unless `vmac_xmit_base`.
        let interface = match &vmac {
            Some(v) if !v.xmit_base => v.name.clone(),
            _ => spec.interface.clone(),
        };
        let link = self.shared.netlink.link(&interface).await?;
        let (socket, routes) = self.socket(&interface, spec.is_ipv6())?;
        if spec.unicast_peers.is_empty() {
            match spec.group {
                IpAddr::V4(group) => socket.join_v4(group, link.index)?,
                IpAddr::V6(group) => socket.join_v6(group, link.index)?,
            }
        }
        let mut trackers = Vec::new();
        for t in &spec.trackers {
            let rx = match t.kind {
                TrackerKind::Interface => {
                    // The interface's watch carries `up`; map it to a tracker result.
                    let mut up = self.links.subscribe(&t.name);
                    let (tx, rx) = tokio::sync::watch::channel(Tracked::of(*up.borrow()));
                    tokio::spawn(async move {
                        while up.changed().await.is_ok() {
                            let v = Tracked::of(*up.borrow());
                            if tx.send(v).is_err() {
                                return;
                            }
                        }
                    });
                    rx
                }
                kind => self.trackers.subscribe(kind, &t.name).ok_or_else(|| {
                    anyhow::anyhow!("({}) tracker {} is not running", spec.params.name, t.name)
                })?,
            };
            trackers.push((t.clone(), rx));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let (packets, packets_rx) = mpsc::channel(PACKET_QUEUE);
        let (handle, join) = instance::start(
            spec.clone(),
            self.shared.clone(),
            socket,
            rx,
            tx,
            packets_rx,
            trackers,
            self.links.subscribe(&spec.interface),
            vmac,
        )
        .await?;
        routes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Route {
                vrid: spec.params.vrid,
                packets,
                view: handle.view.clone(),
            });
        self.tasks.insert(handle.name.clone(), join);
        Ok(handle)
    }

    /// Stops an instance; `removed`: the new configuration has no instance of its name
    /// (notified FAULT, as keepalived notifies a deleted instance), else it restarts.
    async fn stop_instance(&mut self, handle: &Handle, removed: bool) {
        for s in self.sockets.values() {
            s.routes
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|r| !Arc::ptr_eq(&r.view, &handle.view));
        }
        let (reply, done) = oneshot::channel();
        let control = if removed {
            Control::Remove(reply)
        } else {
            Control::Shutdown(reply)
        };
        if handle.tx.send(control).is_ok()
            && tokio::time::timeout(STOP_TIMEOUT, done).await.is_err()
        {
            tracing::warn!("({}) did not stop within {STOP_TIMEOUT:?}", handle.name);
        }
        if let Some(join) = self.tasks.remove(&handle.name) {
            join.abort();
        }
        if let Some(v) = self.vmacs.remove(&handle.name) {
            self.vmac_host.remove(&self.netlink, &handle.name, &v).await;
            // A socket bound to the VMAC is dead with it; a VMAC made again under the
            // same name needs a new one.
            self.sockets.retain(|(interface, _), s| {
                let dead = *interface == v.name;
                if dead {
                    s.reader.abort();
                }
                !dead
            });
        }
        // A member started again under this name reports afresh.
        self.members.remove(&handle.name);
    }

    /// Applies a (new) configuration by difference: instances whose configuration and
    /// trackers are unchanged keep running untouched (no flap); changed and removed ones
    /// stop (a master sends priority 0 and removes its VIPs); new and changed ones start.
    pub async fn apply(&mut self, new: EngineSpec) {
        // Static entries first: an instance's route may rely on them.
        self.statics
            .apply(self.shared.netlink.as_ref(), &new.statics)
            .await;
        let old = std::mem::replace(&mut self.spec, new.clone());
        let running: Vec<Handle> = {
            let mut reg = self.registry.write().unwrap_or_else(|e| e.into_inner());
            reg.router_id = new.router_id.clone();
            std::mem::take(&mut reg.instances)
        };
        let mut kept = HashMap::new();
        for handle in running {
            let unchanged =
                new.instances.contains(&handle.spec) && old.same_trackers(&new, &handle.spec);
            if unchanged {
                kept.insert(handle.name.clone(), handle);
            } else {
                let removed = !new.instances.iter().any(|i| i.params.name == handle.name);
                tracing::info!(
                    "({}) stopping: {} by the new configuration",
                    handle.name,
                    if removed { "removed" } else { "changed" }
                );
                self.stop_instance(&handle, removed).await;
            }
        }
        self.trackers.apply(
            &new.scripts,
            &new.track_files,
            &new.track_processes,
            &new.script_user,
            new.script_security,
        );
        self.start_groups(&new);
        let mut instances = Vec::new();
        for spec in &new.instances {
            if let Some(handle) = kept.remove(&spec.params.name) {
                instances.push(handle);
                continue;
            }
            match self.start_instance(spec.clone()).await {
                Ok(handle) => instances.push(handle),
                Err(error) => tracing::error!("({}) not started: {error:#}", spec.params.name),
            }
        }
        self.registry
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .instances = instances;
        // Sockets no instance uses any more are closed.
        self.sockets.retain(|_, s| {
            let used = !s
                .routes
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty();
            if !used {
                s.reader.abort();
            }
            used
        });
    }

    /// Stops every instance (masters send priority 0 and remove their VIPs) and every
    /// tracker.
    pub async fn shutdown(&mut self) {
        let handles: Vec<Handle> = std::mem::take(
            &mut self
                .registry
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .instances,
        );
        let mut waits = Vec::new();
        for handle in &handles {
            let (reply, done) = oneshot::channel();
            if handle.tx.send(Control::Shutdown(reply)).is_ok() {
                waits.push(done);
            }
        }
        let _ = tokio::time::timeout(STOP_TIMEOUT, futures::future::join_all(waits)).await;
        // vrrp_notify.c `notify_shutdown`: every instance's STOP, then every group's.
        for (group, members) in &self.spec.sync_groups {
            let from = self.groups.remove(group).unwrap_or(State::Initialize);
            self.publish_group(
                group,
                members,
                crate::view::state(from),
                v1::VrrpState::Stop,
            );
        }
        self.statics.clear(self.shared.netlink.as_ref()).await;
        for (instance, v) in std::mem::take(&mut self.vmacs) {
            self.vmac_host.remove(&self.netlink, &instance, &v).await;
        }
        self.vmac_host.restore_rp_filter();
        self.trackers.stop_all();
        for (_, s) in self.sockets.drain() {
            s.reader.abort();
        }
    }

    /// A member's notice: record its state; after a transition, move the other members
    /// of its `vrrp_sync_group` with it.
    fn on_member_notice(&mut self, notice: TransitionNotice) {
        self.members.insert(
            notice.instance.clone(),
            Member {
                state: notice.to,
                own_fault: notice.own_fault,
            },
        );
        if notice.transition {
            self.follow_sync_group(&notice.instance);
        }
        self.publish_group_state(&notice.instance);
    }

    /// vrrp_sync.c `vrrp_sync_set_group` and vrrp_scheduler.c `vrrp_init_state`: a new
    /// sync group starts BACKUP (MASTER when every member is an address owner wanting
    /// MASTER) and a BACKUP group is notified before its members start, as keepalived
    /// writes `GROUP … BACKUP` before the instances' lines.
    fn start_groups(&mut self, spec: &EngineSpec) {
        for (group, members) in &spec.sync_groups {
            if self.groups.contains_key(group) {
                continue;
            }
            let owners_wanting_master = members.iter().all(|m| {
                spec.instances
                    .iter()
                    .find(|i| &i.params.name == m)
                    .is_some_and(|i| i.params.priority == 255 && i.configured_master)
            });
            if owners_wanting_master {
                self.groups.insert(group.clone(), State::Master);
            } else {
                self.groups.insert(group.clone(), State::Backup);
                self.publish_group(group, members, v1::VrrpState::Init, v1::VrrpState::Backup);
            }
        }
    }

    /// Publishes the sync group of `instance` moving to its members' common state
    /// ([`group_state`]), which the notifier turns into the group's notify scripts, FIFO
    /// line and mail.
    fn publish_group_state(&mut self, instance: &str) {
        let Some((group, names)) = self.sync_group_of(instance).cloned() else {
            return;
        };
        let members: Vec<Member> = names.iter().map(|n| self.member(n)).collect();
        let from = self
            .groups
            .get(&group)
            .copied()
            .unwrap_or(State::Initialize);
        let to = group_state(from, &members);
        if to != from {
            self.groups.insert(group.clone(), to);
            self.publish_group(
                &group,
                &names,
                crate::view::state(from),
                crate::view::state(to),
            );
        }
    }

    fn publish_group(
        &self,
        group: &str,
        members: &[String],
        from: v1::VrrpState,
        to: v1::VrrpState,
    ) {
        // keepalived says nothing at a group's start or stop.
        if from != v1::VrrpState::Init && to != v1::VrrpState::Stop {
            // keepalived's words (vrrp_sync.c), said here once the members have moved.
            tracing::info!(
                "VRRP_Group({group}) Syncing instances to {} state",
                to.as_str_name().trim_start_matches("VRRP_STATE_")
            );
        }
        self.shared.producer.publish(v1::VrrpEvent {
            header: None,
            payload: Some(v1::vrrp_event::Payload::SyncGroupTransition(
                v1::SyncGroupTransition {
                    group: group.to_owned(),
                    from: from as i32,
                    to: to as i32,
                    members: members.to_vec(),
                },
            )),
        });
    }

    /// The sync group `instance` is a member of: its name and members.
    fn sync_group_of(&self, instance: &str) -> Option<&(String, Vec<String>)> {
        self.spec
            .sync_groups
            .iter()
            .find(|(_, m)| m.iter().any(|n| n == instance))
    }

    /// A member's last known state; one not heard from yet has not started: INIT, no
    /// fault of its own.
    fn member(&self, name: &str) -> Member {
        self.members.get(name).copied().unwrap_or(Member {
            state: State::Initialize,
            own_fault: false,
        })
    }

    /// `vrrp_sync_group`: after `instance`'s transition, move the others with it.
    fn follow_sync_group(&self, instance: &str) {
        let Some((_, names)) = self.sync_group_of(instance) else {
            return;
        };
        let reg = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let handles: Vec<&Handle> = names
            .iter()
            .filter_map(|m| reg.instances.iter().find(|h| &h.name == m))
            .collect();
        let Some(changed) = handles.iter().position(|h| h.name == instance) else {
            return;
        };
        let states: Vec<Member> = handles.iter().map(|h| self.member(&h.name)).collect();
        for (i, state) in follow(&states, changed) {
            let _ = handles[i].tx.send(Control::Sync(state));
        }
    }

    /// Runs until `shutdown` is cancelled: reloads on every change of `reloads` (with
    /// the configuration `load` returns), follows sync groups; then stops gracefully.
    pub async fn run<F>(
        mut self,
        shutdown: tokio_util::sync::CancellationToken,
        mut reloads: tokio::sync::watch::Receiver<u64>,
        load: F,
    ) where
        F: Fn() -> anyhow::Result<EngineSpec>,
    {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                changed = reloads.changed() => {
                    if changed.is_err() {
                        continue;
                    }
                    match load() {
                        Ok(spec) => {
                            tracing::info!("Reloading configuration");
                            self.apply(spec).await;
                        }
                        Err(error) => tracing::error!("reload failed, keeping the running configuration: {error:#}"),
                    }
                }
                Some(notice) = self.transitions.recv() => self.on_member_notice(notice),
            }
        }
        self.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_vrrp::codec::{Advert, Auth, encode_advert_ipv4};
    use keepalived_vrrp::time::{AdvertCentiseconds, AdvertInterval};
    use std::net::Ipv4Addr;

    fn packet(vrid: u8) -> Vec<u8> {
        let advert = Advert {
            vrid,
            priority: 100,
            interval: AdvertInterval::V3(AdvertCentiseconds::new(100).unwrap()),
            auth: Auth::None,
            addresses: vec!["198.51.100.10".parse().unwrap()],
        };
        encode_advert_ipv4(
            &advert,
            Ipv4Addr::new(198, 51, 100, 11),
            Ipv4Addr::new(224, 0, 0, 18),
            1,
        )
        .unwrap()
    }

    fn route(vrid: u8) -> (Route, mpsc::Receiver<Packet>) {
        let (packets, rx) = mpsc::channel(PACKET_QUEUE);
        (
            Route {
                vrid,
                packets,
                view: Arc::default(),
            },
            rx,
        )
    }

    #[test]
    fn packets_go_to_the_instance_of_their_vrid_and_others_count_a_vrid_error() {
        let (r1, mut rx1) = route(1);
        let (r2, mut rx2) = route(2);
        let routes = [r1, r2];
        dispatch(&packet(2), &routes);
        assert!(rx1.try_recv().is_err());
        assert!(matches!(rx2.try_recv(), Ok(Ok(_))));
        dispatch(&packet(9), &routes);
        assert!(matches!(
            rx1.try_recv(),
            Ok(Err(DecodeError::VridMismatch {
                got: 9,
                expected: 1
            }))
        ));
        assert!(matches!(
            rx2.try_recv(),
            Ok(Err(DecodeError::VridMismatch {
                got: 9,
                expected: 2
            }))
        ));
    }

    #[test]
    fn a_corrupt_packet_is_counted_by_the_instance_its_vrid_names() {
        let (r1, mut rx1) = route(1);
        let (r2, mut rx2) = route(2);
        let mut p = packet(2);
        let last = p.len() - 1;
        p[last] ^= 0xff;
        dispatch(&p, &[r1, r2]);
        assert!(rx1.try_recv().is_err());
        assert!(matches!(rx2.try_recv(), Ok(Err(DecodeError::BadChecksum))));
    }

    #[test]
    fn a_flood_beyond_the_queue_is_counted_and_dropped_not_queued() {
        let (r, mut rx) = route(2);
        let routes = [r];
        for _ in 0..PACKET_QUEUE + 10 {
            dispatch(&packet(2), &routes);
        }
        let mut queued = 0;
        while rx.try_recv().is_ok() {
            queued += 1;
        }
        assert_eq!(queued, PACKET_QUEUE);
        let counters = routes[0].view.snapshot().counters.unwrap();
        assert_eq!(counters.rx_queue_full, 10);
    }
}
