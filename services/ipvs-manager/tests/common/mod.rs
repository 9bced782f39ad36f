//! Shared helpers of the ipvs-manager namespace tests: a lab with a client,
//! directors and two real servers running `python3 -m http.server` with
//! distinct index pages; fake health-prober replicas (in-test tonic servers
//! on unix sockets publishing with a bus Producer); an Ipvs API client.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keepalived_api::v1::{self, health_server::Health, ipvs_client::IpvsClient};
use keepalived_bus::addr::{Address, TracedChannel};
use keepalived_bus::{BusMetrics, Producer};
use keepalived_testlab::{Host, Lab, wait_until};
use tonic::{Request, Response, Status};

/// The virtual IP.
pub const VIP: &str = "198.51.100.10";
/// The client.
pub const CLIENT: &str = "198.51.100.2";
/// The ipvs-manager binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ipvs-manager");

/// The lab and its hosts.
pub struct Topology {
    /// The lab (drops everything).
    pub lab: Lab,
    /// Scratch directory.
    pub dir: PathBuf,
    /// The client.
    pub client: Host,
    /// Directors.
    pub directors: Vec<Host>,
    /// Real servers with their address.
    pub real_servers: Vec<(Host, String)>,
}

/// `sysctl -w` of `settings` in `netns`.
pub fn sysctl(lab: &Lab, netns: &str, settings: &[&str]) {
    let mut argv = vec!["sysctl", "-qw"];
    argv.extend_from_slice(settings);
    lab.exec(netns, &argv).expect("sysctl");
}

/// Starts `python3 -m http.server 80` in `host` serving a page that says `name`.
fn http_server(lab: &mut Lab, dir: &Path, host: &Host, name: &str) {
    http_server_on(lab, dir, host, name, "0.0.0.0");
}

/// [`http_server`] bound to `bind` (`::` for IPv6).
pub fn http_server_on(lab: &mut Lab, dir: &Path, host: &Host, name: &str, bind: &str) {
    let root = dir.join(format!("www-{name}"));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("index.html"), format!("{name}\n")).unwrap();
    let log = dir.join(format!("{name}.http.log"));
    lab.spawn(
        &host.netns,
        "python3",
        &[
            "-m",
            "http.server",
            "80",
            "--bind",
            bind,
            "--directory",
            root.to_str().unwrap(),
        ],
        &log,
    )
    .unwrap();
}

/// LVS-NAT: client and VIP on 198.51.100.0/24, real servers on
/// 203.0.113.0/24 routing back through the director (203.0.113.1).
pub fn nat_lab(tag: &str) -> Topology {
    let mut lab = Lab::new(tag).unwrap();
    let dir = lab.dir().unwrap();
    let client = lab
        .host(
            "client",
            Some("02:00:00:00:00:02"),
            &[&format!("{CLIENT}/24")],
        )
        .unwrap();
    let dr = lab
        .host(
            "dr1",
            Some("02:00:00:00:00:11"),
            &["198.51.100.11/24", &format!("{VIP}/24"), "203.0.113.1/24"],
        )
        .unwrap();
    sysctl(
        &lab,
        &dr.netns,
        &[
            "net.ipv4.ip_forward=1",
            "net.ipv4.conf.all.send_redirects=0",
            "net.ipv4.conf.eth0.send_redirects=0",
        ],
    );
    let mut real_servers = Vec::new();
    for (name, addr) in [("rs1", "203.0.113.11"), ("rs2", "203.0.113.12")] {
        let h = lab.host(name, None, &[&format!("{addr}/24")]).unwrap();
        lab.exec(
            &h.netns,
            &["ip", "route", "add", "default", "via", "203.0.113.1"],
        )
        .unwrap();
        http_server(&mut lab, &dir, &h, name);
        real_servers.push((h, addr.to_owned()));
    }
    Topology {
        lab,
        dir,
        client,
        directors: vec![dr],
        real_servers,
    }
}

