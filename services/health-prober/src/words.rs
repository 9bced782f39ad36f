//! keepalived 2.2.7's log lines and alert mail bodies for each checker, word
//! for word, verified against its source: `check_http.c` (HTTP_GET, and
//! SSL_GET, whose `check_ssl.c` shares the HTTP epilog and mails nothing of
//! its own), `check_tcp.c`, `check_udp.c`, `check_ping.c` (PING_CHECK speaks
//! of `ICMP`), `check_misc.c`, `check_smtp.c`, `check_dns.c` and
//! `trackers/track_file.c` (FILE_CHECK: no mail; keepalived writes its two
//! lines only with `-D`, we always do).
//!
//! [`mail`] is the one owner of a real server's mail body: the prober
//! publishes it as `TargetChange.mail_body`, ipvs-manager passes it on as
//! `RealServerChange.mail_body` with the kernel change it caused, and the
//! notifier sends it as it is under keepalived's `Realserver … - UP|DOWN`
//! subject (`smtp.c` builds the subject; each checker passes its body to
//! `smtp_alert(SMTP_MSG_RS, …)`).
//!
//! Known differences: `FMT_CHK` prints the real server's address in
//! keepalived (`format_rs(rs, vs)`), ours the checked address
//! ([`TargetSpec::fmt_chk`]); they differ only with `connect_ip`/`connect_port`.
//! MISC_CHECK's per-attempt lines under `log_all_failures` (`, will do N
//! retries`, ` on retry i/N`) are not written.

use keepalived_config::CheckerKind;

use crate::machine::Note;
use crate::outcome::Failure;
use crate::spec::TargetSpec;

/// `Activating healthchecker for service [RS]:tcp:80 for VS [VIP]:tcp:80`.
pub fn activating(spec: &TargetSpec, vs_label: &str) -> String {
    format!(
        "Activating healthchecker for service {} for VS {vs_label}",
        spec.fmt_rs()
    )
}

/// The checker's name in `… on service … failed` lines.
fn check_name(kind: &CheckerKind) -> &'static str {
    match kind {
        // keepalived logs both HTTP checkers as HTTP_CHECK.
        CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => "HTTP_CHECK",
        other => other.keyword(),
    }
}

/// The name the API reports for a checker (as keepalived names it in logs).
pub fn api_checker_name(kind: &CheckerKind) -> &'static str {
    check_name(kind)
}

/// `timeout_epilog`'s `debug_msg` for an HTTP/SSL failure.
fn http_failure_words(failure: &Failure) -> &'static str {
    match failure {
        Failure::ConnectTimeout => "Timeout connecting",
        Failure::Refused | Failure::Network(_) => "Connection failed",
        Failure::Reset => "Read error with",
        Failure::WriteTimeout => "Timeout WEB write",
        Failure::ReadTimeout => "Timeout HTTP read",
        Failure::NoData | Failure::Protocol(_) => "Read, no data received from ",
        Failure::Status(_) => "HTTP status code error to",
        Failure::Digest => "MD5 digest error to",
        Failure::Tls(_) => "SSL handshake/communication error connecting to",
        _ => "Connection failed",
    }
}

/// `FMT_SMTP_RS` (`check_smtp.h`): `inet_sockaddrtopair` of the checked
/// address, `[IP]:PORT` without the protocol.
fn smtp_server(spec: &TargetSpec) -> String {
    format!("[{}]:{}", spec.connect.ip(), spec.connect.port())
}

/// SMTP's failure text (`smtp_final` format), without the `SMTP_CHECK `
/// prefix of its log line; the mail puts it inside
/// `=> CHECK failed on service : … <=` (check_smtp.c:374).
fn smtp_failure_words(failure: &Failure, spec: &TargetSpec) -> String {
    let server = smtp_server(spec);
    match failure {
        // check_smtp.c:717: connect_timeout.
        Failure::ConnectTimeout => format!("Connection timeout to server {server}"),
        // check_smtp.c:722: a refused connect shows in SO_ERROR, which
        // socket_state() calls connect_fail (layer4.c:213).
        Failure::Refused => format!("Could not connect to server {server}"),
        // check_smtp.c:813: connect() itself failed (ENETUNREACH…,
        // layer4.c:146): the checked address bare, then the real server's pair.
        Failure::Network(_) => format!(
            "Network unreachable for server {} - real server [{}]:{}",
            spec.connect.ip(),
            spec.real_server.ip(),
            spec.real_server.port()
        ),
        // check_smtp.c:472: read() returned 0 or an error (a reset).
        Failure::Reset | Failure::NoData => format!("Read failure from server {server}"),
        // check_smtp.c:444 and :544.
        Failure::ReadTimeout => format!("Read timeout from server {server}"),
        Failure::WriteTimeout => format!("Write timeout to server {server}"),
        // check_smtp.c:646 `Bad greeting banner`, :670 `Bad HELO response`.
        Failure::Protocol(what) => format!("{what} from server {server}"),
        // check_smtp.c:740.
        _ => format!("Unknown connection error to server {server}"),
    }
}

