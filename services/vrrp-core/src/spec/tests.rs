use super::*;

const SEED: &str = r#"
global_defs {
    router_id keepalivedR1
    vrrp_mcast_group4 224.0.0.33
}
vrrp_script chk_down {
    script "/etc/keepalived/chk_down.sh"
    interval 1
    weight -15
    fall 2
    rise 1
    user keepalived_script
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 3
    priority 99
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 736w4ib2
    }
    virtual_ipaddress {
        198.51.100.10/24 dev eth0 label eth0:1
    }
    track_script {
        chk_down
    }
}
"#;

fn load(text: &str) -> Config {
    keepalived_config::load_str(
        text,
        std::path::Path::new("/test/keepalived.conf"),
        &Default::default(),
    )
    .expect("valid config")
    .config
}

#[test]
fn seed_config_becomes_a_v2_instance_with_pass_auth_and_the_script_weight() {
    let mut warnings = Vec::new();
    let spec = EngineSpec::from_config(&load(SEED), &mut warnings);
    assert_eq!(spec.router_id, "keepalivedR1");
    let vi = &spec.instances[0];
    assert_eq!(vi.params.vrid, 3);
    assert_eq!(vi.params.priority, 99);
    assert_eq!(
        vi.params.interval,
        AdvertInterval::V2(AdvertSeconds::new(1).unwrap())
    );
    assert_eq!(vi.params.auth, Auth::pass("736w4ib2"));
    assert_eq!(vi.group, IpAddr::V4(Ipv4Addr::new(224, 0, 0, 33)));
    assert_eq!(vi.vips[0].label.as_deref(), Some("eth0:1"));
    assert_eq!(vi.vips[0].prefix_len, 24);
    assert_eq!(
        vi.trackers,
        [TrackerRef {
            kind: TrackerKind::Script,
            name: "chk_down".into(),
            weight: -15,
            reverse: false
        }]
    );
    let script = &spec.scripts["chk_down"];
    assert_eq!((script.fall, script.rise), (2, 1));
    assert_eq!(script.interval, Duration::from_secs(1));
    assert_eq!(spec.script_user.0, DEFAULT_SCRIPT_USER);
}

#[test]
fn v3_interval_is_kept_in_centiseconds() {
    let text = SEED.replace("advert_int 1", "advert_int 0.1\n    version 3");
    let mut warnings = Vec::new();
    let spec = EngineSpec::from_config(&load(&text), &mut warnings);
    assert_eq!(
        spec.instances[0].params.interval,
        AdvertInterval::V3(AdvertCentiseconds::new(10).unwrap())
    );
    assert_eq!(spec.instances[0].params.auth, Auth::None);
}

#[test]
fn an_ipv6_vip_makes_a_v3_instance_ipv6_with_group_ff02_12() {
    let text = SEED
        .replace("198.51.100.10/24 dev eth0 label eth0:1", "2001:db8::10/64")
        .replace("advert_int 1", "advert_int 0.1\n    version 3");
    let spec = EngineSpec::from_config(&load(&text), &mut Vec::new());
    let vi = &spec.instances[0];
    assert!(vi.is_ipv6());
    assert_eq!(vi.group, "ff02::12".parse::<IpAddr>().unwrap());
    assert_eq!(
        vi.vips[0].address,
        "2001:db8::10".parse::<IpAddr>().unwrap()
    );
    assert_eq!(vi.vips[0].prefix_len, 64);
    assert_eq!(
        vi.params.primary_address,
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        "filled in from the interface's link-local address at start"
    );
}

#[test]
fn ipv6_takes_version_3_and_a_mismatched_family_holds_only_that_instance() {
    // keepalived uses VRRPv3 for IPv6 (vrrp.c vrrp_complete_instance): so does the
    // loader, and the instance runs.
    let v2 = SEED.replace("198.51.100.10/24 dev eth0 label eth0:1", "2001:db8::10/64");
    let spec = EngineSpec::from_config(&load(&v2), &mut Vec::new());
    assert_eq!(
        (spec.instances[0].version, &spec.instances[0].held),
        (3, &None)
    );
    // An IPv4 unicast source on an IPv6 instance: that instance is held in FAULT,
    // a second one runs.
    let mixed = SEED
        .replace(
            "198.51.100.10/24 dev eth0 label eth0:1",
            "2001:db8::10/64\n    }\n    unicast_src_ip 198.51.100.12\n    virtual_ipaddress_excluded {\n        2001:db8::11",
        )
        .replace("advert_int 1", "advert_int 0.1\n    version 3")
        + "vrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 4\n    virtual_ipaddress {\n        198.51.100.20/24\n    }\n}\n";
    let mut warnings = Vec::new();
    let spec = EngineSpec::from_config(&load(&mixed), &mut warnings);
    assert_eq!(
        spec.instances[0].held.as_deref(),
        Some("unicast_src_ip 198.51.100.12 is IPv4 but the instance is IPv6")
    );
    assert_eq!(spec.instances[1].held, None);
    assert!(warnings.iter().any(|w| w.contains("(VI_1) unicast_src_ip 198.51.100.12 is IPv4 but the instance is IPv6 - holding the instance in FAULT")), "{warnings:?}");
}

