//! InstanceContext helpers of the vrrp-core topology tests: a lab of two directors and a client on
//! one bridge, keepalived.conf generation, address/neighbour checks, and a gRPC client
//! over the unix socket.
#![allow(dead_code)]
// std::time::Instant: these tests time real processes in namespaces (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keepalived_api::v1::vrrp_client::VrrpClient;
use keepalived_testlab::{Host, Lab, wait_until};

/// The VIP every test floats.
pub const VIP: &str = "198.51.100.10";
/// The IPv6 VIP of the IPv6 tests.
pub const VIP6: &str = "2001:db8::10";
/// DR1's, DR2's and the client's IPv6 addresses in the IPv6 tests.
pub const V6: [&str; 3] = ["2001:db8::11", "2001:db8::12", "2001:db8::20"];
/// DR1's address and MAC.
pub const DR1: (&str, &str) = ("198.51.100.11", "02:00:00:00:00:11");
/// DR2's address and MAC.
pub const DR2: (&str, &str) = ("198.51.100.12", "02:00:00:00:00:12");
/// The client.
pub const CLIENT: (&str, &str) = ("198.51.100.20", "02:00:00:00:00:20");

/// The vrrp-core binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_vrrp-core");

/// One director's keepalived.conf, shaped like the seed's.
#[derive(Debug, Clone)]
pub struct Conf {
    /// router_id.
    pub router_id: String,
    /// priority.
    pub priority: u8,
    /// 2 or 3.
    pub version: u8,
    /// advert_int as written.
    pub advert_int: String,
    /// PASS authentication (v2).
    pub auth: bool,
    /// Extra lines inside the instance.
    pub instance_extra: String,
    /// Extra top-level blocks.
    pub top_extra: String,
    /// Extra lines inside global_defs.
    pub global_extra: String,
    /// `unicast_src_ip` and peers.
    pub unicast: Option<(String, Vec<String>)>,
    /// virtual_router_id.
    pub vrid: u8,
    /// `state` (MASTER or BACKUP).
    pub state: &'static str,
    /// The VIP line (`VIP/PLEN dev eth0`).
    pub vip: String,
}

impl Conf {
    /// The seed's settings: v2, advert_int 1, PASS 736w4ib2, group 224.0.0.33, VRID 3.
    pub fn seed(router_id: &str, priority: u8) -> Self {
        Self {
            router_id: router_id.into(),
            priority,
            version: 2,
            advert_int: "1".into(),
            auth: true,
            instance_extra: String::new(),
            top_extra: String::new(),
            global_extra: String::new(),
            unicast: None,
            vrid: 3,
            state: "MASTER",
            vip: format!("{VIP}/24 dev eth0"),
        }
    }

    /// VRRPv3 at 0.1 s, for fast tests.
    pub fn fast(router_id: &str, priority: u8) -> Self {
        Self {
            version: 3,
            advert_int: "0.1".into(),
            auth: false,
            ..Self::seed(router_id, priority)
        }
    }

    /// VRRPv3 at 0.1 s over IPv6 with VIP 2001:db8::10/64.
    pub fn fast_v6(router_id: &str, priority: u8) -> Self {
        Self {
            vip: format!("{VIP6}/64 dev eth0"),
            ..Self::fast(router_id, priority)
        }
    }

    /// The text.
    pub fn render(&self) -> String {
        let auth = if self.auth {
            "    authentication {\n        auth_type PASS\n        auth_pass 736w4ib2\n    }\n"
        } else {
            ""
        };
        let unicast = match &self.unicast {
            None => String::new(),
            Some((src, peers)) => format!(
                "    unicast_src_ip {src}\n    unicast_peer {{\n{}    }}\n",
                peers
                    .iter()
                    .map(|p| format!("        {p}\n"))
                    .collect::<String>()
            ),
        };
        format!(
            "global_defs {{\n    router_id {rid}\n    vrrp_mcast_group4 224.0.0.33\n{ge}}}\n{top}\n\
vrrp_instance VI_1 {{\n    state {state}\n    interface eth0\n    virtual_router_id {vrid}\n    priority {prio}\n\
    advert_int {ai}\n    version {ver}\n{auth}{unicast}    virtual_ipaddress {{\n        {vip}\n    }}\n{extra}}}\n",
            rid = self.router_id,
            ge = self.global_extra,
            top = self.top_extra,
            vrid = self.vrid,
            prio = self.priority,
            ai = self.advert_int,
            ver = self.version,
            extra = self.instance_extra,
            state = self.state,
            vip = self.vip,
        )
    }
}

