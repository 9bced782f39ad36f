//! Property: a generated model printed with `to_keepalived_conf` parses back to the same model.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use keepalived_config::*;
use proptest::prelude::*;
use proptest::sample::select;

fn ident() -> impl Strategy<Value = String> {
    // Prefixed so a name can never be a directive such as `include` at the start of a line.
    "[a-zA-Z][a-zA-Z0-9_]{0,8}".prop_map(|s| format!("n_{s}"))
}

/// Free text, including characters that need quoting and escaping (no `$`: keepalived expands
/// parameters even inside quotes).
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 /._\"\\\\#!{}'=:-]{1,24}"
}

fn time() -> impl Strategy<Value = TimeUs> {
    (1u64..100_000_000).prop_map(TimeUs)
}

fn v4() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o)))
}

fn v6() -> impl Strategy<Value = IpAddr> {
    any::<[u16; 8]>().prop_map(|s| IpAddr::V6(Ipv6Addr::from(s)))
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![v4(), v6()]
}

fn script() -> impl Strategy<Value = Script> {
    (
        text(),
        proptest::option::of((ident(), proptest::option::of(ident()))),
    )
        .prop_map(|(command, ug)| Script {
            command,
            user: ug.as_ref().map(|u| u.0.clone()),
            group: ug.and_then(|u| u.1),
        })
}

fn tri() -> impl Strategy<Value = Option<bool>> {
    proptest::option::of(any::<bool>())
}

fn global() -> impl Strategy<Value = GlobalDefs> {
    (
        (
            ident(),
            proptest::collection::vec("[a-z]{1,6}@[a-z]{1,6}\\.org", 0..3),
            ident(),
            proptest::option::of((ident(), 1u16..)),
        ),
        (ident(), 1u32..3600, tri(), tri(), tri()),
        (
            proptest::option::of((ident(), proptest::option::of(ident()))),
            any::<bool>(),
            any::<bool>(),
            select(vec![
                LvsFlushOnStop::None,
                LvsFlushOnStop::Vs,
                LvsFlushOnStop::All,
            ]),
        ),
        (
            proptest::option::of(1u32..1000),
            proptest::option::of(1u32..1000),
            proptest::option::of(1u32..1000),
            2u8..=3,
            any::<bool>(),
        ),
        (
            0u32..100,
            1u32..100,
            0u32..100,
            1u32..100,
            proptest::option::of(0u32..100),
            proptest::option::of(1u32..100),
            time(),
            time(),
            proptest::option::of(ident()),
        ),
    )
        .prop_map(|(a, b, c, d, e)| GlobalDefs {
            router_id: a.0,
            notification_email: a.1,
            notification_email_from: format!("{}@example.org", a.2),
            smtp_server: a.3.map(|(host, port)| SmtpServer { host, port }),
            smtp_helo_name: b.0,
            smtp_connect_timeout: Seconds(b.1),
            smtp_alert: b.2,
            smtp_alert_vrrp: b.3,
            smtp_alert_checker: b.4,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: "ff02::12".parse().unwrap(),
            script_user: c.0.as_ref().map(|u| u.0.clone()),
            script_group: c.0.and_then(|u| u.1),
            enable_script_security: c.1,
            lvs_flush: c.2,
            lvs_flush_on_stop: c.3,
            lvs_timeouts: LvsTimeouts {
                tcp: d.0.map(Seconds),
                tcpfin: d.1.map(Seconds),
                udp: d.2.map(Seconds),
            },
            vrrp_version: d.3,
            vrrp_strict: d.4,
            vrrp_lower_prio_no_advert: c.2,
            vrrp_higher_prio_send_advert: !c.2 && c.1,
            vrrp_notify_priority_changes: c.1,
            vrrp_garp_master_delay: Seconds(e.0),
            vrrp_garp_master_repeat: e.1,
            vrrp_garp_master_refresh: Seconds(e.2),
            vrrp_garp_master_refresh_repeat: e.3,
            vrrp_garp_lower_prio_delay: e.4.map(Seconds),
            vrrp_garp_lower_prio_repeat: e.5,
            vrrp_garp_interval: e.6,
            vrrp_gna_interval: e.7,
            default_interface: e.8.clone(),
            notify_fifo: e.8.as_ref().map(|i| NotifyFifo {
                path: format!("/run/{i}.fifo"),
                user: None,
                group: None,
                script: None,
            }),
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            fifo_write_vrrp_states_on_reload: c.1,
            no_email_faults: c.2,
        })
}