#[test]
fn auth_ah_is_held_with_the_loader_reason_and_use_vmac_runs() {
    let ah = SEED.replace("auth_type PASS", "auth_type AH");
    let spec = EngineSpec::from_config(&load(&ah), &mut Vec::new());
    let vi = &spec.instances[0];
    assert_eq!(
        vi.held.as_deref(),
        Some("auth_type AH is not implemented by keepalived-rs yet")
    );
    assert_eq!(
        vi.params.auth,
        Auth::None,
        "never an advert with a wrong authentication"
    );
    let vmac = SEED.replace(
        "priority 99",
        "priority 99\n    use_vmac vr51\n    vmac_xmit_base",
    );
    let spec = EngineSpec::from_config(&load(&vmac), &mut Vec::new());
    assert_eq!(spec.instances[0].held, None, "use_vmac runs");
    assert_eq!(
        spec.instances[0].vmac,
        Some(crate::vmac::VmacSpec {
            name: Some("vr51".into()),
            mac: None,
            xmit_base: true,
        })
    );
}

#[test]
fn strict_mode_reaches_the_state_machine() {
    let strict = SEED.replace(
        "vrrp_mcast_group4 224.0.0.33",
        "vrrp_mcast_group4 224.0.0.33\n    vrrp_strict",
    );
    let spec = EngineSpec::from_config(&load(&strict), &mut Vec::new());
    let p = &spec.instances[0].params;
    assert_eq!(p.auth, Auth::None);
    assert!(p.lower_prio_no_advert && !p.higher_prio_send_advert);
    assert_eq!(p.garp_lower_prio_repeat, 0);
    assert!(
        !spec.instances[0].configured_master,
        "MASTER only for the address owner"
    );
}

#[test]
fn a_sync_groups_trackers_are_every_members_with_the_groups_weight() {
    let text = "vrrp_script chk {\n script /bin/true\n weight 7\n}\n\
        vrrp_track_process proc {\n process haproxy\n weight -20\n}\n\
        vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n \
        track_script {\n  chk weight 0\n }\n}\n\
        vrrp_instance B {\n interface eth0\n virtual_router_id 2\n priority 100\n}\n\
        vrrp_sync_group G {\n group {\n  A\n  B\n }\n track_script {\n  chk weight -5\n }\n \
        track_process {\n  proc\n }\n}\n";
    let mut warnings = Vec::new();
    let spec = EngineSpec::from_config(&load(text), &mut warnings);
    let trackers = |i: usize| -> Vec<(TrackerKind, &str, i32)> {
        spec.instances[i]
            .trackers
            .iter()
            .map(|t| (t.kind, t.name.as_str(), t.weight))
            .collect()
    };
    // B tracks what the group tracks; A tracks its own chk once, and keeps its weight 0
    // (keepalived replaces a member's weight with the group's unless it is 0).
    assert_eq!(
        trackers(1),
        [
            (TrackerKind::Script, "chk", -5),
            (TrackerKind::Process, "proc", -20)
        ]
    );
    assert_eq!(
        trackers(0),
        [
            (TrackerKind::Script, "chk", 0),
            (TrackerKind::Process, "proc", -20)
        ]
    );
    assert!(
        warnings.iter().any(|w| w
            == "(A) track_script chk is configured on VRRP instance and sync group. Remove vrrp \
                instance config"),
        "{warnings:?}"
    );
    // The track processes are the engine's, with their quorum.
    let p = &spec.track_processes["proc"];
    assert_eq!(
        (p.quorum, p.quorum_max, p.full_command),
        (1, u32::MAX, false)
    );
}
