//! Diagnostics: positions, unknown keywords with suggestions, recognised-but-unimplemented
//! keywords, value ranges and keepalived's semantic checks.

use std::path::Path;

use keepalived_config::*;

fn load(text: &str) -> Result<Loaded, Vec<Diagnostic>> {
    load_with_host(
        text,
        Path::new("/etc/keepalived/keepalived.conf"),
        &LoadOptions::default(),
        "lb1.example.net",
    )
    .map_err(|e| match e {
        LoadError::Invalid { diagnostics } => diagnostics,
        other => panic!("{other}"),
    })
}

fn errors(text: &str) -> Vec<String> {
    match load(text) {
        Ok(l) => panic!("expected errors, got Ok with {:?}", l.diagnostics),
        Err(d) => d
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.to_string())
            .collect(),
    }
}

fn diags(text: &str) -> Vec<Diagnostic> {
    match load(text) {
        Ok(l) => l.diagnostics,
        Err(d) => d,
    }
}

fn warnings(text: &str) -> (Config, Vec<String>) {
    match load(text) {
        Ok(l) => (
            l.config,
            l.diagnostics.iter().map(|d| d.to_string()).collect(),
        ),
        Err(d) => panic!("unexpected errors: {d:#?}"),
    }
}

const VI: &str = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n";

#[test]
fn unknown_keyword_is_a_warning_at_file_line_col_with_suggestion() {
    // keepalived logs "Unknown keyword" and runs: so do we.
    let (c, w) = warnings(&format!("{VI}    priorty 90\n}}\n"));
    assert_eq!(c.vrrp_instances[0].priority, 100);
    assert_eq!(
        w,
        vec![
            "/etc/keepalived/keepalived.conf:4:5: warning: unknown keyword 'priorty' in vrrp_instance; did you mean 'priority'? (keepalived: \"Unknown keyword 'priorty'\"); the line is ignored"
        ]
    );
    assert_eq!(
        config_test_exit_code(&diags(&format!("{VI}    priorty 90\n}}\n"))),
        5
    );
}

#[test]
fn unknown_keyword_with_a_block_closes_the_enclosing_block_as_in_keepalived() {
    // keepalived reads the unknown block's lines in global_defs, and its '}' ends global_defs:
    // vrrp_version 3 is then an unknown top-level keyword and is not applied.
    let (c, w) = warnings(
        "global_defs {\n   router_id X\n   foo_bar {\n      a 1\n   }\n   vrrp_version 3\n}\n",
    );
    assert_eq!(c.global_defs.router_id, "X");
    assert_eq!(c.global_defs.vrrp_version, 2);
    let at = |line: u32| {
        w.iter()
            .filter(move |m| m.contains(&format!(".conf:{line}:")))
            .count()
    };
    assert_eq!((at(3), at(4), at(6), at(7)), (2, 1, 1, 1), "{w:#?}");
    assert!(
        w.iter()
            .any(|m| m.contains(":6:4: warning: unknown keyword 'vrrp_version' in top level"))
    );
    // Blocks of values after the rearranged part keep their contents.
    let (c, _) = warnings(&format!(
        "global_defs {{\n foo {{\n }}\n}}\n{VI} virtual_ipaddress {{\n  198.51.100.1\n }}\n}}\n"
    ));
    assert_eq!(c.vrrp_instances[0].virtual_ipaddress.len(), 1);
}

