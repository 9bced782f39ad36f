//! keepalived 2.2.7's keyword tables, per block: what this crate implements, what keepalived
//! knows and this crate does not act on yet (a warning says so), and keepalived's aliases.

/// Block contexts with their own keyword sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    Top,
    Global,
    VrrpScript,
    VrrpInstance,
    SyncGroup,
    TrackFile,
    /// `vrrp_track_process NAME { … }`.
    TrackProcess,
    VirtualServer,
    RealServer,
    Checker(&'static str),
    Url,
    SmtpHost,
    Authentication,
    /// `keepalived_rs { … }`: keepalived-rs extensions.
    KeepalivedRs,
    /// `webhook NAME { … }` inside `keepalived_rs`.
    Webhook,
    /// The top-level `SSL { … }` block.
    Ssl,
}

/// Keywords keepalived 2.2.7 knows that keepalived-rs parses but does not act on yet.
///
/// Generated from what Debian's keepalived 2.2.7 accepts in each block
/// (`tests/keepalived-2.2.7-keywords.txt`, probed with `keepalived -t`), less the keywords
/// this crate implements; `keyword_tables_are_keepalived_2_2_7s` keeps them in step.
pub(crate) fn unimplemented(ctx: Ctx) -> &'static [&'static str] {
    match ctx {
        Ctx::Top => &[
            "bfd_instance",
            "child_wait_time",
            "garp_group",
            "instance",
            "interface_up_down_delays",
            "linkbeat_interfaces",
            "linkbeat_use_polling",
            "namespace_with_ipsets",
            "net_namespace",
            "net_namespace_ipvs",
            "track_group",
            "use_pid_dir",
        ],
        Ctx::Global => &[
            "bfd_cpu_affinity",
            "bfd_no_swap",
            "bfd_priority",
            "bfd_process_name",
            "bfd_rlimit_rtime",
            "bfd_rlimit_rttime",
            "bfd_rt_priority",
            "checker_cpu_affinity",
            "checker_log_all_failures",
            "checker_no_swap",
            "checker_priority",
            "checker_process_name",
            "checker_rlimit_rtime",
            "checker_rlimit_rttime",
            "checker_rt_priority",
            "config_save_dir",
            "data_use_instance",
            "dbus_service_name",
            "disable_local_igmp",
            "dynamic_interfaces",
            "enable_dbus",
            "enable_snmp_checker",
            "enable_snmp_keepalived",
            "enable_snmp_rfc",
            "enable_snmp_rfcv2",
            "enable_snmp_rfcv3",
            "enable_snmp_vrrp",
            "enable_traps",
            "include_check",
            "log_unknown_vrids",
            "lvs_flush_onstop",
            "lvs_netlink_cmd_rcv_bufs",
            "lvs_netlink_cmd_rcv_bufs_force",
            "lvs_netlink_monitor_rcv_bufs",
            "lvs_netlink_monitor_rcv_bufs_force",
            "lvs_process_name",
            "lvs_sync_daemon",
            "max_auto_priority",
            "min_auto_priority_delay",
            "nftables",
            "nftables_counters",
            "nftables_ifindex",
            "nftables_ipvs",
            "nftables_ipvs_priority",
            "nftables_ipvs_start_fwmark",
            "nftables_priority",
            "no_checker_emails",
            "process_monitor_rcv_bufs",
            "process_monitor_rcv_bufs_force",
            "process_name",
            "process_names",
            "random_seed",
            "reload_check_config",
            "reload_file",
            "reload_repeat",
            "reload_time_file",
            "rs_init_notifies",
            "shutdown_script",
            "shutdown_script_timeout",
            "snmp_socket",
            "startup_script",
            "startup_script_timeout",
            "tmp_config_directory",
            "umask",
            "vmac_addr_prefix",
            "vmac_prefix",
            "vrrp_check_unicast_src",
            "vrrp_cpu_affinity",
            "vrrp_down_timer_adverts",
            "vrrp_garp_extra_if",
            "vrrp_iptables",
            "vrrp_min_garp",
            "vrrp_netlink_cmd_rcv_bufs",
            "vrrp_netlink_cmd_rcv_bufs_force",
            "vrrp_netlink_monitor_rcv_bufs",
            "vrrp_netlink_monitor_rcv_bufs_force",
            "vrrp_no_swap",
            "vrrp_priority",
            "vrrp_process_name",
            "vrrp_rlimit_rtime",
            "vrrp_rlimit_rttime",
            "vrrp_rt_priority",
            "vrrp_rx_bufs_multiplier",
            "vrrp_rx_bufs_policy",
            "vrrp_skip_check_adv_addr",
            "vrrp_startup_delay",
            "vrrp_vmac_garp_intvl",
        ],
        Ctx::VrrpInstance => &[
            "check_unicast_src",
            "debug",
            "dont_track_primary",
            "down_timer_adverts",
            "garp_extra_if",
            "kernel_rx_buf_size",
            "linkbeat_use_polling",
            "lvs_sync_daemon_interface",
            "mcast_dst_ip",
            "native_ipv6",
            "notify_master_rx_lower_pri",
            "old_unicast_checksum",
            "promote_secondaries",
            "skip_check_adv_addr",
            "track_bfd",
            "track_src_ip",
            "unicast_fault_no_peer",
            "unicast_ttl",
            "use_ipvlan",
            "use_vmac_addr",
            "vmac_garp_intvl",
            "vrf",
        ],
        Ctx::SyncGroup => &["track_bfd"],
        Ctx::VirtualServer => &[
            "flag-1",
            "flag-2",
            "flag-3",
            "hashed",
            "ip_family",
            "mh-fallback",
            "mh-port",
            "sh-fallback",
            "sh-port",
            "snmp_name",
        ],
        Ctx::RealServer => &["BFD_CHECK", "lthreshold", "snmp_name", "uthreshold"],
        Ctx::Url => &[
            "regex",
            "regex_max_offset",
            "regex_min_offset",
            "regex_no_match",
            "regex_options",
            "regex_stack",
        ],
        Ctx::SmtpHost => &[
            "alpha",
            "delay_before_retry",
            "delay_loop",
            "log_all_failures",
            "retry",
            "warmup",
        ],
        _ => &[],
    }
}

