//! `vrrp_instance` and `vrrp_sync_group`.

use super::tracking::TrackKind;
use super::*;

impl Builder<'_> {
    pub fn vrrp_instance(&mut self, node: &Node<'_>, g: &GlobalDefs) -> VrrpInstance {
        let mut v = VrrpInstance {
            name: self.name(node),
            state: VrrpState::Backup,
            interface: None,
            virtual_router_id: 0,
            priority: 100,
            advert_int: Centiseconds(100),
            version: g.vrrp_version,
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            unicast_src_ip: None,
            unicast_peer: Vec::new(),
            nopreempt: false,
            preempt_delay: TimeUs(0),
            accept: !g.vrrp_strict,
            track_script: Vec::new(),
            track_interface: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            notify: None,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify_deleted: None,
            smtp_alert: None,
            notify_priority_changes: None,
            garp_master_delay: g.vrrp_garp_master_delay,
            garp_master_repeat: g.vrrp_garp_master_repeat,
            garp_master_refresh: g.vrrp_garp_master_refresh,
            garp_master_refresh_repeat: g.vrrp_garp_master_refresh_repeat,
            garp_lower_prio_delay: Seconds(0),
            garp_lower_prio_repeat: 0,
            use_vmac: None,
            vmac_xmit_base: false,
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            strict_mode: None,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            resolved: VrrpResolved::default(),
        };
        let mut state_set: Option<Pos> = None;
        let mut priority_set = false;
        let mut vrid_seen = false;
        let mut advert: Option<(TimeUs, Pos)> = None;
        let mut lp_delay = None;
        let mut lp_repeat = None;
        for n in self.block(node) {
            match kw(self, Ctx::VrrpInstance, n) {
                // vrrp_parser.c `vrrp_state_handler`: MASTER, once given, wins over a later
                // BACKUP; any other word (SLAVE, master, EQUAL…) is BACKUP.
                "state" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.as_str() {
                            "MASTER" => v.state = VrrpState::Master,
                            "BACKUP" if state_set.is_some() && v.state == VrrpState::Master => {
                                self.d.warn(
                                    t.pos,
                                    format!(
                                        "({}) state previously set as MASTER - ignoring BACKUP, \
                                         as keepalived does",
                                        v.name
                                    ),
                                )
                            }
                            "BACKUP" => v.state = VrrpState::Backup,
                            o => {
                                self.d.warn(
                                    t.pos,
                                    format!(
                                        "({}) unknown state '{o}', defaulting to BACKUP, as \
                                         keepalived does",
                                        v.name
                                    ),
                                );
                                v.state = VrrpState::Backup;
                            }
                        }
                        state_set = Some(t.pos);
                    }
                }
                // vrrp_parser.c `vrrp_int_handler`: a loopback is refused, a missing
                // interface reported (keepalived's VRRP process then stops: "Non-existent
                // interface specified in configuration").
                "interface" => {
                    let Some(t) = self.arg(n) else { continue };
                    match self.interfaces.map(|m| m.get(t.text.as_str())) {
                        Some(Some(true)) => {
                            self.d.warn(
                                t.pos,
                                format!(
                                    "({}) cannot use a loopback interface ({}) for vrrp - \
                                     ignoring (as keepalived)",
                                    v.name, t.text
                                ),
                            );
                            continue;
                        }
                        Some(None) => self.d.warn(
                            t.pos,
                            format!(
                                "WARNING - interface {} for vrrp_instance {} doesn't exist: \
                                 keepalived's VRRP process does not start then (\"Non-existent \
                                 interface specified in configuration\"); vrrp-core starts \
                                 without this instance",
                                t.text, v.name
                            ),
                        ),
                        _ => {}
                    }
                    v.interface = Some(t.text.owned());
                }
                "virtual_router_id" => {
                    if let Some(x) = self.int(n, 1, 255) {
                        v.virtual_router_id = x as u8;
                        vrid_seen = true;
                    }
                }
                // `vrrp_prio_handler`: an invalid or out-of-range priority is the default 100.
                "priority" => {
                    if let Some(t) = self.arg(n) {
                        v.priority = match t.text.parse::<u32>() {
                            Ok(x @ 1..=255) => x as u8,
                            _ => {
                                self.d.warn(
                                    t.pos,
                                    format!(
                                        "({}) Priority not valid! must be between 1 & 255. Using \
                                         default 100 (as keepalived)",
                                        v.name
                                    ),
                                );
                                100
                            }
                        };
                        priority_set = true;
                    }
                }
                // `vrrp_adv_handler`: 0.01..255 s; anything else leaves the default (1 s).
                "advert_int" => {
                    if let Some(t) = self.arg(n) {
                        match TimeUs::parse(&t.text) {
                            Some(x) if (10_000..=255_000_000).contains(&x.0) => {
                                advert = Some((x, t.pos))
                            }
                            _ => self.d.warn(
                                t.pos,
                                format!(
                                    "({}) Advert interval ({}) not valid! Must be 0.01..255 \
                                     seconds - ignoring, as keepalived does",
                                    v.name, t.text
                                ),
                            ),
                        }
                    }
                }
                // `vrrp_version_handler`: 2 or 3, else unchanged.
                "version" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.as_str() {
                            "2" => v.version = 2,
                            "3" => v.version = 3,
                            o => self.d.warn(
                                t.pos,
                                format!(
                                    "({}): Version must be either 2 or 3, got '{o}' - ignored, as \
                                     keepalived does",
                                    v.name
                                ),
                            ),
                        }
                    }
                }
                "authentication" => {
                    let mut ty = None;
                    let mut pass = None;
                    for a in self.block(n) {
                        same_line_keyword(self, Ctx::Authentication, a);
                        match a.kw.text.as_str() {
                            "auth_type" => {
                                if let Some(t) = self.arg(a) {
                                    ty = match t.text.as_str() {
                                        "PASS" => Some(AuthType::Pass),
                                        "AH" => Some(AuthType::Ah),
                                        o => {
                                            self.d.warn(
                                                t.pos,
                                                format!(
                                                    "unknown authentication type '{o}' (PASS \
                                                     or AH) - ignored, as keepalived does"
                                                ),
                                            );
                                            None
                                        }
                                    }
                                }
                            }
                            "auth_pass" => {
                                if let Some(t) = self.arg(a) {
                                    let mut p = t.text.owned();
                                    if p.chars().count() > 8 {
                                        // VRRPv2 carries 8 octets of password (RFC 2338 §5.3.10).
                                        self.d.warn(
                                            t.pos,
                                            "auth_pass longer than 8 characters, truncated to 8",
                                        );
                                        p = p.chars().take(8).collect();
                                    }
                                    pass = Some(p);
                                }
                            }
                            _ => self.unknown(Ctx::Authentication, a),
                        }
                    }
                    match ty {
                        Some(auth_type) => {
                            v.authentication = Some(Authentication {
                                auth_type,
                                auth_pass: pass.unwrap_or_default(),
                            })
                        }
                        None => self.d.warn(
                            n.kw.pos,
                            "authentication block without a valid auth_type: no \
                             authentication, as keepalived",
                        ),
                    }
                }
                "virtual_ipaddress" => {
                    let l = self.vip_list(n, false);
                    v.virtual_ipaddress.extend(l)
                }
                "virtual_ipaddress_excluded" => {
                    let l = self.vip_list(n, true);
                    v.virtual_ipaddress_excluded.extend(l)
                }
                // vrrp_parser.c `vrrp_srcip_handler`: a malformed address is skipped.
                "unicast_src_ip" | "mcast_src_ip" => {
                    if let Some(t) = self.arg(n) {
                        match self.lenient_sockaddr(t, &n.kw.text) {
                            Some(ip) => v.unicast_src_ip = Some(ip),
                            None => self.d.warn(
                                t.pos,
                                format!(
                                    "Configuration error: VRRP instance[{}] malformed src \
                                     address[{}]. Skipping... (as keepalived)",
                                    v.name, t.text
                                ),
                            ),
                        }
                    }
                }
                // vrrp_data.c `alloc_unicast_peer`: a malformed peer, or one of the other
                // family, is skipped.
                "unicast_peer" => {
                    for c in self.block(n) {
                        let Some(ip) = self.lenient_sockaddr(&c.kw, "unicast_peer") else {
                            self.d.warn(
                                c.kw.pos,
                                format!(
                                    "Configuration error: VRRP instance[{}] malformed unicast \
                                     peer address[{}]. Skipping... (as keepalived)",
                                    v.name, c.kw.text
                                ),
                            );
                            continue;
                        };
                        if let Some(first) = v.unicast_peer.first()
                            && first.is_ipv4() != ip.is_ipv4()
                        {
                            self.d.warn(
                                c.kw.pos,
                                format!(
                                    "Configuration error: VRRP instance[{}] and unicast peer \
                                     address[{ip}] MUST be of the same family !!! Skipping... \
                                     (as keepalived)",
                                    v.name
                                ),
                            );
                            continue;
                        }
                        v.unicast_peer.push(ip);
                    }
                }
                "nopreempt" => {
                    self.no_block(n);
                    v.nopreempt = true;
                }
                "preempt" => {
                    self.no_block(n);
                    v.nopreempt = false;
                }
                // `vrrp_preempt_delay_handler`: 0..1000 s, anything else is 0.
                "preempt_delay" => {
                    if let Some(t) = self.arg(n) {
                        v.preempt_delay = match TimeUs::parse(&t.text) {
                            Some(x) if x <= TimeUs::from_secs(1000) => x,
                            _ => {
                                self.d.warn(
                                    t.pos,
                                    format!(
                                        "({}) Preempt_delay not valid! must be between 0-1000: 0 \
                                         is used, as keepalived does",
                                        v.name
                                    ),
                                );
                                TimeUs(0)
                            }
                        };
                    }
                }
                "accept" => {
                    self.no_block(n);
                    v.accept = true
                }
                "no_accept" => {
                    self.no_block(n);
                    v.accept = false
                }
                "track_script" => {
                    let l = self.track_list(n, TrackKind::Script, &v.name);
                    v.track_script.extend(l)
                }
                "track_interface" => {
                    let l = self.track_list(n, TrackKind::Interface, &v.name);
                    v.track_interface.extend(l)
                }
                "track_file" => {
                    let l = self.track_list(n, TrackKind::File, &v.name);
                    v.track_file.extend(l)
                }
                "track_process" => {
                    let l = self.track_list(n, TrackKind::Process, &v.name);
                    v.track_process.extend(l)
                }
                "notify" => self.first_script(n, &mut v.notify),
                "notify_master" => self.first_script(n, &mut v.notify_master),
                "notify_backup" => self.first_script(n, &mut v.notify_backup),
                "notify_fault" => self.first_script(n, &mut v.notify_fault),
                "notify_stop" => self.first_script(n, &mut v.notify_stop),
                "notify_deleted" => v.notify_deleted = self.script(n),
                "smtp_alert" => {
                    if let Some(b) = self.flag(n) {
                        v.smtp_alert = Some(b)
                    }
                }
                "garp_master_delay" => {
                    if let Some(x) = self.int(n, 0, i64::from(u32::MAX)) {
                        v.garp_master_delay = Seconds(x as u32)
                    }
                }
                "garp_master_repeat" => {
                    if let Some(x) = self.repeat(n) {
                        v.garp_master_repeat = x
                    }
                }
                "garp_master_refresh" => {
                    if let Some(x) = self.int(n, 0, i64::from(u32::MAX)) {
                        v.garp_master_refresh = Seconds(x as u32)
                    }
                }
                "garp_master_refresh_repeat" => {
                    if let Some(x) = self.repeat(n) {
                        v.garp_master_refresh_repeat = x
                    }
                }
                "garp_lower_prio_delay" => {
                    lp_delay = self
                        .int(n, 0, i64::from(u32::MAX))
                        .map(|x| Seconds(x as u32))
                }
                "garp_lower_prio_repeat" => {
                    lp_repeat = self.int(n, 0, i64::from(u32::MAX)).map(|x| x as u32)
                }
                "use_vmac" => {
                    self.no_block(n);
                    let mut vmac = v.use_vmac.take().unwrap_or(UseVmac {
                        name: None,
                        mac: None,
                        mac_takes_vrid: false,
                    });
                    let instance = v.name.clone();
                    self.use_vmac_args(n, &instance, &mut vmac);
                    v.use_vmac = Some(vmac);
                }
                // vrrp_parser.c `vrrp_vmac_xmit_base_handler`: sets the flag, reads no value.
                "vmac_xmit_base" => {
                    self.no_block(n);
                    v.vmac_xmit_base = true;
                }
                "strict_mode" => {
                    if let Some(b) = self.flag(n) {
                        v.strict_mode = Some(b)
                    }
                }
                "lower_prio_no_advert" => {
                    if let Some(b) = self.flag(n) {
                        v.lower_prio_no_advert = Some(b)
                    }
                }
                "notify_priority_changes" => {
                    if let Some(b) = self.flag(n) {
                        v.notify_priority_changes = Some(b)
                    }
                }
                "higher_prio_send_advert" => {
                    if let Some(b) = self.flag(n) {
                        v.higher_prio_send_advert = Some(b)
                    }
                }
                "virtual_rules" => {
                    for c in self.block(n) {
                        let r = self.rule(c);
                        v.virtual_rules.push(r);
                    }
                }
                "virtual_routes" => {
                    for c in self.block(n) {
                        let r = self.route(c);
                        v.virtual_routes.push(r);
                    }
                }
                _ => self.unknown(Ctx::VrrpInstance, n),
            }
        }
        let name = v.name.clone();
        if !vrid_seen {
            self.d.error(
                node.kw.pos,
                format!("vrrp_instance {name}: virtual_router_id is required"),
            );
        }
        // Interval: v2 carries whole seconds (RFC 3768 §5.3.7), v3 centiseconds (RFC 5798 §5.2.7);
        // vrrp.c `vrrp_complete_instance` rounds (half up) and clamps rather than refusing.
        if let Some((t, pos)) = advert {
            if v.version == 2 {
                let secs = ((t.0 + 500_000) / 1_000_000).max(1);
                if t.0 % 1_000_000 != 0 {
                    self.d.warn(
                        pos,
                        format!(
                            "({name}) VRRPv2 advertisement interval {t} must be an integer. \
                             rounding to {secs} s, as keepalived does"
                        ),
                    );
                }
                v.advert_int = Centiseconds::from_secs(secs as u32);
            } else {
                let mut cs = ((t.0 + 5_000) / 10_000).max(1);
                if cs > 4095 {
                    self.d.warn(
                        pos,
                        format!(
                            "({name}) VRRPv3 advertisement interval {t} is out of range. Must be \
                             less than 40.96 s. Setting to 40.95 s, as keepalived does"
                        ),
                    );
                    cs = 4095;
                } else if t.0 % 10_000 != 0 {
                    self.d.warn(
                        pos,
                        format!(
                            "({name}) VRRPv3 advertisement interval {t} must be in units of \
                             10ms - rounding, as keepalived does"
                        ),
                    );
                }
                v.advert_int = Centiseconds(cs as u32);
            }
        }
        // vrrp.c: with no priority configured it follows the initial state (MASTER is the
        // address owner, 255), and with no state the state follows the priority.
        if !priority_set && state_set.is_some() && v.state == VrrpState::Master {
            v.priority = 255;
        }
        // An explicit `state BACKUP` with priority 255 stays BACKUP (vrrp.c derives the state
        // from the priority only when none is given); nopreempt with MASTER and the other
        // post-parse adjustments are in vrrp_complete.rs.
        if state_set.is_none() && v.priority == 255 {
            v.state = VrrpState::Master;
        }
        if v.version == 3 && v.authentication.is_some() {
            self.d.warn(
                node.kw.pos,
                format!("({name}) VRRP version 3 does not support authentication. Ignoring."),
            );
            v.authentication = None;
        }
        let fam6 = v
            .virtual_ipaddress
            .first()
            .is_some_and(|a| a.address.is_ipv6());
        if fam6
            && matches!(
                v.authentication,
                Some(Authentication {
                    auth_type: AuthType::Ah,
                    ..
                })
            )
        {
            self.d.warn(
                node.kw.pos,
                format!("({name}) Cannot use AH authentication with IPv6. ignoring"),
            );
            v.authentication = None;
        }
        if let Some(src) = v.unicast_src_ip
            && let Some(p) = v.unicast_peer.first()
            && p.is_ipv4() != src.is_ipv4()
        {
            self.d.warn(
                node.kw.pos,
                format!(
                    "Configuration error: VRRP instance[{name}] and src address[{src}] MUST be of \
                     the same family !!! Skipping... (as keepalived)"
                ),
            );
            v.unicast_src_ip = None;
        }
        v.garp_lower_prio_delay = lp_delay
            .or(g.vrrp_garp_lower_prio_delay)
            .unwrap_or(v.garp_master_delay);
        v.garp_lower_prio_repeat = lp_repeat
            .or(g.vrrp_garp_lower_prio_repeat)
            .unwrap_or(v.garp_master_repeat);
        // vrrp_parser.c `vrrp_end_handler`, at the block's `}`.
        if v.use_vmac.is_some() && !v.unicast_peer.is_empty() {
            let pos = node.close.unwrap_or(node.kw.pos);
            if v.interface.is_none() {
                self.d.warn(
                    pos,
                    format!(
                        "({}): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac",
                        v.name
                    ),
                );
                v.use_vmac = None;
            } else if !v.vmac_xmit_base {
                self.d.warn(
                    pos,
                    format!(
                        "({}) unicast with use_vmac requires vmac_xmit_base - setting",
                        v.name
                    ),
                );
                v.vmac_xmit_base = true;
            }
        }
        v
    }

    pub fn sync_group(&mut self, node: &Node<'_>) -> VrrpSyncGroup {
        let mut s = VrrpSyncGroup {
            name: self.name(node),
            group: Vec::new(),
            notify: None,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            smtp_alert: None,
            notify_priority_changes: None,
            global_tracking: false,
            track_script: Vec::new(),
            track_interface: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
        };
        for n in self.block(node) {
            match kw(self, Ctx::SyncGroup, n) {
                "group" => {
                    let w = self.words(n);
                    s.group.extend(w)
                }
                "notify" => self.first_script(n, &mut s.notify),
                "notify_master" => self.first_script(n, &mut s.notify_master),
                "notify_backup" => self.first_script(n, &mut s.notify_backup),
                "notify_fault" => self.first_script(n, &mut s.notify_fault),
                "notify_stop" => self.first_script(n, &mut s.notify_stop),
                "smtp_alert" => {
                    if let Some(b) = self.flag(n) {
                        s.smtp_alert = Some(b)
                    }
                }
                "global_tracking" => {
                    if let Some(b) = self.flag(n) {
                        s.global_tracking = b
                    }
                }
                // vrrp_parser.c `vrrp_sg_tracking_weight_handler`: the flag global_tracking
                // also sets; any words after it are not read.
                "notify_priority_changes" => {
                    if let Some(b) = self.flag(n) {
                        s.notify_priority_changes = Some(b)
                    }
                }
                "sync_group_tracking_weight" => {
                    self.no_block(n);
                    s.global_tracking = true;
                }
                "track_script" => {
                    let l = self.track_list(n, TrackKind::Script, &s.name);
                    s.track_script.extend(l)
                }
                "track_interface" => {
                    let l = self.track_list(n, TrackKind::Interface, &s.name);
                    s.track_interface.extend(l)
                }
                "track_file" => {
                    let l = self.track_list(n, TrackKind::File, &s.name);
                    s.track_file.extend(l)
                }
                "track_process" => {
                    let l = self.track_list(n, TrackKind::Process, &s.name);
                    s.track_process.extend(l)
                }
                _ => self.unknown(Ctx::SyncGroup, n),
            }
        }
        s
    }

    /// vrrp_parser.c `vrrp_vmac_handler`: up to two words, an interface name and a MAC
    /// address (a word with a `:`), each at most once; a bad one is reported and ignored.
    fn use_vmac_args(&mut self, n: &Node<'_>, instance: &str, vmac: &mut UseVmac) {
        for t in n.args.iter().take(2) {
            let word = t.text.as_str();
            if word.contains(':') {
                if vmac.mac.is_some() {
                    self.d
                        .warn(t.pos, "VMAC interface address already specified".to_owned());
                    continue;
                }
                match parse_vmac_mac(word) {
                    Err(why) => self.d.warn(t.pos, why),
                    Ok((mac, takes_vrid)) => {
                        vmac.mac = Some(mac);
                        vmac.mac_takes_vrid = takes_vrid;
                    }
                }
            } else {
                if vmac.name.is_some() {
                    self.d
                        .warn(t.pos, "VMAC interface name already specified".to_owned());
                    continue;
                }
                if !dev_name_valid(word) {
                    self.d.warn(
                        t.pos,
                        format!(
                            "VMAC interface name '{word}' too long or invalid characters - ignoring"
                        ),
                    );
                    continue;
                }
                if let Some((_, other)) = self.vmac_names.iter().find(|(w, _)| w == word) {
                    self.d.warn(
                        t.pos,
                        format!(
                            "({instance}) VRRP instance {other} is already using {word} - ignoring name"
                        ),
                    );
                    continue;
                }
                self.vmac_names.push((word.to_owned(), instance.to_owned()));
                vmac.name = Some(word.to_owned());
            }
        }
    }
}