#[test]
fn unknown_keyword_in_an_included_file_names_that_file() {
    let dir = std::env::temp_dir().join(format!("kc-diag-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("vs.conf"),
        "\nvirtual_server 198.51.100.1 80 {\n  lb_algoo rr\n  real_server 203.0.113.1 80 {\n  }\n}\n",
    )
    .unwrap();
    let r = load_with_host(
        "include vs.conf\n",
        &dir.join("main.conf"),
        &LoadOptions::default(),
        "h",
    )
    .unwrap();
    let d = &r.diagnostics[0];
    assert_eq!((d.file.clone(), d.line, d.col), (dir.join("vs.conf"), 3, 3));
    assert!(
        d.message.contains("did you mean 'lb_algo'"),
        "{}",
        d.message
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn recognised_but_unimplemented_keyword_is_a_warning() {
    let (_, w) = warnings("global_defs {\n  enable_snmp_vrrp\n}\n");
    assert_eq!(w.len(), 1);
    assert!(w[0].contains(":2:3: warning:"), "{}", w[0]);
    assert!(w[0].contains("recognised, not implemented by keepalived-rs yet"));
}

#[test]
fn aliases_map_as_in_keepalived_2_2_7() {
    let (c, w) = warnings(
        "vrrp_track_file tf {\n file /tmp/x\n}\nvirtual_server 198.51.100.1 80 {\n protocol TCP\n lb_algo wrr\n lb_kind TUN\n real_server 203.0.113.1 80 {\n  TCP_CHECK {\n   nb_get_retry 7\n  }\n  HTTP_GET {\n   url {\n    path /\n   }\n   nb_get_retry 2\n  }\n }\n}\n",
    );
    assert_eq!(c.track_files[0].name, "tf");
    // lb_algo and lb_kind are plain aliases in 2.2.7: no message.
    assert_eq!(c.virtual_servers[0].lvs_sched, "wrr");
    assert_eq!(c.virtual_servers[0].lvs_method, LvsMethod::Tun);
    let chk = &c.virtual_servers[0].real_servers[0].checkers;
    // nb_get_retry is unknown inside TCP_CHECK (retry stays 1), deprecated in HTTP_GET.
    assert_eq!((chk[0].retry, chk[0].timing.retry), (None, 1));
    assert_eq!(chk[1].retry, Some(2));
    assert!(
        w.iter()
            .any(|m| m.contains(":10:4: warning: unknown keyword 'nb_get_retry' in TCP_CHECK")),
        "{w:#?}"
    );
    assert!(
        w.iter()
            .any(|m| m.contains(":16:4: warning: keyword 'nb_get_retry' is deprecated")),
        "{w:#?}"
    );
    assert!(
        !w.iter()
            .any(|m| m.contains("lb_algo") || m.contains("lb_kind")),
        "{w:#?}"
    );
}

#[test]
fn real_server_outside_virtual_server_is_a_warning() {
    let (_, w) = warnings("real_server 203.0.113.1 80 {\n weight 1\n}\n");
    assert!(
        w.iter().any(|m| m.starts_with("/etc/keepalived/keepalived.conf:1:1: warning: unknown keyword 'real_server' in top level (real_server belongs in a virtual_server block)")),
        "{w:?}"
    );
}

#[test]
fn vrid_and_priority_ranges() {
    // An out-of-range VRID is ignored, and an instance without one cannot run (keepalived's
    // VRRP process stops: "the virtual router id must be set").
    let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 256\n}\n";
    let d = diags(text);
    assert!(
        d[0].to_string()
            .contains(":3:20: warning: virtual_router_id 256 out of range 1..255"),
        "{d:?}"
    );
    assert!(errors(text)[0].contains("virtual_router_id is required"));
    // keepalived: "Priority not valid! ... Using default 100".
    let (c, w) = warnings(&format!("{VI} priority 0\n}}\n"));
    assert_eq!(c.vrrp_instances[0].priority, 100);
    assert!(
        w[0].contains(":4:11: warning: (VI_1) Priority not valid!"),
        "{w:?}"
    );
    // No priority: MASTER is the address owner.
    let (c, _) = warnings(&format!("{VI} state MASTER\n}}\n"));
    assert_eq!(c.vrrp_instances[0].priority, 255);
}

#[test]
fn unknown_state_is_backup_and_master_wins_over_a_later_backup() {
    let (c, w) = warnings(&format!("{VI} state SLAVE\n}}\n"));
    assert_eq!(c.vrrp_instances[0].state, VrrpState::Backup);
    assert!(
        w[0].contains("unknown state 'SLAVE', defaulting to BACKUP"),
        "{w:?}"
    );
    let (c, w) = warnings(&format!(
        "{VI} state MASTER\n priority 100\n state BACKUP\n}}\n"
    ));
    assert_eq!(c.vrrp_instances[0].state, VrrpState::Master);
    assert!(
        w[0].contains("state previously set as MASTER - ignoring BACKUP"),
        "{w:?}"
    );
}

#[test]
fn priority_255_gives_master_only_when_no_state_is_set() {
    let (c, _) = warnings(&format!("{VI} priority 255\n}}\n"));
    assert_eq!(c.vrrp_instances[0].state, VrrpState::Master);
    // vrrp.c derives the state from the priority only when none is given.
    let (c, _) = warnings(&format!("{VI} state BACKUP\n priority 255\n}}\n"));
    assert_eq!(c.vrrp_instances[0].state, VrrpState::Backup);
}

#[test]
fn auth_pass_truncated_to_8_with_warning() {
    let (c, w) = warnings(&format!(
        "{VI} authentication {{\n  auth_type PASS\n  auth_pass 0123456789\n }}\n}}\n"
    ));
    assert_eq!(
        c.vrrp_instances[0]
            .authentication
            .as_ref()
            .unwrap()
            .auth_pass,
        "01234567"
    );
    assert!(
        w.iter()
            .any(|m| m.contains(":6:13: warning: auth_pass longer than 8")),
        "{w:?}"
    );
}

#[test]
fn advert_int_rounded_for_v2_kept_in_centiseconds_for_v3() {
    let (c, w) = warnings(&format!("{VI} advert_int 1.6\n}}\n"));
    assert_eq!(c.vrrp_instances[0].advert_int, Centiseconds(200));
    assert!(w.iter().any(|m| m.contains("rounding to 2 s")), "{w:?}");
    let (c, w) = warnings(&format!("{VI} version 3\n advert_int 0.25\n}}\n"));
    assert_eq!(c.vrrp_instances[0].advert_int, Centiseconds(25));
    assert!(w.is_empty());
    let (c, w) = warnings(&format!("{VI} version 3\n advert_int 41\n}}\n"));
    assert_eq!(c.vrrp_instances[0].advert_int, Centiseconds(4095));
    assert!(w[0].contains("Setting to 40.95 s"), "{w:?}");
}

#[test]
fn nopreempt_with_master_warns_and_is_cleared() {
    let (c, w) = warnings(&format!(
        "{VI} state MASTER\n priority 100\n nopreempt\n}}\n"
    ));
    assert!(!c.vrrp_instances[0].nopreempt);
    assert!(
        w.iter().any(|m| m.contains(
            "warning: (VI_1) Warning - nopreempt will not work with initial state MASTER"
        )),
        "{w:?}"
    );
    let (c, w) = warnings(&format!("{VI} state BACKUP\n nopreempt\n}}\n"));
    assert!(c.vrrp_instances[0].nopreempt);
    assert!(w.is_empty());
}

#[test]
fn duplicate_vrid_on_interface_and_family_is_an_error() {
    let two =
        format!("{VI}}}\nvrrp_instance VI_2 {{\n interface eth0\n virtual_router_id 51\n}}\n");
    let e = errors(&two);
    assert!(
        e[0].contains(":5:1: error: vrrp_instance VI_2: virtual_router_id 51 already used by VI_1"),
        "{e:?}"
    );
    // Same VRID on another interface is fine.
    let (c, _) = warnings(&two.replacen("eth0", "eth1", 2).replacen("eth1", "eth0", 1));
    assert_eq!(c.vrrp_instances.len(), 2);
}

#[test]
fn an_address_of_the_other_family_in_one_block_is_ignored() {
    let (c, w) = warnings(&format!(
        "{VI} virtual_ipaddress {{\n  198.51.100.1/24\n  2001:db8::1/64\n }}\n}}\n"
    ));
    assert_eq!(c.vrrp_instances[0].virtual_ipaddress.len(), 1);
    assert!(
        w[0].contains(
            ":6:3: warning: virtual_ipaddress: address 2001:db8::1 is of a different family"
        ),
        "{w:?}"
    );
}

#[test]
fn undefined_track_script_is_warned_and_ignored() {
    let (c, w) = warnings(&format!("{VI} track_script {{\n  nope\n }}\n}}\n"));
    assert!(c.vrrp_instances[0].track_script.is_empty());
    assert!(
        w.iter()
            .any(|m| m.contains(":5:3: warning: (VI_1) track script nope not found, ignoring...")),
        "{w:?}"
    );
    // keepalived resolves the name while reading: a script defined after the instance is
    // not found either (and is then unused).
    let (c, w) = warnings(&format!(
        "{VI} track_script {{\n  late\n }}\n}}\nvrrp_script late {{\n script /bin/true\n}}\n"
    ));
    assert!(c.vrrp_instances[0].track_script.is_empty());
    assert!(c.vrrp_scripts.is_empty(), "{w:?}");
    assert!(
        w.iter()
            .any(|m| m.contains("Warning - script late is not used")),
        "{w:?}"
    );
}

#[test]
fn bad_values_name_their_position() {
    let (c, w) = warnings(
        "virtual_server 198.51.100.1 80 {\n  delay_loop fast\n  lb_kind XX\n  protocol ICMP\n  real_server 203.0.113.1 80 {\n  }\n}\n",
    );
    let vs = &c.virtual_servers[0];
    // Each bad value is reported and ignored; then keepalived's defaults for what is unset.
    assert_eq!(
        (vs.delay_loop, vs.lvs_method, vs.protocol),
        (TimeUs::from_secs(60), LvsMethod::Nat, Protocol::Udp)
    );
    assert!(
        w[0].contains(":2:14: warning: virtual server delay loop 'fast' invalid"),
        "{w:#?}"
    );
    assert!(
        w[1].contains(":3:11: warning: PARSER : unknown [XX] routing method"),
        "{w:#?}"
    );
    assert!(
        w[2].contains(":4:12: warning: Unknown protocol ICMP - ignoring"),
        "{w:#?}"
    );
    assert_eq!(w.len(), 6, "{w:#?}");
    assert!(
        w.iter()
            .any(|m| m.contains("no protocol set - defaulting to UDP")),
        "{w:#?}"
    );
}

#[test]
fn missing_brace_and_missing_required_values() {
    let (_, w) = warnings("global_defs {\n router_id x\n");
    assert!(
        w[0].contains(":1:13: warning: block opened here is never closed"),
        "{w:?}"
    );
    let e = errors("vrrp_instance A {\n interface eth0\n}\n");
    assert!(e[0].contains("virtual_router_id is required"));
    let (c, w) = warnings("virtual_server group NOPE {\n real_server 203.0.113.1 80 {\n }\n}\n");
    assert!(c.virtual_servers.is_empty());
    assert!(
        w.iter()
            .any(|m| m.contains("Virtual server group NOPE specified but not configured")),
        "{w:?}"
    );
}

#[test]
fn defaults_are_keepalived_s() {
    let (c, _) = warnings(&format!(
        "{VI}}}\nvirtual_server 198.51.100.1 80 {{\n protocol TCP\n real_server 203.0.113.1 80 {{\n  TCP_CHECK {{\n  }}\n  HTTP_GET {{\n   url {{\n    path /\n   }}\n  }}\n  MISC_CHECK {{\n   misc_path /bin/true\n  }}\n }}\n}}\n"
    ));
    let g = &c.global_defs;
    assert_eq!(g.router_id, "lb1.example.net");
    assert_eq!(g.notification_email_from, "keepalived@lb1.example.net");
    assert_eq!(g.smtp_connect_timeout, Seconds(30));
    assert_eq!(g.vrrp_mcast_group4.to_string(), "224.0.0.18");
    assert_eq!(g.vrrp_mcast_group6.to_string(), "ff02::12");
    let v = &c.vrrp_instances[0];
    assert_eq!(
        (v.priority, v.state, v.version),
        (100, VrrpState::Backup, 2)
    );
    assert_eq!(v.advert_int, Centiseconds(100));
    assert_eq!((v.garp_master_delay, v.garp_master_repeat), (Seconds(5), 5));
    assert_eq!(
        (v.garp_lower_prio_delay, v.garp_lower_prio_repeat),
        (Seconds(5), 5)
    );
    let vs = &c.virtual_servers[0];
    assert_eq!(
        (vs.delay_loop, vs.quorum, vs.lvs_method),
        (TimeUs::from_secs(60), 1, LvsMethod::Nat)
    );
    let rs = &vs.real_servers[0];
    assert_eq!(rs.weight, 1);
    let t: Vec<_> = rs
        .checkers
        .iter()
        .map(|c| {
            (
                c.timing.retry,
                c.timing.delay_before_retry.0 / 1_000_000,
                c.timing.connect_timeout.0 / 1_000_000,
                c.timing.warmup.0 / 1_000_000,
            )
        })
        .collect();
    // MISC_CHECK: no retries, 1 s apart when told to retry (check_misc.c).
    assert_eq!(t, vec![(1, 1, 5, 60), (1, 3, 5, 60), (0, 1, 5, 60)]);
    if let CheckerKind::HttpGet(h) = &rs.checkers[1].kind {
        assert_eq!(
            h.urls[0].status_code,
            vec![StatusRange { from: 200, to: 299 }]
        );
    } else {
        panic!()
    }
}

#[test]
fn timing_inherits_vs_then_rs_then_checker() {
    let (c, _) = warnings(
        "virtual_server 198.51.100.1 80 {\n delay_loop 10\n retry 4\n connect_timeout 3\n real_server 203.0.113.1 80 {\n  delay_loop 0.5\n  delay_before_retry 2\n  TCP_CHECK {\n   retry 9\n  }\n  TCP_CHECK {\n  }\n }\n}\n",
    );
    let rs = &c.virtual_servers[0].real_servers[0];
    let a = rs.checkers[0].timing;
    let b = rs.checkers[1].timing;
    assert_eq!((a.retry, b.retry), (9, 4));
    assert_eq!(a.delay_loop, TimeUs(500_000));
    assert_eq!(a.warmup, TimeUs(500_000));
    assert_eq!(a.connect_timeout, TimeUs::from_secs(3));
    assert_eq!(b.delay_before_retry, TimeUs::from_secs(2));
}

#[test]
fn diagnostics_display_in_invalid_error_include_warnings_too() {
    let r = load("global_defs {\n enable_traps\n}\nkeepalived_rs {\n bogus_kw\n}\n");
    let d = r.unwrap_err();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].severity, Severity::Warning);
    assert_eq!(d[1].severity, Severity::Error);
}