/// LVS-DR with three real servers: everyone on 198.51.100.0/24; the directors answer ARP for the
/// VIP (only the first holds it at start), the real servers hold it on `lo`
/// with arp_ignore/arp_announce (docs/sandbox.md, docs/scenario.md "Real servers").
pub fn dr_lab(tag: &str, directors: usize) -> Topology {
    let mut lab = Lab::new(tag).unwrap();
    let dir = lab.dir().unwrap();
    let client = lab
        .host(
            "client",
            Some("02:00:00:00:00:02"),
            &[&format!("{CLIENT}/24")],
        )
        .unwrap();
    let mut drs = Vec::new();
    for i in 0..directors {
        let name = format!("dr{}", i + 1);
        let mac = format!("02:00:00:00:00:1{}", i + 1);
        let addr = format!("198.51.100.1{}/24", i + 1);
        let mut addrs = vec![addr.as_str()];
        let vip = format!("{VIP}/24");
        if i == 0 {
            addrs.push(&vip);
        }
        drs.push(lab.host(&name, Some(&mac), &addrs).unwrap());
    }
    let mut real_servers = Vec::new();
    for (name, addr) in [
        ("rs1", "198.51.100.21"),
        ("rs2", "198.51.100.22"),
        ("rs3", "198.51.100.23"),
    ] {
        let h = lab.host(name, None, &[&format!("{addr}/24")]).unwrap();
        lab.exec(
            &h.netns,
            &["ip", "addr", "add", &format!("{VIP}/32"), "dev", "lo"],
        )
        .unwrap();
        sysctl(
            &lab,
            &h.netns,
            &[
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2",
                "net.ipv4.conf.lo.arp_ignore=1",
                "net.ipv4.conf.lo.arp_announce=2",
            ],
        );
        http_server(&mut lab, &dir, &h, name);
        real_servers.push((h, addr.to_owned()));
    }
    Topology {
        lab,
        dir,
        client,
        directors: drs,
        real_servers,
    }
}

/// keepalived.conf with one virtual server on the VIP:80 over the lab's real servers.
pub fn config(kind: &str, real_servers: &[(Host, String)], extra_vs: &str) -> String {
    let mut rs = String::new();
    for (_, addr) in real_servers {
        rs.push_str(&format!(
            "    real_server {addr} 80 {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 2\n        }}\n    }}\n"
        ));
    }
    format!(
        "global_defs {{\n    router_id lab\n}}\n\
         virtual_server {VIP} 80 {{\n    delay_loop 2\n    lb_algo rr\n    lb_kind {kind}\n    protocol TCP\n{extra_vs}{rs}}}\n"
    )
}

/// A running ipvs-manager.
pub struct Manager {
    /// Its pid.
    pub pid: u32,
    /// Its API socket.
    pub socket: PathBuf,
    /// Its log.
    pub log: PathBuf,
}