/// Aliases keepalived 2.2.7 accepts: (old keyword, keyword to use, whether keepalived reports
/// it). `lb_algo`/`lb_kind` are plain synonyms there (check_parser.c installs them on the same
/// handlers); `nb_get_retry` exists only in HTTP_GET/SSL_GET and is reported as deprecated
/// (check_http.c); `vrrp_track_file` is logged as deprecated (track_file.c).
pub(crate) fn alias_table(ctx: Ctx) -> &'static [(&'static str, &'static str, Said)] {
    match ctx {
        Ctx::Top => &[("vrrp_track_file", "track_file", Said::Logged)],
        Ctx::VirtualServer => &[
            ("lb_algo", "lvs_sched", Said::Nothing),
            ("lb_kind", "lvs_method", Said::Nothing),
        ],
        Ctx::Checker("HTTP_GET" | "SSL_GET") => &[("nb_get_retry", "retry", Said::ConfigError)],
        _ => &[],
    }
}

/// What keepalived says when an alias is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Said {
    /// Nothing: a plain synonym.
    Nothing,
    /// A log line (`log_message`), no config error: `-t` stays clean.
    Logged,
    /// A config error (`report_config_error`): `-t` exits 5.
    ConfigError,
}

/// The keyword an alias stands for, and what keepalived says about its use.
pub(crate) fn alias(ctx: Ctx, kw: &str) -> Option<(&'static str, Said)> {
    alias_table(ctx)
        .iter()
        .find(|(old, _, _)| *old == kw)
        .map(|(_, new, noisy)| (*new, *noisy))
}

