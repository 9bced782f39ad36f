//! keepalived 2.2's keyword tables, per block, for the keywords this crate does not model yet
//! (a warning says so) and the deprecated aliases (accepted with a warning).

/// Block contexts with their own keyword sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    Top,
    Global,
    VrrpScript,
    VrrpInstance,
    SyncGroup,
    TrackFile,
    VirtualServer,
    RealServer,
    Checker(&'static str),
    Url,
    SmtpHost,
    Authentication,
}

/// Keywords keepalived 2.2 knows that keepalived-rs parses but does not act on yet.
pub(crate) fn unimplemented(ctx: Ctx) -> &'static [&'static str] {
    match ctx {
        Ctx::Top => &[
            "static_ipaddress", "static_routes", "static_rules", "linkbeat_interfaces",
            "track_process", "vrrp_track_process", "bfd_instance", "garp_group",
        ],
        Ctx::Global => &[
            "lvs_sync_daemon", "lvs_sync_daemon_interface", "checker_process_name",
            "vrrp_process_name", "bfd_process_name", "net_namespace", "net_namespace_ipvs",
            "namespace_with_ipsets", "instance", "use_pid_dir", "linkbeat_use_polling",
            "dynamic_interfaces", "no_email_faults", "startup_script", "startup_script_timeout",
            "shutdown_script", "shutdown_script_timeout", "max_auto_priority",
            "min_auto_priority_delay", "vrrp_min_garp", "vrrp_lower_prio_no_advert",
            "vrrp_higher_prio_send_advert", "vrrp_iptables", "vrrp_ipsets", "vrrp_nftables",
            "vrrp_nftables_priority", "vrrp_nftables_ifindex", "nftables_counters",
            "vrrp_check_unicast_src", "vrrp_skip_check_adv_addr", "vrrp_priority",
            "checker_priority", "bfd_priority", "vrrp_no_swap", "checker_no_swap", "bfd_no_swap",
            "vrrp_rt_priority", "checker_rt_priority", "bfd_rt_priority", "vrrp_rlimit_rttime",
            "checker_rlimit_rttime", "bfd_rlimit_rttime", "vrrp_cpu_affinity",
            "checker_cpu_affinity", "bfd_cpu_affinity", "snmp_socket", "enable_snmp_vrrp",
            "enable_snmp_keepalived", "enable_snmp_checker", "enable_snmp_rfc",
            "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_traps", "enable_dbus",
            "dbus_service_name", "notify_fifo", "notify_fifo_script", "vrrp_notify_fifo",
            "vrrp_notify_fifo_script", "lvs_notify_fifo", "lvs_notify_fifo_script",
            "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force",
            "vrrp_netlink_monitor_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs_force",
            "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_cmd_rcv_bufs_force",
            "lvs_netlink_monitor_rcv_bufs", "lvs_netlink_monitor_rcv_bufs_force",
            "process_monitor_rcv_bufs", "process_monitor_rcv_bufs_force", "rs_init_notifies",
            "no_checker_emails", "vrrp_startup_delay", "log_unknown_vrids", "umask",
            "random_seed", "vrrp_garp_extra_if", "vrrp_rx_bufs_policy", "vrrp_rx_bufs_multiplier",
            "reload_check_config", "reload_time_file", "reload_repeat", "reload_file",
            "data_use_instance", "checker_log_all_failures", "fifo_write_vrrp_states_on_reload",
            "tmp_config_directory", "json_version", "vrrp_track_process", "child_wait_time",
            "vrrp_dont_track_primary",
        ],
        Ctx::VrrpInstance => &[
            "vmac_xmit_base", "native_ipv6", "dont_track_primary", "track_bfd", "track_process",
            "unicast_fault_no_peer", "check_unicast_src", "old_unicast_checksum",
            "lvs_sync_daemon_interface", "garp_extra_if", "linkbeat_use_polling", "debug",
            "strict_mode", "skip_check_adv_addr", "kernel_rx_buf_size",
            "notify_master_rx_lower_pri", "virtual_rules", "promote_secondaries",
            "higher_prio_send_advert", "lower_prio_no_advert", "track_src_ip",
            "down_timer_adverts", "unicast_ttl", "notify_priority_changes",
        ],
        Ctx::SyncGroup => &["sync_group_tracking_weight", "track_bfd", "track_process", "notify_priority_changes"],
        Ctx::VirtualServer => &[
            "ip_family", "hash", "mh-fallback", "mh-port", "sh-fallback", "sh-port", "flag-1",
            "flag-2", "flag-3", "nat_mask", "notify_up", "notify_down",
        ],
        Ctx::RealServer => &["uthreshold", "lthreshold", "virtualhost", "BFD_CHECK", "tunnel_encap", "tunnel_dport", "tunnel_nocsum", "tunnel_csum", "tunnel_remcsum"],
        Ctx::Checker("HTTP_GET") | Ctx::Checker("SSL_GET") => &["fast_recovery", "tls_compliant"],
        Ctx::Url => &["regex", "regex_no_match", "regex_options", "regex_stack", "regex_min_offset", "regex_max_offset"],
        _ => &[],
    }
}