/// DNS's failure text (`dns_final` format).
fn dns_failure_words(failure: &Failure) -> String {
    match failure {
        Failure::ReadTimeout | Failure::ConnectTimeout => "read timeout from socket".into(),
        Failure::Protocol(what) => what.clone(),
        Failure::Refused => "failed to read socket; errno 111 (Connection refused)".into(),
        other => format!("failed to read socket; {}", other.detail()),
    }
}

/// The first word of the MISC_CHECK command (keepalived logs `args[0]`).
fn misc_script(kind: &CheckerKind) -> &str {
    match kind {
        CheckerKind::MiscCheck(m) => m.misc_path.split_whitespace().next().unwrap_or(""),
        _ => "",
    }
}

/// MISC_CHECK's `script_exit_type` (check_misc.c:386, :392, :425, :427).
fn misc_exit_type(up: bool, failure: Option<&Failure>) -> &'static str {
    match (up, failure) {
        (true, _) => "succeeded",
        (false, Some(Failure::ScriptTimeout)) => "timed out",
        (false, _) => "failed",
    }
}

/// The first virtual server's `FMT_VS` (a target shared by several is
/// probed once, so it logs once).
fn vs_label(spec: &TargetSpec) -> &str {
    spec.virtual_servers
        .first()
        .map(|v| v.label.as_str())
        .unwrap_or("")
}