/// The keywords this crate implements, per context (for suggestions).
pub(crate) fn implemented(ctx: Ctx) -> &'static [&'static str] {
    match ctx {
        Ctx::Top => &[
            "global_defs",
            "vrrp_script",
            "vrrp_instance",
            "vrrp_sync_group",
            "track_file",
            "vrrp_track_process",
            "virtual_server",
            "virtual_server_group",
            "include",
            "keepalived_rs",
            "SSL",
            "static_ipaddress",
            "static_routes",
            "static_rules",
        ],
        Ctx::Global => &[
            "router_id",
            "notification_email",
            "notification_email_from",
            "smtp_server",
            "smtp_helo_name",
            "smtp_connect_timeout",
            "smtp_alert",
            "smtp_alert_vrrp",
            "smtp_alert_checker",
            "vrrp_mcast_group4",
            "vrrp_mcast_group6",
            "script_user",
            "enable_script_security",
            "lvs_flush",
            "lvs_flush_on_stop",
            "lvs_timeouts",
            "vrrp_version",
            "vrrp_strict",
            "vrrp_garp_master_delay",
            "vrrp_garp_master_repeat",
            "vrrp_garp_master_refresh",
            "vrrp_garp_master_refresh_repeat",
            "vrrp_garp_lower_prio_delay",
            "vrrp_garp_lower_prio_repeat",
            "vrrp_garp_interval",
            "vrrp_gna_interval",
            "default_interface",
            "vrrp_lower_prio_no_advert",
            "vrrp_higher_prio_send_advert",
            "vrrp_notify_priority_changes",
            "notify_fifo",
            "notify_fifo_script",
            "vrrp_notify_fifo",
            "vrrp_notify_fifo_script",
            "lvs_notify_fifo",
            "lvs_notify_fifo_script",
            "fifo_write_vrrp_states_on_reload",
            "no_email_faults",
        ],
        Ctx::VrrpScript => &[
            "script",
            "interval",
            "timeout",
            "weight",
            "fall",
            "rise",
            "user",
            "init_fail",
        ],
        Ctx::VrrpInstance => &[
            "state",
            "interface",
            "virtual_router_id",
            "priority",
            "advert_int",
            "version",
            "authentication",
            "virtual_ipaddress",
            "virtual_ipaddress_excluded",
            "unicast_src_ip",
            "mcast_src_ip",
            "unicast_peer",
            "nopreempt",
            "preempt",
            "preempt_delay",
            "accept",
            "no_accept",
            "track_script",
            "track_interface",
            "track_file",
            "track_process",
            "notify_priority_changes",
            "notify",
            "notify_master",
            "notify_backup",
            "notify_fault",
            "notify_stop",
            "notify_deleted",
            "smtp_alert",
            "garp_master_delay",
            "garp_master_repeat",
            "garp_master_refresh",
            "garp_master_refresh_repeat",
            "garp_lower_prio_delay",
            "garp_lower_prio_repeat",
            "use_vmac",
            "vmac_xmit_base",
            "virtual_routes",
            "virtual_rules",
            "strict_mode",
            "lower_prio_no_advert",
            "higher_prio_send_advert",
        ],
        Ctx::SyncGroup => &[
            "group",
            "notify",
            "notify_master",
            "notify_backup",
            "notify_fault",
            "notify_stop",
            "smtp_alert",
            "global_tracking",
            "sync_group_tracking_weight",
            "notify_priority_changes",
            "track_script",
            "track_interface",
            "track_file",
            "track_process",
        ],
        Ctx::TrackFile => &["file", "weight", "init_file"],
        Ctx::TrackProcess => &[
            "process",
            "param_match",
            "weight",
            "quorum",
            "quorum_max",
            "delay",
            "terminate_delay",
            "fork_delay",
            "full_command",
        ],
        Ctx::VirtualServer => &[
            "delay_loop",
            "lvs_sched",
            "lvs_method",
            "protocol",
            "persistence_timeout",
            "persistence_granularity",
            "persistence_engine",
            "sorry_server",
            "sorry_server_inhibit",
            "sorry_server_lvs_method",
            "inhibit_on_failure",
            "quorum",
            "hysteresis",
            "quorum_up",
            "quorum_down",
            "alpha",
            "omega",
            "ha_suspend",
            "virtualhost",
            "ops",
            "smtp_alert",
            "retry",
            "delay_before_retry",
            "connect_timeout",
            "warmup",
            "weight",
            "real_server",
        ],
        Ctx::RealServer => &[
            "weight",
            "lvs_method",
            "notify_up",
            "notify_down",
            "inhibit_on_failure",
            "delay_loop",
            "alpha",
            "retry",
            "delay_before_retry",
            "connect_timeout",
            "warmup",
            "smtp_alert",
            "virtualhost",
            "HTTP_GET",
            "SSL_GET",
            "TCP_CHECK",
            "MISC_CHECK",
            "SMTP_CHECK",
            "DNS_CHECK",
            "UDP_CHECK",
            "PING_CHECK",
            "FILE_CHECK",
        ],
        Ctx::Checker(k) => match k {
            "HTTP_GET" | "SSL_GET" => &[
                "url",
                "http_protocol",
                "virtualhost",
                "enable_sni",
                "fast_recovery",
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "alpha",
                "log_all_failures",
            ],
            "MISC_CHECK" => &[
                "misc_path",
                "misc_timeout",
                "misc_dynamic",
                "user",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "alpha",
                "log_all_failures",
            ],
            "SMTP_CHECK" => &[
                "helo_name",
                "host",
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "alpha",
                "log_all_failures",
            ],
            "DNS_CHECK" => &[
                "type",
                "name",
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "alpha",
                "log_all_failures",
            ],
            "UDP_CHECK" => &[
                "payload",
                "require_reply",
                "min_reply_length",
                "max_reply_length",
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "alpha",
                "log_all_failures",
            ],
            "FILE_CHECK" => &["track_file", "weight"],
            _ => &[
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "alpha",
                "log_all_failures",
            ],
        },
        Ctx::Url => &["path", "digest", "status_code", "virtualhost"],
        Ctx::SmtpHost => &[
            "connect_ip",
            "connect_port",
            "bindto",
            "bind_port",
            "bind_if",
            "connect_timeout",
            "fwmark",
        ],
        Ctx::Authentication => &["auth_type", "auth_pass"],
        Ctx::KeepalivedRs => &[
            "webhook",
            "verdict_policy",
            "health_prober",
            "health_prober_dns",
            "health_prober_owners",
        ],
        Ctx::Webhook => &["url", "secret_file", "events", "ca_file"],
        Ctx::Ssl => &["password", "ca", "certificate", "key"],
    }
}

