//! The checkers inside a `real_server` (HTTP_GET, SSL_GET, TCP_CHECK, …) and their `url` blocks.

use super::*;

impl Builder<'_> {
    pub(super) fn checker(
        &mut self,
        node: &Node<'_>,
        vs: &VirtualServer,
        rs: &RealServer,
    ) -> Option<Checker> {
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
            "SMTP_CHECK" => CheckerKind::SmtpCheck(SmtpCheck {
                helo_name: None,
                hosts: Vec::new(),
            }),
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
                "connect_ip" => c.connect_ip = self.ip(n),
                "connect_port" => c.connect_port = self.arg(n).and_then(|t| self.port_tok(t)),
                "bindto" => c.bindto = self.ip(n),
                "bind_port" => c.bind_port = self.arg(n).and_then(|t| self.port_tok(t)),
                "bind_if" => c.bind_if = self.string(n),
                "fwmark" => c.fwmark = self.int(n, 0, u32::MAX as i64).map(|v| v as u32),
                "connect_timeout" => c.connect_timeout = self.time(n),
                "retry" => c.retry = self.int(n, 0, u32::MAX as i64).map(|v| v as u32),
                "delay_before_retry" => c.delay_before_retry = self.time(n),
                "warmup" => c.warmup = self.time(n),
                "delay_loop" => c.delay_loop = self.time(n),
                "alpha" => c.alpha = self.flag(n),
                "log_all_failures" => c.log_all_failures = self.flag(n).unwrap_or(true),
                _ => self.checker_specific(&mut kind, n),
            }
        }
        // Validate what each type needs.
        match &mut kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) if h.urls.is_empty() => {
                self.d.error(node.kw.pos, format!("{k} has no url block"));
            }
            CheckerKind::MiscCheck(m) if m.misc_path.is_empty() => {
                self.d.error(node.kw.pos, "MISC_CHECK has no misc_path")
            }
            CheckerKind::FileCheck(f) if f.track_file.is_empty() => {
                self.d.error(node.kw.pos, "FILE_CHECK has no track_file")
            }
            _ => {}
        }
        let delay_loop = c.delay_loop.or(rs.delay_loop).unwrap_or(vs.delay_loop);
        // keepalived 2.2 per-checker defaults: MISC_CHECK retries 0 times with no delay,
        // HTTP_GET/SSL_GET wait 3 s between retries, DNS_CHECK retries 3 times
        // `delay_loop` apart (its default delay_before_retry of 0 means delay_loop),
        // others 1 retry and 1 s.
        let (def_retry, def_dbr) = match kind {
            CheckerKind::MiscCheck(_) => (0, TimeUs(0)),
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
        Some(c)
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
                        match t.text.as_str() {
                            "1.0" | "1.1" | "1.0C" | "1.0K" => {
                                h.http_protocol = Some(t.text.owned())
                            }
                            o => self.d.error(
                                t.pos,
                                format!("http_protocol must be 1.0, 1.0C, 1.0K or 1.1, got '{o}'"),
                            ),
                        }
                    }
                }
                "virtualhost" => h.virtualhost = self.string(n),
                "fast_recovery" => h.fast_recovery = self.flag(n).unwrap_or(true),
                _ => h.enable_sni = self.flag(n).unwrap_or(true),
            },
            CheckerKind::MiscCheck(m) => match n.kw.text.as_str() {
                "misc_path" => m.misc_path = self.script(n).map(|s| s.command).unwrap_or_default(),
                "misc_timeout" => m.misc_timeout = self.time(n),
                "misc_dynamic" => m.misc_dynamic = self.flag(n).unwrap_or(true),
                _ => {
                    m.user = self.string(n);
                    m.group = n.args.get(1).map(|t| t.text.owned());
                }
            },
            CheckerKind::SmtpCheck(s) => match n.kw.text.as_str() {
                "helo_name" => s.helo_name = self.string(n),
                _ => {
                    self.d.warn(
                        n.kw.pos,
                        "SMTP_CHECK 'host' blocks are deprecated; use one SMTP_CHECK per host",
                    );
                    let mut h = SmtpHost {
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
                            "connect_ip" => h.connect_ip = self.ip(a),
                            "connect_port" => {
                                h.connect_port = self.arg(a).and_then(|t| self.port_tok(t))
                            }
                            "bindto" => h.bindto = self.ip(a),
                            "bind_port" => h.bind_port = self.arg(a).and_then(|t| self.port_tok(t)),
                            "bind_if" => h.bind_if = self.string(a),
                            "connect_timeout" => h.connect_timeout = self.time(a),
                            "fwmark" => {
                                h.fwmark = self.int(a, 0, u32::MAX as i64).map(|v| v as u32)
                            }
                            _ => self.unknown(Ctx::SmtpHost, a),
                        }
                    }
                    s.hosts.push(h);
                }
            },
            CheckerKind::DnsCheck(d) => match n.kw.text.as_str() {
                "type" => {
                    if let Some(t) = self.arg(n) {
                        const TYPES: &[&str] = &["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"];
                        let up = t.text.to_ascii_uppercase();
                        if TYPES.contains(&up.as_str()) {
                            d.query_type = up;
                        } else {
                            self.d.error(
                                t.pos,
                                format!(
                                    "DNS_CHECK type '{}' not one of {}",
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
                "track_file" => f.track_file = self.string(n).unwrap_or_default(),
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
            self.d.error(
                t.pos,
                format!("'{}' is not an even-length hex string", t.text),
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
                            self.d.error(
                                t.pos,
                                format!("digest '{}' is not 32 hex digits (MD5)", t.text),
                            );
                        }
                    }
                }
                "status_code" => {
                    self.no_block(n);
                    if n.args.is_empty() {
                        self.d.error(n.kw.pos, "status_code needs a value");
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
                            _ => self.d.error(
                                t.pos,
                                format!("invalid status_code '{}' (100-599 or a range)", t.text),
                            ),
                        }
                    }
                }
                "virtualhost" => u.virtualhost = self.string(n),
                _ => self.unknown(Ctx::Url, n),
            }
        }
        if u.path.is_empty() {
            self.d.error(node.kw.pos, "url block without a path");
            return None;
        }
        if u.status_code.is_empty() {
            // keepalived 2.2: with neither status_code nor digest, any 2xx is success.
            u.status_code.push(StatusRange { from: 200, to: 299 });
        }
        Some(u)
    }
}
