//! keepalived 2.2.7's log lines and mail texts for each checker, word for
//! word (`check_http.c`, `check_tcp.c`, `check_dns.c`, `check_smtp.c`,
//! `check_misc.c`). UDP_CHECK, PING_CHECK and FILE_CHECK follow TCP_CHECK's
//! pattern with their own name: their wording was not verified against
//! keepalived's source.

use keepalived_config::CheckerKind;

use crate::machine::Note;
use crate::outcome::Failure;
use crate::targets::TargetSpec;

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
        CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => "HTTP_CHECK",
        CheckerKind::TcpCheck => "TCP_CHECK",
        CheckerKind::MiscCheck(_) => "MISC_CHECK",
        CheckerKind::SmtpCheck(_) => "SMTP_CHECK",
        CheckerKind::DnsCheck(_) => "DNS_CHECK",
        CheckerKind::UdpCheck(_) => "UDP_CHECK",
        CheckerKind::PingCheck => "PING_CHECK",
        CheckerKind::FileCheck(_) => "FILE_CHECK",
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

/// SMTP's failure text (`smtp_final` format), without the `SMTP_CHECK ` prefix.
fn smtp_failure_words(failure: &Failure, chk: &str) -> String {
    match failure {
        Failure::ConnectTimeout => format!("Connection timeout to server {chk}"),
        Failure::Refused | Failure::Reset => format!("Error connecting to server {chk}"),
        Failure::Network(_) => format!("Could not connect to server {chk}"),
        Failure::ReadTimeout => format!("Read timeout from server {chk}"),
        Failure::WriteTimeout => format!("Write timeout to server {chk}"),
        Failure::NoData => format!("Read failure from server {chk}"),
        Failure::Protocol(what) => format!("{what} from server {chk}"),
        other => format!("{} to server {chk}", other.detail()),
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
                failure.map(|f| format!("SMTP_CHECK {}", smtp_failure_words(f, &chk)))
            }
            Note::Up => Some(format!("Remote SMTP server {chk} succeed on service.")),
            Note::Down { .. } | Note::SuccessWhileDown => None,
        },
        CheckerKind::MiscCheck(_) => {
            let head = format!(
                "Misc check to [{}] for [{}]",
                spec.real_server.ip(),
                misc_script(kind)
            );
            match note {
                Note::Up => Some(format!("{head} succeeded.")),
                Note::Down { .. } => Some(match failure {
                    Some(Failure::ScriptTimeout) => format!("{head} timed out."),
                    Some(Failure::ScriptSignal(sig)) => {
                        format!("{head} failed (due to signal {sig}).")
                    }
                    Some(Failure::ScriptExit(code)) => {
                        format!("{head} failed (exited with status {code}).")
                    }
                    _ => format!("{head} failed."),
                }),
                Note::AttemptFailed | Note::SuccessWhileDown => None,
            }
        }
        // TCP_CHECK; UDP/PING/FILE follow its pattern.
        _ => {
            let what = match kind {
                CheckerKind::UdpCheck(_) => "UDP",
                CheckerKind::PingCheck => "PING",
                CheckerKind::FileCheck(_) => "FILE",
                _ => "TCP",
            };
            let conn = if what == "TCP" { "connection" } else { "check" };
            match note {
                Note::AttemptFailed => Some(match failure {
                    Some(Failure::ConnectTimeout | Failure::ReadTimeout) => {
                        format!("{what} {conn} to {chk} timedout.")
                    }
                    _ => format!("{what} {conn} to {chk} failed."),
                }),
                Note::Up => Some(format!("{what} {conn} to {chk} success.")),
                Note::Down { retries } => Some(down(retries)),
                Note::SuccessWhileDown => None,
            }
        }
    }
}

/// keepalived's alert mail body for a transition, and the reason inside it.
pub fn mail(spec: &TargetSpec, up: bool, failure: Option<&Failure>) -> (String, String) {
    let kind = &spec.checker.kind;
    match (kind, up) {
        (CheckerKind::HttpGet(_) | CheckerKind::SslGet(_), false) => (
            "=> CHECK failed on service : HTTP request failed <=".into(),
            "HTTP request failed".into(),
        ),
        (CheckerKind::SmtpCheck(_), false) => {
            let reason = failure
                .map(|f| smtp_failure_words(f, &spec.fmt_chk()))
                .unwrap_or_default();
            (format!("=> CHECK failed on service : {reason} <="), reason)
        }
        (CheckerKind::TcpCheck, up) => (
            format!(
                "=> TCP CHECK {} on service <=",
                if up { "succeed" } else { "failed" }
            ),
            failure.map(Failure::detail).unwrap_or_default(),
        ),
        (CheckerKind::DnsCheck(_), up) => (
            format!(
                "=> DNS_CHECK: {} on service <=",
                if up { "succeed" } else { "failed" }
            ),
            failure.map(dns_failure_words).unwrap_or_default(),
        ),
        (CheckerKind::MiscCheck(_), up) => {
            let what = match (up, failure) {
                (true, _) => "succeeded",
                (false, Some(Failure::ScriptTimeout)) => "timed out",
                (false, _) => "failed",
            };
            (
                format!("=> MISC CHECK {what} on service <="),
                failure.map(Failure::detail).unwrap_or_default(),
            )
        }
        (_, true) => ("=> CHECK succeed on service <=".into(), String::new()),
        (_, false) => (
            "=> CHECK failed on service <=".into(),
            failure.map(Failure::detail).unwrap_or_default(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets;
    use std::path::Path;

    fn spec(checker: &str) -> TargetSpec {
        let text = format!(
            "virtual_server 198.51.100.10 80 {{ delay_loop 2\n real_server 203.0.113.12 80 {{ {checker} }} }}"
        );
        let config =
            keepalived_config::load_str(&text, Path::new("/tmp/k.conf"), &Default::default())
                .unwrap()
                .config;
        targets::build(&config).remove(0)
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
        let s = spec("MISC_CHECK { misc_path \"/bin/check.sh arg\" }");
        assert_eq!(
            words_of(
                &s,
                Note::Down { retries: None },
                Some(&Failure::ScriptExit(1))
            ),
            "Misc check to [203.0.113.12] for [/bin/check.sh] failed (exited with status 1)."
        );
        assert_eq!(
            words_of(&s, Note::Up, None),
            "Misc check to [203.0.113.12] for [/bin/check.sh] succeeded."
        );
        let s = spec("SMTP_CHECK { connect_port 2525 }");
        assert_eq!(
            words_of(&s, Note::AttemptFailed, Some(&Failure::Refused)),
            "SMTP_CHECK Error connecting to server [203.0.113.12]:tcp:2525"
        );
    }

    fn words_of(s: &TargetSpec, note: Note, failure: Option<&Failure>) -> String {
        line(s, note, failure, 0).unwrap()
    }
}
