//! Cross-block checks keepalived makes after reading everything.

use super::*;

/// Cross-block checks keepalived makes after reading everything.
pub(super) fn check(
    b: &mut Builder<'_>,
    cfg: &mut Config,
    inst_pos: &[Pos],
    vs_pos: &[Pos],
    sg_pos: &[Pos],
) {
    vrrp_complete::complete(b, cfg, inst_pos, sg_pos);
    if b.host_checks {
        disable_missing_scripts(b, cfg, vs_pos);
        security(b, cfg);
    }
    let mut vrids: HashMap<(Option<String>, bool, u8), String> = HashMap::new();
    for (v, pos) in cfg.vrrp_instances.iter_mut().zip(inst_pos) {
        if v.virtual_router_id == 0 {
            continue;
        }
        let v6 = v
            .virtual_ipaddress
            .first()
            .is_some_and(|a| a.address.is_ipv6());
        let key = (v.interface.clone(), v6, v.virtual_router_id);
        if let Some(other) = vrids.get(&key) {
            b.d.error(
                *pos,
                format!(
                    "vrrp_instance {}: virtual_router_id {} already used by {other} on the same interface and address family",
                    v.name, v.virtual_router_id
                ),
            );
        } else {
            vrids.insert(key, v.name.clone());
        }
    }
    let names: HashSet<String> = cfg.vrrp_instances.iter().map(|v| v.name.clone()).collect();
    let mut in_group: HashSet<String> = HashSet::new();
    for (sg, pos) in cfg.vrrp_sync_groups.iter_mut().zip(sg_pos) {
        sg.group.retain(|m| {
            let ok = names.contains(m);
            if !ok {
                b.d.warn(
                    *pos,
                    format!(
                        "Virtual router {m} specified in sync group {} doesn't exist - ignoring \
                         (as keepalived)",
                        sg.name
                    ),
                );
            }
            ok
        });
        // vrrp_sync.c: "Virtual router X cannot exist in more than one sync group; ignoring".
        sg.group.retain(|m| {
            let first = in_group.insert(m.clone());
            if !first {
                b.d.warn(
                    *pos,
                    format!(
                        "Virtual router {m} cannot exist in more than one sync group; ignoring \
                         {} (as keepalived)",
                        sg.name
                    ),
                );
            }
            first
        });
    }
    // vrrp.c `vrrp_complete_init`: a sync group left without members is removed.
    let mut kept = sg_pos.iter();
    cfg.vrrp_sync_groups.retain(|sg| {
        let pos = kept.next().copied().unwrap_or_default();
        if sg.group.is_empty() {
            b.d.warn(
                pos,
                format!(
                    "Sync group {}, no matching virtual router found in group declaration - \
                     removing (as keepalived)",
                    sg.name
                ),
            );
        }
        if sg.group.len() == 1 {
            b.d.warn(
                pos,
                format!(
                    "Sync group {} has only 1 virtual router(s) - this probably isn't what you \
                     want (as keepalived says)",
                    sg.name
                ),
            );
        }
        !sg.group.is_empty()
    });
    // vrrp.c: "Warning - script %s is not used": a script nothing tracks is removed.
    let tracked: HashSet<&str> = cfg
        .vrrp_instances
        .iter()
        .flat_map(|v| &v.track_script)
        .chain(cfg.vrrp_sync_groups.iter().flat_map(|g| &g.track_script))
        .map(|t| t.name.as_str())
        .collect();
    let unused: Vec<String> = cfg
        .vrrp_scripts
        .iter()
        .filter(|s| !tracked.contains(s.name.as_str()))
        .map(|s| s.name.clone())
        .collect();
    for name in &unused {
        // vrrp.c reports it after `-t` has stopped (vrrp_complete_init returns early in
        // config test mode), so keepalived's `-t` is silent about it: a note here.
        b.d.note(
            b.script_pos.get(name).copied().unwrap_or_default(),
            format!("Warning - script {name} is not used (keepalived removes it, and so does keepalived-rs)"),
        );
    }
    cfg.vrrp_scripts.retain(|s| !unused.contains(&s.name));
    let groups: HashSet<String> = cfg
        .virtual_server_groups
        .iter()
        .map(|g| g.name.clone())
        .collect();
    // keepalived 2.2.7 keeps both of two virtual_servers for the same service, but the
    // kernel has one service per address, port and protocol (or fwmark): the first one is
    // used here, and the second is dropped with a warning (docs/compatibility.md).
    let mut services: HashSet<(VsKey, Protocol)> = HashSet::new();
    let mut keep = Vec::with_capacity(cfg.virtual_servers.len());
    for (vs, pos) in cfg.virtual_servers.iter().zip(vs_pos) {
        let mut ok = services.insert((vs.key.clone(), vs.protocol));
        if !ok {
            let what = match &vs.key {
                VsKey::Addr { ip, port } => format!("{ip} {port}"),
                VsKey::Fwmark { mark } => format!("fwmark {mark}"),
                VsKey::Group { name } => format!("group {name}"),
            };
            b.d.warn(
                *pos,
                format!(
                    "virtual_server {what} ({}) is defined twice: keepalived runs both against \
                     one kernel service; keepalived-rs uses the first and ignores this one",
                    format!("{:?}", vs.protocol).to_uppercase()
                ),
            );
        } else if let VsKey::Group { name } = &vs.key
            && !groups.contains(name)
        {
            // ipwrapper.c `link_vsg_to_vs`.
            b.d.warn(
                *pos,
                format!(
                    "Virtual server group {name} specified but not configured - ignoring \
                     virtual server (as keepalived)"
                ),
            );
            ok = false;
        }
        keep.push(ok);
    }
    let kept_pos: Vec<Pos> = vs_pos
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(p, _)| *p)
        .collect();
    let mut keep = keep.into_iter();
    cfg.virtual_servers.retain(|_| keep.next().unwrap_or(true));
    group_ports(b, cfg, &kept_pos);
}