/// Whether keepalived 2.2.7 knows `kw` in `ctx` (implemented here or not, or a deprecated
/// alias). Anything else is keepalived's "Unknown keyword".
pub(crate) fn known(ctx: Ctx, kw: &str) -> bool {
    implemented(ctx).contains(&kw)
        || unimplemented(ctx).contains(&kw)
        || alias_table(ctx).iter().any(|(old, _, _)| *old == kw)
}

/// The context of the block a keyword opens, for keywords whose block holds keywords
/// (keepalived's `install_sublevel`). Blocks of values (`virtual_ipaddress`, `track_script`,
/// `notification_email` …, read by `read_value_block`) and blocks of keywords this crate does
/// not model have none.
pub(crate) fn sub_ctx(ctx: Ctx, kw: &str) -> Option<Ctx> {
    let kw = alias(ctx, kw).map_or(kw, |(new, _)| new);
    Some(match (ctx, kw) {
        (Ctx::Top, "global_defs") => Ctx::Global,
        (Ctx::Top, "vrrp_script") => Ctx::VrrpScript,
        (Ctx::Top, "vrrp_instance") => Ctx::VrrpInstance,
        (Ctx::Top, "vrrp_sync_group") => Ctx::SyncGroup,
        (Ctx::Top, "track_file") => Ctx::TrackFile,
        (Ctx::Top, "vrrp_track_process") => Ctx::TrackProcess,
        (Ctx::Top, "virtual_server") => Ctx::VirtualServer,
        (Ctx::Top, "keepalived_rs") => Ctx::KeepalivedRs,
        (Ctx::Top, "SSL") => Ctx::Ssl,
        (Ctx::VrrpInstance, "authentication") => Ctx::Authentication,
        (Ctx::VirtualServer, "real_server") => Ctx::RealServer,
        (Ctx::RealServer, k) => Ctx::Checker(CHECKERS.iter().find(|c| **c == k)?),
        (Ctx::Checker("HTTP_GET" | "SSL_GET"), "url") => Ctx::Url,
        (Ctx::Checker("SMTP_CHECK"), "host") => Ctx::SmtpHost,
        (Ctx::KeepalivedRs, "webhook") => Ctx::Webhook,
        _ => return None,
    })
}

/// The checker keywords of a `real_server` block.
pub(crate) const CHECKERS: &[&str] = &[
    "HTTP_GET",
    "SSL_GET",
    "TCP_CHECK",
    "MISC_CHECK",
    "SMTP_CHECK",
    "DNS_CHECK",
    "UDP_CHECK",
    "PING_CHECK",
    "FILE_CHECK",
];

