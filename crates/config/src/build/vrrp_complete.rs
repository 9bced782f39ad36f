//! keepalived's checks of VRRP instances after the whole file is read (keepalived 2.2.7
//! vrrp.c `vrrp_complete_instance`, `vrrp_complete_init`, vrrp_sync.c
//! `vrrp_sync_set_group`, vrrp.c `sync_group_tracking_init`): the adjustments that change
//! behaviour, applied to the model so that `-t` and vrrp-core see the same instance, each
//! with keepalived's words and what keepalived-rs did.
//!
//! Not visible in the model (so not applied here): `strict_mode` per instance,
//! `lower_prio_no_advert`, `higher_prio_send_advert`, `down_timer_adverts`,
//! `vmac_xmit_base` (recognised keywords without a model field), and whether `version`, `priority`, `state` or `accept` were written or are the
//! defaults.

use super::*;

/// keepalived's `DEFAULT_MTU` (vrrp.c sizes the advert by the interface MTU; the loader
/// does not look at interfaces).
const DEFAULT_MTU: usize = 1500;
/// The address count of an advert is one octet.
const VRRP_MAX_ADDR: usize = 255;
/// Priority of the address owner.
const OWNER: u8 = 255;

/// Runs [`Config::complete_vrrp`] and reports each note at its block's position.
pub(super) fn complete(b: &mut Builder<'_>, cfg: &mut Config, inst_pos: &[Pos], sg_pos: &[Pos]) {
    for n in cfg.complete_vrrp() {
        let pos = match n.block {
            VrrpBlock::Instance(i) => inst_pos.get(i),
            VrrpBlock::SyncGroup(i) => sg_pos.get(i),
        };
        let Some(pos) = pos.copied() else { continue };
        if n.error {
            b.d.error(pos, n.message);
        } else if n.silent {
            b.d.note(pos, n.message);
        } else {
            b.d.warn(pos, n.message);
        }
    }
}

struct Notes {
    out: Vec<VrrpNote>,
    block: VrrpBlock,
}

impl Notes {
    /// keepalived's message (its words) and what we did, as a warning.
    fn warn(&mut self, keepalived: String, ours: &str) {
        self.push(false, keepalived, ours);
    }
    /// What keepalived does without a message, said as a note.
    fn note(&mut self, what: String, ours: &str) {
        self.push(false, what, ours);
        if let Some(last) = self.out.last_mut() {
            last.silent = true;
        }
    }
    /// A configuration keepalived refuses to run.
    fn error(&mut self, keepalived: String, ours: &str) {
        self.push(true, keepalived, ours);
    }
    fn push(&mut self, error: bool, keepalived: String, ours: &str) {
        let message = if ours.is_empty() {
            keepalived
        } else {
            format!("{keepalived} (keepalived-rs: {ours})")
        };
        self.out.push(VrrpNote {
            block: self.block,
            error,
            silent: false,
            message,
        });
    }
}

impl Config {
    /// Applies keepalived 2.2.7's post-parse adjustments of VRRP instances and sync groups
    /// (vrrp.c `vrrp_complete_instance`) to the model and fills each instance's
    /// [`VrrpResolved`]. Idempotent: a completed model completes to itself with no notes
    /// but the errors. The loader runs it; it is public so that a model built in code
    /// can be completed the same way.
    pub fn complete_vrrp(&mut self) -> Vec<VrrpNote> {
        let mut notes = Notes {
            out: Vec::new(),
            block: VrrpBlock::Instance(0),
        };
        let g = self.global_defs.clone();
        for idx in 0..self.vrrp_instances.len() {
            notes.block = VrrpBlock::Instance(idx);
            // A member of a sync group without `sync_group_tracking_weight` (or
            // `global_tracking`) loses its trackers' weights.
            let in_sync_group = self
                .vrrp_sync_groups
                .iter()
                .any(|s| !s.global_tracking && s.group.contains(&self.vrrp_instances[idx].name));
            // vrrp.c:3246: the instance's setting, else its sync group's, else the global.
            let group_setting = self
                .vrrp_sync_groups
                .iter()
                .find(|s| s.group.contains(&self.vrrp_instances[idx].name))
                .and_then(|s| s.notify_priority_changes);
            let v = &mut self.vrrp_instances[idx];
            v.resolved.notify_priority_changes = v
                .notify_priority_changes
                .or(group_setting)
                .unwrap_or(g.vrrp_notify_priority_changes);
            let (scripts, files) = (&self.vrrp_scripts, &self.track_files);
            complete_instance(
                &mut self.vrrp_instances[idx],
                &g,
                in_sync_group,
                scripts,
                files,
                &mut notes,
            );
        }
        for idx in 0..self.vrrp_sync_groups.len() {
            notes.block = VrrpBlock::SyncGroup(idx);
            complete_sync_group(self, idx, &mut notes);
        }
        notes.out
    }
}

