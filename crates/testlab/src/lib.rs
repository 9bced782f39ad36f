//! Network-namespace labs for topology tests (root only), as
//! docs/sandbox.md describes them: one namespace acts as the switch (a bridge),
//! each host is a namespace joined to it by a veth made inside the switch
//! namespace, so nothing is ever created in the root namespace.
//!
//! Everything a [`Lab`] creates — namespaces and the processes it spawned —
//! is removed when it is dropped, also when the test panics. Names carry the
//! test's tag and the process id, so tests can run in parallel.
//!
//! Tests must use only 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32.
#![forbid(unsafe_code)]
// std::time::Instant: the lab waits on real processes and namespaces (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// Whether topology tests can run here: root and `ip` available. Under
/// `CI=true` a missing prerequisite panics (the test fails); locally the test
/// is skipped with a loud message. Returns true when the test should run.
pub fn prerequisites_met(test: &str, tools: &[&str]) -> bool {
    let mut missing = Vec::new();
    if !is_root() {
        missing.push("root".to_owned());
    }
    for tool in std::iter::once(&"ip").chain(tools) {
        if !on_path(tool) {
            missing.push((*tool).to_owned());
        }
    }
    if missing.is_empty() {
        return true;
    }
    let message = format!("{test}: needs {}", missing.join(", "));
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message} (CI=true: a missing prerequisite is a failure)");
    }
    eprintln!("SKIPPED {message}");
    false
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Whether `tool` is an executable on PATH.
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// A lab: a switch namespace with a bridge, and host namespaces.
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    switch: String,
    namespaces: Vec<String>,
    children: Vec<Child>,
    ipv6_dad: bool,
}

/// A host in a lab.
#[derive(Debug, Clone)]
pub struct Host {
    /// The host's short name (e.g. `dr1`).
    pub name: String,
    /// Its network namespace.
    pub netns: String,
    /// The name of its veth port on the bridge, inside the switch namespace.
    pub port: String,
}