/// Human name of a context for messages.
pub(crate) fn ctx_name(ctx: Ctx) -> &'static str {
    match ctx {
        Ctx::Top => "top level",
        Ctx::Global => "global_defs",
        Ctx::VrrpScript => "vrrp_script",
        Ctx::VrrpInstance => "vrrp_instance",
        Ctx::SyncGroup => "vrrp_sync_group",
        Ctx::TrackFile => "track_file",
        Ctx::TrackProcess => "vrrp_track_process",
        Ctx::VirtualServer => "virtual_server",
        Ctx::RealServer => "real_server",
        Ctx::Checker(k) => k,
        Ctx::Url => "url",
        Ctx::SmtpHost => "host",
        Ctx::Authentication => "authentication",
        Ctx::KeepalivedRs => "keepalived_rs",
        Ctx::Webhook => "webhook",
        Ctx::Ssl => "SSL",
    }
}

#[cfg(test)]
mod first_letter_tests {
    use super::*;

    /// `same_line_keyword` skips words that do not start with a letter.
    #[test]
    fn keyword_tables_start_with_letters() {
        let checkers = CHECKERS;
        let mut ctxs = vec![
            Ctx::Top,
            Ctx::Global,
            Ctx::VrrpScript,
            Ctx::VrrpInstance,
            Ctx::SyncGroup,
            Ctx::TrackFile,
            Ctx::TrackProcess,
            Ctx::VirtualServer,
            Ctx::RealServer,
            Ctx::Url,
            Ctx::SmtpHost,
            Ctx::Authentication,
            Ctx::KeepalivedRs,
            Ctx::Webhook,
        ];
        ctxs.extend(checkers.iter().map(|k| Ctx::Checker(k)));
        for ctx in ctxs {
            let words = implemented(ctx)
                .iter()
                .chain(unimplemented(ctx))
                .chain(alias_table(ctx).iter().map(|(old, _, _)| old));
            for w in words {
                assert!(
                    w.as_bytes().first().is_some_and(u8::is_ascii_alphabetic),
                    "{w}"
                );
            }
        }
    }
}

#[cfg(test)]
mod keepalived_2_2_7 {
    use super::*;
    use std::collections::BTreeSet;

    /// `BLOCK KEYWORD` lines: what Debian's keepalived 2.2.7 accepts in each block, asked of
    /// keepalived itself (tests/probe-keepalived-keywords.sh).
    const KNOWN: &str = include_str!("../tests/keepalived-2.2.7-keywords.txt");

    fn ctx_of(block: &str) -> Ctx {
        match block {
            "top" => Ctx::Top,
            "global_defs" => Ctx::Global,
            "vrrp_script" => Ctx::VrrpScript,
            "vrrp_instance" => Ctx::VrrpInstance,
            "authentication" => Ctx::Authentication,
            "vrrp_sync_group" => Ctx::SyncGroup,
            "track_file" => Ctx::TrackFile,
            "virtual_server" => Ctx::VirtualServer,
            "real_server" => Ctx::RealServer,
            "url" => Ctx::Url,
            "host" => Ctx::SmtpHost,
            "SSL" => Ctx::Ssl,
            k => Ctx::Checker(CHECKERS.iter().find(|c| **c == k).expect(k)),
        }
    }

    /// Every keyword keepalived knows in a block is known here (implemented, not yet, or an
    /// alias), and nothing else is: a typo is "Unknown keyword" in both, a keepalived keyword
    /// is never one here.
    #[test]
    fn keyword_tables_are_keepalived_2_2_7s() {
        let mut theirs: std::collections::BTreeMap<&str, BTreeSet<&str>> = Default::default();
        for line in KNOWN.lines() {
            let (block, kw) = line.split_once(' ').unwrap();
            theirs.entry(block).or_default().insert(kw);
        }
        for (block, kws) in &theirs {
            let ctx = ctx_of(block);
            let ours: BTreeSet<&str> = implemented(ctx)
                .iter()
                .chain(unimplemented(ctx))
                .copied()
                .chain(alias_table(ctx).iter().map(|(old, _, _)| *old))
                // Read by the lexer, and our own namespaced extension block.
                .filter(|k| !(ctx == Ctx::Top && matches!(*k, "include" | "keepalived_rs")))
                .collect();
            let missing: Vec<_> = kws.difference(&ours).collect();
            let extra: Vec<_> = ours.difference(kws).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{block}: keepalived knows {missing:?} that we do not; we know {extra:?} that \
                 keepalived does not"
            );
        }
    }
}

/// The keyword lists here and the builders' match arms are kept by hand: every keyword the
/// list calls implemented must reach an arm of its block's builder (else keepalived-rs would
/// call its own keyword unknown), and every keyword the list calls unimplemented must reach
/// the "recognised, not implemented" warning (not an arm that acts on it silently).
#[cfg(test)]
mod lists_match_the_builders {
    use super::*;