/// vrrp.c `check_vrrp_script_security` and check_misc.c `check_misc_script_security`: a
/// tracked script whose program is not found or cannot be executed is disabled — the
/// instances stop tracking it ("Disabling track script X since not found/accessible") — and
/// such a MISC_CHECK is dropped, so its real server is judged by its other checkers.
fn disable_missing_scripts(b: &mut Builder<'_>, cfg: &mut Config, vs_pos: &[Pos]) {
    let missing: Vec<String> = cfg
        .vrrp_scripts
        .iter()
        .filter(|s| !script_exists(&s.script))
        .map(|s| s.name.clone())
        .collect();
    for name in &missing {
        b.d.warn(
            b.script_pos.get(name).copied().unwrap_or_default(),
            format!(
                "Disabling track script {name} since not found/accessible: the instances do \
                 not track it (as keepalived)"
            ),
        );
    }
    if !missing.is_empty() {
        cfg.vrrp_scripts.retain(|s| !missing.contains(&s.name));
        for v in &mut cfg.vrrp_instances {
            v.track_script.retain(|t| !missing.contains(&t.name));
        }
        for g in &mut cfg.vrrp_sync_groups {
            g.track_script.retain(|t| !missing.contains(&t.name));
        }
    }
    for (vs, &pos) in cfg.virtual_servers.iter_mut().zip(vs_pos) {
        for rs in &mut vs.real_servers {
            rs.checkers.retain(|c| match &c.kind {
                CheckerKind::MiscCheck(m) if !script_exists(&m.misc_path) => {
                    // check_misc.c only logs this: a note.
                    b.d.note(
                        pos,
                        format!(
                            "Disabling misc script {} since not found/accessible: the MISC_CHECK \
                             of real server {} is dropped (as keepalived)",
                            m.misc_path, rs.ip
                        ),
                    );
                    false
                }
                _ => true,
            });
        }
    }
}

/// keepalived's script security check (vrrp.c and check_data.c, lib/notify.c
/// `check_script_secure`): scripts that exist on this host while `enable_script_security` is
/// off are a `CONFIG_SECURITY_ERROR`, and `-t` exits 6. keepalived still runs them (as root
/// when `script_user` does not say otherwise), and so does keepalived-rs.
fn security(b: &mut Builder<'_>, cfg: &Config) {
    if cfg.global_defs.enable_script_security {
        return;
    }
    let found = b
        .script_sites
        .iter()
        .find(|(_, command)| script_exists(command))
        .map(|(pos, _)| *pos);
    if let Some(pos) = found {
        b.d.security(
            pos,
            "SECURITY VIOLATION - scripts are being executed but script_security not enabled \
             (as keepalived says; add enable_script_security to global_defs)",
        );
    }
}

/// Whether a command's program exists, found as keepalived finds it: a path as it is, a bare
/// name on `PATH`. A `</path` file test is not a script.
fn script_exists(command: &str) -> bool {
    let Some(program) = command.split_whitespace().next() else {
        return false;
    };
    if program.starts_with('<') {
        return false;
    }
    let runnable = |p: &std::path::Path| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return runnable(std::path::Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| runnable(&dir.join(program))))
}

/// check_data.c `validate_check_config`, a virtual_server of a group: keepalived only says
/// when a non-NAT real server's port cannot apply to the group's fwmark entries or differs
/// from an address entry's; it changes nothing.
fn group_ports(b: &mut Builder<'_>, cfg: &Config, vs_pos: &[Pos]) {
    for (vs, &pos) in cfg.virtual_servers.iter().zip(vs_pos) {
        let VsKey::Group { name } = &vs.key else {
            continue;
        };
        let Some(group) = cfg.virtual_server_groups.iter().find(|g| &g.name == name) else {
            continue;
        };
        let label = format!("[{name}]:0");
        let direct = || {
            vs.real_servers.iter().filter(|rs| {
                rs.port != 0 && rs.lvs_method.unwrap_or(vs.lvs_method) != LvsMethod::Nat
            })
        };
        if group
            .entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Fwmark { .. }))
        {
            for rs in direct() {
                b.d.warn(
                    pos,
                    format!(
                        "WARNING - fwmark virtual server {label}, real server [{}]:{} has port \
                         specified - port will be ignored (as keepalived)",
                        rs.ip, rs.port
                    ),
                );
            }
        }
        for e in &group.entries {
            let VsgEntry::Addr { ip, port, .. } = e else {
                continue;
            };
            for rs in direct().filter(|rs| rs.port != *port) {
                b.d.warn(
                    pos,
                    format!(
                        "virtual server {label}:[{ip}]:{port} and real server [{}]:{} ports \
                         don't match (as keepalived)",
                        rs.ip, rs.port
                    ),
                );
            }
        }
    }
}