fn run(command: &mut Command) -> io::Result<Output> {
    let output = command.stdin(Stdio::null()).output()?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(io::Error::other(format!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

fn ip(args: &[&str]) -> io::Result<Output> {
    run(Command::new("ip").args(args))
}

impl Lab {
    /// Creates the switch namespace `<tag>-<pid>-<n>-sw` with bridge `br0`
    /// (no STP, no forwarding delay).
    pub fn new(tag: &str) -> io::Result<Self> {
        let n = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{tag}-{}-{n}", std::process::id());
        let switch = format!("{prefix}-sw");
        let mut lab = Self {
            prefix,
            switch: switch.clone(),
            namespaces: Vec::new(),
            children: Vec::new(),
            ipv6_dad: true,
        };
        ip(&["netns", "add", &switch])?;
        lab.namespaces.push(switch.clone());
        ip(&[
            "-n",
            &switch,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ])?;
        ip(&["-n", &switch, "link", "set", "br0", "up"])?;
        Ok(lab)
    }

    /// Whether hosts added from now on run IPv6 Duplicate Address Detection (on by
    /// default). Off, their link-local and configured IPv6 addresses are usable at once
    /// instead of staying tentative for a second or more (`accept_dad=0` in the host
    /// before its interface arrives, and `nodad` on IPv6 addresses).
    pub fn set_ipv6_dad(&mut self, on: bool) {
        self.ipv6_dad = on;
    }

    /// The switch namespace (for nft rules that simulate loss or partitions).
    pub fn switch_netns(&self) -> &str {
        &self.switch
    }

    /// Adds a host `name` (at most 13 characters) joined to the bridge, its
    /// interface `eth0` with `mac` (if given) and `addresses` (CIDR form), and
    /// `lo` up.
    pub fn host(&mut self, name: &str, mac: Option<&str>, addresses: &[&str]) -> io::Result<Host> {
        assert!(
            name.len() <= 13,
            "host name {name:?} too long for a veth name"
        );
        let netns = format!("{}-{name}", self.prefix);
        let port = format!("p-{name}");
        ip(&["netns", "add", &netns])?;
        self.namespaces.push(netns.clone());
        if !self.ipv6_dad {
            // Before eth0 arrives: its IPv6 settings are copied from `default`.
            self.exec(
                &netns,
                &[
                    "sysctl",
                    "-qw",
                    "net.ipv6.conf.all.accept_dad=0",
                    "net.ipv6.conf.default.accept_dad=0",
                ],
            )?;
        }
        ip(&[
            "-n",
            &self.switch,
            "link",
            "add",
            &port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &netns,
        ])?;
        ip(&[
            "-n",
            &self.switch,
            "link",
            "set",
            &port,
            "master",
            "br0",
            "up",
        ])?;
        ip(&["-n", &netns, "link", "set", "lo", "up"])?;
        if let Some(mac) = mac {
            ip(&["-n", &netns, "link", "set", "eth0", "address", mac])?;
        }
        ip(&["-n", &netns, "link", "set", "eth0", "up"])?;
        for address in addresses {
            if !self.ipv6_dad && address.contains(':') {
                ip(&["-n", &netns, "addr", "add", address, "dev", "eth0", "nodad"])?;
            } else {
                ip(&["-n", &netns, "addr", "add", address, "dev", "eth0"])?;
            }
        }
        Ok(Host {
            name: name.to_owned(),
            netns,
            port,
        })
    }

    /// A namespace of its own, not joined to the bridge (loopback up).
    pub fn isolated(&mut self, name: &str) -> io::Result<String> {
        let netns = format!("{}-{name}", self.prefix);
        ip(&["netns", "add", &netns])?;
        self.namespaces.push(netns.clone());
        ip(&["-n", &netns, "link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// Runs a command inside `netns` and waits for it; fails on non-zero exit.
    pub fn exec(&self, netns: &str, argv: &[&str]) -> io::Result<Output> {
        run(Command::new("ip").args(["netns", "exec", netns]).args(argv))
    }

    /// Loads an nft ruleset into `netns` atomically (`nft -f -`).
    pub fn nft(&self, netns: &str, ruleset: &str) -> io::Result<()> {
        use std::io::Write as _;
        let mut child = Command::new("ip")
            .args(["netns", "exec", netns, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        child
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("nft stdin"))?
            .write_all(ruleset.as_bytes())?;
        let output = child.wait_with_output()?;
        if output.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "nft in {netns}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )))
        }
    }

    /// Starts `program args…` inside `netns` (`ip netns exec` execs it, so
    /// the returned pid is the program's). stdout and stderr go to `log`.
    /// The lab kills it (by pid) when dropped.
    pub fn spawn(
        &mut self,
        netns: &str,
        program: impl AsRef<std::ffi::OsStr>,
        args: &[&str],
        log: &std::path::Path,
    ) -> io::Result<u32> {
        let out = std::fs::File::create(log)?;
        let err = out.try_clone()?;
        let child = Command::new("ip")
            .args(["netns", "exec", netns])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()?;
        let pid = child.id();
        self.children.push(child);
        Ok(pid)
    }

    /// Sends `signal` (e.g. `"TERM"`, `"KILL"`) to a process this lab started.
    pub fn signal(&mut self, pid: u32, signal: &str) -> io::Result<()> {
        assert!(
            self.children.iter().any(|c| c.id() == pid),
            "pid {pid} was not started by this lab"
        );
        run(Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]))?;
        Ok(())
    }

    /// Waits for a process this lab started to exit (up to `timeout`);
    /// returns whether it exited.
    pub fn wait_exit(&mut self, pid: u32, timeout: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + timeout;
        let child = self
            .children
            .iter_mut()
            .find(|c| c.id() == pid)
            .ok_or_else(|| io::Error::other(format!("pid {pid} not started by this lab")))?;
        loop {
            if child.try_wait()?.is_some() {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A scratch directory for this lab's files (logs, configs, sockets).
    pub fn dir(&self) -> io::Result<PathBuf> {
        let dir = std::env::temp_dir().join(format!("keepalived-rs-{}", self.prefix));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // Hosts first, the switch last (deleting a host removes its veth).
        for netns in self.namespaces.iter().rev() {
            let _ = Command::new("ip")
                .args(["netns", "del", netns])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        if let Ok(dir) = self.dir()
            && std::env::var_os("KEEP_LAB_LOGS").is_none()
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_hosts_on_the_bridge_reach_each_other_and_everything_is_removed() {
        if !prerequisites_met("testlab two hosts", &["ping"]) {
            return;
        }
        let names;
        {
            let mut lab = Lab::new("tl").unwrap();
            let a = lab.host("a", None, &["198.51.100.1/24"]).unwrap();
            let _b = lab.host("b", None, &["198.51.100.2/24"]).unwrap();
            lab.exec(&a.netns, &["ping", "-c1", "-W2", "198.51.100.2"])
                .unwrap();
            names = lab.namespaces.clone();
        }
        let list = String::from_utf8(ip(&["netns", "list"]).unwrap().stdout).unwrap();
        for name in names {
            assert!(!list.contains(&name), "{name} left behind");
        }
    }
}
