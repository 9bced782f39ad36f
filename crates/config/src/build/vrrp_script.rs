//! `vrrp_script`, `track_file` and `vrrp_track_process`: what instances and sync groups
//! track.

use super::*;

impl Builder<'_> {
    /// `vrrp_script NAME { … }` (vrrp_parser.c `vrrp_script_handler` and its keywords).
    /// `None` when keepalived removes it: "No script set for vrrp_script NAME - removing".
    pub fn vrrp_script(&mut self, node: &Node<'_>) -> Option<VrrpScript> {
        let mut s = VrrpScript {
            name: self.name(node),
            script: String::new(),
            interval: TimeUs::from_secs(1),
            timeout: TimeUs(0),
            weight: 0,
            weight_reverse: false,
            fall: 1,
            rise: 1,
            user: None,
            group: None,
            init_fail: false,
        };
        let mut timeout = None;
        let mut have_script = false;
        let mut unusable_user = false;
        for n in self.block(node) {
            match kw(self, Ctx::VrrpScript, n) {
                "script" => {
                    if let Some(c) = self.command(n) {
                        s.script = c;
                        have_script = true;
                    }
                }
                // Whole seconds; 0 is 1 ("vrrp script interval must be greater than 0,
                // setting to 1"), anything else unreadable leaves the value as it was.
                "interval" => {
                    if let Some(v) = self.script_seconds(n, &s.name, "interval") {
                        s.interval = v;
                    }
                }
                "timeout" => {
                    if let Some(v) = self.script_seconds(n, &s.name, "timeout") {
                        timeout = Some(v);
                    }
                }
                // `vrrp_vscript_weight_handler` stores the number even when it reports it out
                // of -253..253; a word that is not a number is 0.
                "weight" => {
                    if let Some(t) = self.arg(n) {
                        let w = t.text.parse::<i64>();
                        if !matches!(w, Ok(-253..=253)) {
                            self.d.warn(
                                t.pos,
                                format!(
                                    "vrrp_script {} weight {} must be in [-253, 253]; keepalived \
                                     uses it as {} all the same, and so does keepalived-rs",
                                    s.name,
                                    t.text,
                                    w.as_ref().map_or(0, |v| *v)
                                ),
                            );
                        }
                        s.weight =
                            w.map_or(0, |v| v.clamp(i32::MIN.into(), i32::MAX.into()) as i32);
                    }
                    match n.args.get(1) {
                        Some(t) if t.text == "reverse" => s.weight_reverse = true,
                        Some(t) => self.d.warn(
                            t.pos,
                            format!(
                                "vrrp_script {} unknown weight option {}, ignored as keepalived \
                                 does",
                                s.name, t.text
                            ),
                        ),
                        None => {}
                    }
                }
                "fall" | "rise" => {
                    if let Some(t) = self.arg(n) {
                        let v = match t.text.parse::<u32>() {
                            Ok(v @ 1..=0x7fff_ffff) => v,
                            _ => {
                                self.d.warn(
                                    t.pos,
                                    format!(
                                        "({}): vrrp script {} value '{}' invalid, defaulting to \
                                         1, as keepalived does",
                                        s.name, n.kw.text, t.text
                                    ),
                                );
                                1
                            }
                        };
                        if n.kw.text == "fall" {
                            s.fall = v;
                        } else {
                            s.rise = v;
                        }
                    }
                }
                // vrrp_parser.c `vrrp_vscript_user_handler`: a user (or group) this host does
                // not have removes the script at the end of its block; a later good `user`
                // undoes that.
                "user" => {
                    s.user = self.string(n);
                    s.group = n.args.get(1).map(|t| t.text.owned());
                    unusable_user = match &s.user {
                        Some(u) if !self.host_has_user(u, s.group.as_deref()) => {
                            self.d.warn(
                                n.kw.pos,
                                format!(
                                    "Unable to set uid/gid for script {} (no user {u}{} on this \
                                     host): keepalived removes the script, and so does \
                                     keepalived-rs",
                                    s.script,
                                    s.group.as_ref().map_or(String::new(), |g| format!(":{g}"))
                                ),
                            );
                            true
                        }
                        _ => false,
                    };
                }
                "init_fail" => {
                    self.no_block(n);
                    s.init_fail = true;
                }
                _ => self.unknown(Ctx::VrrpScript, n),
            }
        }
        if !have_script {
            self.d.warn(
                node.close.unwrap_or(node.kw.pos),
                format!(
                    "No script set for vrrp_script {} - removing, as keepalived does",
                    s.name
                ),
            );
            return None;
        }
        if unusable_user {
            return None;
        }
        // vrrp_scheduler.c: no timeout means the interval.
        s.timeout = timeout.unwrap_or(s.interval);
        Some(s)
    }

    /// vrrp_script's `interval` and `timeout`: whole seconds, 0 read as 1.
    fn script_seconds(&mut self, n: &Node<'_>, name: &str, what: &str) -> Option<TimeUs> {
        let t = self.arg(n)?;
        match t.text.parse::<u32>() {
            Ok(0) => {
                self.d.warn(
                    t.pos,
                    format!(
                        "({name}): vrrp script {what} must be greater than 0, setting to 1, as \
                         keepalived does"
                    ),
                );
                Some(TimeUs::from_secs(1))
            }
            Ok(v @ 1..=4294) => Some(TimeUs::from_secs(v.into())),
            _ => {
                self.d.warn(
                    t.pos,
                    format!(
                        "({name}): vrrp script {what} '{}' must be between 1 and 4294 - ignoring, \
                         as keepalived does",
                        t.text
                    ),
                );
                None
            }
        }
    }

    /// `track_file NAME { … }` (trackers/track_file.c). `None` when keepalived drops it: "No
    /// file set for track_file NAME - ignoring".
    pub fn track_file(&mut self, node: &Node<'_>) -> Option<TrackFile> {
        let mut t = TrackFile {
            name: self.name(node),
            file: String::new(),
            weight: 1,
            reverse: false,
            init_file: None,
        };
        for n in self.block(node) {
            match kw(self, Ctx::TrackFile, n) {
                "file" => t.file = self.string(n).unwrap_or_default(),
                // An unusable weight is 1 (track_file.c `track_file_weight_handler`).
                "weight" => {
                    if let Some(a) = self.arg(n) {
                        t.weight = match a.text.parse::<i32>() {
                            Ok(w @ -254..=254) => w,
                            _ => {
                                self.d.warn(
                                    a.pos,
                                    format!(
                                        "Weight ({}) for track_file {} must be between \
                                         [-254..254] inclusive. Ignoring... (1 is used, as \
                                         keepalived does)",
                                        a.text, t.name
                                    ),
                                );
                                1
                            }
                        };
                    }
                    t.reverse = n.args.get(1).is_some_and(|a| a.text == "reverse");
                }
                "init_file" => {
                    self.no_block(n);
                    let mut f = InitFile {
                        value: 0,
                        overwrite: false,
                    };
                    for a in &n.args {
                        if a.text == "overwrite" {
                            f.overwrite = true;
                        } else if let Some(v) =
                            self.int_tok(a, i32::MIN as i64, i32::MAX as i64, "init_file")
                        {
                            f.value = v;
                        }
                    }
                    t.init_file = Some(f);
                }
                _ => self.unknown(Ctx::TrackFile, n),
            }
        }
        if t.file.is_empty() {
            self.d.warn(
                node.close.unwrap_or(node.kw.pos),
                format!(
                    "No file set for track_file {} - ignoring, as keepalived does",
                    t.name
                ),
            );
            return None;
        }
        Some(t)
    }

    /// `vrrp_track_process NAME { … }` (vrrp_parser.c `vrrp_tprocess_*`). `None` when
    /// keepalived frees it: "track process 'NAME' process name not specified".
    pub fn track_process(&mut self, node: &Node<'_>) -> Option<TrackProcess> {
        let mut t = TrackProcess {
            name: self.name(node),
            process: String::new(),
            params: Vec::new(),
            param_match: None,
            full_command: false,
            weight: 0,
            reverse: false,
            quorum: 1,
            quorum_max: u32::MAX,
            terminate_delay: TimeUs(0),
            fork_delay: TimeUs(0),
        };
        let name = t.name.clone();
        let mut have_process = false;
        for n in self.block(node) {
            let word = kw(self, Ctx::TrackProcess, n);
            match word {
                "process" => {
                    let Some(p) = self.arg(n) else { continue };
                    if have_process {
                        self.d.warn(
                            p.pos,
                            format!(
                                "Process already set for track process {name} - ignoring {}, as \
                                 keepalived does",
                                p.text
                            ),
                        );
                        continue;
                    }
                    have_process = true;
                    t.process = p.text.owned();
                    t.params = n.args[1..].iter().map(|a| a.text.owned()).collect();
                    if !t.params.is_empty() {
                        t.param_match.get_or_insert(ParamMatch::Exact);
                        t.full_command = true;
                    }
                }
                "param_match" => {
                    self.no_block(n);
                    let m = match n.args.first().map(|a| a.text.as_str()) {
                        None => ParamMatch::Exact,
                        Some("initial") => ParamMatch::Initial,
                        Some("partial") => ParamMatch::Partial,
                        Some(other) => {
                            self.d.warn(
                                n.args[0].pos,
                                format!(
                                    "Invalid param_match type {other} - ignoring, as keepalived \
                                     does"
                                ),
                            );
                            continue;
                        }
                    };
                    t.param_match = Some(m);
                    t.full_command = true;
                }
                "weight" => {
                    self.no_block(n);
                    let Some(a) = n.args.first() else {
                        self.d.warn(
                            n.kw.pos,
                            format!("No weight specified for track process {name} - ignoring"),
                        );
                        continue;
                    };
                    if t.weight != 0 {
                        self.d.warn(
                            a.pos,
                            format!(
                                "Weight already set for track process {name} - ignoring {}, as \
                                 keepalived does",
                                a.text
                            ),
                        );
                        continue;
                    }
                    let Ok(w @ -254..=254) = a.text.parse::<i32>() else {
                        self.d.warn(
                            a.pos,
                            format!(
                                "Weight ({}) for vrrp_track_process {name} must be between \
                                 [-254..254] inclusive. Ignoring...",
                                a.text
                            ),
                        );
                        continue;
                    };
                    match n.args.get(1) {
                        Some(o) if o.text == "reverse" => t.reverse = true,
                        Some(o) => self.d.warn(
                            o.pos,
                            format!(
                                "vrrp_track_process {name} unknown weight option {} - ignored, \
                                 as keepalived does",
                                o.text
                            ),
                        ),
                        None => {}
                    }
                    t.weight = w;
                }
                "quorum" => {
                    let Some(a) = self.arg(n) else { continue };
                    let Ok(q @ 1..=65535) = a.text.parse::<u32>() else {
                        self.d.warn(
                            a.pos,
                            format!(
                                "Quorum ({}) for vrrp_track_process {name} must be between \
                                 [1..65535] inclusive. Ignoring...",
                                a.text
                            ),
                        );
                        continue;
                    };
                    if q > t.quorum_max {
                        self.d.warn(
                            a.pos,
                            "Quorum is greater than quorum_max - ignoring, as keepalived does",
                        );
                        continue;
                    }
                    t.quorum = q;
                }
                "quorum_max" => {
                    let Some(a) = self.arg(n) else { continue };
                    let Ok(q @ 0..=65535) = a.text.parse::<u32>() else {
                        self.d.warn(
                            a.pos,
                            format!(
                                "quorum_max ({}) for vrrp_track_process {name} must be between \
                                 [0..65535] inclusive. Ignoring...",
                                a.text
                            ),
                        );
                        continue;
                    };
                    // `quorum_max 0` is allowed while quorum is the default.
                    if (q != 0 || t.quorum > 1) && q < t.quorum {
                        self.d.warn(
                            a.pos,
                            "quorum_max is less than quorum - ignoring, as keepalived does",
                        );
                        continue;
                    }
                    t.quorum_max = q;
                    if q == 0 {
                        t.quorum = 0;
                    } else if t.quorum == 0 {
                        t.quorum = 1;
                    }
                }
                "delay" | "terminate_delay" | "fork_delay" => {
                    let Some(a) = self.arg(n) else { continue };
                    let delay =
                        TimeUs::parse(&a.text).filter(|d| (1..=3_600_000_000).contains(&d.0));
                    let Some(delay) = delay else {
                        let which = word.strip_suffix("delay").unwrap_or_default();
                        self.d.warn(
                            a.pos,
                            format!(
                                "{which}delay ({}) for vrrp_track_process {name} must be \
                                 between [0.000001..3600] inclusive. Ignoring...",
                                a.text
                            ),
                        );
                        continue;
                    };
                    if word != "fork_delay" {
                        t.terminate_delay = delay;
                    }
                    if word != "terminate_delay" {
                        t.fork_delay = delay;
                    }
                }
                "full_command" => {
                    self.no_block(n);
                    t.full_command = true;
                }
                _ => self.unknown(Ctx::TrackProcess, n),
            }
        }
        if !have_process {
            self.d.warn(
                node.close.unwrap_or(node.kw.pos),
                format!(
                    "track process '{name}' process name not specified - ignoring, as \
                     keepalived does"
                ),
            );
            return None;
        }
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use crate::{LoadOptions, ParamMatch, TimeUs, load_str};
    use std::path::Path;

    fn load(text: &str) -> crate::Loaded {
        load_str(
            text,
            Path::new("/t/keepalived.conf"),
            &LoadOptions::default(),
        )
        .expect("loads")
    }

    fn said(l: &crate::Loaded) -> String {
        l.diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn vrrp_track_process_reads_as_keepalived_2_2_7() {
        let l = load(
            "vrrp_track_process haproxy {\n process /usr/sbin/haproxy -f /etc/haproxy.cfg\n \
             weight -20 reverse\n quorum 2\n quorum_max 4\n delay 1.5\n fork_delay 0.25\n}\n\
             vrrp_track_process nginx {\n process nginx\n}\n",
        );
        let [h, n] = &l.config.track_processes[..] else {
            panic!("{:?}", l.config.track_processes)
        };
        assert_eq!(h.process, "/usr/sbin/haproxy");
        assert_eq!(h.params, ["-f", "/etc/haproxy.cfg"]);
        // Arguments after the name mean an exact match on the command line.
        assert_eq!(
            (h.param_match, h.full_command),
            (Some(ParamMatch::Exact), true)
        );
        assert_eq!(
            (h.weight, h.reverse, h.quorum, h.quorum_max),
            (-20, true, 2, 4)
        );
        // `delay` sets both; a later `fork_delay` overrides one.
        assert_eq!(
            (h.terminate_delay, h.fork_delay),
            (TimeUs(1_500_000), TimeUs(250_000))
        );
        // The defaults: comm match, weight 0 (a FAULT), quorum 1, no upper bound.
        assert_eq!((n.param_match, n.full_command, n.weight), (None, false, 0));
        assert_eq!((n.quorum, n.quorum_max), (1, u32::MAX));
    }

    #[test]
    fn quorum_and_weight_errors_leave_the_values_as_keepalived_does() {
        let l = load(
            "vrrp_track_process p {\n process p\n quorum_max 0\n weight 300\n weight 5\n \
             weight 6\n param_match partial\n param_match bogus\n}\n\
             vrrp_track_process q {\n process q\n quorum 3\n quorum_max 2\n quorum 0\n}\n\
             vrrp_track_process r {\n weight 1\n}\n",
        );
        let [p, q] = &l.config.track_processes[..] else {
            panic!("{:?}", l.config.track_processes)
        };
        // `quorum_max 0` alone: up only while no such process runs.
        assert_eq!((p.quorum, p.quorum_max), (0, 0));
        assert_eq!(
            p.weight, 5,
            "300 is out of range; a second weight is ignored"
        );
        assert_eq!(
            (p.param_match, p.full_command),
            (Some(ParamMatch::Partial), true)
        );
        assert_eq!((q.quorum, q.quorum_max), (3, u32::MAX));
        let s = said(&l);
        for m in [
            "Weight (300) for vrrp_track_process p must be between [-254..254] inclusive. Ignoring...",
            "Weight already set for track process p - ignoring 6",
            "Invalid param_match type bogus - ignoring",
            "quorum_max is less than quorum - ignoring",
            "Quorum (0) for vrrp_track_process q must be between [1..65535] inclusive. Ignoring...",
            "track process 'r' process name not specified - ignoring",
        ] {
            assert!(s.contains(m), "missing {m:?} in\n{s}");
        }
    }

    #[test]
    fn track_process_entries_bind_to_defined_processes_with_their_weights() {
        let l = load(
            "vrrp_track_process p {\n process p\n weight 10\n}\n\
             vrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n priority 100\n \
             track_process {\n  p\n  p weight 3\n  missing\n }\n}\n\
             vrrp_sync_group G {\n group {\n  VI_1\n }\n track_process {\n  p weight -7 reverse\n }\n}\n",
        );
        let vi = &l.config.vrrp_instances[0];
        assert_eq!(vi.track_process.len(), 1);
        assert_eq!(
            (&*vi.track_process[0].name, vi.track_process[0].weight),
            ("p", None)
        );
        let sg = &l.config.vrrp_sync_groups[0];
        assert_eq!(
            (sg.track_process[0].weight, sg.track_process[0].reverse),
            (Some(-7), true)
        );
        let s = said(&l);
        assert!(
            s.contains("(VI_1) duplicate track process p - ignoring"),
            "{s}"
        );
        assert!(
            s.contains("(VI_1) track process missing not found, ignoring..."),
            "{s}"
        );
    }
}
