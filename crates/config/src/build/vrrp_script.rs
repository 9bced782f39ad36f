//! `vrrp_script` and `track_file`: what instances and sync groups track.

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
}
