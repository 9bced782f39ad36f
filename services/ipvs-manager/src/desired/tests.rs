use std::path::Path;

use super::*;

#[test]
fn quorum_follows_keepalived_with_hysteresis() {
    // quorum 3, hysteresis 1: gained at >= 4, lost below 2.
    assert!(!quorum_up(Some(false), 3, 1, 3));
    assert!(quorum_up(Some(false), 3, 1, 4));
    assert!(quorum_up(Some(true), 3, 1, 2));
    assert!(!quorum_up(Some(true), 3, 1, 1));
    assert!(!quorum_up(Some(true), 1, 0, 0));
    // Start-up: "Gained quorum 1+0=1 <= 2".
    assert!(quorum_up(None, 1, 0, 2));
    assert!(!quorum_up(None, 1, 0, 0));
}

fn plan(text: &str) -> Spec {
    let config =
        keepalived_config::load_str(text, Path::new("/t/keepalived.conf"), &Default::default())
            .expect("valid config")
            .config;
    crate::spec::build(&config).0
}

const TWO: &str = "virtual_server 198.51.100.10 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n\
    sorry_server 203.0.113.99 80\n\
    real_server 203.0.113.11 80 {\n weight 2\n TCP_CHECK {\n }\n }\n\
    real_server 203.0.113.12 80 {\n inhibit_on_failure\n TCP_CHECK {\n alpha\n }\n }\n}\n";

#[test]
fn alpha_servers_start_out_and_inhibited_ones_stay_at_weight_zero() {
    let p = plan(TWO);
    let d = compute(
        &p,
        &VerdictBook::default(),
        Policy::Majority,
        &Overrides::default(),
        &mut HashMap::new(),
    );
    let vs = &d.virtual_servers[0];
    assert_eq!(vs.real_servers[0].entry, Some(2));
    assert_eq!(vs.real_servers[1].health, Health::Unknown);
    assert_eq!(
        vs.real_servers[1].entry,
        Some(0),
        "alpha + inhibit: weight 0"
    );
    assert_eq!(vs.quorum.alive_weight, 2);
    assert_eq!(
        vs.sorry.as_ref().unwrap().1,
        None,
        "sorry server out while quorum holds"
    );
}

#[test]
fn drain_sets_weight_zero_and_losing_quorum_brings_in_the_sorry_server() {
    let p = plan(TWO);
    let name = p.virtual_servers[0].name.clone();
    let rs = p.virtual_servers[0].real_servers[0].key;
    let mut overrides = Overrides::default();
    overrides.insert(
        (name, rs),
        Override {
            weight: None,
            drained: true,
        },
    );
    let mut quorum = HashMap::new();
    let d = compute(
        &p,
        &VerdictBook::default(),
        Policy::Majority,
        &overrides,
        &mut quorum,
    );
    let vs = &d.virtual_servers[0];
    // Drained: alive weight 0, quorum lost, the sorry server takes over.
    assert!(!vs.quorum.up);
    assert_eq!(vs.real_servers[0].entry, None);
    assert_eq!(vs.sorry.as_ref().unwrap().1, Some(1));
    let service = d.table.services.values().next().unwrap();
    assert_eq!(service.dests.len(), 2, "sorry server + inhibited server");
}

/// A book holding one prober's snapshot of `targets`.
pub(super) fn book_with(targets: Vec<keepalived_api::v1::Target>) -> VerdictBook {
    use keepalived_api::v1;
    let mut book = VerdictBook::default();
    book.update(&keepalived_bus::UpstreamUpdate {
        upstream: "unix:prober".into(),
        update: keepalived_bus::Update::Snapshot(v1::HealthEvent {
            payload: Some(v1::health_event::Payload::Snapshot(v1::HealthSnapshot {
                targets,
            })),
            ..Default::default()
        }),
    });
    book
}

#[test]
fn file_check_offsets_move_the_configured_weight_and_stop_at_zero() {
    use keepalived_api::v1;
    let p = plan(TWO);
    let weight_with = |offset: i32| {
        let target = v1::Target {
            id: "FILE_CHECK:203.0.113.11:80".into(),
            checker: "FILE_CHECK".into(),
            real_server: Some(v1::AddressPort {
                address: "203.0.113.11".into(),
                port: 80,
            }),
            verdict: v1::Verdict::Up as i32,
            weight_offset: Some(offset),
            ..Default::default()
        };
        let d = compute(
            &p,
            &book_with(vec![target]),
            Policy::Majority,
            &Overrides::default(),
            &mut HashMap::new(),
        );
        d.virtual_servers[0].real_servers[0].weight
    };
    // Configured weight 2.
    assert_eq!(weight_with(3), 5);
    assert_eq!(weight_with(-1), 1);
    // (At 0 the server's weight no longer counts for quorum, as in keepalived.)
    assert_eq!(weight_with(-200), 0, "never below zero");
}