#[test]
fn keepalived_rs_block_is_read_into_its_own_model() {
    let (cfg, w) = warnings(
        "keepalived_rs {\n    webhook ops {\n        url http://hooks.example.net/k\n        \
         secret_file /etc/ops.secret\n        events vrrp quorum\n        ca_file /etc/ops-ca.pem\n    }\n    \
         verdict_policy all_down\n    health_prober_dns probers.example.net:50053\n    \
         health_prober_owners 3\n}\n",
    );
    assert!(w.is_empty(), "{w:?}");
    let x = &cfg.keepalived_rs;
    assert_eq!(
        x.webhooks,
        vec![Webhook {
            name: "ops".into(),
            url: "http://hooks.example.net/k".into(),
            secret_file: Some("/etc/ops.secret".into()),
            events: vec![WebhookEvent::Vrrp, WebhookEvent::Quorum],
            ca_file: Some("/etc/ops-ca.pem".into()),
        }]
    );
    assert_eq!(x.verdict_policy, VerdictPolicy::AllDown);
    assert!(x.health_probers.is_empty());
    assert_eq!(
        x.health_prober_dns.as_deref(),
        Some("probers.example.net:50053")
    );
    assert_eq!(x.health_prober_owners, ProberOwners::Count(3));
}

#[test]
fn health_prober_owners_is_a_count_or_all_and_defaults_to_two() {
    assert_eq!(
        KeepalivedRs::default().health_prober_owners,
        ProberOwners::Count(2)
    );
    let (cfg, w) = warnings("keepalived_rs {\n    health_prober_owners all\n}\n");
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(cfg.keepalived_rs.health_prober_owners, ProberOwners::All);
    assert_eq!(ProberOwners::All.k(4), 4);
    assert_eq!(ProberOwners::Count(2).k(4), 2);
    let f = "/etc/keepalived/keepalived.conf";
    assert_eq!(
        errors("keepalived_rs {\n    health_prober_owners 0\n    health_prober_owners two\n}\n"),
        vec![
            format!(
                "{f}:2:26: error: health_prober_owners must be a number of replicas (1 or more) or all, got '0'"
            ),
            format!(
                "{f}:3:26: error: health_prober_owners must be a number of replicas (1 or more) or all, got 'two'"
            ),
        ]
    );
}