/// Sets each tracker of `list` that has a weight (its own, else the tracked object's,
/// `own_weight`) to weight 0, with keepalived's `message` for it.
fn clear_weights(
    list: &mut [TrackRef],
    own_weight: impl Fn(&str) -> i32,
    n: &mut Notes,
    message: impl Fn(&str) -> String,
) {
    for t in list {
        if t.weight.unwrap_or_else(|| own_weight(&t.name)) != 0 {
            n.warn(message(&t.name), "weight 0");
            t.weight = Some(0);
            t.reverse = false;
        }
    }
}

fn is_ah(v: &VrrpInstance) -> bool {
    matches!(
        v.authentication,
        Some(Authentication {
            auth_type: AuthType::Ah,
            ..
        })
    )
}

fn complete_instance(
    v: &mut VrrpInstance,
    g: &GlobalDefs,
    in_sync_group: bool,
    scripts: &[VrrpScript],
    files: &[TrackFile],
    n: &mut Notes,
) {
    let name = v.name.clone();
    // vrrp.c:2860: an instance's `strict_mode` wins over the global `vrrp_strict`.
    let strict = v.strict_mode.unwrap_or(g.vrrp_strict);
    let owner = v.priority == OWNER;
    // The parser takes the family from the first VIP, else the unicast peers or source.
    let fam6 = v
        .virtual_ipaddress
        .first()
        .map(|a| a.address)
        .or(v.unicast_peer.first().copied())
        .or(v.unicast_src_ip)
        .is_some_and(|a| a.is_ipv6());

    // vrrp.c:2863. keepalived sets version 3 for IPv6 unless `version 2` was written
    // before the addresses (then it runs VRRPv2 over IPv6, out of every RFC); the model
    // cannot tell a written `version 2` from the default, so version 3 it is.
    if fam6 && v.version == 2 {
        if strict {
            n.warn(
                format!("({name}) cannot use IPv6 with VRRP version 2; setting version 3"),
                "",
            );
        } else {
            n.warn(
                format!("({name}) IPv6 instance: keepalived uses VRRP version 3 for IPv6"),
                "version 3",
            );
        }
        v.version = 3;
    }

    // vrrp.c:2915: in strict mode the initial state follows address ownership.
    if strict && (v.state == VrrpState::Master) != owner {
        n.warn(
            format!("({name}) State MASTER must match being address owner"),
            if owner {
                "state MASTER"
            } else {
                "state BACKUP"
            },
        );
        v.state = if owner {
            VrrpState::Master
        } else {
            VrrpState::Backup
        };
    }

    // vrrp.c:2923-2956: authentication.
    if v.authentication.is_some() {
        if strict {
            n.warn(
                format!("({name}) Strict mode does not support authentication. Ignoring."),
                "no authentication in adverts",
            );
            v.authentication = None;
        } else if v
            .authentication
            .as_ref()
            .is_some_and(|a| a.auth_pass.is_empty())
        {
            n.warn(
                format!("({name}) Authentication specified but no password given. Ignoring"),
                "no authentication in adverts",
            );
            v.authentication = None;
        } else if is_ah(v) && v.state == VrrpState::Master && !owner {
            // keepalived must hear an advert (its AH sequence number) before taking over.
            n.warn(
                format!(
                    "({name}) Initial state master is incompatible with AH authentication - clearing"
                ),
                "state BACKUP",
            );
            v.state = VrrpState::Backup;
        }
    }
    // vrrp.c:2959 refuses unicast peers in strict mode, but it tests VRRP_FLAG_UNICAST,
    // which 2.2.7 sets only afterwards (vrrp.c:2986): keepalived runs them, and so do we.

    // vrrp.c:2317 `chk_min_cfg` and 2966: the interface.
    if v.interface.is_none() {
        if v.unicast_peer.is_empty() {
            n.error(format!("({name}) Unknown interface!"), "");
        } else if v.unicast_src_ip.is_none() {
            n.error(
                format!("({name}): Unicast instances must have unicast_src_ip or interface"),
                "",
            );
        } else if v.resolved.not_implemented.is_none() {
            v.resolved.not_implemented = Some(
                "a unicast instance without 'interface' is not implemented by keepalived-rs yet"
                    .to_owned(),
            );
        }
    }

    // vrrp.c:3040: IPv6 over multicast wants a link-local first VIP.
    if strict
        && fam6
        && v.unicast_peer.is_empty()
        && let Some(IpAddr::V6(a)) = v.virtual_ipaddress.first().map(|a| a.address)
        && !a.is_unicast_link_local()
    {
        n.warn(
            format!("({name}) the first IPv6 VIP address must be link local"),
            "",
        );
    }

    // vrrp.c:3060-3100: VIPs that do not fit into one advert become excluded VIPs.
    let max_addr = {
        let hdr = if fam6 {
            14 + 40 + 8
        } else {
            14 + 20
                + 8
                + if v.version == 2 {
                    8 + if is_ah(v) { 24 } else { 0 }
                } else {
                    0
                }
        };
        ((DEFAULT_MTU - hdr) / if fam6 { 16 } else { 4 }).min(VRRP_MAX_ADDR)
    };
    if v.virtual_ipaddress.len() > max_addr {
        n.warn(
            format!(
                "({name}) Number of VIPs ({}) exceeds maximum/space available in packet (max {max_addr} addresses) - excess moved to eVIPs",
                v.virtual_ipaddress.len()
            ),
            "",
        );
        let excess = v.virtual_ipaddress.split_off(max_addr);
        v.virtual_ipaddress_excluded.splice(0..0, excess);
    }

    // vrrp.c:3102-3137: preemption.
    if owner && v.nopreempt {
        n.warn(
            format!("({name}) nopreempt is incompatible with priority 255. resetting nopreempt"),
            "",
        );
        v.nopreempt = false;
    }
    if v.state == VrrpState::Master {
        if v.nopreempt {
            n.warn(
                format!(
                    "({name}) Warning - nopreempt will not work with initial state MASTER - clearing"
                ),
                "",
            );
            v.nopreempt = false;
        }
        if v.preempt_delay.0 > 0 {
            n.warn(
                format!(
                    "({name}) Warning - preempt delay will not work with initial state MASTER - clearing"
                ),
                "",
            );
            v.preempt_delay = TimeUs(0);
        }
    }
    if v.preempt_delay.0 > 0 {
        if strict {
            n.warn(
                format!("({name}) preempt_delay is incompatible with strict mode - resetting"),
                "",
            );
            v.preempt_delay = TimeUs(0);
        } else if v.nopreempt {
            n.warn(
                format!("({name}) preempt_delay is incompatible with nopreempt mode - resetting"),
                "",
            );
            v.preempt_delay = TimeUs(0);
        }
    }

    // vrrp.c:3157: accept mode. The default (`!vrrp_strict`) is set by the parser, so an
    // accept that is on here in strict mode was written.
    if v.accept && !owner && strict && v.version == 2 {
        n.warn(
            format!(
                "({name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"
            ),
            "no_accept",
        );
        v.accept = false;
    }

    // vrrp.c:3204-3236: strict mode sends no extra GARPs on a lower priority and no advert
    // in answer to it, nor one more before yielding to a higher priority.
    if strict {
        let default_rep = g
            .vrrp_garp_lower_prio_repeat
            .unwrap_or(v.garp_master_repeat);
        if v.garp_lower_prio_repeat != 0 {
            if v.garp_lower_prio_repeat != default_rep {
                n.warn(
                    format!("({name}) Strict mode requires no repeat garps. resetting"),
                    "",
                );
            }
            v.garp_lower_prio_repeat = 0;
        }
        let default_delay = g.vrrp_garp_lower_prio_delay.unwrap_or(v.garp_master_delay);
        if v.garp_lower_prio_delay.0 != 0 {
            if v.garp_lower_prio_delay != default_delay {
                n.warn(
                    format!("({name}) Strict mode requires no repeat garp delay. resetting"),
                    "",
                );
            }
            v.garp_lower_prio_delay = Seconds(0);
        }
    }
    v.resolved.strict = strict;
    // vrrp.c:3220-3236: strict mode forces both; else the instance's, else the global's.
    v.resolved.lower_prio_no_advert = if strict {
        if v.lower_prio_no_advert == Some(false) {
            n.warn(
                format!("({name}) Strict mode requires no lower priority advert. resetting"),
                "",
            );
        }
        true
    } else {
        v.lower_prio_no_advert
            .unwrap_or(g.vrrp_lower_prio_no_advert)
    };
    v.resolved.higher_prio_send_advert = if strict {
        if v.higher_prio_send_advert == Some(true) {
            n.warn(
                format!(
                    "({name}) strict mode requires higher_prio_send_advert to be clear. resetting"
                ),
                "",
            );
        }
        false
    } else {
        v.higher_prio_send_advert
            .unwrap_or(g.vrrp_higher_prio_send_advert)
    };

    // vrrp.c:3568: "Ignoring track_interface X since own interface".
    if let Some(own) = v.interface.clone() {
        v.track_interface.retain(|t| {
            let mine = t.name == own;
            if mine {
                n.warn(
                    format!("({name}) Ignoring track_interface {own} since own interface"),
                    "not tracked, no weight",
                );
            }
            !mine
        });
    }

    // vrrp.c:3829-3903: the address owner, and a sync group member unless the group has
    // `sync_group_tracking_weight`, ignore weights.
    if in_sync_group || owner {
        let why = if in_sync_group {
            "SYNC group"
        } else {
            "address_owner"
        };
        v.track_interface.retain_mut(|t| {
            let w = t.weight.unwrap_or(0);
            if w == 0 {
                return true;
            }
            if in_sync_group {
                n.warn(
                    format!(
                        "({name}) ignoring {} tracked interface weight due to SYNC group",
                        t.name
                    ),
                    "weight 0",
                );
                t.weight = Some(0);
                t.reverse = false;
                true
            } else {
                n.warn(
                    format!(
                        "({name}) ignoring {} tracked interface due to address owner",
                        t.name
                    ),
                    "not tracked",
                );
                false
            }
        });
        v.track_script.retain(|t| {
            let w = t.weight.unwrap_or_else(|| {
                scripts
                    .iter()
                    .find(|s| s.name == t.name)
                    .map_or(0, |s| s.weight)
            });
            if w != 0 {
                n.warn(
                    format!(
                        "({name}) ignoring tracked script {} with weights due to {why}",
                        t.name
                    ),
                    "not tracked",
                );
            }
            w == 0
        });
        v.track_file.retain_mut(|t| {
            let w = t.weight.unwrap_or_else(|| {
                files
                    .iter()
                    .find(|f| f.name == t.name)
                    .map_or(1, |f| f.weight)
            });
            if w == 1 {
                n.warn(
                    format!(
                        "({name}) ignoring weight from tracked file {} due to {why}. specify weight 0",
                        t.name
                    ),
                    "weight 0",
                );
                t.weight = Some(0);
                t.reverse = false;
                true
            } else if w != 0 {
                n.warn(
                    format!(
                        "({name}) ignoring tracked file {} with weight {w} due to {why}",
                        t.name
                    ),
                    "not tracked",
                );
                false
            } else {
                true
            }
        });
    }

    complete_vmac(v, strict, n);

    // Features keepalived runs and keepalived-rs does not: the instance is held in FAULT.
    if v.resolved.not_implemented.is_none() && is_ah(v) {
        v.resolved.not_implemented =
            Some("auth_type AH is not implemented by keepalived-rs yet".to_owned());
    }
    if let Some(why) = &v.resolved.not_implemented {
        n.warn(
            format!("({name}) {why}"),
            "vrrp-core holds this instance in FAULT: never master, sends no adverts",
        );
    }
}