fn vrrp_script() -> impl Strategy<Value = VrrpScript> {
    (
        ident(),
        text(),
        time(),
        time(),
        -253i32..=253,
        any::<bool>(),
        1u32..10,
        1u32..10,
        proptest::option::of((ident(), proptest::option::of(ident()))),
        any::<bool>(),
    )
        .prop_map(
            |(
                name,
                script,
                interval,
                timeout,
                weight,
                weight_reverse,
                fall,
                rise,
                ug,
                init_fail,
            )| VrrpScript {
                name,
                script,
                interval,
                timeout,
                weight,
                weight_reverse,
                fall,
                rise,
                user: ug.as_ref().map(|u| u.0.clone()),
                group: ug.and_then(|u| u.1),
                init_fail,
            },
        )
}

fn vip(v6fam: bool) -> impl Strategy<Value = VirtualIp> {
    let addr = if v6fam { v6().boxed() } else { v4().boxed() };
    let max = if v6fam { 128u8 } else { 32 };
    (
        addr,
        0..=max,
        proptest::option::of(if v6fam { v6().boxed() } else { v4().boxed() }),
        proptest::option::of(ident()),
        proptest::option::of(select(vec!["global", "host", "link"])),
        proptest::option::of(ident()),
        proptest::collection::vec(
            select(vec!["home", "-nodad", "noprefixroute", "autojoin"]),
            0..2,
        ),
    )
        .prop_map(
            |(address, prefix_len, brd, dev, scope, label, flags)| VirtualIp {
                address,
                prefix_len,
                brd,
                dev,
                scope: scope.map(str::to_string),
                label,
                peer: None,
                flags: flags.into_iter().map(str::to_string).collect(),
            },
        )
}

fn track(names: Vec<String>, wmax: i32) -> impl Strategy<Value = Vec<TrackRef>> {
    let n = names.len();
    proptest::collection::vec(
        (
            0..n.max(1),
            proptest::option::of((-wmax..=wmax, any::<bool>())),
        ),
        if n == 0 { 0..1 } else { 0..3 },
    )
    .prop_map(move |v| {
        if names.is_empty() {
            return vec![];
        }
        v.into_iter()
            .map(|(i, w)| TrackRef {
                name: names[i].clone(),
                weight: w.map(|x| x.0),
                reverse: w.is_some_and(|x| x.1),
            })
            .collect()
    })
}