/// Starts ipvs-manager in `netns` with `config`, following `probers`
/// (socket paths), and waits until its API answers (the table is adopted).
pub async fn start_manager(
    t: &mut Topology,
    netns: &str,
    name: &str,
    config: &str,
    probers: &[&Path],
    extra: &[&str],
) -> Manager {
    let conf = t.dir.join(format!("{name}.conf"));
    std::fs::write(&conf, config).unwrap();
    let socket = t.dir.join(format!("{name}.sock"));
    let mut args: Vec<String> = vec![
        "-f".into(),
        conf.to_str().unwrap().into(),
        "-l".into(),
        "-G".into(),
        "--listen".into(),
        format!("unix:{}", socket.display()),
        "--backend".into(),
        "nft".into(),
        "--nft-interface".into(),
        "eth0".into(),
        "--resync-interval".into(),
        "1".into(),
    ];
    for p in probers {
        args.push("--health-prober".into());
        args.push(format!("unix:{}", p.display()));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    // The log is appended to across restarts so a test can read all of it.
    let run_log = t.dir.join(format!("{name}.{}.log", std::process::id()));
    let pid = t.lab.spawn(netns, BIN, &argv, &run_log).unwrap();
    let m = Manager {
        pid,
        socket,
        log: run_log,
    };
    for _ in 0..200 {
        if let Ok(mut c) = m.client().await
            && c.list_virtual_servers(v1::ListVirtualServersRequest {})
                .await
                .is_ok()
        {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "ipvs-manager did not come up: {}",
        std::fs::read_to_string(&m.log).unwrap_or_default()
    );
}

impl Manager {
    /// An API client.
    pub async fn client(&self) -> Result<IpvsClient<TracedChannel>, String> {
        let address: Address = format!("unix:{}", self.socket.display())
            .parse()
            .map_err(|e| format!("{e}"))?;
        let channel = keepalived_bus::addr::connect(&address)
            .await
            .map_err(|e| e.to_string())?;
        Ok(IpvsClient::new(channel))
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The only virtual server, as the API shows it.
    pub async fn vs(&self) -> v1::VirtualServer {
        let mut c = self.client().await.unwrap();
        c.list_virtual_servers(v1::ListVirtualServersRequest {})
            .await
            .unwrap()
            .into_inner()
            .virtual_servers
            .remove(0)
    }
}

/// One HTTP GET through the VIP from the client; the index page's text, or
/// `None` when the request failed. `sport` pins the client's source port.
pub fn get(t: &Topology, sport: Option<u16>) -> Option<String> {
    let url = format!("http://{VIP}/");
    let port = sport.map(|p| p.to_string());
    let mut argv = vec!["curl", "-s", "-m", "3", "--connect-timeout", "2"];
    if let Some(p) = &port {
        argv.extend(["--local-port", p.as_str()]);
    }
    argv.push(&url);
    t.lab
        .exec(&t.client.netns, &argv)
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

/// The nft ruleset of `netns` with handles (to see whether it was rewritten).
pub fn ruleset(t: &Topology, netns: &str) -> String {
    String::from_utf8_lossy(
        &t.lab
            .exec(netns, &["nft", "-a", "list", "ruleset"])
            .unwrap()
            .stdout,
    )
    .into_owned()
}

/// Waits (up to 20 s) for the table in `netns` to satisfy `f`.
pub fn wait_ruleset(t: &Topology, netns: &str, f: impl Fn(&str) -> bool) -> bool {
    wait_until(Duration::from_secs(20), || f(&ruleset(t, netns)))
}

/// A fake health-prober replica: Health.Watch over a unix socket, verdicts
/// set by the test.
pub struct FakeProber {
    /// Socket path.
    pub socket: PathBuf,
    /// The virtual server's address its targets name.
    vip: String,
    producer: Producer<v1::HealthEvent>,
    targets: Arc<Mutex<BTreeMap<String, v1::Target>>>,
    /// Its own runtime, so that killing it drops every open stream at once.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for FakeProber {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

#[derive(Clone)]
struct FakeHealth {
    producer: Producer<v1::HealthEvent>,
    targets: Arc<Mutex<BTreeMap<String, v1::Target>>>,
}

#[tonic::async_trait]
impl Health for FakeHealth {
    async fn list_targets(
        &self,
        _r: Request<v1::ListTargetsRequest>,
    ) -> Result<Response<v1::ListTargetsResponse>, Status> {
        Ok(Response::new(v1::ListTargetsResponse {
            targets: self.targets.lock().unwrap().values().cloned().collect(),
        }))
    }

    async fn get_target(
        &self,
        r: Request<v1::GetTargetRequest>,
    ) -> Result<Response<v1::Target>, Status> {
        self.targets
            .lock()
            .unwrap()
            .get(&r.get_ref().id)
            .cloned()
            .map(Response::new)
            .ok_or_else(|| Status::not_found("no such target"))
    }

    type WatchStream = keepalived_bus::WatchStream<v1::HealthEvent>;

    async fn watch(
        &self,
        r: Request<v1::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Ok(Response::new(self.producer.watch(&r.get_ref().consumer)))
    }
}

fn target(vip: &str, rs: &str, up: bool) -> v1::Target {
    v1::Target {
        id: format!("TCP_CHECK:{rs}:80"),
        checker: "TCP_CHECK".into(),
        real_server: Some(v1::AddressPort {
            address: rs.into(),
            port: 80,
        }),
        virtual_servers: vec![v1::VirtualServerKey {
            kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                address: vip.into(),
                port: 80,
            })),
            protocol: v1::Protocol::Tcp as i32,
        }],
        verdict: if up {
            v1::Verdict::Up as i32
        } else {
            v1::Verdict::Down as i32
        },
        ..Default::default()
    }
}

impl FakeProber {
    /// Serves a prober named `name` on `dir/name.sock` whose real servers are all up.
    pub fn start(dir: &Path, name: &str, real_servers: &[&str]) -> Self {
        Self::start_on(dir, name, VIP, real_servers)
    }

    /// [`Self::start`] for the virtual server on `vip`, port 80.
    pub fn start_on(dir: &Path, name: &str, vip: &str, real_servers: &[&str]) -> Self {
        let socket = dir.join(format!("{name}.sock"));
        let _ = std::fs::remove_file(&socket);
        let targets: Arc<Mutex<BTreeMap<String, v1::Target>>> = Arc::new(Mutex::new(
            real_servers
                .iter()
                .map(|rs| {
                    let t = target(vip, rs, true);
                    (t.id.clone(), t)
                })
                .collect(),
        ));
        let snap = targets.clone();
        let producer = Producer::new(
            format!("health-prober@{name}"),
            1024,
            BusMetrics::default(),
            move || v1::HealthEvent {
                header: None,
                payload: Some(v1::health_event::Payload::Snapshot(v1::HealthSnapshot {
                    targets: snap.lock().unwrap().values().cloned().collect(),
                })),
            },
        );
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        listener.set_nonblocking(true).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let service = v1::health_server::HealthServer::new(FakeHealth {
            producer: producer.clone(),
            targets: targets.clone(),
        });
        runtime.spawn(async move {
            let listener = tokio::net::UnixListener::from_std(listener).unwrap();
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener))
                .await;
        });
        Self {
            socket,
            vip: vip.to_owned(),
            producer,
            targets,
            runtime: Some(runtime),
        }
    }

    /// Publishes a verdict transition for `rs`; returns the trace context
    /// the event carried (empty unless telemetry is initialised).
    pub fn set(&self, rs: &str, up: bool) -> v1::TraceContext {
        let t = target(&self.vip, rs, up);
        let from = self
            .targets
            .lock()
            .unwrap()
            .insert(t.id.clone(), t.clone())
            .map(|o| o.verdict)
            .unwrap_or(0);
        let span = tracing::info_span!("fake_check");
        let _g = span.enter();
        let trace = keepalived_telemetry::current_trace_context();
        self.producer.publish(v1::HealthEvent {
            header: None,
            payload: Some(v1::health_event::Payload::TargetChanged(v1::TargetChange {
                target: Some(t.clone()),
                from,
                to: t.verdict,
                attempts: vec![],
                reason: if up {
                    String::new()
                } else {
                    "TCP connection failed".into()
                },
                ..Default::default()
            })),
        });
        trace
    }

    /// Stops serving (the manager sees the prober as unreachable).
    pub fn kill(self) {
        drop(self);
    }
}