/// A running director.
#[derive(Debug)]
pub struct Director {
    /// Its host.
    pub host: Host,
    /// Config path.
    pub conf: PathBuf,
    /// Log path.
    pub log: PathBuf,
    /// gRPC unix socket.
    pub sock: PathBuf,
    /// pid of the running process, if any.
    pub pid: Option<u32>,
    /// Extra command-line arguments of vrrp-core.
    pub extra_args: Vec<String>,
}

/// Two directors and a client on one bridge.
pub struct Topology {
    /// The lab (dropped last: kills processes, removes namespaces).
    pub lab: Lab,
    /// DR1 (priority 99 in the seed).
    pub dr1: Director,
    /// DR2 (priority 90).
    pub dr2: Director,
    /// The client.
    pub client: Host,
    /// Scratch directory.
    pub dir: PathBuf,
    /// The VIP the checks look for ([`VIP`], or [`VIP6`] in an IPv6 topology).
    pub vip: &'static str,
}

impl Topology {
    /// Creates the lab (nothing running yet). The client accepts gratuitous ARPs
    /// (arp_accept) so that its neighbour entry for the VIP follows them.
    pub fn new(tag: &str) -> Self {
        Self::build(tag, false)
    }

    /// The same lab with IPv6 as well (2001:db8::11, ::12, ::20/64, no DAD) and the
    /// checks following [`VIP6`]; the bridge floods multicast (no MLD snooping: there
    /// is no querier in the lab).
    pub fn new_v6(tag: &str) -> Self {
        Self::build(tag, true)
    }

    fn build(tag: &str, ipv6: bool) -> Self {
        let mut lab = Lab::new(tag).expect("lab");
        if ipv6 {
            lab.set_ipv6_dad(false);
            let sw = lab.switch_netns().to_owned();
            lab.exec(
                &sw,
                &[
                    "ip",
                    "link",
                    "set",
                    "br0",
                    "type",
                    "bridge",
                    "mcast_snooping",
                    "0",
                ],
            )
            .expect("mcast_snooping off");
        }
        let addrs = |v4: &str, v6: &str| {
            let mut a = vec![format!("{v4}/24")];
            if ipv6 {
                a.push(format!("{v6}/64"));
            }
            a
        };
        let host = |lab: &mut Lab, name: &str, mac: &str, a: Vec<String>| {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            lab.host(name, Some(mac), &a).expect(name)
        };
        let dr1 = host(&mut lab, "dr1", DR1.1, addrs(DR1.0, V6[0]));
        let dr2 = host(&mut lab, "dr2", DR2.1, addrs(DR2.0, V6[1]));
        let client = host(&mut lab, "client", CLIENT.1, addrs(CLIENT.0, V6[2]));
        lab.exec(
            &client.netns,
            &[
                "sysctl",
                "-qw",
                "net.ipv4.conf.all.arp_accept=1",
                "net.ipv4.conf.eth0.arp_accept=1",
            ],
        )
        .expect("arp_accept");
        let dir = lab.dir().expect("dir");
        let director = |host: Host| Director {
            conf: dir.join(format!("{}.conf", host.name)),
            log: dir.join(format!("{}.log", host.name)),
            sock: dir.join(format!("{}.sock", host.name)),
            host,
            pid: None,
            extra_args: Vec::new(),
        };
        Self {
            dr1: director(dr1),
            dr2: director(dr2),
            client,
            dir,
            lab,
            vip: if ipv6 { VIP6 } else { VIP },
        }
    }

    /// Writes `conf` for a director and starts `who` there (interop tests).
    pub fn start_peer(&mut self, which: Which, who: Peer, conf: &Conf) {
        match who {
            Peer::Ours => self.start(which, conf),
            Peer::Keepalived => self.start_keepalived(which, conf),
        }
    }

    /// Writes `conf` for a director and starts vrrp-core there.
    pub fn start(&mut self, which: Which, conf: &Conf) {
        let d = self.director_mut(which);
        std::fs::write(&d.conf, conf.render()).expect("write conf");
        self.restart(which);
    }