/// The kernel's `dev_valid_name` (net/core/dev.c), as keepalived copies it.
fn dev_name_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
}

/// A `use_vmac` MAC address as keepalived reads it: six hex octets of one or two digits
/// separated by `:` (keepalived reads six and ignores what follows), or five (optionally
/// with a trailing `:`), the sixth being the VRID.
/// A multicast address, or one of RFC 5798's own (00:00:5e:00:01/02:xx), is refused.
/// `Ok((mac, takes_vrid))`, or keepalived's words.
fn parse_vmac_mac(word: &str) -> Result<([u8; 6], bool), String> {
    if !word.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
        return Err(format!("VMAC invalid MAC address {word}"));
    }
    let invalid = || format!("VMAC invalid MAC address {word} - ignored");
    let parts: Vec<&str> = word.split(':').collect();
    let (octets, takes_vrid) = match parts.as_slice() {
        [o @ .., ""] if o.len() == 5 => (o, true),
        o if o.len() == 5 => (o, true),
        o if o.len() >= 6 => (&o[..6], false),
        _ => return Err(invalid()),
    };
    let mut mac = [0u8; 6];
    for (slot, o) in mac.iter_mut().zip(octets.iter()) {
        if o.is_empty() || o.len() > 2 {
            return Err(invalid());
        }
        *slot = u8::from_str_radix(o, 16).map_err(|_| invalid())?;
    }
    if mac[0] & 0x01 != 0 {
        return Err(format!("VMAC MAC address is multicast {word} - ignoring"));
    }
    if mac[..4] == [0x00, 0x00, 0x5e, 0x00] && (mac[4] == 0x01 || mac[4] == 0x02) {
        return Err(format!(
            "VMAC MAC address not allowed to be RFC5798 address ({word}) - ignoring"
        ));
    }
    Ok((mac, takes_vrid))
}