/// Deprecated aliases: (context, old keyword, keyword to use).
pub(crate) fn alias(ctx: Ctx, kw: &str) -> Option<&'static str> {
    alias_table(ctx).iter().find(|(old, _)| *old == kw).map(|(_, new)| *new)
}

/// The alias table of a context: (old keyword, keyword to use).
pub(crate) fn alias_table(ctx: Ctx) -> &'static [(&'static str, &'static str)] {
    match ctx {
        Ctx::Top => &[("vrrp_track_file", "track_file")],
        Ctx::Global => &[("lvs_id", "router_id")],
        Ctx::VirtualServer => &[("lb_algo", "lvs_sched"), ("lb_kind", "lvs_method")],
        Ctx::RealServer => &[("nb_get_retry", "retry")],
        Ctx::Checker(_) => &[("nb_get_retry", "retry"), ("nb_sock_retry", "retry")],
        _ => &[],
    }
}

/// The keywords this crate implements, per context (for suggestions).
pub(crate) fn implemented(ctx: Ctx) -> &'static [&'static str] {
    match ctx {
        Ctx::Top => &[
            "global_defs", "vrrp_script", "vrrp_instance", "vrrp_sync_group", "track_file",
            "virtual_server", "virtual_server_group", "include",
        ],
        Ctx::Global => &[
            "router_id", "notification_email", "notification_email_from", "smtp_server",
            "smtp_helo_name", "smtp_connect_timeout", "smtp_alert", "smtp_alert_vrrp",
            "smtp_alert_checker", "vrrp_mcast_group4", "vrrp_mcast_group6", "script_user",
            "enable_script_security", "lvs_flush", "lvs_flush_on_stop", "lvs_timeouts",
            "vrrp_version", "vrrp_strict", "vrrp_garp_master_delay", "vrrp_garp_master_repeat",
            "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat",
            "vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat", "vrrp_garp_interval",
            "vrrp_gna_interval", "default_interface",
        ],
        Ctx::VrrpScript => &["script", "interval", "timeout", "weight", "fall", "rise", "user", "init_fail"],
        Ctx::VrrpInstance => &[
            "state", "interface", "virtual_router_id", "priority", "advert_int", "version",
            "authentication", "virtual_ipaddress", "virtual_ipaddress_excluded",
            "unicast_src_ip", "mcast_src_ip", "unicast_peer", "nopreempt", "preempt",
            "preempt_delay", "accept", "no_accept", "track_script", "track_interface",
            "track_file", "notify", "notify_master", "notify_backup", "notify_fault",
            "notify_stop", "notify_deleted", "smtp_alert", "garp_master_delay",
            "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat",
            "garp_lower_prio_delay", "garp_lower_prio_repeat", "use_vmac", "virtual_routes",
        ],
        Ctx::SyncGroup => &[
            "group", "notify", "notify_master", "notify_backup", "notify_fault", "notify_stop",
            "smtp_alert", "global_tracking", "track_script", "track_interface", "track_file",
        ],
        Ctx::TrackFile => &["file", "weight", "init_file"],
        Ctx::VirtualServer => &[
            "delay_loop", "lvs_sched", "lvs_method", "protocol", "persistence_timeout",
            "persistence_granularity", "persistence_engine", "sorry_server",
            "sorry_server_inhibit", "sorry_server_lvs_method", "inhibit_on_failure", "quorum",
            "hysteresis", "quorum_up", "quorum_down", "alpha", "omega", "ha_suspend",
            "virtualhost", "ops", "smtp_alert", "retry", "delay_before_retry",
            "connect_timeout", "warmup", "real_server",
        ],
        Ctx::RealServer => &[
            "weight", "lvs_method", "notify_up", "notify_down", "inhibit_on_failure",
            "delay_loop", "alpha", "retry", "delay_before_retry", "connect_timeout", "warmup",
            "smtp_alert", "HTTP_GET", "SSL_GET", "TCP_CHECK", "MISC_CHECK", "SMTP_CHECK",
            "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "FILE_CHECK",
        ],
        Ctx::Checker(k) => match k {
            "HTTP_GET" | "SSL_GET" => &[
                "url", "http_protocol", "virtualhost", "enable_sni", "connect_ip", "connect_port",
                "bindto", "bind_port", "bind_if", "fwmark", "connect_timeout", "retry",
                "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures",
            ],
            "MISC_CHECK" => &[
                "misc_path", "misc_timeout", "misc_dynamic", "user", "retry",
                "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures",
            ],
            "SMTP_CHECK" => &[
                "helo_name", "host", "connect_ip", "connect_port", "bindto", "bind_port", "bind_if",
                "fwmark", "connect_timeout", "retry", "delay_before_retry", "warmup", "delay_loop",
                "alpha", "log_all_failures",
            ],
            "DNS_CHECK" => &[
                "type", "name", "connect_ip", "connect_port", "bindto", "bind_port", "bind_if",
                "fwmark", "connect_timeout", "retry", "delay_before_retry", "warmup", "delay_loop",
                "alpha", "log_all_failures",
            ],
            "UDP_CHECK" => &[
                "payload", "require_reply", "min_reply_length", "max_reply_length", "connect_ip",
                "connect_port", "bindto", "bind_port", "bind_if", "fwmark", "connect_timeout",
                "retry", "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures",
            ],
            "FILE_CHECK" => &["track_file", "weight", "delay_loop", "alpha", "warmup", "log_all_failures"],
            _ => &[
                "connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "fwmark",
                "connect_timeout", "retry", "delay_before_retry", "warmup", "delay_loop", "alpha",
                "log_all_failures",
            ],
        },
        Ctx::Url => &["path", "digest", "status_code", "virtualhost"],
        Ctx::SmtpHost => &["connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "fwmark"],
        Ctx::Authentication => &["auth_type", "auth_pass"],
    }
}

/// Human name of a context for messages.
pub(crate) fn ctx_name(ctx: Ctx) -> &'static str {
    match ctx {
        Ctx::Top => "top level",
        Ctx::Global => "global_defs",
        Ctx::VrrpScript => "vrrp_script",
        Ctx::VrrpInstance => "vrrp_instance",
        Ctx::SyncGroup => "vrrp_sync_group",
        Ctx::TrackFile => "track_file",
        Ctx::VirtualServer => "virtual_server",
        Ctx::RealServer => "real_server",
        Ctx::Checker(k) => k,
        Ctx::Url => "url",
        Ctx::SmtpHost => "host",
        Ctx::Authentication => "authentication",
    }
}
