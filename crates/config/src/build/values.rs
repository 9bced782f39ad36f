//! Value readers shared by every block: arguments, numbers, times, addresses, switches and
//! scripts, each read the way keepalived 2.2.7's handlers read them.

use super::*;

impl Builder<'_> {
    pub(super) fn block<'n>(&mut self, n: &'n Node<'n>) -> &'n [Node<'n>] {
        match &n.block {
            Some(b) => b,
            None => {
                self.d
                    .error(n.kw.pos, format!("'{}' needs a {{ }} block", n.kw.text));
                &[]
            }
        }
    }

    pub(super) fn no_block(&mut self, n: &Node<'_>) {
        if n.block.is_some() {
            self.d.warn(
                n.kw.pos,
                format!(
                    "'{}' does not take a {{ }} block: the block is ignored",
                    n.kw.text
                ),
            );
        }
    }

    pub(super) fn arg<'n>(&mut self, n: &'n Node<'n>) -> Option<&'n Tok<'n>> {
        self.no_block(n);
        let a = n.args.first();
        if a.is_none() {
            self.d
                .error(n.kw.pos, format!("'{}' needs a value", n.kw.text));
        }
        a
    }

    pub(super) fn string(&mut self, n: &Node<'_>) -> Option<String> {
        self.arg(n).map(|t| t.text.owned())
    }

    /// A number in `lo..=hi`. keepalived's readers (lib/parser.c `read_int_func`,
    /// `read_unsigned_func`) report a bad or out-of-range number and its handler then leaves
    /// the setting as it was, so this warns and gives `None` ("unchanged").
    pub(super) fn int_tok(&mut self, t: &Tok<'_>, lo: i64, hi: i64, what: &str) -> Option<i64> {
        match t.text.parse::<i64>() {
            Ok(v) if (lo..=hi).contains(&v) => Some(v),
            Ok(v) => {
                self.d.warn(
                    t.pos,
                    format!("{what} {v} out of range {lo}..{hi} - ignored, as keepalived does"),
                );
                None
            }
            Err(_) => {
                self.d.warn(
                    t.pos,
                    format!(
                        "{what}: '{}' is not a number - ignored, as keepalived does",
                        t.text
                    ),
                );
                None
            }
        }
    }

    pub(super) fn int(&mut self, n: &Node<'_>, lo: i64, hi: i64) -> Option<i64> {
        let t = self.arg(n)?;
        self.int_tok(t, lo, hi, &n.kw.text)
    }

    /// A time in seconds (fractions allowed). keepalived's `read_timer` callers report a
    /// bad one and leave the setting as it was: a warning and `None`.
    pub(super) fn time_tok(&mut self, t: &Tok<'_>, what: &str) -> Option<TimeUs> {
        let v = TimeUs::parse(&t.text);
        if v.is_none() {
            self.d.warn(
                t.pos,
                format!("{what} '{}' invalid - ignoring, as keepalived does", t.text),
            );
        }
        v
    }

    pub(super) fn time(&mut self, n: &Node<'_>) -> Option<TimeUs> {
        let t = self.arg(n)?;
        self.time_tok(t, &n.kw.text)
    }

    pub(super) fn ip_tok(&mut self, t: &Tok<'_>) -> Option<IpAddr> {
        let v = t.text.parse::<IpAddr>().ok();
        if v.is_none() {
            self.d
                .error(t.pos, format!("'{}' is not a valid IP address", t.text));
        }
        v
    }

    pub(super) fn ip(&mut self, n: &Node<'_>) -> Option<IpAddr> {
        let t = self.arg(n)?;
        self.ip_tok(t)
    }

    /// An address read as keepalived's `inet_stosockaddr` (lib/utils.c) reads it: everything
    /// from the first `-` is dropped, or, without a `-`, everything from the first `/`; so
    /// `198.51.100.1/24` and `198.51.100.1-10` are 198.51.100.1. keepalived drops the rest
    /// silently; we say so. `None` (with no diagnostic) when it is still not an address.
    pub(super) fn lenient_sockaddr(&mut self, t: &Tok<'_>, what: &str) -> Option<IpAddr> {
        let text = t.text.as_str();
        let at = text.find('-').or_else(|| text.find('/'));
        let (addr, rest) = text.split_at(at.unwrap_or(text.len()));
        let ip = addr.parse::<IpAddr>().ok()?;
        if !rest.is_empty() {
            self.d.note(
                t.pos,
                format!(
                    "{what} {text}: keepalived ignores '{rest}' here and uses {ip}, and so does \
                     keepalived-rs"
                ),
            );
        }
        Some(ip)
    }

    /// [`Self::lenient_sockaddr`], with an error when it is not an address.
    pub(super) fn sockaddr_tok(&mut self, t: &Tok<'_>, what: &str) -> Option<IpAddr> {
        let ip = self.lenient_sockaddr(t, what);
        if ip.is_none() {
            self.d
                .error(t.pos, format!("'{}' is not a valid IP address", t.text));
        }
        ip
    }

    /// `keyword ADDRESS`, read as [`Self::sockaddr_tok`] does.
    pub(super) fn sockaddr(&mut self, n: &Node<'_>) -> Option<IpAddr> {
        let t = self.arg(n)?;
        self.sockaddr_tok(t, &n.kw.text)
    }

    pub(super) fn port_tok(&mut self, t: &Tok<'_>) -> Option<u16> {
        self.int_tok(t, 0, 65535, "port").map(|v| v as u16)
    }

    /// `keyword [true|false|yes|no|on|off]`: no value means true. keepalived's
    /// `check_true_false` (lib/parser.c) takes exactly these lower-case words; anything else
    /// is reported and the setting is left as it was, so `None` here means "unchanged".
    pub(super) fn flag(&mut self, n: &Node<'_>) -> Option<bool> {
        self.no_block(n);
        let Some(t) = n.args.first() else {
            return Some(true);
        };
        match t.text.as_str() {
            "true" | "yes" | "on" => Some(true),
            "false" | "no" | "off" => Some(false),
            _ => {
                self.d.warn(
                    t.pos,
                    format!(
                        "'{}' expects true/false/yes/no/on/off, got '{}': ignored, as keepalived \
                         does",
                        n.kw.text, t.text
                    ),
                );
                None
            }
        }
    }

    /// A notify script, `keyword COMMAND [USER [GROUP]]`, as keepalived reads it (lib/notify.c
    /// `notify_script_init`): the first word is the whole command — quote it to give it
    /// arguments — and the next two words are the user and group to run it as.
    pub(super) fn script(&mut self, n: &Node<'_>) -> Option<Script> {
        self.no_block(n);
        let first = self.arg(n)?;
        if !first.quoted
            && let Some(second) = n.args.get(1)
        {
            self.d.note(
                second.pos,
                format!(
                    "keepalived runs only '{}' here and reads '{}' as the user to run it as: \
                     quote the command (\"{} …\") to pass it arguments; keepalived-rs reads it \
                     the same way",
                    first.text, second.text, first.text
                ),
            );
        }
        let user = n.args.get(1).map(|t| t.text.owned());
        let group = n.args.get(2).map(|t| t.text.owned());
        // lib/notify.c `notify_script_init`: a user or group the host lacks drops the script
        // ("Invalid user/group for … script … - ignoring", a log line, no config error).
        if let Some(u) = &user
            && !self.host_has_user(u, group.as_deref())
        {
            self.d.note(
                n.kw.pos,
                format!(
                    "Invalid user/group for {} script {} - ignoring: keepalived does not run it, \
                     and neither does keepalived-rs",
                    n.kw.text, first.text
                ),
            );
            return None;
        }
        self.script_sites.push((n.kw.pos, first.text.owned()));
        Some(Script {
            command: first.text.owned(),
            user,
            group,
        })
    }

    /// A checker or tracker command, `keyword COMMAND` (vrrp_script's `script`, MISC_CHECK's
    /// `misc_path`): keepalived's `set_script_params_array` takes the first word only — quote
    /// the command to give it arguments — and ignores the rest of the line.
    pub(super) fn command(&mut self, n: &Node<'_>) -> Option<String> {
        self.no_block(n);
        let first = self.arg(n)?;
        if !first.quoted
            && let Some(second) = n.args.get(1)
        {
            self.d.note(
                second.pos,
                format!(
                    "keepalived runs only '{}' here and ignores the rest of the line: quote the \
                     command (\"{} …\") to pass it arguments; keepalived-rs reads it the same way",
                    first.text, first.text
                ),
            );
        }
        self.script_sites.push((n.kw.pos, first.text.owned()));
        Some(first.text.owned())
    }

    /// Each word of each line of a block (notification_email, group).
    pub(super) fn words(&mut self, n: &Node<'_>) -> Vec<String> {
        let mut v = Vec::new();
        for c in self.block(n) {
            v.push(c.kw.text.owned());
            v.extend(c.args.iter().map(|t| t.text.owned()));
        }
        v
    }

    pub(super) fn name(&mut self, n: &Node<'_>) -> String {
        match n.args.first() {
            Some(t) => t.text.owned(),
            None => {
                self.d
                    .error(n.kw.pos, format!("'{}' needs a name", n.kw.text));
                String::new()
            }
        }
    }

    /// A switch keepalived sets by its presence alone and whose value, if any, it ignores
    /// (`alpha`, `omega`, `inhibit_on_failure` … at the virtual_server level).
    pub(super) fn presence(&mut self, n: &Node<'_>) -> bool {
        self.no_block(n);
        if let Some(t) = n.args.first() {
            self.d.warn(
                t.pos,
                format!(
                    "keepalived ignores '{}' after '{}' in a virtual_server: {} is on; \
                     keepalived-rs reads it the same way",
                    t.text, n.kw.text, n.kw.text
                ),
            );
        }
        true
    }

    /// A notify script that keepalived takes only once: a second one is ignored.
    pub(super) fn first_script(&mut self, n: &Node<'_>, slot: &mut Option<Script>) {
        if slot.is_some() {
            self.d.warn(
                n.kw.pos,
                format!(
                    "{} script already specified - ignoring this one, as keepalived does",
                    n.kw.text
                ),
            );
            return;
        }
        *slot = self.script(n);
    }

    /// `retry N` of a virtual or real server (`min` 1) or a checker (`min` 0); anything else
    /// is reported and leaves the value unset.
    pub(super) fn retry(&mut self, n: &Node<'_>, min: u32) -> Option<u32> {
        let t = self.arg(n)?;
        match t.text.parse::<u32>() {
            Ok(v) if v >= min => Some(v),
            _ => {
                self.d.warn(
                    t.pos,
                    format!(
                        "retry value invalid - {} - ignored, as keepalived does",
                        t.text
                    ),
                );
                None
            }
        }
    }

    /// A time that must be above 0 (`delay_loop`, `connect_timeout`): otherwise reported and
    /// ignored, as keepalived's `read_timer` callers do.
    pub(super) fn positive_time(&mut self, n: &Node<'_>, what: &str) -> Option<TimeUs> {
        let t = self.arg(n)?;
        match TimeUs::parse(&t.text) {
            Some(v) if v.0 > 0 => Some(v),
            _ => {
                self.d.warn(
                    t.pos,
                    format!("{what} '{}' invalid - ignoring, as keepalived does", t.text),
                );
                None
            }
        }
    }

    /// A time of 0 or more (`delay_before_retry`, `warmup`), named `what` in the message.
    pub(super) fn any_time(&mut self, n: &Node<'_>, what: &str) -> Option<TimeUs> {
        let t = self.arg(n)?;
        self.time_tok(t, what)
    }

    /// A GARP repeat count: 0 is 1 ("must be greater than 0, setting to 1", vrrp_parser.c).
    pub(super) fn repeat(&mut self, n: &Node<'_>) -> Option<u32> {
        let v = self.int(n, 0, i64::from(u32::MAX))? as u32;
        if v == 0 {
            self.d.warn(
                n.args[0].pos,
                format!(
                    "{} must be greater than 0, setting to 1, as keepalived does",
                    n.kw.text
                ),
            );
            return Some(1);
        }
        Some(v)
    }

    /// Whether this host has `user` (and `group`), as keepalived's `set_uid_gid` looks them up
    /// (lib/notify.c). Only with host checks on ([`crate::LoadOptions::host_checks`]): a
    /// config read for another host is not judged by this host's accounts.
    pub(super) fn host_has_user(&self, user: &str, group: Option<&str>) -> bool {
        if !self.host_checks {
            return true;
        }
        let has = |file: &str, name: &str| {
            // A numeric id is taken as it is.
            name.parse::<u32>().is_ok()
                || std::fs::read_to_string(file)
                    .is_ok_and(|text| text.lines().any(|l| l.split(':').next() == Some(name)))
        };
        has("/etc/passwd", user) && group.is_none_or(|g| has("/etc/group", g))
    }
}
