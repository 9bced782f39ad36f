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
    let scripts: HashSet<String> = cfg.vrrp_scripts.iter().map(|s| s.name.clone()).collect();
    let files: HashSet<String> = cfg.track_files.iter().map(|s| s.name.clone()).collect();
    let mut vrids: HashMap<(Option<String>, bool, u8), String> = HashMap::new();
    for (v, pos) in cfg.vrrp_instances.iter_mut().zip(inst_pos) {
        // keepalived: "track script X not found, ignoring".
        v.track_script.retain(|t| {
            let ok = scripts.contains(&t.name);
            if !ok {
                b.d.warn(
                    *pos,
                    format!(
                        "vrrp_instance {}: track_script '{}' is not defined, ignoring",
                        v.name, t.name
                    ),
                );
            }
            ok
        });
        v.track_file.retain(|t| {
            let ok = files.contains(&t.name);
            if !ok {
                b.d.warn(
                    *pos,
                    format!(
                        "vrrp_instance {}: track_file '{}' is not defined, ignoring",
                        v.name, t.name
                    ),
                );
            }
            ok
        });
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
                        "vrrp_sync_group {}: instance {m} does not exist, ignoring",
                        sg.name
                    ),
                );
            }
            ok
        });
        for m in &sg.group {
            if !in_group.insert(m.clone()) {
                b.d.error(
                    *pos,
                    format!(
                        "vrrp_sync_group {}: instance {m} is already in another sync group",
                        sg.name
                    ),
                );
            }
        }
        // As for an instance: keepalived logs "track script X not found, ignoring".
        sg.track_script.retain(|t| {
            let ok = scripts.contains(&t.name);
            if !ok {
                b.d.warn(
                    *pos,
                    format!(
                        "vrrp_sync_group {}: track_script '{}' is not defined, ignoring",
                        sg.name, t.name
                    ),
                );
            }
            ok
        });
    }
    let groups: HashSet<String> = cfg
        .virtual_server_groups
        .iter()
        .map(|g| g.name.clone())
        .collect();
    // keepalived refuses a second virtual_server for the same service: IPVS has one service
    // per address, port and protocol (or fwmark, or group).
    let mut services: HashSet<(&VsKey, Protocol)> = HashSet::new();
    for (vs, pos) in cfg.virtual_servers.iter().zip(vs_pos) {
        if !services.insert((&vs.key, vs.protocol)) {
            let what = match &vs.key {
                VsKey::Addr { ip, port } => format!("{ip} {port}"),
                VsKey::Fwmark { mark } => format!("fwmark {mark}"),
                VsKey::Group { name } => format!("group {name}"),
            };
            b.d.error(
                *pos,
                format!(
                    "virtual_server {what} ({}) is defined twice",
                    format!("{:?}", vs.protocol).to_uppercase()
                ),
            );
        }
    }
    for (vs, pos) in cfg.virtual_servers.iter().zip(vs_pos) {
        if let VsKey::Group { name } = &vs.key
            && !groups.contains(name)
        {
            b.d.error(
                *pos,
                format!("virtual_server group {name}: no virtual_server_group of that name"),
            );
        }
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                if let CheckerKind::FileCheck(f) = &c.kind
                    && !f.track_file.is_empty()
                    && !files.contains(&f.track_file)
                {
                    b.d.error(
                        *pos,
                        format!("FILE_CHECK: track_file '{}' is not defined", f.track_file),
                    );
                }
            }
        }
    }
}
