//! A service's log written to a file (`-l`, stderr not a terminal) carries no ANSI
//! escape: no ESC byte, also in the structured fields after keepalived's wording
//! (which tracing-subscriber would otherwise italicise).
#![forbid(unsafe_code)]
// std::time::Instant: these tests wait on real processes (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::time::{Duration, Instant};

use keepalived_tests::{ServiceProcess, minimal_config};

#[test]
fn a_service_log_file_has_no_escape_byte() {
    let dir = tempfile::tempdir().unwrap();
    let config = minimal_config(dir.path());
    // Upstreams that do not exist: the notifier logs its lost streams with fields
    // (`upstream=… error=…`), the lines where escapes used to appear.
    let vrrp = format!("unix:{}", dir.path().join("absent-vrrp.sock").display());
    let ipvs = format!("unix:{}", dir.path().join("absent-ipvs.sock").display());
    let notifier = ServiceProcess::start(
        "notifier",
        dir.path(),
        &config,
        &["--vrrp", &vrrp, "--ipvs", &ipvs],
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while !notifier.log_text().contains("upstream=") {
        assert!(
            Instant::now() < deadline,
            "no line with an upstream= field in 15 s:\n{}",
            notifier.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let bytes = std::fs::read(&notifier.log).unwrap();
    if let Some(at) = bytes.iter().position(|&b| b == 0x1b) {
        panic!(
            "ESC at byte {at} of the log file:\n{}",
            String::from_utf8_lossy(&bytes)
        );
    }
}