#[test]
fn keepalived_rs_defaults_when_the_block_is_absent_and_prints_nothing() {
    let (cfg, _) = warnings(&format!("{VI}}}\n"));
    assert_eq!(cfg.keepalived_rs, KeepalivedRs::default());
    assert_eq!(cfg.keepalived_rs.verdict_policy, VerdictPolicy::Majority);
    assert!(!cfg.to_keepalived_conf().contains("keepalived_rs"));
}

#[test]
fn keepalived_rs_values_are_checked_at_file_line_col() {
    let e = errors(
        "keepalived_rs {\n    verdict_policy most\n    health_prober 203.0.113.1:50053\n    \
         webhook a {\n        url ftp://x/\n        events vrrp reboot\n    }\n    \
         webhook b {\n    }\n    verdict_polcy majority\n}\n",
    );
    let f = "/etc/keepalived/keepalived.conf";
    assert_eq!(
        e,
        vec![
            format!(
                "{f}:2:20: error: verdict_policy must be majority, any_down or all_down, got 'most'"
            ),
            format!(
                "{f}:3:19: error: health_prober '203.0.113.1:50053' is not tcp://HOST:PORT or unix:PATH"
            ),
            format!(
                "{f}:5:13: error: webhook url 'ftp://x/' is not http://HOST/… or https://HOST/…"
            ),
            format!(
                "{f}:6:21: error: unknown webhook event 'reboot' (known: vrrp, sync_group, realserver, quorum)"
            ),
            format!("{f}:4:5: error: webhook a needs a url"),
            format!("{f}:8:5: error: webhook b needs a url"),
            format!(
                "{f}:10:5: error: unknown keyword 'verdict_polcy' in keepalived_rs; did you mean 'verdict_policy'?"
            ),
        ]
    );
}