/// Python client pinning its source port, closing with RST (SO_LINGER 0) so
/// that neither side keeps the 4-tuple in TIME_WAIT and the same flow can be
/// sent again (curl --local-port cannot reuse a port in TIME_WAIT).
const FLOW_CLIENT: &str = r#"
import socket, struct, sys
vip, src = sys.argv[1], sys.argv[2]
for port in sys.argv[3:]:
    page = ''
    try:
        s = socket.socket(socket.AF_INET6 if ':' in vip else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(3)
        s.bind((src, int(port)))
        s.connect((vip, 80))
        s.sendall(b'GET / HTTP/1.0\r\n\r\n')
        data = b''
        while True:
            c = s.recv(4096)
            if not c:
                break
            data += c
        page = data.split(b'\r\n\r\n', 1)[1].decode().strip()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
    except Exception as e:
        page = 'error:' + type(e).__name__
    print(port, page, flush=True)
"#;

/// The real server a request reached (by its page), per source port.
pub fn flows(t: &Topology, ports: impl Iterator<Item = u16>) -> BTreeMap<u16, String> {
    flows_to(t, VIP, CLIENT, ports)
}

/// [`flows`] to `vip` from the client's address `client` (IPv4 or IPv6).
pub fn flows_to(
    t: &Topology,
    vip: &str,
    client: &str,
    ports: impl Iterator<Item = u16>,
) -> BTreeMap<u16, String> {
    let ports: Vec<String> = ports.map(|p| p.to_string()).collect();
    let mut argv = vec!["python3", "-c", FLOW_CLIENT, vip, client];
    argv.extend(ports.iter().map(String::as_str));
    let out = t.lab.exec(&t.client.netns, &argv).expect("flow client");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (p, page) = l.split_once(' ')?;
            Some((p.parse().ok()?, page.to_owned()))
        })
        .collect()
}