    /// A configuration with `line` inside a block of `ctx`.
    fn inside(ctx: Ctx, line: &str) -> String {
        let rs = |inner: &str| {
            format!(
                "virtual_server 198.51.100.10 80 {{\n real_server 203.0.113.1 80 {{\n{inner}\n }}\n}}\n"
            )
        };
        match ctx {
            Ctx::Top => format!("{line}\n"),
            Ctx::Global => format!("global_defs {{\n{line}\n}}\n"),
            Ctx::VrrpScript => format!("vrrp_script chk {{\n{line}\n}}\n"),
            Ctx::VrrpInstance => format!("vrrp_instance VI_1 {{\n{line}\n}}\n"),
            Ctx::Authentication => {
                format!("vrrp_instance VI_1 {{\n authentication {{\n{line}\n }}\n}}\n")
            }
            Ctx::SyncGroup => format!("vrrp_sync_group G {{\n{line}\n}}\n"),
            Ctx::TrackFile => format!("track_file f {{\n{line}\n}}\n"),
            Ctx::TrackProcess => format!("vrrp_track_process p {{\n process x\n{line}\n}}\n"),
            Ctx::VirtualServer => format!("virtual_server 198.51.100.10 80 {{\n{line}\n}}\n"),
            Ctx::RealServer => rs(line),
            Ctx::Checker(k) => rs(&format!("{k} {{\n{line}\n}}")),
            Ctx::Url => rs(&format!("HTTP_GET {{\n url {{\n{line}\n }}\n}}")),
            Ctx::SmtpHost => rs(&format!("SMTP_CHECK {{\n host {{\n{line}\n }}\n}}")),
            Ctx::KeepalivedRs => format!("keepalived_rs {{\n{line}\n}}\n"),
            Ctx::Webhook => format!("keepalived_rs {{\n webhook w {{\n{line}\n }}\n}}\n"),
            Ctx::Ssl => format!("SSL {{\n{line}\n}}\n"),
        }
    }

    fn messages(text: &str) -> Vec<String> {
        let opts = crate::LoadOptions {
            config_id: Some("lb1".into()),
            interfaces: None,
            host_checks: false,
        };
        match crate::load_str(text, std::path::Path::new("/k.conf"), &opts) {
            Ok(loaded) => loaded.diagnostics.iter().map(ToString::to_string).collect(),
            Err(crate::LoadError::Invalid { diagnostics }) => {
                diagnostics.iter().map(ToString::to_string).collect()
            }
            Err(e) => vec![e.to_string()],
        }
    }

    #[test]
    fn every_listed_keyword_reaches_the_arm_its_list_says() {
        let mut ctxs = vec![
            Ctx::Top,
            Ctx::Global,
            Ctx::VrrpScript,
            Ctx::VrrpInstance,
            Ctx::Authentication,
            Ctx::SyncGroup,
            Ctx::TrackFile,
            Ctx::TrackProcess,
            Ctx::VirtualServer,
            Ctx::RealServer,
            Ctx::Url,
            Ctx::SmtpHost,
            Ctx::KeepalivedRs,
            Ctx::Webhook,
            Ctx::Ssl,
        ];
        ctxs.extend(CHECKERS.iter().map(|k| Ctx::Checker(k)));
        let mut wrong = Vec::new();
        for ctx in ctxs {
            for kw in implemented(ctx) {
                let said = messages(&inside(ctx, &format!("{kw} 1")));
                let unknown = format!("unknown keyword '{kw}'");
                let unbuilt = format!(
                    "keyword '{kw}' in {} is recognised, not implemented",
                    ctx_name(ctx)
                );
                if said
                    .iter()
                    .any(|m| m.contains(&unknown) || m.contains(&unbuilt))
                {
                    wrong.push(format!(
                        "{}: {kw} is listed implemented: {said:?}",
                        ctx_name(ctx)
                    ));
                }
            }
            for kw in unimplemented(ctx) {
                let said = messages(&inside(ctx, &format!("{kw} 1")));
                let unbuilt = format!(
                    "keyword '{kw}' in {} is recognised, not implemented",
                    ctx_name(ctx)
                );
                if !said.iter().any(|m| m.contains(&unbuilt)) {
                    wrong.push(format!(
                        "{}: {kw} is listed unimplemented: {said:?}",
                        ctx_name(ctx)
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