fn instance(
    idx: usize,
    scripts: Vec<String>,
    files: Vec<String>,
) -> impl Strategy<Value = VrrpInstance> {
    (
        (
            ident(),
            any::<bool>(),
            1u8..=254,
            2u8..=3,
            1u32..=255,
            1u32..=4095,
            any::<bool>(),
            "[a-zA-Z0-9]{1,8}",
        ),
        any::<bool>().prop_flat_map(|fam6| {
            (
                Just(fam6),
                proptest::collection::vec(vip(fam6), 0..3),
                proptest::collection::vec(vip(!fam6), 0..2),
                proptest::option::of(if fam6 { v6().boxed() } else { v4().boxed() }),
                proptest::collection::vec(if fam6 { v6().boxed() } else { v4().boxed() }, 0..3),
            )
        }),
        (
            any::<bool>(),
            0u64..=1000,
            any::<bool>(),
            track(scripts, 253),
            track(vec!["eth1".into(), "eth2".into()], 254),
            track(files, 254),
        ),
        (
            proptest::option::of(script()),
            proptest::option::of(script()),
            proptest::option::of(script()),
            tri(),
        ),
        (
            0u32..100,
            1u32..100,
            0u32..100,
            1u32..100,
            0u32..100,
            1u32..100,
            proptest::option::of(proptest::option::of(ident())),
        ),
        proptest::collection::vec(
            (
                v4(),
                0u8..=32,
                proptest::option::of(v4()),
                proptest::option::of(ident()),
                proptest::option::of(0u32..1000),
            ),
            0..2,
        ),
    )
        .prop_map(move |(a, b, c, d, e, routes)| {
            let (name, master, priority, version, secs, cs, auth, pass) = a;
            let state = if master {
                VrrpState::Master
            } else {
                VrrpState::Backup
            };
            VrrpInstance {
                name: format!("{name}_{idx}"),
                state,
                interface: Some(format!("eth{idx}")),
                virtual_router_id: (idx % 255 + 1) as u8,
                priority,
                advert_int: if version == 2 {
                    Centiseconds::from_secs(secs)
                } else {
                    Centiseconds(cs)
                },
                version,
                authentication: (auth && version == 2).then_some(Authentication {
                    auth_type: AuthType::Pass,
                    auth_pass: pass,
                }),
                virtual_ipaddress: b.1,
                virtual_ipaddress_excluded: b.2,
                unicast_src_ip: b.3,
                unicast_peer: b.4,
                nopreempt: c.0 && !master,
                preempt_delay: TimeUs::from_secs(c.1),
                accept: c.2,
                track_script: c.3,
                track_interface: c.4,
                track_file: c.5,
                track_process: vec![],
                notify: d.0,
                notify_master: d.1.clone(),
                notify_backup: None,
                notify_fault: d.2,
                notify_stop: d.1,
                notify_deleted: None,
                smtp_alert: d.3,
                garp_master_delay: Seconds(e.0),
                garp_master_repeat: e.1,
                garp_master_refresh: Seconds(e.2),
                garp_master_refresh_repeat: e.3,
                garp_lower_prio_delay: Seconds(e.4),
                garp_lower_prio_repeat: e.5,
                use_vmac: e.6.clone().map(|name| UseVmac {
                    name,
                    mac: None,
                    mac_takes_vrid: false,
                }),
                vmac_xmit_base: false,
                virtual_routes: routes
                    .into_iter()
                    .map(|(to, len, via, dev, metric)| VirtualRoute {
                        to: format!("{to}/{len}"),
                        via,
                        dev,
                        src: None,
                        metric,
                        table: None,
                        extra: vec![],
                    })
                    .collect(),
                virtual_rules: e
                    .6
                    .iter()
                    .map(|_| VirtualRule {
                        from: Some("198.51.100.0/24".into()),
                        to: None,
                        table: Some("100".into()),
                        priority: Some(100),
                        fwmark: None,
                        iif: None,
                        oif: None,
                        extra: vec![],
                    })
                    .collect(),
                strict_mode: None,
                lower_prio_no_advert: None,
                higher_prio_send_advert: None,
                notify_priority_changes: if master { Some(true) } else { None },
                resolved: Default::default(),
            }
        })
}

fn zero_timing() -> CheckerTiming {
    CheckerTiming {
        delay_loop: TimeUs(0),
        connect_timeout: TimeUs(0),
        retry: 0,
        delay_before_retry: TimeUs(0),
        warmup: TimeUs(0),
        alpha: false,
    }
}