/// The log line keepalived writes for `note`, if any. `failure` is the
/// attempt's failure; `url` the index of the HTTP url the attempt fetched
/// (its path is logged, and a url with a digest says `MD5 digest`).
pub fn line(
    spec: &TargetSpec,
    note: Note,
    failure: Option<&Failure>,
    url: usize,
) -> Option<String> {
    let chk = spec.fmt_chk();
    let kind = &spec.checker.kind;
    let name = check_name(kind);
    let down = |retries: Option<u32>| match retries {
        Some(n) => format!("{name} on service {chk} failed after {n} retries."),
        None => format!("{name} on service {chk} failed."),
    };
    let timeout = matches!(
        failure,
        Some(Failure::ConnectTimeout | Failure::ReadTimeout)
    );
    match kind {
        CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => match note {
            Note::AttemptFailed => {
                failure.map(|f| format!("{} server {chk}.", http_failure_words(f)))
            }
            Note::SuccessWhileDown => {
                let url = h.urls.get(url).or(h.urls.first());
                let what = if url.is_some_and(|u| u.digest.is_some()) {
                    "MD5 digest"
                } else {
                    "HTTP status code"
                };
                let path = url.map(|u| u.path.as_str()).unwrap_or("/");
                Some(format!("{what} success to {chk} url({path})"))
            }
            Note::Up => Some(format!("Remote Web server {chk} succeed on service.")),
            Note::Down { retries } => Some(down(retries)),
        },
        CheckerKind::DnsCheck(_) => match note {
            Note::AttemptFailed => {
                failure.map(|f| format!("DNS_CHECK ({chk}) {}", dns_failure_words(f)))
            }
            Note::Down { retries } => failure.map(|f| {
                let mut text = format!("DNS_CHECK ({chk}) {}", dns_failure_words(f));
                if let Some(n) = retries {
                    text.push_str(&format!(" after {n} retries"));
                }
                text
            }),
            Note::Up | Note::SuccessWhileDown => None,
        },
        CheckerKind::SmtpCheck(_) => match note {
            Note::AttemptFailed => {
                failure.map(|f| format!("SMTP_CHECK {}", smtp_failure_words(f, spec)))
            }
            Note::Up => Some(format!("Remote SMTP server {chk} succeed on service.")),
            Note::Down { .. } | Note::SuccessWhileDown => None,
        },
        // check_misc.c:465-479: `Misc check for [RS VS VS] by [args[0]]
        // TYPE MESSAGE[ (REASON CODE)].`, MESSAGE ` after N retry|retries`
        // or ` with retry disabled` on the last failure (:452-460).
        CheckerKind::MiscCheck(_) => {
            let head = format!(
                "Misc check for [{chk} VS {}] by [{}]",
                vs_label(spec),
                misc_script(kind)
            );
            match note {
                Note::Up => Some(format!("{head} succeeded.")),
                Note::Down { .. } => {
                    let exit_type = misc_exit_type(false, failure);
                    let message = match spec.checker.timing.retry {
                        0 => " with retry disabled".to_owned(),
                        1 => " after 1 retry".to_owned(),
                        n => format!(" after {n} retries"),
                    };
                    let reason = match failure {
                        Some(Failure::ScriptSignal(sig)) => format!(" (due to signal {sig})"),
                        Some(Failure::ScriptExit(code)) => {
                            format!(" (exited with status {code})")
                        }
                        _ => String::new(),
                    };
                    Some(format!("{head} {exit_type}{message}{reason}."))
                }
                Note::AttemptFailed | Note::SuccessWhileDown => None,
            }
        }
        // check_tcp.c:105, :117-123, :166, :173.
        CheckerKind::TcpCheck => match note {
            Note::AttemptFailed if timeout => Some(format!("TCP connection to {chk} timeout.")),
            Note::AttemptFailed => Some(format!("TCP connection to {chk} failed.")),
            Note::Up => Some(format!("TCP connection to {chk} success.")),
            Note::Down { retries } => Some(down(retries)),
            Note::SuccessWhileDown => None,
        },
        // check_udp.c:213, :225-231, :298, :306.
        CheckerKind::UdpCheck(_) => match note {
            Note::AttemptFailed => Some(match failure {
                Some(Failure::Protocol(_)) => format!("UDP check to {chk} reply data mismatch."),
                _ => format!("UDP connection to {chk} failed."),
            }),
            Note::Up => Some(format!("UDP connection to {chk} success.")),
            Note::Down { retries } => Some(down(retries)),
            Note::SuccessWhileDown => None,
        },
        // check_ping.c:288, :300-307, :335, :354.
        CheckerKind::PingCheck => {
            let vs = vs_label(spec);
            match note {
                Note::AttemptFailed if timeout => {
                    Some(format!("ICMP connection to address {chk} timeout."))
                }
                Note::AttemptFailed => Some(format!("ICMP connection to {chk} of {vs} failed.")),
                Note::Up => Some(format!("ICMP connection to {chk} success.")),
                Note::Down { retries: Some(n) } => Some(format!(
                    "ICMP CHECK on service {chk} of {vs} failed after {n} retries."
                )),
                Note::Down { retries: None } => {
                    Some(format!("ICMP CHECK on service {chk} failed."))
                }
                Note::SuccessWhileDown => None,
            }
        }
        // track_file.c:602 and :609 (`-D` only in keepalived).
        CheckerKind::FileCheck(f) => {
            let rs = spec.fmt_rs();
            match note {
                Note::Down { .. } => Some(format!(
                    "({rs}): tracked file {} now FAULT state",
                    f.track_file
                )),
                Note::Up => Some(format!(
                    "({rs}): tracked file {} leaving FAULT state",
                    f.track_file
                )),
                Note::AttemptFailed | Note::SuccessWhileDown => None,
            }
        }
    }
}

