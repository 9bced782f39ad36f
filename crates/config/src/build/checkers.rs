//! The checkers inside a `real_server` (HTTP_GET, SSL_GET, TCP_CHECK, …) and their `url` blocks.

use super::*;

impl Builder<'_> {
    pub(super) fn checker(
        &mut self,
        node: &Node<'_>,
        vs: &VirtualServer,
        rs: &RealServer,
    ) -> Vec<Checker> {
        let k: &'static str = match node.kw.text.as_str() {
            "HTTP_GET" => "HTTP_GET",
            "SSL_GET" => "SSL_GET",
            "TCP_CHECK" => "TCP_CHECK",
            "MISC_CHECK" => "MISC_CHECK",
            "SMTP_CHECK" => "SMTP_CHECK",
            "DNS_CHECK" => "DNS_CHECK",
            "UDP_CHECK" => "UDP_CHECK",
            "PING_CHECK" => "PING_CHECK",
            _ => "FILE_CHECK",
        };
        let ctx = Ctx::Checker(k);
        let mut kind = match k {
            "HTTP_GET" | "SSL_GET" => {
                let h = HttpCheck {
                    urls: Vec::new(),
                    http_protocol: None,
                    virtualhost: None,
                    enable_sni: false,
                    fast_recovery: false,
                };
                if k == "HTTP_GET" {
                    CheckerKind::HttpGet(h)
                } else {
                    CheckerKind::SslGet(h)
                }
            }
            "TCP_CHECK" => CheckerKind::TcpCheck,
            "MISC_CHECK" => CheckerKind::MiscCheck(MiscCheck {
                misc_path: String::new(),
                misc_timeout: None,
                misc_dynamic: false,
                user: None,
                group: None,
            }),
            "SMTP_CHECK" => CheckerKind::SmtpCheck(SmtpCheck { helo_name: None }),
            "DNS_CHECK" => CheckerKind::DnsCheck(DnsCheck {
                query_type: "SOA".into(),
                name: ".".into(),
            }),
            "UDP_CHECK" => CheckerKind::UdpCheck(UdpCheck {
                payload: None,
                require_reply: false,
                reply_pattern: None,
                min_reply_length: None,
                max_reply_length: None,
            }),
            "PING_CHECK" => CheckerKind::PingCheck,
            _ => CheckerKind::FileCheck(FileCheck {
                track_file: String::new(),
                weight: None,
                reverse: false,
            }),
        };
        let mut c = Checker {
            kind: CheckerKind::PingCheck,
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            delay_loop: None,
            alpha: None,
            log_all_failures: false,
            timing: CheckerTiming {
                delay_loop: TimeUs(0),
                connect_timeout: TimeUs(0),
                retry: 0,
                delay_before_retry: TimeUs(0),
                warmup: TimeUs(0),
                alpha: false,
            },
        };
        let allowed = implemented(ctx);
        for n in node.block.as_deref().unwrap_or(&[]) {
            let key = kw(self, ctx, n);
            if !allowed.contains(&key) {
                self.unknown(ctx, n);
                continue;
            }
            match key {
                // check_api.c's common keywords: a value keepalived cannot read is reported
                // and leaves the setting as it was.
                "connect_ip" | "bindto" => {
                    let Some(t) = self.arg(n) else { continue };
                    match self.lenient_sockaddr(t, &n.kw.text) {
                        Some(ip) if key == "connect_ip" => c.connect_ip = Some(ip),
                        Some(ip) => c.bindto = Some(ip),
                        None => self.d.warn(
                            t.pos,
                            format!(
                                "Invalid {key} address {} - ignoring, as keepalived does",
                                t.text
                            ),
                        ),
                    }
                }
                "connect_port" | "bind_port" => {
                    let Some(t) = self.arg(n) else { continue };
                    match t.text.parse::<u16>() {
                        Ok(p @ 1..) if key == "connect_port" => c.connect_port = Some(p),
                        Ok(p @ 1..) => c.bind_port = Some(p),
                        _ => self.d.warn(
                            t.pos,
                            format!(
                                "Invalid checker {key} '{}' - ignored, as keepalived does",
                                t.text
                            ),
                        ),
                    }
                }
                "bind_if" => c.bind_if = self.string(n),
                "fwmark" => {
                    let Some(t) = self.arg(n) else { continue };
                    match t.text.parse::<u32>() {
                        Ok(m) => c.fwmark = Some(m),
                        Err(_) => self.d.warn(
                            t.pos,
                            format!(
                                "Invalid fwmark connection value '{}' - ignored, as keepalived \
                                 does",
                                t.text
                            ),
                        ),
                    }
                }
                "connect_timeout" => {
                    if let Some(t) = self.positive_time(n, "connect_timeout") {
                        c.connect_timeout = Some(t)
                    }
                }
                // A checker may retry 0 times (unlike a real or virtual server).
                "retry" => {
                    if let Some(v) = self.retry(n, 0) {
                        c.retry = Some(v)
                    }
                }
                "delay_before_retry" => {
                    if let Some(t) = self.any_time(n, "delay_before_retry") {
                        c.delay_before_retry = Some(t)
                    }
                }
                "warmup" => {
                    if let Some(t) = self.any_time(n, "warmup") {
                        c.warmup = Some(t)
                    }
                }
                "delay_loop" => {
                    if let Some(t) = self.positive_time(n, "delay_loop") {
                        c.delay_loop = Some(t)
                    }
                }
                "alpha" => {
                    if let Some(b) = self.flag(n) {
                        c.alpha = Some(b)
                    }
                }
                "log_all_failures" => {
                    if let Some(b) = self.flag(n) {
                        c.log_all_failures = b
                    }
                }
                _ => self.checker_specific(&mut kind, n),
            }
        }
        // A checker that lacks what it needs is dropped, with keepalived's words (an
        // HTTP_GET without urls then crashes keepalived 2.2.7; here the real server simply has
        // one checker less).
        let missing = match &kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) if h.urls.is_empty() => {
                Some("HTTP/SSL_GET checker has no urls specified - ignoring")
            }
            CheckerKind::MiscCheck(m) if m.misc_path.is_empty() => {
                Some("No script path has been specified for MISC_CHECKER - skipping")
            }
            CheckerKind::FileCheck(f) if f.track_file.is_empty() => {
                Some("FILE_CHECK has no track_file specified - ignoring")
            }
            _ => None,
        };
        if let Some(m) = missing {
            self.d.warn(
                node.close.unwrap_or(node.kw.pos),
                format!("{m}: keepalived drops this checker, and so does keepalived-rs"),
            );
            return Vec::new();
        }
        let delay_loop = c.delay_loop.or(rs.delay_loop).unwrap_or(vs.delay_loop);
        // keepalived 2.2.7's per-checker `default_retry` / `default_delay_before_retry`
        // (check_api.c, each check_*.c): MISC_CHECK retries 0 times, 1 s apart if told to
        // retry (check_misc.c), HTTP_GET/SSL_GET wait 3 s between retries, DNS_CHECK retries 3
        // times `delay_loop` apart (its default of 0 means delay_loop), others 1 retry and 1 s.
        let (def_retry, def_dbr) = match kind {
            CheckerKind::MiscCheck(_) => (0, TimeUs::from_secs(1)),
            CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => (1, TimeUs::from_secs(3)),
            CheckerKind::DnsCheck(_) => (3, delay_loop),
            _ => (1, TimeUs::from_secs(1)),
        };
        c.timing = CheckerTiming {
            delay_loop,
            connect_timeout: c
                .connect_timeout
                .or(rs.connect_timeout)
                .or(vs.connect_timeout)
                .unwrap_or(TimeUs::from_secs(5)),
            retry: c.retry.or(rs.retry).or(vs.retry).unwrap_or(def_retry),
            delay_before_retry: c
                .delay_before_retry
                .or(rs.delay_before_retry)
                .or(vs.delay_before_retry)
                .unwrap_or(def_dbr),
            warmup: c.warmup.or(rs.warmup).or(vs.warmup).unwrap_or(delay_loop),
            alpha: c.alpha.or(rs.alpha).unwrap_or(vs.alpha),
        };
        c.kind = kind;
        let hosts = std::mem::take(&mut self.smtp_hosts);
        if hosts.is_empty() {
            return vec![c];
        }
        // check_smtp.c `smtp_check_end_handler`: the checker checks its own endpoint if a
        // connection option of its own is set, and each deprecated `host { }` block becomes a
        // checker of its own (its connect_timeout defaulting to the real or virtual server's).
        let own = c.connect_ip.is_some()
            || c.connect_port.is_some()
            || c.bindto.is_some()
            || c.bind_port.is_some()
            || c.bind_if.is_some()
            || c.fwmark.is_some()
            || c.connect_timeout.is_some();
        let server_timeout = rs
            .connect_timeout
            .or(vs.connect_timeout)
            .unwrap_or(TimeUs::from_secs(5));
        let mut out = Vec::with_capacity(hosts.len() + 1);
        if own {
            out.push(c.clone());
        }
        for h in hosts {
            let mut x = c.clone();
            x.connect_ip = h.connect_ip;
            x.connect_port = h.connect_port;
            x.bindto = h.bindto;
            x.bind_port = h.bind_port;
            x.bind_if = h.bind_if;
            x.fwmark = h.fwmark;
            x.connect_timeout = h.connect_timeout;
            x.timing.connect_timeout = h.connect_timeout.unwrap_or(server_timeout);
            out.push(x);
        }
        out
    }

    fn checker_specific(&mut self, kind: &mut CheckerKind, n: &Node<'_>) {
        match kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => match n.kw.text.as_str() {
                "url" => {
                    if let Some(u) = self.url(n) {
                        h.urls.push(u)
                    }
                }
                "http_protocol" => {
                    if let Some(t) = self.arg(n) {
                        // check_http.c `http_protocol_handler`: 1.0, 1.1, 1.0C (or 1.0c).
                        match t.text.as_str() {
                            "1.0" | "1.1" | "1.0C" => h.http_protocol = Some(t.text.owned()),
                            "1.0c" => h.http_protocol = Some("1.0C".into()),
                            o => self.d.warn(
                                t.pos,
                                format!(
                                    "Invalid http_protocol version {o} (1.0, 1.0C or 1.1) - \
                                     ignored, as keepalived does"
                                ),
                            ),
                        }
                    }
                }
                "virtualhost" => h.virtualhost = self.string(n),
                "fast_recovery" => {
                    if let Some(b) = self.flag(n) {
                        h.fast_recovery = b
                    }
                }
                _ => {
                    if let Some(b) = self.flag(n) {
                        h.enable_sni = b
                    }
                }
            },
            CheckerKind::MiscCheck(m) => match n.kw.text.as_str() {
                "misc_path" => m.misc_path = self.command(n).unwrap_or_default(),
                // Whole seconds (check_misc.c `misc_timeout_handler`).
                "misc_timeout" => {
                    let Some(t) = self.arg(n) else { return };
                    match t.text.parse::<u32>() {
                        Ok(v @ 0..=4294) => m.misc_timeout = Some(TimeUs::from_secs(v.into())),
                        _ => self.d.warn(
                            t.pos,
                            format!(
                                "Invalid misc_timeout value '{}' - ignored, as keepalived does",
                                t.text
                            ),
                        ),
                    }
                }
                "misc_dynamic" => {
                    if let Some(b) = self.flag(n) {
                        m.misc_dynamic = b
                    }
                }
                _ => {
                    m.user = self.string(n);
                    m.group = n.args.get(1).map(|t| t.text.owned());
                }
            },
            CheckerKind::SmtpCheck(s) => match n.kw.text.as_str() {
                "helo_name" => s.helo_name = self.string(n),
                _ => {
                    // check_smtp.c logs it (log_message), it is no config error.
                    self.d.note(
                        n.kw.pos,
                        "The SMTP_CHECK host block is deprecated. Please define additional \
                         checkers. (as keepalived logs)",
                    );
                    let mut h = HostConn {
                        connect_ip: None,
                        connect_port: None,
                        bindto: None,
                        bind_port: None,
                        bind_if: None,
                        connect_timeout: None,
                        fwmark: None,
                    };
                    for a in self.block(n) {
                        same_line_keyword(self, Ctx::SmtpHost, a);
                        match a.kw.text.as_str() {
                            "connect_ip" => h.connect_ip = self.sockaddr(a),
                            "connect_port" => {
                                h.connect_port = self.arg(a).and_then(|t| self.port_tok(t))
                            }
                            "bindto" => h.bindto = self.sockaddr(a),
                            "bind_port" => h.bind_port = self.arg(a).and_then(|t| self.port_tok(t)),
                            "bind_if" => h.bind_if = self.string(a),
                            "connect_timeout" => {
                                if let Some(t) = self.time(a) {
                                    h.connect_timeout = Some(t)
                                }
                            }
                            "fwmark" => {
                                h.fwmark = self.int(a, 0, u32::MAX as i64).map(|v| v as u32)
                            }
                            _ => self.unknown(Ctx::SmtpHost, a),
                        }
                    }
                    self.smtp_hosts.push(h);
                }
            },
            CheckerKind::DnsCheck(d) => match n.kw.text.as_str() {
                "type" => {
                    if let Some(t) = self.arg(n) {
                        // check_dns.c `dns_type_handler`: case-insensitive.
                        const TYPES: &[&str] = &[
                            "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY",
                        ];
                        let up = t.text.to_ascii_uppercase();
                        if TYPES.contains(&up.as_str()) {
                            d.query_type = up;
                        } else {
                            self.d.warn(
                                t.pos,
                                format!(
                                    "Unknown DNS check type {} - ignoring, as keepalived does \
                                     (known: {})",
                                    t.text,
                                    TYPES.join(", ")
                                ),
                            );
                        }
                    }
                }
                _ => d.name = self.string(n).unwrap_or(d.name.clone()),
            },
            CheckerKind::UdpCheck(u) => match n.kw.text.as_str() {
                "payload" => u.payload = self.hex(n),
                "require_reply" => {
                    u.require_reply = true;
                    u.reply_pattern = if n.args.is_empty() { None } else { self.hex(n) };
                }
                "min_reply_length" => u.min_reply_length = self.int(n, 0, 65535).map(|v| v as u32),
                _ => u.max_reply_length = self.int(n, 0, 65535).map(|v| v as u32),
            },
            CheckerKind::FileCheck(f) => match n.kw.text.as_str() {
                // check_file.c: the track_file must be defined before the checker.
                "track_file" => {
                    let Some(t) = self.arg(n) else { return };
                    if self.files_seen.contains(t.text.as_str()) {
                        f.track_file = t.text.owned();
                    } else {
                        self.d.warn(
                            t.pos,
                            format!(
                                "track_file {} not found (it must be defined before the \
                                 checker) - ignored, as keepalived does",
                                t.text
                            ),
                        );
                    }
                }
                _ => {
                    f.weight = self.int(n, -254, 254).map(|v| v as i32);
                    f.reverse = n.args.get(1).is_some_and(|a| a.text == "reverse");
                }
            },
            CheckerKind::TcpCheck | CheckerKind::PingCheck => {
                self.unknown(Ctx::Checker("TCP_CHECK"), n)
            }
        }
    }

    fn hex(&mut self, n: &Node<'_>) -> Option<String> {
        let t = self.arg(n)?;
        let s = t.text.to_ascii_lowercase();
        if s.len() % 2 == 0 && !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(s)
        } else {
            self.d.warn(
                t.pos,
                format!(
                    "Invalid hex string for UDP_CHECK '{}' - ignored, as keepalived does",
                    t.text
                ),
            );
            None
        }
    }

    fn url(&mut self, node: &Node<'_>) -> Option<Url> {
        let mut u = Url {
            path: String::new(),
            digest: None,
            status_code: Vec::new(),
            virtualhost: None,
        };
        for n in self.block(node) {
            same_line_keyword(self, Ctx::Url, n);
            match n.kw.text.as_str() {
                "path" => u.path = self.string(n).unwrap_or_default(),
                "digest" => {
                    if let Some(t) = self.arg(n) {
                        let d = t.text.to_ascii_lowercase();
                        if d.len() == 32 && d.bytes().all(|b| b.is_ascii_hexdigit()) {
                            u.digest = Some(d);
                        } else {
                            self.d.warn(
                                t.pos,
                                format!(
                                    "digest '{}' is not 32 hex digits (MD5) - ignored, as \
                                     keepalived does",
                                    t.text
                                ),
                            );
                        }
                    }
                }
                "status_code" => {
                    self.no_block(n);
                    if n.args.is_empty() {
                        self.d.warn(n.kw.pos, "status_code needs a value - ignored");
                    }
                    for t in &n.args {
                        let (a, b) = t.text.split_once('-').unwrap_or((&t.text, &t.text));
                        match (a.parse::<u16>(), b.parse::<u16>()) {
                            (Ok(a), Ok(b))
                                if (100..=599).contains(&a)
                                    && (100..=599).contains(&b)
                                    && a <= b =>
                            {
                                u.status_code.push(StatusRange { from: a, to: b })
                            }
                            _ => self.d.warn(
                                t.pos,
                                format!(
                                    "Invalid HTTP_GET status code '{}' (100-599 or a range) - \
                                     ignored, as keepalived does",
                                    t.text
                                ),
                            ),
                        }
                    }
                }
                "virtualhost" => u.virtualhost = self.string(n),
                _ => self.unknown(Ctx::Url, n),
            }
        }
        if u.path.is_empty() {
            self.d.warn(
                node.close.unwrap_or(node.kw.pos),
                "HTTP/SSL_GET checker url has no path - ignoring, as keepalived does",
            );
            return None;
        }
        if u.status_code.is_empty() {
            // keepalived 2.2: with neither status_code nor digest, any 2xx is success.
            u.status_code.push(StatusRange { from: 200, to: 299 });
        }
        Some(u)
    }

    /// The top-level `SSL { … }` block (check_parser.c `ssl_handler`, `handle_ssl_file`): each
    /// keyword takes one word; a repeated one replaces the earlier.
    pub(super) fn ssl(&mut self, node: &Node<'_>) -> SslContext {
        let mut ssl = SslContext::default();
        for n in self.block(node) {
            let key = kw(self, Ctx::Ssl, n);
            let (slot, what) = match key {
                "password" => (&mut ssl.password, "password"),
                "ca" => (&mut ssl.ca, "cafile"),
                "certificate" => (&mut ssl.certificate, "certfile"),
                "key" => (&mut ssl.key, "keyfile"),
                _ => {
                    self.unknown(Ctx::Ssl, n);
                    continue;
                }
            };
            self.no_block(n);
            let Some(t) = n.args.first() else {
                self.d.warn(
                    n.kw.pos,
                    format!("SSL {what} missing - ignored, as keepalived does"),
                );
                continue;
            };
            if slot.is_some() {
                self.d.warn(
                    n.kw.pos,
                    format!("SSL {what} already specified - replacing, as keepalived does"),
                );
            }
            *slot = Some(t.text.owned());
        }
        ssl
    }
}

/// A deprecated `host { … }` block of an SMTP_CHECK: one more endpoint, made a checker of its
/// own when the SMTP_CHECK block ends.
#[derive(Debug, Clone)]
pub(super) struct HostConn {
    connect_ip: Option<IpAddr>,
    connect_port: Option<u16>,
    bindto: Option<IpAddr>,
    bind_port: Option<u16>,
    bind_if: Option<String>,
    connect_timeout: Option<TimeUs>,
    fwmark: Option<u32>,
}
