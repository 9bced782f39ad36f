//! The seed's director configs (deploy/examples) parse cleanly to the model the seed describes.

use std::path::PathBuf;

use keepalived_config::*;

fn example(dir: &str) -> Loaded {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/examples")
        .join(dir)
        .join("keepalived.conf");
    load_file(&p, &LoadOptions::default()).unwrap_or_else(|e| match e {
        LoadError::Invalid { diagnostics } => panic!(
            "{dir}: {}",
            diagnostics
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
        other => panic!("{dir}: {other}"),
    })
}

#[test]
fn dr1_parses_to_the_seed_model() {
    let l = example("dr1");
    let c = &l.config;
    assert_eq!(c.global_defs.router_id, "keepalivedR1");
    assert_eq!(c.global_defs.notification_email, vec!["root@localhost"]);
    assert_eq!(
        c.global_defs.smtp_server,
        Some(SmtpServer {
            host: "127.0.0.1".into(),
            port: 25
        })
    );
    assert_eq!(c.global_defs.vrrp_mcast_group4.to_string(), "224.0.0.33");
    let s = &c.vrrp_scripts[0];
    assert_eq!(
        (s.name.as_str(), s.weight, s.fall, s.rise),
        ("chk_down", -15, 2, 1)
    );
    assert_eq!(s.interval, TimeUs::from_secs(1));
    let v = &c.vrrp_instances[0];
    assert_eq!(v.state, VrrpState::Master);
    assert_eq!((v.virtual_router_id, v.priority), (3, 99));
    assert_eq!(v.advert_int, Centiseconds(100));
    assert_eq!(v.authentication.as_ref().unwrap().auth_pass, "736w4ib2");
    assert_eq!(v.virtual_ipaddress[0].address.to_string(), "192.168.7.120");
    assert_eq!(v.virtual_ipaddress[0].prefix_len, 24);
    assert_eq!(
        v.track_script,
        vec![TrackRef {
            name: "chk_down".into(),
            weight: None,
            reverse: false
        }]
    );
    assert_eq!(
        v.notify_master.as_ref().unwrap().command,
        "/etc/keepalived/notify.sh master"
    );
    let vs = &c.virtual_servers[0];
    assert_eq!(vs.lvs_sched, "rr");
    assert_eq!(vs.lvs_method, LvsMethod::Dr);
    assert_eq!(vs.real_servers.len(), 2);
    let ck = &vs.real_servers[1].checkers[0];
    // nb_get_retry 3 → 4 attempts; delay_loop inherited from the virtual server.
    assert_eq!(ck.timing.retry, 3);
    assert_eq!(ck.timing.delay_loop, TimeUs::from_secs(2));
    assert_eq!(ck.timing.connect_timeout, TimeUs::from_secs(2));
    assert_eq!(ck.timing.delay_before_retry, TimeUs::from_secs(3));
    // lb_algo/lb_kind are plain aliases in keepalived 2.2.7; nb_get_retry (inside HTTP_GET)
    // is reported as deprecated, by keepalived too.
    let deprecations: Vec<_> = l
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("deprecated"))
        .collect();
    assert_eq!(deprecations.len(), 2, "{:?}", l.diagnostics);
    assert!(deprecations.iter().all(|d| d.severity == Severity::Warning));
}

#[test]
fn dr2_differs_only_in_router_id_state_priority() {
    let a = example("dr1").config;
    let b = example("dr2").config;
    assert_eq!(b.global_defs.router_id, "keepalivedR2");
    assert_eq!(b.vrrp_instances[0].state, VrrpState::Backup);
    assert_eq!(b.vrrp_instances[0].priority, 90);
    let mut b2 = b.clone();
    b2.global_defs.router_id = a.global_defs.router_id.clone();
    b2.vrrp_instances[0].state = a.vrrp_instances[0].state;
    b2.vrrp_instances[0].priority = a.vrrp_instances[0].priority;
    assert_eq!(a, b2);
}
