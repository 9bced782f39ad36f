//! An instance task with scripted ports on tokio's paused clock: no root, no sockets, no
//! kernel. Packets are put into its queue, time is advanced exactly, and what it sends,
//! the addresses it changes and the frames it emits are recorded by the ports.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use keepalived_api::v1;
use keepalived_bus::{BusMetrics, Producer};
use keepalived_vrrp::codec::{Advert, Auth, ReceivedAdvert, parse_ipv4_packet};
use keepalived_vrrp::time::{AdvertInterval, AdvertSeconds};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use vrrp_core::instance::{self, Clock, Control, Handle, InstanceContext, PACKET_QUEUE, Packet};
use vrrp_core::netlink::{LinkInfo, NetlinkError};
use vrrp_core::ports::{AddressPort, AdvertPort, FramePort};
use vrrp_core::routes::RouteSpec;
use vrrp_core::rules::RuleSpec;
use vrrp_core::spec::{EngineSpec, VipSpec};

const MS: Duration = Duration::from_millis(1);

/// What the ports saw, with the paused clock's time since the start.
#[derive(Default)]
struct Seen {
    /// (time, priority, destination) of every advert sent.
    adverts: Vec<(Duration, u8, Ipv4Addr)>,
    /// The VIPs on the interface now.
    vips: Vec<String>,
    /// Every address change: `+198.51.100.10/24` / `-…`, in order.
    changes: Vec<String>,
    /// Frames sent (gratuitous ARPs).
    frames: usize,
}

struct Ports {
    seen: Mutex<Seen>,
    start: Instant,
}

impl Ports {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            seen: Mutex::default(),
            start: Instant::now(),
        })
    }
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }
}

impl AdvertPort for Ports {
    fn interface(&self) -> &str {
        "eth0"
    }
    fn send_v4(&self, packet: &[u8], dst: Ipv4Addr) -> std::io::Result<()> {
        let advert = parse_ipv4_packet(packet).expect("we send what we can parse");
        let at = self.start.elapsed();
        self.seen().adverts.push((at, advert.vrrp.priority, dst));
        Ok(())
    }
    fn send_v6(&self, _: &[u8], _: Ipv6Addr, _: Ipv6Addr, _: u32) -> std::io::Result<()> {
        unreachable!("this test is IPv4")
    }
}

impl FramePort for Ports {
    fn send_frame(&self, _: u32, _: &[u8]) -> std::io::Result<()> {
        self.seen().frames += 1;
        Ok(())
    }
}

impl AddressPort for Ports {
    fn link<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<LinkInfo, NetlinkError>> {
        Box::pin(async {
            Ok(LinkInfo {
                index: 2,
                mac: [2, 0, 0, 0, 0, 11],
                up: true,
            })
        })
    }
    fn ipv4_addresses(&self, _: u32) -> BoxFuture<'_, Result<Vec<Ipv4Addr>, NetlinkError>> {
        Box::pin(async { Ok(vec![Ipv4Addr::new(198, 51, 100, 11)]) })
    }
    fn ipv6_link_local(&self, _: u32) -> BoxFuture<'_, Result<Vec<Ipv6Addr>, NetlinkError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn add_vip<'a>(&'a self, _: u32, vip: &'a VipSpec) -> BoxFuture<'a, Result<(), NetlinkError>> {
        Box::pin(async move {
            let mut seen = self.seen();
            seen.vips.push(vip.cidr());
            seen.changes.push(format!("+{}", vip.cidr()));
            Ok(())
        })
    }
    fn del_vip<'a>(
        &'a self,
        _: u32,
        vip: &'a VipSpec,
    ) -> BoxFuture<'a, Result<bool, NetlinkError>> {
        Box::pin(async move {
            let mut seen = self.seen();
            let before = seen.vips.len();
            seen.vips.retain(|v| *v != vip.cidr());
            seen.changes.push(format!("-{}", vip.cidr()));
            Ok(seen.vips.len() != before)
        })
    }
    fn add_route<'a>(&'a self, route: &'a RouteSpec) -> BoxFuture<'a, Result<(), NetlinkError>> {
        Box::pin(async move {
            self.seen()
                .changes
                .push(format!("+route {}", route.describe()));
            Ok(())
        })
    }
    fn del_route<'a>(&'a self, route: &'a RouteSpec) -> BoxFuture<'a, Result<bool, NetlinkError>> {
        Box::pin(async move {
            self.seen()
                .changes
                .push(format!("-route {}", route.describe()));
            Ok(true)
        })
    }
    fn add_rule<'a>(&'a self, rule: &'a RuleSpec) -> BoxFuture<'a, Result<bool, NetlinkError>> {
        Box::pin(async move {
            self.seen()
                .changes
                .push(format!("+rule {}", rule.describe()));
            Ok(true)
        })
    }
    fn del_rule<'a>(&'a self, rule: &'a RuleSpec) -> BoxFuture<'a, Result<bool, NetlinkError>> {
        Box::pin(async move {
            self.seen()
                .changes
                .push(format!("-rule {}", rule.describe()));
            Ok(true)
        })
    }
}