/// Waits until every real server answers HTTP inside its own namespace.
pub fn wait_real_servers(t: &Topology) {
    for (h, _) in &t.real_servers {
        assert!(
            wait_until(Duration::from_secs(20), || t
                .lab
                .exec(&h.netns, &["curl", "-s", "-m", "2", "http://127.0.0.1/"])
                .is_ok()),
            "{} never served",
            h.name
        );
    }
}

/// A UDP echo: answers every datagram with `name` and what it got.
const UDP_ECHO: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[2], int(sys.argv[3])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(sys.argv[1].encode() + b' ' + data, peer)
"#;

/// Starts a UDP echo server named `name` in `host` on `bind:port` (bind to
/// the VIP on a DR real server, so that replies come from the VIP).
pub fn udp_echo(t: &mut Topology, host: usize, bind: &str, port: u16) {
    let (h, _) = &t.real_servers[host];
    let (netns, name) = (h.netns.clone(), h.name.clone());
    let log = t.dir.join(format!("{name}.udp{port}.log"));
    let port = port.to_string();
    t.lab
        .spawn(
            &netns,
            "python3",
            &["-c", UDP_ECHO, &name, bind, &port],
            &log,
        )
        .unwrap();
}

/// UDP client: one socket per source port given (0: an ephemeral one, a new
/// flow each time), up to three tries of one datagram; prints the source
/// port, the echo's name and the address the reply came from.
const UDP_CLIENT: &str = r#"
import socket, sys
vip, port, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for sport in sys.argv[4:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, int(sport)))
    s.settimeout(1)
    reply = 'timeout'
    for _ in range(3):
        s.sendto(b'ping', (vip, port))
        try:
            data, peer = s.recvfrom(2048)
            reply = data.split()[0].decode() + '@' + peer[0]
            break
        except socket.timeout:
            pass
    print(s.getsockname()[1], reply, flush=True)
    s.close()
"#;

/// One UDP request to VIP:`port` from the client per source port in
/// `sports` (0: ephemeral): `(source port, "rsN@reply-address" or "timeout")`.
pub fn udp_ask(t: &Topology, port: u16, sports: &[u16]) -> Vec<(u16, String)> {
    let port = port.to_string();
    let sports: Vec<String> = sports.iter().map(u16::to_string).collect();
    let mut argv = vec!["python3", "-c", UDP_CLIENT, VIP, &port, CLIENT];
    argv.extend(sports.iter().map(String::as_str));
    let out = t.lab.exec(&t.client.netns, &argv).expect("udp client");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (p, reply) = l.split_once(' ')?;
            Some((p.parse().ok()?, reply.to_owned()))
        })
        .collect()
}
