//! Helpers for the cross-service tests: start the real service binaries on
//! a unix socket and an ephemeral TCP port, connect to them, and receive
//! their OTLP trace exports.
#![forbid(unsafe_code)]
// std::time::Instant: the harness waits on real processes (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

pub mod otlp;
mod producer_api;

pub use producer_api::{
    HealthProducerApi, IpvsProducerApi, VrrpProducerApi, serve_health_producer,
};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keepalived_bus::addr::{Address, TracedChannel};

/// The four service binaries.
pub const SERVICES: [&str; 4] = ["vrrp-core", "ipvs-manager", "health-prober", "notifier"];

/// Path of a workspace binary next to the test executable
/// (`target/<profile>/<name>`); the test command builds them first
/// (`cargo build --workspace`).
pub fn bin_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable under target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} not built: run `cargo build --workspace` before the tests (README's test command does)",
        path.display()
    );
    path
}

/// A service binary started by a test; killed (by pid) when dropped.
#[derive(Debug)]
pub struct ServiceProcess {
    /// The binary's name.
    pub name: String,
    /// Its unix socket.
    pub unix: PathBuf,
    /// Its TCP listener (port chosen by the kernel).
    pub tcp: SocketAddr,
    /// Its log file (`-l` console output).
    pub log: PathBuf,
    child: Child,
}

impl ServiceProcess {
    /// Starts `name` with `-l -G`, listening on `unix:DIR/<name>.sock` and
    /// `tcp://127.0.0.1:0`, with the config file `config` and extra `args`
    /// and `envs`. Waits until both listeners are up.
    pub fn start(
        name: &str,
        dir: &Path,
        config: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Self {
        let unix = dir.join(format!("{name}.sock"));
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        // The notifier's spool defaults to /var/lib; each test gets its own
        // unless it names one.
        let spool = dir.join(format!("{name}-spool"));
        let spool_args: Vec<std::ffi::OsString> =
            if name == "notifier" && !args.contains(&"--spool-dir") {
                vec!["--spool-dir".into(), spool.into()]
            } else {
                Vec::new()
            };
        let child = Command::new(bin_path(name))
            .arg("-l")
            .arg("-G")
            .arg("-f")
            .arg(config)
            .arg("--listen")
            .arg(format!("unix:{}", unix.display()))
            .args(["--listen", "tcp://127.0.0.1:0"])
            .args(spool_args)
            .args(args)
            // Only what the test passes decides about trace export.
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let mut process = Self {
            name: name.to_owned(),
            unix,
            tcp: "127.0.0.1:0".parse().expect("addr"),
            log,
            child,
        };
        process.tcp = process.wait_for_tcp_listener();
        process
    }

    fn wait_for_tcp_listener(&mut self) -> SocketAddr {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(addr) = log
                .lines()
                .filter_map(|l| l.split("Listening on tcp://").nth(1))
                .filter_map(|rest| rest.split_whitespace().next())
                .find_map(|a| a.parse().ok())
                && self.unix.exists()
            {
                return addr;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before listening:\n{log}", self.name);
            }
            assert!(
                Instant::now() < deadline,
                "{} did not start listening in 20 s:\n{log}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `signal` by pid (e.g. "TERM").
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits up to `timeout` for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A channel over the unix socket.
    pub async fn unix_channel(&self) -> TracedChannel {
        keepalived_bus::addr::connect(&Address::Unix(self.unix.clone()))
            .await
            .expect("connect over unix socket")
    }

    /// A channel over TCP.
    pub async fn tcp_channel(&self) -> TracedChannel {
        keepalived_bus::addr::connect(&Address::Tcp {
            host: self.tcp.ip().to_string(),
            port: self.tcp.port(),
        })
        .await
        .expect("connect over TCP")
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A minimal valid keepalived.conf (global_defs only) in `dir`.
pub fn minimal_config(dir: &Path) -> PathBuf {
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, "global_defs {\n    router_id test_router\n}\n").expect("write config");
    path
}