const CONFIG: &str = "
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 736w4ib2
    }
    virtual_ipaddress {
        198.51.100.10/24
    }
    virtual_routes {
        203.0.113.0/26 via 198.51.100.20 dev eth0
    }
}
";

struct Rig {
    ports: Arc<Ports>,
    handle: Handle,
    packets: mpsc::Sender<Packet>,
    link: watch::Sender<bool>,
    events: keepalived_bus::WatchStream<v1::VrrpEvent>,
    _join: tokio::task::JoinHandle<()>,
}

async fn start() -> Rig {
    let config = keepalived_config::load_str(
        CONFIG,
        Path::new("/etc/keepalived/keepalived.conf"),
        &Default::default(),
    )
    .unwrap()
    .config;
    let spec = EngineSpec::from_config(&config, &mut Vec::new())
        .instances
        .remove(0);
    let ports = Ports::new();
    let producer = Producer::new(
        "vrrp-core@test",
        1024,
        BusMetrics::default(),
        v1::VrrpEvent::default,
    );
    let events = producer.watch("test");
    let (transitions, _) = mpsc::unbounded_channel();
    let shared = InstanceContext {
        clock: Clock::new(),
        precise_timers: false,
        netlink: ports.clone(),
        garp: ports.clone(),
        producer,
        transitions,
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let (packets, packets_rx) = mpsc::channel(PACKET_QUEUE);
    let (link, link_rx) = watch::channel(true);
    let (handle, join) = instance::start(
        spec,
        shared,
        ports.clone(),
        rx,
        tx,
        packets_rx,
        Vec::new(),
        link_rx,
        None,
    )
    .await
    .unwrap();
    Rig {
        ports,
        handle,
        packets,
        link,
        events,
        _join: join,
    }
}

impl Rig {
    /// Advances the paused clock to `at` after the start.
    async fn at(&self, at: Duration) {
        tokio::time::sleep_until(self.ports.start + at).await;
    }
    fn state(&self) -> v1::VrrpState {
        v1::VrrpState::try_from(self.handle.view.snapshot().state).unwrap()
    }
    /// An advert from the peer .12 at `priority` (TTL `ttl`), into the queue.
    async fn hear(&self, priority: u8, ttl: u8) {
        let advert = ReceivedAdvert {
            src: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 12)),
            dst: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
            ttl,
            vrrp: Advert {
                vrid: 51,
                priority,
                interval: AdvertInterval::V2(AdvertSeconds::new(1).unwrap()),
                auth: Auth::pass("736w4ib2"),
                addresses: vec![IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10))],
            },
        };
        self.packets.send(Ok(advert)).await.unwrap();
        // Let the task take it at this instant.
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::ZERO).await;
    }
    /// Transition events published since the last call: (from, to).
    fn transitions(&mut self) -> Vec<(i32, i32)> {
        use futures::{FutureExt, StreamExt};
        let mut out = Vec::new();
        while let Some(Some(Ok(event))) = self.events.next().now_or_never() {
            if let Some(v1::vrrp_event::Payload::Transition(t)) = event.payload {
                out.push((t.from, t.to));
            }
        }
        out
    }
}

/// Master_Down_Interval for priority 100, advert_int 1 (RFC 3768 §6.1):
/// 3 × 1 s + (256 − 100) / 256 s = 3.609375 s.
const MASTER_DOWN: Duration = Duration::from_micros(3_609_375);

/// When tokio's timer wakes for a deadline: the next whole millisecond (tokio's timer
/// resolution; the service adds a `timerfd` for the last milliseconds of a backup's wait,
/// which is off here so the paused clock decides alone).
fn wake(deadline: Duration) -> Duration {
    Duration::from_millis(deadline.as_micros().div_ceil(1000) as u64)
}