/// keepalived 2.2.7's alert mail body for a transition of this checker to
/// `up` (the text each checker hands to `smtp_alert(SMTP_MSG_RS, …)`), and
/// the reason for the API and webhooks. An empty body: keepalived sends no
/// mail for it (FILE_CHECK).
pub fn mail(spec: &TargetSpec, up: bool, failure: Option<&Failure>) -> (String, String) {
    let kind = &spec.checker.kind;
    let detail = || failure.map(Failure::detail).unwrap_or_default();
    let state = if up { "succeed" } else { "failed" };
    match kind {
        // check_http.c:1002 and :1035-1036 (SSL_GET runs the same epilog).
        CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => {
            if up {
                ("=> CHECK succeed on service <=".into(), String::new())
            } else {
                (
                    "=> CHECK failed on service : HTTP request failed <=".into(),
                    "HTTP request failed".into(),
                )
            }
        }
        // check_smtp.c:417; :374-379 (smtp_final's format inside the body).
        CheckerKind::SmtpCheck(_) => match (up, failure) {
            (true, _) => ("=> CHECK succeed on service <=".into(), String::new()),
            (false, Some(f)) => {
                let reason = smtp_failure_words(f, spec);
                (format!("=> CHECK failed on service : {reason} <="), reason)
            }
            (false, None) => ("=> CHECK failed on service <=".into(), String::new()),
        },
        // check_tcp.c:113 and :131.
        CheckerKind::TcpCheck => (format!("=> TCP CHECK {state} on service <="), detail()),
        // check_udp.c:221 and :239.
        CheckerKind::UdpCheck(_) => (format!("=> UDP CHECK {state} on service <="), detail()),
        // check_ping.c:296 and :314.
        CheckerKind::PingCheck => (format!("=> ICMP CHECK {state} on service <="), detail()),
        // check_dns.c:148 and :158.
        CheckerKind::DnsCheck(_) => (
            format!("=> DNS_CHECK: {state} on service <="),
            failure.map(dns_failure_words).unwrap_or_default(),
        ),
        // check_misc.c:489.
        CheckerKind::MiscCheck(_) => (
            format!(
                "=> MISC CHECK {} on service <=",
                misc_exit_type(up, failure)
            ),
            detail(),
        ),
        // track_file.c:600-614 changes the checker's state and sends no mail.
        CheckerKind::FileCheck(_) => (String::new(), detail()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec;
    use std::path::Path;

    fn spec(checker: &str) -> TargetSpec {
        let text = format!(
            "virtual_server 198.51.100.10 80 {{ delay_loop 2\n protocol TCP\n real_server 203.0.113.12 80 {{ {checker} }} }}"
        );
        let config =
            keepalived_config::load_str(&text, Path::new("/tmp/k.conf"), &Default::default())
                .unwrap()
                .config;
        spec::build(&config).remove(0)
    }

    #[test]
    fn http_lines_are_keepalived_2_2_7s() {
        let s = spec(
            "HTTP_GET { url { path / status_code 200 } connect_timeout 2 retry 3 delay_before_retry 1 }",
        );
        assert_eq!(
            words_of(&s, Note::Down { retries: Some(3) }, None),
            "HTTP_CHECK on service [203.0.113.12]:tcp:80 failed after 3 retries."
        );
        assert_eq!(
            words_of(&s, Note::Down { retries: None }, None),
            "HTTP_CHECK on service [203.0.113.12]:tcp:80 failed."
        );
        assert_eq!(
            words_of(&s, Note::SuccessWhileDown, None),
            "HTTP status code success to [203.0.113.12]:tcp:80 url(/)"
        );
        assert_eq!(
            words_of(&s, Note::Up, None),
            "Remote Web server [203.0.113.12]:tcp:80 succeed on service."
        );
        for (failure, text) in [
            (
                Failure::Status(500),
                "HTTP status code error to server [203.0.113.12]:tcp:80.",
            ),
            (
                Failure::Refused,
                "Connection failed server [203.0.113.12]:tcp:80.",
            ),
            (
                Failure::ConnectTimeout,
                "Timeout connecting server [203.0.113.12]:tcp:80.",
            ),
        ] {
            assert_eq!(words_of(&s, Note::AttemptFailed, Some(&failure)), text);
        }
        assert_eq!(
            activating(&s, "[198.51.100.10]:tcp:80"),
            "Activating healthchecker for service [203.0.113.12]:tcp:80 for VS [198.51.100.10]:tcp:80"
        );
        let (body, reason) = mail(&s, false, Some(&Failure::Refused));
        assert_eq!(body, "=> CHECK failed on service : HTTP request failed <=");
        assert_eq!(reason, "HTTP request failed");
    }

    #[test]
    fn tcp_misc_and_smtp_lines() {
        let s = spec("TCP_CHECK { connect_timeout 1 }");
        assert_eq!(
            words_of(&s, Note::Up, None),
            "TCP connection to [203.0.113.12]:tcp:80 success."
        );
        assert_eq!(
            words_of(&s, Note::Down { retries: Some(1) }, None),
            "TCP_CHECK on service [203.0.113.12]:tcp:80 failed after 1 retries."
        );
        assert_eq!(
            words_of(&s, Note::AttemptFailed, Some(&Failure::ConnectTimeout)),
            "TCP connection to [203.0.113.12]:tcp:80 timeout."
        );
        // check_misc.c:465-479 with :458-460.
        let s = spec("MISC_CHECK { misc_path \"/bin/check.sh arg\" }");
        assert_eq!(
            words_of(
                &s,
                Note::Down { retries: None },
                Some(&Failure::ScriptExit(1))
            ),
            "Misc check for [[203.0.113.12]:tcp:80 VS [198.51.100.10]:tcp:80] by [/bin/check.sh] failed with retry disabled (exited with status 1)."
        );
        assert_eq!(
            words_of(&s, Note::Up, None),
            "Misc check for [[203.0.113.12]:tcp:80 VS [198.51.100.10]:tcp:80] by [/bin/check.sh] succeeded."
        );
        let s = spec("MISC_CHECK {\n misc_path /bin/check.sh\n retry 1\n }");
        assert_eq!(
            words_of(
                &s,
                Note::Down { retries: Some(1) },
                Some(&Failure::ScriptTimeout)
            ),
            "Misc check for [[203.0.113.12]:tcp:80 VS [198.51.100.10]:tcp:80] by [/bin/check.sh] timed out after 1 retry."
        );
        // FMT_SMTP_RS is `[IP]:PORT` (check_smtp.h:60, utils.c:706).
        let s = spec("SMTP_CHECK { connect_port 2525 }");
        assert_eq!(
            words_of(&s, Note::AttemptFailed, Some(&Failure::Refused)),
            "SMTP_CHECK Could not connect to server [203.0.113.12]:2525"
        );
    }

    #[test]
    fn udp_ping_and_file_lines_are_keepalived_2_2_7s() {
        // check_udp.c:213, :225, :298, :306.
        let s = spec("UDP_CHECK { connect_timeout 1 }");
        assert_eq!(
            words_of(&s, Note::Up, None),
            "UDP connection to [203.0.113.12]:tcp:80 success."
        );
        assert_eq!(
            words_of(&s, Note::Down { retries: Some(2) }, None),
            "UDP_CHECK on service [203.0.113.12]:tcp:80 failed after 2 retries."
        );
        assert_eq!(
            words_of(&s, Note::AttemptFailed, Some(&Failure::Refused)),
            "UDP connection to [203.0.113.12]:tcp:80 failed."
        );
        assert_eq!(
            words_of(
                &s,
                Note::AttemptFailed,
                Some(&Failure::Protocol("reply".into()))
            ),
            "UDP check to [203.0.113.12]:tcp:80 reply data mismatch."
        );
        // check_ping.c:288, :301, :306, :335, :354.
        let s = spec("PING_CHECK { connect_timeout 1 }");
        assert_eq!(
            words_of(&s, Note::Up, None),
            "ICMP connection to [203.0.113.12]:tcp:80 success."
        );
        assert_eq!(
            words_of(&s, Note::Down { retries: Some(3) }, None),
            "ICMP CHECK on service [203.0.113.12]:tcp:80 of [198.51.100.10]:tcp:80 failed after 3 retries."
        );
        assert_eq!(
            words_of(&s, Note::Down { retries: None }, None),
            "ICMP CHECK on service [203.0.113.12]:tcp:80 failed."
        );
        assert_eq!(
            words_of(&s, Note::AttemptFailed, Some(&Failure::ReadTimeout)),
            "ICMP connection to address [203.0.113.12]:tcp:80 timeout."
        );
        assert_eq!(
            words_of(&s, Note::AttemptFailed, Some(&Failure::Refused)),
            "ICMP connection to [203.0.113.12]:tcp:80 of [198.51.100.10]:tcp:80 failed."
        );
        // track_file.c:602 and :609.
        let s = file_spec();
        assert_eq!(
            words_of(&s, Note::Down { retries: None }, None),
            "([203.0.113.12]:tcp:80): tracked file down_file now FAULT state"
        );
        assert_eq!(
            words_of(&s, Note::Up, None),
            "([203.0.113.12]:tcp:80): tracked file down_file leaving FAULT state"
        );
        assert_eq!(line(&s, Note::AttemptFailed, None, 0), None);
    }

    /// Body of the DOWN and the UP mail.
    fn bodies(s: &TargetSpec, failure: Failure) -> (String, String) {
        (mail(s, false, Some(&failure)).0, mail(s, true, None).0)
    }

    #[test]
    fn mail_bodies_are_each_checkers_smtp_alert_text() {
        // check_http.c:1035-1036 and :1002; SSL_GET runs the same epilog.
        for checker in [
            "HTTP_GET { url { path / status_code 200 } }",
            "SSL_GET { url { path / status_code 200 } }",
        ] {
            assert_eq!(
                bodies(&spec(checker), Failure::Status(500)),
                (
                    "=> CHECK failed on service : HTTP request failed <=".into(),
                    "=> CHECK succeed on service <=".into()
                ),
                "{checker}"
            );
        }
        // check_tcp.c:131 and :113.
        assert_eq!(
            bodies(&spec("TCP_CHECK { }"), Failure::Refused),
            (
                "=> TCP CHECK failed on service <=".into(),
                "=> TCP CHECK succeed on service <=".into()
            )
        );
        // check_udp.c:239 and :221.
        assert_eq!(
            bodies(&spec("UDP_CHECK { }"), Failure::Refused),
            (
                "=> UDP CHECK failed on service <=".into(),
                "=> UDP CHECK succeed on service <=".into()
            )
        );
        // check_ping.c:314 and :296.
        assert_eq!(
            bodies(&spec("PING_CHECK { }"), Failure::ReadTimeout),
            (
                "=> ICMP CHECK failed on service <=".into(),
                "=> ICMP CHECK succeed on service <=".into()
            )
        );
        // check_dns.c:148 and :158.
        assert_eq!(
            bodies(
                &spec("DNS_CHECK { name example.com }"),
                Failure::ReadTimeout
            ),
            (
                "=> DNS_CHECK: failed on service <=".into(),
                "=> DNS_CHECK: succeed on service <=".into()
            )
        );
        // check_misc.c:489 with script_exit_type (:386, :392, :425, :427).
        let misc = spec("MISC_CHECK { misc_path /bin/false }");
        assert_eq!(
            bodies(&misc, Failure::ScriptExit(1)),
            (
                "=> MISC CHECK failed on service <=".into(),
                "=> MISC CHECK succeeded on service <=".into()
            )
        );
        assert_eq!(
            mail(&misc, false, Some(&Failure::ScriptTimeout)).0,
            "=> MISC CHECK timed out on service <="
        );
        assert_eq!(
            mail(&misc, false, Some(&Failure::ScriptSignal(9))).0,
            "=> MISC CHECK failed on service <="
        );
        // track_file.c:600-614: no smtp_alert at all.
        assert_eq!(
            bodies(&file_spec(), Failure::File("x".into())),
            (String::new(), String::new())
        );
    }

    #[test]
    fn smtp_mail_carries_smtp_finals_words() {
        // check_smtp.c:374 wraps the smtp_final format; :417 on success.
        let s = spec("SMTP_CHECK { connect_port 2525 }");
        let down = |f: Failure| mail(&s, false, Some(&f)).0;
        assert_eq!(
            down(Failure::Refused),
            "=> CHECK failed on service : Could not connect to server [203.0.113.12]:2525 <="
        );
        assert_eq!(
            down(Failure::ConnectTimeout),
            "=> CHECK failed on service : Connection timeout to server [203.0.113.12]:2525 <="
        );
        assert_eq!(
            down(Failure::Network("unreachable".into())),
            "=> CHECK failed on service : Network unreachable for server 203.0.113.12 - real server [203.0.113.12]:80 <="
        );
        assert_eq!(
            down(Failure::NoData),
            "=> CHECK failed on service : Read failure from server [203.0.113.12]:2525 <="
        );
        assert_eq!(
            down(Failure::ReadTimeout),
            "=> CHECK failed on service : Read timeout from server [203.0.113.12]:2525 <="
        );
        assert_eq!(
            down(Failure::WriteTimeout),
            "=> CHECK failed on service : Write timeout to server [203.0.113.12]:2525 <="
        );
        assert_eq!(
            down(Failure::Protocol("Bad HELO response".into())),
            "=> CHECK failed on service : Bad HELO response from server [203.0.113.12]:2525 <="
        );
        assert_eq!(
            mail(
                &s,
                false,
                Some(&Failure::Protocol("Bad greeting banner".into()))
            )
            .1,
            "Bad greeting banner from server [203.0.113.12]:2525"
        );
        assert_eq!(mail(&s, true, None).0, "=> CHECK succeed on service <=");
    }

    fn file_spec() -> TargetSpec {
        let text = "track_file down_file {\n file /tmp/down\n}\n\
                    virtual_server 198.51.100.10 80 {\n delay_loop 2\n protocol TCP\n\
                    real_server 203.0.113.12 80 {\n FILE_CHECK {\n track_file down_file\n }\n }\n}\n";
        let config =
            keepalived_config::load_str(text, Path::new("/tmp/k.conf"), &Default::default())
                .unwrap()
                .config;
        spec::build(&config).remove(0)
    }

    fn words_of(s: &TargetSpec, note: Note, failure: Option<&Failure>) -> String {
        line(s, note, failure, 0).unwrap()
    }
}