#[cfg(test)]
mod vmac_tests {
    use super::*;

    #[test]
    fn vmac_macs_are_read_as_keepalived_reads_them() {
        assert_eq!(
            parse_vmac_mac("02:11:22:33:44:55"),
            Ok(([2, 0x11, 0x22, 0x33, 0x44, 0x55], false))
        );
        assert_eq!(
            parse_vmac_mac("2:a:b:c:d"),
            Ok(([2, 10, 11, 12, 13, 0], true))
        );
        assert_eq!(
            parse_vmac_mac("2:a:b:c:d:"),
            Ok(([2, 10, 11, 12, 13, 0], true))
        );
        assert_eq!(
            parse_vmac_mac("01:00:00:00:00:01"),
            Err("VMAC MAC address is multicast 01:00:00:00:00:01 - ignoring".into())
        );
        assert_eq!(
            parse_vmac_mac("00:00:5e:00:01:07"),
            Err(
                "VMAC MAC address not allowed to be RFC5798 address (00:00:5e:00:01:07) - ignoring"
                    .into()
            )
        );
        assert_eq!(
            parse_vmac_mac("2:1:2:3:4:5:6:"),
            Ok(([2, 1, 2, 3, 4, 5], false))
        );
        for bad in ["02:1:2", "02:123:2:3:4:5", "02::2:3:4:5", "2:1:2:3:4::7"] {
            assert_eq!(
                parse_vmac_mac(bad),
                Err(format!("VMAC invalid MAC address {bad} - ignored"))
            );
        }
        assert_eq!(
            parse_vmac_mac("0g:1:2:3:4:5"),
            Err("VMAC invalid MAC address 0g:1:2:3:4:5".into())
        );
        assert!(dev_name_valid("vrrp.51") && !dev_name_valid("a/b"));
        assert!(!dev_name_valid("sixteen-chars-xx"));
    }
}