#[test]
fn keepalived_rs_rejects_both_prober_forms_and_duplicate_webhooks() {
    let e = errors(
        "keepalived_rs {\n    health_prober tcp://p1:50053\n    health_prober_dns p.example.net:50053\n    \
         webhook a {\n        url http://x/\n    }\n    webhook a {\n        url http://y/\n    }\n}\n",
    );
    let f = "/etc/keepalived/keepalived.conf";
    assert_eq!(
        e,
        vec![
            format!("{f}:3:5: error: health_prober and health_prober_dns cannot both be set"),
            format!("{f}:7:5: error: webhook a defined twice"),
        ]
    );
}

#[test]
fn undefined_track_script_in_a_sync_group_is_a_warning_and_dropped() {
    let (cfg, w) = warnings(&format!(
        "{VI}}}\nvrrp_sync_group SG {{\n    group {{\n        VI_1\n    }}\n    \
         track_script {{\n        chk_missing\n    }}\n}}\n"
    ));
    assert!(cfg.vrrp_sync_groups[0].track_script.is_empty());
    assert_eq!(
        w,
        vec![
            "/etc/keepalived/keepalived.conf:10:9: warning: (SG) track script chk_missing not found, ignoring...; keepalived-rs reads it the same way",
            "/etc/keepalived/keepalived.conf:5:1: warning: Sync group SG has only 1 virtual router(s) - this probably isn't what you want (as keepalived says)"
        ]
    );
}