fn checker(files: Vec<String>) -> impl Strategy<Value = Checker> {
    let url = (
        "/[a-z/]{0,10}",
        proptest::option::of("[0-9a-f]{32}"),
        proptest::collection::vec((100u16..=599, 0u16..50), 1..3),
        proptest::option::of(ident()),
    )
        .prop_map(|(path, digest, codes, virtualhost)| Url {
            path,
            digest,
            status_code: codes
                .into_iter()
                .map(|(a, d)| StatusRange {
                    from: a,
                    to: (a + d).min(599),
                })
                .collect(),
            virtualhost,
        });
    let http = (
        proptest::collection::vec(url, 1..3),
        proptest::option::of(select(vec!["1.0", "1.1", "1.0C"])),
        proptest::option::of(ident()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(urls, p, virtualhost, enable_sni, fast_recovery)| HttpCheck {
                urls,
                http_protocol: p.map(str::to_string),
                virtualhost,
                enable_sni,
                fast_recovery,
            },
        )
        .boxed();
    let nfiles = files.len();
    let kind = prop_oneof![
        http.clone().prop_map(CheckerKind::HttpGet),
        http.prop_map(CheckerKind::SslGet),
        Just(CheckerKind::TcpCheck),
        Just(CheckerKind::PingCheck),
        (
            text(),
            proptest::option::of(time()),
            any::<bool>(),
            proptest::option::of(ident())
        )
            .prop_map(|(misc_path, misc_timeout, misc_dynamic, user)| {
                CheckerKind::MiscCheck(MiscCheck {
                    misc_path,
                    misc_timeout,
                    misc_dynamic,
                    user,
                    group: None,
                })
            }),
        proptest::option::of(ident())
            .prop_map(|helo_name| { CheckerKind::SmtpCheck(SmtpCheck { helo_name }) }),
        (
            select(vec!["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"]),
            ident()
        )
            .prop_map(|(t, name)| CheckerKind::DnsCheck(DnsCheck {
                query_type: t.into(),
                name
            })),
        (
            proptest::option::of("([0-9a-f]{2}){1,4}"),
            any::<bool>(),
            proptest::option::of("([0-9a-f]{2}){1,3}"),
            proptest::option::of(0u32..1000)
        )
            .prop_map(|(payload, rr, pat, min)| {
                CheckerKind::UdpCheck(UdpCheck {
                    payload,
                    require_reply: rr,
                    reply_pattern: pat.filter(|_| rr),
                    min_reply_length: min,
                    max_reply_length: None,
                })
            }),
        (
            0..nfiles.max(1),
            proptest::option::of((-254i32..=254, any::<bool>()))
        )
            .prop_map(move |(i, w)| match files.get(i) {
                Some(f) => CheckerKind::FileCheck(FileCheck {
                    track_file: f.clone(),
                    weight: w.map(|x| x.0),
                    reverse: w.is_some_and(|x| x.1)
                }),
                // No track_file defined: a FILE_CHECK could not name one.
                None => CheckerKind::TcpCheck,
            }),
    ];
    (
        kind,
        (
            proptest::option::of(ip()),
            proptest::option::of(any::<u16>()),
            proptest::option::of(ip()),
            proptest::option::of(any::<u16>()),
            proptest::option::of(ident()),
            proptest::option::of(any::<u32>()),
        ),
        (
            proptest::option::of(time()),
            proptest::option::of(0u32..10),
            proptest::option::of(time()),
            proptest::option::of(time()),
            proptest::option::of(time()),
            tri(),
            any::<bool>(),
        ),
    )
        .prop_map(|(kind, g, t)| {
            // Only the keys each checker type accepts.
            let net = !matches!(kind, CheckerKind::MiscCheck(_) | CheckerKind::FileCheck(_));
            let retries = !matches!(kind, CheckerKind::FileCheck(_));
            Checker {
                connect_ip: g.0.filter(|_| net),
                connect_port: g.1.filter(|_| net),
                bindto: g.2.filter(|_| net),
                bind_port: g.3.filter(|_| net),
                bind_if: g.4.filter(|_| net),
                fwmark: g.5.filter(|_| net),
                connect_timeout: t.0.filter(|_| net),
                retry: t.1.filter(|_| retries),
                delay_before_retry: t.2.filter(|_| retries),
                warmup: t.3,
                delay_loop: t.4,
                alpha: t.5,
                log_all_failures: t.6,
                kind,
                timing: zero_timing(),
            }
        })
}

fn real_server(v6fam: bool, files: Vec<String>) -> impl Strategy<Value = RealServer> {
    (
        if v6fam { v6().boxed() } else { v4().boxed() },
        any::<u16>(),
        0i32..=65535,
        proptest::option::of(select(vec![LvsMethod::Nat, LvsMethod::Dr, LvsMethod::Tun])),
        (
            proptest::option::of(script()),
            proptest::option::of(script()),
            tri(),
            tri(),
            tri(),
        ),
        (
            proptest::option::of(time()),
            proptest::option::of(0u32..10),
            proptest::option::of(time()),
            proptest::option::of(time()),
            proptest::option::of(time()),
        ),
        proptest::collection::vec(checker(files), 0..3),
        proptest::option::of("[a-z]{1,8}\\.example\\.com"),
    )
        .prop_map(
            |(ip, port, weight, lvs_method, s, t, checkers, virtualhost)| RealServer {
                ip,
                port,
                weight,
                lvs_method,
                notify_up: s.0,
                notify_down: s.1,
                inhibit_on_failure: s.2,
                alpha: s.3,
                smtp_alert: s.4,
                delay_loop: t.0,
                retry: t.1,
                delay_before_retry: t.2,
                connect_timeout: t.3,
                warmup: t.4,
                virtualhost,
                checkers,
            },
        )
}

fn virtual_server(groups: Vec<String>, files: Vec<String>) -> impl Strategy<Value = VirtualServer> {
    let ng = groups.len();
    any::<bool>()
        .prop_flat_map(move |fam6| {
            let groups = groups.clone();
            let key = prop_oneof![
                (if fam6 { v6().boxed() } else { v4().boxed() }, any::<u16>())
                    .prop_map(|(ip, port)| VsKey::Addr { ip, port }),
                (1u32..).prop_map(|mark| VsKey::Fwmark { mark }),
                (0..ng.max(1)).prop_map(move |i| match groups.get(i) {
                    Some(g) => VsKey::Group { name: g.clone() },
                    None => VsKey::Fwmark { mark: 1 },
                }),
            ];
            (
                key,
                (
                    time(),
                    select(vec!["rr", "wrr", "lc", "wlc", "sh", "mh"]),
                    select(vec![LvsMethod::Nat, LvsMethod::Dr, LvsMethod::Tun]),
                    select(vec![Protocol::Tcp, Protocol::Udp, Protocol::Sctp]),
                ),
                (
                    proptest::option::of(1u32..100_000),
                    proptest::option::of(v4()),
                    proptest::option::of(Just("sip".to_string())),
                    proptest::option::of((
                        if fam6 { v6().boxed() } else { v4().boxed() },
                        any::<u16>(),
                    )),
                    any::<bool>(),
                    proptest::option::of(select(vec![LvsMethod::Nat, LvsMethod::Dr])),
                ),
                (
                    any::<bool>(),
                    1u32..10,
                    0u32..10,
                    proptest::option::of(script()),
                    proptest::option::of(script()),
                    any::<bool>(),
                    any::<bool>(),
                    any::<bool>(),
                ),
                (
                    proptest::option::of(ident()),
                    any::<bool>(),
                    tri(),
                    proptest::option::of(0u32..10),
                    proptest::option::of(time()),
                    proptest::option::of(time()),
                    proptest::option::of(time()),
                ),
                proptest::collection::vec(real_server(fam6, files.clone()), 0..3),
            )
        })
        .prop_map(|(key, a, b, c, d, real_servers)| VirtualServer {
            key,
            delay_loop: a.0,
            lvs_sched: a.1.to_string(),
            lvs_method: a.2,
            protocol: a.3,
            persistence_timeout: b.0.map(Seconds),
            persistence_granularity: b.1,
            persistence_engine: b.2,
            sorry_server: b.3.map(|(ip, port)| HostPort { ip, port }),
            sorry_server_inhibit: b.4,
            sorry_server_lvs_method: b.5,
            inhibit_on_failure: c.0,
            quorum: c.1,
            hysteresis: c.2 % c.1,
            quorum_up: c.3,
            quorum_down: c.4,
            alpha: c.5,
            omega: c.6,
            ha_suspend: c.7,
            virtualhost: d.0,
            ops: d.1 && a.3 == Protocol::Udp,
            smtp_alert: d.2,
            retry: d.3,
            delay_before_retry: d.4,
            connect_timeout: d.5,
            warmup: d.6,
            real_servers,
        })
}

fn vs_group(name: String) -> impl Strategy<Value = VirtualServerGroup> {
    proptest::collection::vec(
        prop_oneof![
            (v4(), any::<u16>(), proptest::option::of(0u16..=255)).prop_map(|(ip, port, r)| {
                let last = match ip {
                    IpAddr::V4(a) => u16::from(a.octets()[3]),
                    IpAddr::V6(_) => 0,
                };
                VsgEntry::Addr {
                    ip,
                    range_end: r.map(|e| e.max(last)),
                    port,
                }
            }),
            (v6(), any::<u16>()).prop_map(|(ip, port)| VsgEntry::Addr {
                ip,
                range_end: None,
                port
            }),
            (1u32..).prop_map(|mark| VsgEntry::Fwmark { mark }),
        ],
        0..4,
    )
    .prop_map(move |entries| VirtualServerGroup {
        name: name.clone(),
        entries,
    })
}

fn config() -> impl Strategy<Value = Config> {
    (
        global(),
        proptest::collection::vec(vrrp_script(), 0..3),
        proptest::collection::vec(
            (
                ident(),
                "/[a-z/]{1,12}",
                -254i32..=254,
                any::<bool>(),
                proptest::option::of((any::<i32>(), any::<bool>())),
            ),
            0..2,
        ),
        0usize..3,
    )
        .prop_flat_map(|(g, mut scripts, tfs, ngroups)| {
            // Names must be unique for references to be unambiguous.
            for (i, s) in scripts.iter_mut().enumerate() {
                s.name = format!("{}_{i}", s.name);
            }
            let track_files: Vec<TrackFile> = tfs
                .into_iter()
                .enumerate()
                .map(|(i, (name, file, weight, reverse, init))| TrackFile {
                    name: format!("{name}_{i}"),
                    file,
                    weight,
                    reverse,
                    init_file: init.map(|(v, overwrite)| InitFile {
                        value: i64::from(v),
                        overwrite,
                    }),
                })
                .collect();
            let snames: Vec<String> = scripts.iter().map(|s| s.name.clone()).collect();
            let fnames: Vec<String> = track_files.iter().map(|s| s.name.clone()).collect();
            let gnames: Vec<String> = (0..ngroups).map(|i| format!("vsg_{i}")).collect();
            let n_inst = 0usize..4;
            (
                Just(g),
                Just(scripts),
                Just(track_files),
                n_inst.prop_flat_map({
                    let (s, f) = (snames.clone(), fnames.clone());
                    move |n| {
                        (0..n)
                            .map(|i| instance(i, s.clone(), f.clone()))
                            .collect::<Vec<_>>()
                    }
                }),
                gnames
                    .iter()
                    .map(|n| vs_group(n.clone()))
                    .collect::<Vec<_>>(),
                proptest::collection::vec(virtual_server(gnames.clone(), fnames.clone()), 0..3),
                any::<bool>(),
                proptest::collection::vec(track_process(), 0..3),
            )
        })
        .prop_map(
            |(
                global_defs,
                vrrp_scripts,
                track_files,
                vrrp_instances,
                virtual_server_groups,
                virtual_servers,
                sync,
                mut track_processes,
            )| {
                for (i, p) in track_processes.iter_mut().enumerate() {
                    p.name = format!("{}_{i}", p.name);
                }
                // A service defined twice is an error; keep the first.
                let mut virtual_servers: Vec<VirtualServer> = virtual_servers;
                let mut seen = Vec::new();
                virtual_servers.retain(|v| {
                    let k = (v.key.clone(), v.protocol);
                    let new = !seen.contains(&k);
                    seen.push(k);
                    new
                });
                let vrrp_sync_groups = if sync && !vrrp_instances.is_empty() {
                    vec![VrrpSyncGroup {
                        name: "sg".into(),
                        group: vrrp_instances.iter().map(|v| v.name.clone()).collect(),
                        notify: None,
                        notify_master: Some(Script {
                            command: "/bin/sg master".into(),
                            user: None,
                            group: None,
                        }),
                        notify_backup: None,
                        notify_fault: None,
                        notify_stop: None,
                        smtp_alert: Some(true),
                        notify_priority_changes: Some(false),
                        global_tracking: true,
                        track_script: vec![],
                        track_interface: vec![TrackRef {
                            name: "eth9".into(),
                            weight: Some(-5),
                            reverse: false,
                        }],
                        track_file: vec![],
                        track_process: vec![],
                    }]
                } else {
                    vec![]
                };
                Config {
                    global_defs,
                    vrrp_scripts,
                    vrrp_instances,
                    vrrp_sync_groups,
                    track_files,
                    track_processes,
                    virtual_servers,
                    virtual_server_groups,
                    ssl: None,
                    keepalived_rs: KeepalivedRs::default(),
                    static_ipaddress: vec![],
                    static_routes: vec![],
                    static_rules: vec![],
                }
            },
        )
}

/// A `vrrp_track_process` as the loader can produce it.
fn track_process() -> impl Strategy<Value = TrackProcess> {
    let matching = (
        proptest::collection::vec(ident(), 0..3),
        proptest::option::of(select(vec![
            ParamMatch::Exact,
            ParamMatch::Initial,
            ParamMatch::Partial,
        ])),
        any::<bool>(),
    );
    let quorum = prop_oneof![
        Just((0u32, 0u32)),
        (1u32..100, proptest::option::of(0u32..100))
            .prop_map(|(q, extra)| (q, extra.map_or(u32::MAX, |e| q + e))),
    ];
    let delay = || prop_oneof![Just(0u64), (1u64..3_600_000).prop_map(|ms| ms * 1000)];
    (
        ident(),
        matching,
        -254i32..=254,
        any::<bool>(),
        quorum,
        delay(),
        delay(),
    )
        .prop_map(
            |(name, (params, param_match, full), weight, reverse, (quorum, quorum_max), td, fd)| {
                // Arguments imply an exact match unless another is given.
                let param_match = if params.is_empty() {
                    param_match
                } else {
                    Some(param_match.unwrap_or(ParamMatch::Exact))
                };
                TrackProcess {
                    process: format!("{name}d"),
                    name,
                    full_command: full || param_match.is_some(),
                    params,
                    param_match,
                    weight,
                    reverse,
                    quorum,
                    quorum_max,
                    terminate_delay: TimeUs(td),
                    fork_delay: TimeUs(fd),
                }
            },
        )
}

fn keepalived_rs() -> impl Strategy<Value = KeepalivedRs> {
    let webhook = (
        ident(),
        select(vec!["http://", "https://"]),
        "[a-z][a-z0-9.-]{0,10}(:[0-9]{1,5})?",
        text(),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::sample::subsequence(
            WebhookEvent::ALL
                .iter()
                .map(|(e, _)| *e)
                .collect::<Vec<_>>(),
            0..=4,
        ),
    )
        .prop_map(
            |(name, scheme, host, path, secret_file, ca_file, events)| Webhook {
                name,
                url: format!("{scheme}{host}/{path}"),
                secret_file,
                events,
                ca_file,
            },
        );
    let probers = prop_oneof![
        proptest::collection::vec(
            prop_oneof![
                ("[a-z0-9.]{1,12}", any::<u16>()).prop_map(|(h, p)| format!("tcp://{h}:{p}")),
                "/[a-z/._]{1,16}".prop_map(|p| format!("unix:{p}")),
            ],
            0..3,
        )
        .prop_map(|mut v| {
            // A prober listed twice is an error.
            v.sort();
            v.dedup();
            (v, None)
        }),
        ("[a-z0-9.-]{1,12}", any::<u16>())
            .prop_map(|(h, p)| (Vec::new(), Some(format!("{h}:{p}")))),
    ];
    (
        proptest::collection::vec(webhook, 0..3),
        select(vec![
            VerdictPolicy::Majority,
            VerdictPolicy::AnyDown,
            VerdictPolicy::AllDown,
        ]),
        probers,
        prop_oneof![
            Just(ProberOwners::All),
            (1u32..6).prop_map(ProberOwners::Count)
        ],
    )
        .prop_map(
            |(
                mut webhooks,
                verdict_policy,
                (health_probers, health_prober_dns),
                health_prober_owners,
            )| {
                // Names must be unique.
                for (i, w) in webhooks.iter_mut().enumerate() {
                    w.name = format!("{}_{i}", w.name);
                }
                KeepalivedRs {
                    webhooks,
                    verdict_policy,
                    health_probers,
                    health_prober_dns,
                    health_prober_owners,
                }
            },
        )
}

/// The model with the resolved checker timing taken from `from` (timing is derived, not input).
fn with_timing(mut c: Config, from: &Config) -> Config {
    for (vs, fvs) in c.virtual_servers.iter_mut().zip(&from.virtual_servers) {
        for (rs, frs) in vs.real_servers.iter_mut().zip(&fvs.real_servers) {
            for (ck, fck) in rs.checkers.iter_mut().zip(&frs.checkers) {
                ck.timing = fck.timing;
            }
        }
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Loading applies keepalived's fallbacks once (a default for what is unset, a clamp, a
    /// dropped duplicate…), so an arbitrary model need not load back as itself. What must
    /// hold: the text loads without errors, and the loaded model prints to text that loads
    /// back to exactly that model, whose printing is a fixed point.
    #[test]
    fn printed_model_parses_back_to_the_same_model(cfg in config(), x in keepalived_rs()) {
        let mut cfg = Config { keepalived_rs: x, ..cfg };
        // keepalived's post-parse adjustments (vrrp_complete_instance) are part of loading;
        // a model keepalived refuses is skipped.
        prop_assume!(cfg.complete_vrrp().iter().all(|n| !n.error));
        let load = |text: &str| {
            load_with_host(text, Path::new("/prop/keepalived.conf"), &LoadOptions::default(), "prop-host")
        };
        let text = cfg.to_keepalived_conf();
        let first = match load(&text) {
            Ok(l) => l.config,
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}\n{text}"))),
        };
        let text = first.to_keepalived_conf();
        let second = match load(&text) {
            Ok(l) => l.config,
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}\n{text}"))),
        };
        prop_assert_eq!(&with_timing(first, &second), &second, "{}", text);
        // Printing is a fixed point.
        prop_assert_eq!(second.to_keepalived_conf(), text);
    }
}