#[tokio::test(start_paused = true)]
async fn a_silent_backup_takes_over_at_master_down_and_advertises_every_second() {
    let mut rig = start().await;
    rig.at(MS).await;
    assert_eq!(rig.state(), v1::VrrpState::Backup);
    rig.at(MASTER_DOWN - MS).await;
    assert!(
        rig.ports.seen().adverts.is_empty(),
        "a backup sends nothing"
    );
    assert!(rig.ports.seen().vips.is_empty());
    rig.at(MASTER_DOWN + MS).await;
    assert_eq!(rig.state(), v1::VrrpState::Master);
    {
        let seen = rig.ports.seen();
        assert_eq!(seen.vips, ["198.51.100.10/24"]);
        assert_eq!(
            seen.adverts,
            [(wake(MASTER_DOWN), 100, Ipv4Addr::new(224, 0, 0, 18))],
            "the first advert when the deadline is reached"
        );
        // keepalived's vrrp_garp_master_repeat default: 5 at the transition.
        assert_eq!(seen.frames, 5);
    }
    rig.at(MASTER_DOWN + Duration::from_millis(3001)).await;
    let times: Vec<Duration> = rig.ports.seen().adverts.iter().map(|a| a.0).collect();
    assert_eq!(
        times,
        (0..4)
            .map(|n| wake(MASTER_DOWN) + Duration::from_secs(n))
            .collect::<Vec<_>>(),
        "one advert per advert_int, exactly"
    );
    assert_eq!(
        rig.transitions(),
        [
            (v1::VrrpState::Init as i32, v1::VrrpState::Backup as i32),
            (v1::VrrpState::Backup as i32, v1::VrrpState::Master as i32)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_backup_hearing_its_master_stays_backup_and_a_bad_advert_does_not_count() {
    let rig = start().await;
    // The master's adverts, one per second, keep the backup quiet for ten seconds.
    for n in 0..10u64 {
        rig.at(Duration::from_secs(n) + MS).await;
        rig.hear(150, 255).await;
    }
    // A hostile advert (TTL 64) is counted, not heard: it does not reset the timer.
    rig.at(Duration::from_millis(9500)).await;
    rig.hear(150, 64).await;
    assert_eq!(rig.state(), v1::VrrpState::Backup);
    assert!(rig.ports.seen().adverts.is_empty());
    let counters = rig.handle.view.snapshot().counters.unwrap();
    assert_eq!(counters.advert_rcvd, 10);
    assert_eq!(counters.ip_ttl_err, 1);
    // The master's last advert was at 9.001 s: master down at 9.001 + 3.609375 s.
    let down = Duration::from_secs(9) + MS + MASTER_DOWN;
    rig.at(down - MS).await;
    assert_eq!(rig.state(), v1::VrrpState::Backup);
    rig.at(down + MS).await;
    assert_eq!(rig.state(), v1::VrrpState::Master);
    assert_eq!(rig.ports.seen().adverts[0].0, wake(down));
}

#[tokio::test(start_paused = true)]
async fn a_master_hearing_a_higher_priority_steps_down_and_removes_its_vip() {
    let mut rig = start().await;
    rig.at(MASTER_DOWN + MS).await;
    assert_eq!(rig.state(), v1::VrrpState::Master);
    rig.transitions();
    rig.at(Duration::from_secs(5)).await;
    rig.hear(150, 255).await;
    assert_eq!(rig.state(), v1::VrrpState::Backup);
    let sent = rig.ports.seen().adverts.len();
    {
        let seen = rig.ports.seen();
        assert!(seen.vips.is_empty());
        // At start a stale copy is removed (a crash may have left one), then it is
        // added as master and removed as backup; its virtual route comes after the VIP
        // (it may use it as its source) and goes before it.
        let route = "route 203.0.113.0/26 via 198.51.100.20 dev eth0";
        assert_eq!(
            seen.changes,
            [
                format!("-{route}"),
                "-198.51.100.10/24".into(),
                "+198.51.100.10/24".into(),
                format!("+{route}"),
                format!("-{route}"),
                "-198.51.100.10/24".into(),
            ]
        );
    }
    // Backup now: silent while the new master is heard.
    for n in 6..9u64 {
        rig.at(Duration::from_secs(n)).await;
        rig.hear(150, 255).await;
    }
    assert_eq!(rig.ports.seen().adverts.len(), sent);
    assert_eq!(
        rig.transitions(),
        [(v1::VrrpState::Master as i32, v1::VrrpState::Backup as i32)]
    );
}

#[tokio::test(start_paused = true)]
async fn the_link_going_down_faults_a_master_and_coming_back_restarts_the_election() {
    let rig = start().await;
    rig.at(MASTER_DOWN + MS).await;
    assert_eq!(rig.state(), v1::VrrpState::Master);
    rig.link.send(false).unwrap();
    rig.at(MASTER_DOWN + Duration::from_millis(10)).await;
    assert_eq!(rig.state(), v1::VrrpState::Fault);
    assert!(rig.ports.seen().vips.is_empty());
    let sent = rig.ports.seen().adverts.len();
    rig.at(Duration::from_secs(20)).await;
    assert_eq!(rig.ports.seen().adverts.len(), sent, "FAULT sends nothing");
    rig.link.send(true).unwrap();
    let back = Duration::from_secs(20);
    rig.at(back + Duration::from_millis(10)).await;
    assert_eq!(rig.state(), v1::VrrpState::Backup);
    rig.at(back + MASTER_DOWN + Duration::from_millis(20)).await;
    assert_eq!(rig.state(), v1::VrrpState::Master);
}

#[tokio::test(start_paused = true)]
async fn shutdown_of_a_master_sends_priority_zero_and_leaves_no_vip() {
    let rig = start().await;
    rig.at(MASTER_DOWN + MS).await;
    let (reply, done) = oneshot::channel();
    rig.handle.tx.send(Control::Shutdown(reply)).unwrap();
    done.await.unwrap();
    let seen = rig.ports.seen();
    assert_eq!(
        seen.adverts.last().map(|a| a.1),
        Some(0),
        "priority 0 at stop"
    );
    assert!(seen.vips.is_empty());
}