#[test]
fn duplicate_virtual_server_keeps_the_first_and_other_protocol_is_another_service() {
    let vs = |proto: &str, rs: &str| {
        format!(
            "virtual_server 198.51.100.1 80 {{\n    protocol {proto}\n    real_server {rs} 80 {{\n    }}\n}}\n"
        )
    };
    let (cfg, w) = warnings(&format!(
        "{}{}",
        vs("TCP", "203.0.113.1"),
        vs("TCP", "203.0.113.2")
    ));
    assert_eq!(cfg.virtual_servers.len(), 1);
    assert_eq!(
        cfg.virtual_servers[0].real_servers[0].ip.to_string(),
        "203.0.113.1"
    );
    assert!(
        w.iter()
            .any(|m| m
                .contains(":6:1: warning: virtual_server 198.51.100.1 80 (TCP) is defined twice")),
        "{w:?}"
    );
    let (cfg, _) = warnings(&format!(
        "{}{}",
        vs("TCP", "203.0.113.1"),
        vs("UDP", "203.0.113.1")
    ));
    assert_eq!(cfg.virtual_servers.len(), 2);
}

#[test]
fn real_server_inherits_inhibit_on_failure_unless_it_sets_its_own() {
    // The virtual server's keyword comes after the real servers: keepalived resolves it after
    // reading the whole block, so it still applies.
    let (cfg, _) = warnings(
        "virtual_server 198.51.100.1 80 {\n    real_server 203.0.113.1 80 {\n    }\n    \
         real_server 203.0.113.2 80 {\n        inhibit_on_failure off\n    }\n    \
         inhibit_on_failure\n}\nvirtual_server 198.51.100.2 80 {\n    \
         real_server 203.0.113.3 80 {\n    }\n    real_server 203.0.113.4 80 {\n        \
         inhibit_on_failure\n    }\n}\n",
    );
    let vs = &cfg.virtual_servers;
    let inh = |v: usize, r: usize| vs[v].real_servers[r].inhibit_on_failure(&vs[v]);
    assert!(
        inh(0, 0),
        "inherits the virtual server's inhibit_on_failure"
    );
    assert!(!inh(0, 1), "its own 'off' wins");
    assert!(!inh(1, 0), "default off");
    assert!(inh(1, 1), "its own 'on' wins");
}

#[test]
fn interfaces_this_host_lacks_are_reported_and_their_addresses_dropped_as_keepalived_does() {
    let interfaces = [
        ("eth0".to_string(), false),
        ("eth1".to_string(), false),
        ("lo".to_string(), true),
    ]
    .into_iter()
    .collect();
    let opts = LoadOptions {
        config_id: None,
        interfaces: Some(interfaces),
        host_checks: false,
    };
    let text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    \
                track_interface {\n        eth9\n        eth1\n    }\n    virtual_ipaddress {\n        \
                198.51.100.1\n        198.51.100.2 dev eth8\n    }\n}\n\
                vrrp_instance VI_2 {\n    interface eth7\n    virtual_router_id 52\n    \
                virtual_ipaddress {\n        198.51.100.3\n    }\n}\n";
    let l = load_with_host(
        text,
        Path::new("/etc/keepalived/keepalived.conf"),
        &opts,
        "h",
    )
    .unwrap();
    let w: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    let v = &l.config.vrrp_instances[0];
    // keepalived drops the tracked interface and the address on interfaces that do not exist.
    assert_eq!(v.track_interface.len(), 1);
    assert_eq!(v.virtual_ipaddress.len(), 1);
    assert!(
        w.iter()
            .any(|m| m.contains(":5:9: warning: (VI_1) tracked interface eth9 doesn't exist")),
        "{w:#?}"
    );
    assert!(
        w.iter().any(|m| m.contains(
            ":10:26: warning: WARNING - interface eth8 for ip address 198.51.100.2 doesn't exist"
        )),
        "{w:#?}"
    );
    assert!(
        w.iter().any(|m| m.contains(
            ":14:15: warning: WARNING - interface eth7 for vrrp_instance VI_2 doesn't exist"
        )),
        "{w:#?}"
    );
    // Without the host's list nothing is checked.
    let (c, _) = warnings(text);
    assert_eq!(c.vrrp_instances[0].virtual_ipaddress.len(), 2);
}