    /// Writes `conf` for a director and starts Debian's keepalived (VRRP only) there,
    /// as docs/sandbox.md ("keepalived as a peer") describes.
    pub fn start_keepalived(&mut self, which: Which, conf: &Conf) {
        let dir = self.dir.clone();
        let d = self.director_mut(which);
        std::fs::write(&d.conf, conf.render()).expect("write conf");
        let (netns, confp, log, name) = (
            d.host.netns.clone(),
            d.conf.clone(),
            d.log.clone(),
            d.host.name.clone(),
        );
        let pidfile = |n: &str| {
            dir.join(format!("{name}-{n}.pid"))
                .to_str()
                .unwrap()
                .to_owned()
        };
        let run_log = dir.join(format!("{name}-keepalived-{}.log", now_ms()));
        let pid = self
            .lab
            .spawn(
                &netns,
                "keepalived",
                &[
                    "--vrrp",
                    "-n",
                    "-l",
                    "-D",
                    "-G",
                    "-f",
                    confp.to_str().unwrap(),
                    "-p",
                    &pidfile("k"),
                    "-r",
                    &pidfile("vrrp"),
                    "-c",
                    &pidfile("check"),
                    "-b",
                    &pidfile("bfd"),
                ],
                &run_log,
            )
            .expect("spawn keepalived");
        let _ = std::fs::remove_file(&log);
        std::os::unix::fs::symlink(&run_log, &log).expect("log symlink");
        self.director_mut(which).pid = Some(pid);
    }

    /// kill -9 of keepalived: its parent first (or it respawns the VRRP child), then the
    /// VRRP child it started (from its pid file).
    pub fn kill9_keepalived(&mut self, which: Which) {
        let name = self.director(which).host.name.clone();
        let child = std::fs::read_to_string(self.dir.join(format!("{name}-vrrp.pid")))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        self.stop(which, "KILL");
        if let Some(child) = child {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &child.to_string()])
                .status();
            let gone = || !Path::new(&format!("/proc/{child}")).exists();
            assert!(
                wait_until(Duration::from_secs(5), gone),
                "keepalived VRRP child {child} survived"
            );
        }
    }

    /// Starts vrrp-core with the director's existing config (appending to its log).
    pub fn restart(&mut self, which: Which) {
        let (netns, conf, log, sock, name, extra) = {
            let d = self.director_mut(which);
            (
                d.host.netns.clone(),
                d.conf.clone(),
                d.log.clone(),
                d.sock.clone(),
                d.host.name.clone(),
                d.extra_args.clone(),
            )
        };
        // Keep earlier runs' logs for failure messages.
        let run_log = self.dir.join(format!("{name}-{}.log", now_ms()));
        let listen = format!("unix:{}", sock.display());
        let mut args = vec![
            "-f",
            conf.to_str().unwrap(),
            "-l",
            "-D",
            "-G",
            "--listen",
            &listen,
        ];
        args.extend(extra.iter().map(String::as_str));
        let pid = self
            .lab
            .spawn(&netns, BIN, &args, &run_log)
            .expect("spawn vrrp-core");
        let _ = std::fs::remove_file(&log);
        std::os::unix::fs::symlink(&run_log, &log).expect("log symlink");
        self.director_mut(which).pid = Some(pid);
    }

    /// The director.
    pub fn director(&self, which: Which) -> &Director {
        match which {
            Which::Dr1 => &self.dr1,
            Which::Dr2 => &self.dr2,
        }
    }

    fn director_mut(&mut self, which: Which) -> &mut Director {
        match which {
            Which::Dr1 => &mut self.dr1,
            Which::Dr2 => &mut self.dr2,
        }
    }

    /// Sends a signal to a director's vrrp-core and waits for it to exit.
    pub fn stop(&mut self, which: Which, signal: &str) {
        let pid = self.director_mut(which).pid.take().expect("running");
        self.lab.signal(pid, signal).expect("signal");
        assert!(
            self.lab
                .wait_exit(pid, Duration::from_secs(10))
                .expect("wait"),
            "vrrp-core {pid} did not exit after SIG{signal}"
        );
    }

    /// Whether the VIP is on a director (on eth0, or on its VMAC).
    pub fn has_vip(&self, which: Which) -> bool {
        has_address(&self.lab, &self.director(which).host.netns, self.vip)
    }

    /// Waits until exactly `which` holds the VIP; returns the time it took.
    pub fn wait_vip_on(&self, which: Which, timeout: Duration) -> Duration {
        let start = Instant::now();
        let other = which.other();
        let ok = wait_until(timeout, || self.has_vip(which) && !self.has_vip(other));
        assert!(
            ok,
            "VIP not on {which:?} alone within {timeout:?} (on dr1: {}, on dr2: {})\n{}",
            self.has_vip(Which::Dr1),
            self.has_vip(Which::Dr2),
            self.logs()
        );
        start.elapsed()
    }

    /// The client's neighbour entry (MAC) for the VIP.
    pub fn client_mac(&self) -> Option<String> {
        let out = self
            .lab
            .exec(&self.client.netns, &["ip", "neigh", "show", self.vip])
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut words = text.split_whitespace();
        while let Some(w) = words.next() {
            if w == "lladdr" {
                return words.next().map(str::to_owned);
            }
        }
        None
    }

    /// Waits until the client's neighbour entry for the VIP is `mac`.
    pub fn wait_client_mac(&self, mac: &str, timeout: Duration) {
        assert!(
            wait_until(timeout, || self.client_mac().as_deref() == Some(mac)),
            "client's neighbour entry for {} is {:?}, expected {mac}\n{}",
            self.vip,
            self.client_mac(),
            self.logs()
        );
    }

    /// Both directors' logs, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for d in [&self.dr1, &self.dr2] {
            out.push_str(&format!("--- {} ---\n", d.host.name));
            out.push_str(&std::fs::read_to_string(&d.log).unwrap_or_default());
        }
        out
    }

    /// GetInstance VI_1 on a director.
    pub fn instance(&self, which: Which) -> keepalived_api::v1::Instance {
        self.instance_named(which, "VI_1")
    }

    /// GetInstance `name` on a director.
    pub fn instance_named(&self, which: Which, name: &str) -> keepalived_api::v1::Instance {
        let name = name.to_owned();
        let sock = self.director(which).sock.clone();
        // The channel's connection task lives on this runtime: connect and call in one.
        block_on(async move {
            let mut client = connect_unix(sock).await;
            client
                .get_instance(keepalived_api::v1::GetInstanceRequest { name })
                .await
                .expect("GetInstance")
                .into_inner()
        })
    }
}