/// keepalived's checks of `use_vmac` and `vmac_xmit_base` after parsing (vrrp.c
/// `vrrp_complete_instance` 2999 and 3461; `vrrp_end_handler`'s are the builder's).
fn complete_vmac(v: &mut VrrpInstance, strict: bool, n: &mut Notes) {
    let name = v.name.clone();
    let Some(vmac) = v.use_vmac.as_mut() else {
        return;
    };
    if strict && vmac.mac.is_some() {
        n.warn(
            format!("({name}): cannot specify MAC address with strict mode - clearing"),
            "the VMAC has RFC 5798's MAC",
        );
        vmac.mac = None;
        vmac.mac_takes_vrid = false;
    }
    if vmac.mac_takes_vrid
        && let Some(mac) = vmac.mac.as_mut()
    {
        mac[5] = v.virtual_router_id;
    }
    if strict && v.vmac_xmit_base {
        n.warn(
            format!("({name}) xmit_base is incompatible with strict mode - resetting"),
            "adverts leave by the VMAC",
        );
        v.vmac_xmit_base = false;
    }
}

fn complete_sync_group(cfg: &mut Config, idx: usize, n: &mut Notes) {
    let members: Vec<usize> = cfg.vrrp_sync_groups[idx]
        .group
        .iter()
        .filter_map(|m| cfg.vrrp_instances.iter().position(|v| &v.name == m))
        .collect();
    let gname = cfg.vrrp_sync_groups[idx].name.clone();
    if members.is_empty() {
        return;
    }
    // vrrp.c:4017-4074 `sync_group_tracking_init`: with an address owner in the group,
    // the group's trackers lose their weights.
    let has_owner = members
        .iter()
        .any(|&i| cfg.vrrp_instances[i].priority == OWNER);
    if has_owner {
        let scripts = cfg.vrrp_scripts.clone();
        let files = cfg.track_files.clone();
        let processes = cfg.track_processes.clone();
        let sg = &mut cfg.vrrp_sync_groups[idx];
        clear_weights(
            &mut sg.track_script,
            |name| {
                scripts
                    .iter()
                    .find(|s| s.name == name)
                    .map_or(0, |s| s.weight)
            },
            n,
            |name| {
                format!(
                    "({gname}) Cannot have weighted track script '{name}' with member having priority 255 - clearing weight"
                )
            },
        );
        clear_weights(
            &mut sg.track_file,
            |name| {
                files
                    .iter()
                    .find(|f| f.name == name)
                    .map_or(1, |f| f.weight)
            },
            n,
            |name| {
                format!(
                    "({gname}) Cannot have weighted track file '{name}' with member having priority 255 - setting weight 0"
                )
            },
        );
        clear_weights(
            &mut sg.track_process,
            |name| {
                processes
                    .iter()
                    .find(|p| p.name == name)
                    .map_or(0, |p| p.weight)
            },
            n,
            |name| {
                format!(
                    "({gname}) Cannot have weighted track process '{name}' with member having priority 255 - setting weight 0"
                )
            },
        );
    }
    // vrrp.c:4640-4660: a member wanting MASTER starts as BACKUP unless every member is
    // an address owner wanting MASTER.
    let mut have_master = false;
    let mut have_backup = false;
    for &i in &members {
        let v = &cfg.vrrp_instances[i];
        have_backup |= v.state == VrrpState::Backup || v.priority != OWNER;
        have_master |= v.state == VrrpState::Master;
    }
    if have_master && have_backup {
        for &i in &members {
            let v = &mut cfg.vrrp_instances[i];
            if v.state == VrrpState::Master {
                n.note(
                    format!(
                        "Sync group {gname}: ({}) wants state MASTER but not every member is an address owner wanting MASTER",
                        v.name
                    ),
                    "state BACKUP, as keepalived",
                );
                v.state = VrrpState::Backup;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{LoadOptions, Severity, load_str};
    use std::path::Path;

    fn load(text: &str) -> Result<crate::Loaded, crate::LoadError> {
        load_str(
            text,
            Path::new("/t/keepalived.conf"),
            &LoadOptions::default(),
        )
    }

    fn warnings(l: &crate::Loaded) -> Vec<String> {
        l.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(|d| d.message.clone())
            .collect()
    }

    const STRICT: &str = r#"
global_defs {
    vrrp_strict
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    preempt_delay 10
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        198.51.100.10/24
    }
}
"#;

    #[test]
    fn strict_mode_adjusts_as_vrrp_complete_instance() {
        let l = load(STRICT).unwrap();
        let v = &l.config.vrrp_instances[0];
        assert_eq!(v.state, crate::VrrpState::Backup);
        assert!(v.authentication.is_none());
        assert_eq!(v.preempt_delay.0, 0);
        assert!(!v.accept);
        assert_eq!(
            (v.garp_lower_prio_repeat, v.garp_lower_prio_delay.0),
            (0, 0)
        );
        assert!(v.resolved.strict && v.resolved.lower_prio_no_advert);
        assert!(!v.resolved.higher_prio_send_advert);
        let w = warnings(&l).join("\n");
        assert!(
            w.contains("(VI_1) State MASTER must match being address owner"),
            "{w}"
        );
        assert!(
            w.contains("(VI_1) Strict mode does not support authentication. Ignoring."),
            "{w}"
        );
        assert!(
            w.contains("(VI_1) preempt_delay is incompatible with strict mode - resetting"),
            "{w}"
        );
        // Completing the completed model changes nothing.
        let mut again = l.config.clone();
        assert!(again.complete_vrrp().is_empty());
        assert_eq!(again, l.config);
    }

    #[test]
    fn strict_owner_stays_master_and_v2_accept_is_reset() {
        let text = STRICT
            .replace("priority 150", "priority 150\n    accept")
            .replace("preempt_delay 10\n", "");
        let l = load(&text).unwrap();
        let v = &l.config.vrrp_instances[0];
        assert!(!v.accept);
        assert!(warnings(&l).iter().any(|w| {
            w.contains("accept mode for VRRP version 2 does not comply with RFC3768 - resetting")
        }));
        let owner = load(&STRICT.replace("priority 150", "priority 255")).unwrap();
        assert_eq!(
            owner.config.vrrp_instances[0].state,
            crate::VrrpState::Master
        );
    }

    #[test]
    fn own_interface_is_not_tracked() {
        let text = r#"
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        198.51.100.10/24
    }
    track_interface {
        eth0 weight -50
        eth1 weight -10
    }
}
"#;
        let l = load(text).unwrap();
        let v = &l.config.vrrp_instances[0];
        assert_eq!(v.track_interface.len(), 1);
        assert_eq!(v.track_interface[0].name, "eth1");
        assert!(
            warnings(&l)
                .iter()
                .any(|w| w.contains("(VI_1) Ignoring track_interface eth0 since own interface"))
        );
    }

    #[test]
    fn ah_is_held_with_a_reason_and_ah_master_is_cleared_and_use_vmac_runs() {
        let text = STRICT
            .replace("global_defs {\n    vrrp_strict\n}\n", "")
            .replace("PASS", "AH");
        let l = load(&text).unwrap();
        let v = &l.config.vrrp_instances[0];
        assert_eq!(v.state, crate::VrrpState::Backup);
        assert_eq!(
            v.resolved.not_implemented.as_deref(),
            Some("auth_type AH is not implemented by keepalived-rs yet")
        );
        let w = warnings(&l).join("\n");
        assert!(
            w.contains("Initial state master is incompatible with AH authentication - clearing"),
            "{w}"
        );
        let vmac = text.replace("auth_type AH", "auth_type PASS").replace(
            "priority 150",
            "priority 150\n    use_vmac vrrp.9 2:1:2:3:4",
        );
        let l = load(&vmac).unwrap();
        let v = &l.config.vrrp_instances[0];
        assert_eq!(v.resolved.not_implemented, None);
        let u = v.use_vmac.as_ref().unwrap();
        assert_eq!(u.name.as_deref(), Some("vrrp.9"));
        assert_eq!(u.mac, Some([2, 1, 2, 3, 4, v.virtual_router_id]));
    }

    #[test]
    fn sync_group_members_and_owners_ignore_weights() {
        let text = r#"
vrrp_script chk {
    script "/bin/true"
    weight -20
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        198.51.100.10/24
    }
    track_script {
        chk
    }
    track_interface {
        eth1 weight -10
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    virtual_ipaddress {
        198.51.100.11/24
    }
}
vrrp_instance VI_3 {
    interface eth0
    virtual_router_id 53
    priority 255
    virtual_ipaddress {
        198.51.100.12/24
    }
    track_interface {
        eth1 weight -10
    }
}
"#;
        let l = load(text).unwrap();
        let v = &l.config.vrrp_instances;
        assert!(v[0].track_script.is_empty());
        assert_eq!(v[0].track_interface[0].weight, Some(0));
        assert!(v[2].track_interface.is_empty());
        let w = warnings(&l).join("\n");
        assert!(
            w.contains("(VI_1) ignoring tracked script chk with weights due to SYNC group"),
            "{w}"
        );
        assert!(
            w.contains("(VI_3) ignoring eth1 tracked interface due to address owner"),
            "{w}"
        );
    }

    #[test]
    fn sync_group_tracking_weight_keeps_the_members_weights() {
        let text = "vrrp_script chk {\n script /bin/true\n weight -20\n}\n\
            vrrp_sync_group G {\n group {\n  VI_1\n }\n sync_group_tracking_weight\n}\n\
            vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
            virtual_ipaddress {\n  198.51.100.10/24\n }\n track_script {\n  chk\n }\n \
            track_interface {\n  eth1 weight -10\n }\n}\n";
        let l = load(text).unwrap();
        let v = &l.config.vrrp_instances[0];
        assert_eq!(v.track_script.len(), 1);
        assert_eq!(v.track_interface[0].weight, Some(-10));
        assert!(l.config.vrrp_sync_groups[0].global_tracking);
        assert!(!warnings(&l).join("\n").contains("due to SYNC group"));
    }

    #[test]
    fn ipv6_takes_version_3_and_no_vip_with_v3_is_refused() {
        let text = r#"
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        2001:db8::10/64
    }
}
"#;
        let l = load(text).unwrap();
        assert_eq!(l.config.vrrp_instances[0].version, 3);
        let no_if = text.replace("    interface eth0\n", "");
        let err = load(&no_if).unwrap_err();
        assert!(
            format!("{err:?}").contains("(VI_1) Unknown interface!"),
            "{err:?}"
        );
    }
}