#[test]
fn scripts_are_checked_on_this_host_as_keepalived_checks_them() {
    let opts = LoadOptions {
        host_checks: true,
        ..LoadOptions::default()
    };
    let text = "vrrp_script chk_gone {\n    script \"/nonexistent/chk.sh\"\n}\n\
                vrrp_script chk_true {\n    script \"/bin/true\"\n}\n\
                vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    \
                track_script {\n        chk_gone\n        chk_true\n    }\n    \
                virtual_ipaddress {\n        198.51.100.1\n    }\n}\n";
    let l = load_with_host(
        text,
        Path::new("/etc/keepalived/keepalived.conf"),
        &opts,
        "h",
    )
    .unwrap();
    let names: Vec<&str> = l.config.vrrp_instances[0]
        .track_script
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    // The missing script is not tracked (keepalived: "Disabling track script").
    assert_eq!(names, ["chk_true"]);
    let d: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        d.iter().any(|m| m
            .contains(":1:1: warning: Disabling track script chk_gone since not found/accessible")),
        "{d:#?}"
    );
    // /bin/true exists and script security is off: keepalived's -t exits 6.
    assert!(
        d.iter().any(|m| m.contains("security: SECURITY VIOLATION")),
        "{d:#?}"
    );
    assert_eq!(config_test_exit_code(&l.diagnostics), 6);
}

#[test]
fn a_script_user_this_host_lacks_removes_the_script_as_keepalived_does() {
    let opts = LoadOptions {
        host_checks: true,
        ..LoadOptions::default()
    };
    let text = "global_defs {\n    enable_script_security\n}\n\
                vrrp_script chk {\n    script \"/bin/true\"\n    user no_such_user_krs\n}\n\
                vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    \
                track_script {\n        chk\n    }\n    virtual_ipaddress {\n        198.51.100.1\n    }\n}\n";
    let l = load_with_host(
        text,
        Path::new("/etc/keepalived/keepalived.conf"),
        &opts,
        "h",
    )
    .unwrap();
    assert!(l.config.vrrp_scripts.is_empty());
    assert!(l.config.vrrp_instances[0].track_script.is_empty());
    let d: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        d.iter()
            .any(|m| m.contains(":6:5: warning: Unable to set uid/gid for script /bin/true")),
        "{d:#?}"
    );
    assert!(
        d.iter()
            .any(|m| m.contains(":12:9: warning: (VI_1) track script chk not found")),
        "{d:#?}"
    );
}

#[test]
fn smtp_check_host_blocks_become_checkers_of_their_own_as_in_keepalived() {
    // check_smtp.c: with a connection option of its own the SMTP_CHECK checks the real
    // server too; each host block is one more checker, its timeout the real server's.
    let text = "virtual_server 198.51.100.1 25 {\n    protocol TCP\n    real_server 203.0.113.1 25 {\n        connect_timeout 7\n        SMTP_CHECK {\n            connect_timeout 3\n            host {\n                connect_ip 203.0.113.2\n                connect_port 2525\n            }\n        }\n        SMTP_CHECK {\n            host {\n                connect_ip 203.0.113.3\n            }\n        }\n    }\n}\n";
    let (c, _) = warnings(text);
    let ck = &c.virtual_servers[0].real_servers[0].checkers;
    let ends: Vec<_> = ck
        .iter()
        .map(|c| {
            (
                c.connect_ip.map(|i| i.to_string()),
                c.connect_port,
                c.timing.connect_timeout.0 / 1_000_000,
            )
        })
        .collect();
    assert_eq!(
        ends,
        vec![
            (None, None, 3),
            (Some("203.0.113.2".into()), Some(2525), 7),
            (Some("203.0.113.3".into()), None, 7),
        ]
    );
}