/// SetMaintenance VI_1 over a director's unix socket.
pub fn set_maintenance(
    t: &Topology,
    which: Which,
    on: bool,
) -> Result<keepalived_api::v1::Instance, tonic::Status> {
    let sock = t.director(which).sock.clone();
    block_on(async move {
        let mut client = connect_unix(sock).await;
        client
            .set_maintenance(keepalived_api::v1::SetMaintenanceRequest {
                name: "VI_1".into(),
                enabled: on,
                reason: "test".into(),
            })
            .await
            .map(tonic::Response::into_inner)
    })
}

/// Connects to a gRPC unix socket (waiting for it to appear).
pub async fn connect_unix(sock: PathBuf) -> VrrpClient<tonic::transport::Channel> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let channel = tonic::transport::Endpoint::from_static("http://[::1]:50051")
        .connect_with_connector(tower::service_fn(move |_: http::Uri| {
            let sock = sock.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(sock).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
        .expect("connect to the unix socket");
    VrrpClient::new(channel)
}

/// Runs a future on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Which director.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// DR1.
    Dr1,
    /// DR2.
    Dr2,
}

impl Which {
    /// The other one.
    pub fn other(self) -> Self {
        match self {
            Which::Dr1 => Which::Dr2,
            Which::Dr2 => Which::Dr1,
        }
    }
}

/// Which implementation runs on a director in an interop test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Peer {
    /// vrrp-core.
    Ours,
    /// Debian's keepalived 2.2.7.
    Keepalived,
}

impl Peer {
    /// The other implementation.
    pub fn other(self) -> Self {
        match self {
            Peer::Ours => Peer::Keepalived,
            Peer::Keepalived => Peer::Ours,
        }
    }
}

/// Whether `address` is on an interface of `netns` (eth0, or a VMAC).
pub fn has_address(lab: &Lab, netns: &str, address: &str) -> bool {
    lab.exec(netns, &["ip", "-o", "addr", "show"])
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(&format!(" {address}/")))
        .unwrap_or(false)
}

/// Whether a log file contains `needle`.
pub fn log_contains(path: &Path, needle: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle))
}

/// Milliseconds since the epoch (unique log names).
pub fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// Whether topology tests can run (root, ip, and `tools`).
pub fn prerequisites(test: &str, tools: &[&str]) -> bool {
    keepalived_testlab::prerequisites_met(test, tools)
}

/// A `sleep` process with a command line no other process has (its duration is made of
/// `tag` and this test binary's PID), for `vrrp_track_process` tests; killed on drop.
pub struct Sleeper {
    /// The duration argument, as `process sleep SECONDS` matches it.
    pub seconds: String,
    child: Option<std::process::Child>,
}

impl Sleeper {
    /// Starts one.
    pub fn start(tag: u32) -> Self {
        let mut s = Self {
            seconds: (tag * 1_000_000 + std::process::id()).to_string(),
            child: None,
        };
        s.restart();
        s
    }

    /// Starts it again (after [`Self::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        let child = std::process::Command::new("sleep")
            .arg(&self.seconds)
            .spawn()
            .expect("sleep runs");
        self.child = Some(child);
    }

    /// Kills it and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        self.kill();
    }
}