#[test]
fn an_unquoted_notify_argument_is_a_user_and_a_user_this_host_lacks_drops_the_script() {
    let opts = LoadOptions {
        host_checks: true,
        ..LoadOptions::default()
    };
    let text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    \
                notify_master /etc/keepalived/notify.sh NO_SUCH_USER_KRS\n    \
                notify_backup \"/etc/keepalived/notify.sh backup\"\n    \
                virtual_ipaddress {\n        198.51.100.1\n    }\n}\n";
    let l = load_with_host(
        text,
        Path::new("/etc/keepalived/keepalived.conf"),
        &opts,
        "h",
    )
    .unwrap();
    let v = &l.config.vrrp_instances[0];
    assert_eq!(v.notify_master, None);
    assert_eq!(
        v.notify_backup.as_ref().map(|s| s.command.as_str()),
        Some("/etc/keepalived/notify.sh backup")
    );
    let d: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        d.iter()
            .any(|m| m.contains(":4:5: note: Invalid user/group for notify_master script")),
        "{d:#?}"
    );
}

#[test]
fn notify_fifos_are_read_with_their_scripts_and_keepaliveds_dedup() {
    let (c, w) = warnings(
        "global_defs {\n\
         vrrp_notify_fifo_script \"/bin/reader -v\" root\n\
         vrrp_notify_fifo /run/v.fifo root\n\
         notify_fifo /run/all.fifo\n\
         lvs_notify_fifo /run/all.fifo\n\
         lvs_notify_fifo_script /bin/l\n\
         notify_fifo_script /bin/g\n\
         fifo_write_vrrp_states_on_reload\n\
         no_email_faults\n\
         }\n",
    );
    let g = &c.global_defs;
    let v = g.vrrp_notify_fifo.as_ref().unwrap();
    assert_eq!(
        (v.path.as_str(), v.user.as_deref()),
        ("/run/v.fifo", Some("root"))
    );
    assert_eq!(v.script.as_ref().unwrap().command, "/bin/reader -v");
    assert_eq!(
        g.notify_fifo
            .as_ref()
            .unwrap()
            .script
            .as_ref()
            .unwrap()
            .command,
        "/bin/g"
    );
    // The LVS FIFO that is the global one is dropped, as keepalived does.
    assert_eq!(g.lvs_notify_fifo, None);
    assert!(g.fifo_write_vrrp_states_on_reload && g.no_email_faults);
    assert!(!w.iter().any(|w| w.contains("not implemented")), "{w:?}");
    let (_, w) = warnings("global_defs {\nnotify_fifo_script /bin/g\n}\n");
    assert!(
        w.iter()
            .any(|w| w.contains("notify_fifo_script without notify_fifo")),
        "{w:?}"
    );
}

#[test]
fn static_addresses_and_routes_are_read_and_print_back() {
    let text = "static_ipaddress {\n    203.0.113.50/24 dev eth0\n}\nstatic_routes {\n    \
                203.0.113.192/26 via 198.51.100.20 dev eth0\n    blackhole 203.0.113.128/26\n}\n";
    let (c, w) = warnings(text);
    assert_eq!(c.static_ipaddress.len(), 1);
    assert_eq!(c.static_ipaddress[0].dev.as_deref(), Some("eth0"));
    assert_eq!(c.static_routes.len(), 2);
    assert_eq!(c.static_routes[1].extra, ["blackhole"]);
    assert!(!w.iter().any(|w| w.contains("not implemented")), "{w:?}");
    let (again, _) = warnings(&c.to_keepalived_conf());
    assert_eq!(again.static_ipaddress, c.static_ipaddress);
    assert_eq!(again.static_routes, c.static_routes);
}

#[test]
fn rules_are_read_and_print_back() {
    let text = format!(
        "static_rules {{\n    from 198.51.100.0/24 fwmark 0x7 lookup 200 pref 200\n}}\n\
         {VI}    virtual_rules {{\n        to 2001:db8:3::/64 table 100 priority 101 not\n    }}\n}}\n"
    );
    let (c, w) = warnings(&text);
    let s = &c.static_rules[0];
    assert_eq!(
        (s.from.as_deref(), s.fwmark, s.table.as_deref(), s.priority),
        (Some("198.51.100.0/24"), Some(7), Some("200"), Some(200))
    );
    let v = &c.vrrp_instances[0].virtual_rules[0];
    assert_eq!(
        (v.to.as_deref(), v.extra.as_slice()),
        (Some("2001:db8:3::/64"), &["not".to_owned()][..])
    );
    assert!(!w.iter().any(|w| w.contains("not implemented")), "{w:?}");
    let (again, _) = warnings(&c.to_keepalived_conf());
    assert_eq!(again.static_rules, c.static_rules);
    assert_eq!(
        again.vrrp_instances[0].virtual_rules,
        c.vrrp_instances[0].virtual_rules
    );
}
