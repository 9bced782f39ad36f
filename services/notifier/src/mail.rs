//! keepalived 2.2.7's alert mails, byte for byte (pure).
//!
//! Subjects and bodies are those of `smtp_alert()` (core/smtp.c) and its
//! callers (vrrp_notify.c, ipwrapper.c, the checkers); the message is
//! `SMTP_HEADERS_CMD` + `SMTP_BODY_CMD` + `SMTP_SEND_CMD`:
//! `Date`, `From`, `Subject`, `X-Mailer: Keepalived`, `To`, a blank line, the
//! body and CRLF, then `CRLF.CRLF`.

use crate::notice::{RsName, State, VsName};

/// The Date header's format: `strftime("%a, %d %b %Y %H:%M:%S %z")` of the
/// local time, as `body_cmd` does.
pub fn rfc822_date(now: chrono::DateTime<chrono::Local>) -> String {
    now.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

/// The To header: recipients joined by `", "` (`build_to_header_rcpt_addrs`).
pub fn to_header(recipients: &[String]) -> String {
    recipients.join(", ")
}

/// `MAX_HEADERS_LENGTH` (smtp.h:71): the subject is `snprintf`ed into that
/// many bytes, so it keeps 255.
const SUBJECT_MAX: usize = 255;
/// `MAX_BODY_LENGTH` (smtp.h:72): the body is copied into that many bytes
/// (smtp.c:656-657), so it keeps 511.
const BODY_MAX: usize = 511;

/// `text` cut to at most `max` bytes, as keepalived's fixed buffers cut it
/// (at a character boundary: the result stays UTF-8).
fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Everything sent after `DATA` and its 354, up to and including the final
/// dot line.
pub fn data(date: &str, from: &str, subject: &str, to: &[String], body: &str) -> String {
    format!(
        "Date: {date}\r\nFrom: {from}\r\nSubject: {subject}\r\nX-Mailer: Keepalived\r\nTo: {to}\r\n\r\n{body}\r\n\r\n.\r\n",
        subject = clip(subject, SUBJECT_MAX),
        body = clip(body, BODY_MAX),
        to = to_header(to)
    )
}

/// Subject and body of a VRRP instance's mail (`vrrp_smtp_notifier`), or
/// `None` for a state keepalived does not mail about.
///
/// STOP is deliberately `None`: keepalived 2.2.7 formats a `Stopping` mail at
/// shutdown but exits before it is sent (measured: no mail on shutdown).
pub fn instance(router_id: &str, name: &str, to: State) -> Option<(String, String)> {
    let (what, body) = match to {
        State::Master => (
            "Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        ),
        State::Backup => (
            "Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        State::Fault => (
            "Entering FAULT state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        State::Stop | State::Init => return None,
    };
    Some((
        format!("[{router_id}] VRRP Instance {name} - {what}"),
        body.to_owned(),
    ))
}

/// Subject and body of a sync group's mail (`vrrp_sync_smtp_notifier`).
pub fn group(router_id: &str, name: &str, to: State) -> Option<(String, String)> {
    let (what, body) = match to {
        State::Master => (
            "Entering MASTER state",
            "=> All VRRP group instances are now in MASTER state <=",
        ),
        State::Backup => (
            "Entering BACKUP state",
            "=> All VRRP group instances are now in BACKUP state <=",
        ),
        State::Fault => (
            "Entering FAULT state",
            "=> All VRRP group instances are now in FAULT state <=",
        ),
        State::Stop | State::Init => return None,
    };
    Some((
        format!("[{router_id}] VRRP Group {name} - {what}"),
        body.to_owned(),
    ))
}

/// Subject and body of a real server's mail (`SMTP_MSG_RS`), or `None` when
/// keepalived sends none.
///
/// The subject is `smtp_alert`'s (smtp.c:610-614). The body is the
/// checker's own text, which this crate does not word: the health-prober
/// does (its `words::mail`, keyed by checker and failure), publishes it with
/// the verdict, and ipvs-manager passes it on with the kernel change
/// (`RealServerChange.mail_body`). An empty body is a checker that mails
/// nothing (FILE_CHECK). Without one (`None`: an older ipvs-manager, or a
/// verdict it only learnt from a snapshot) the body is the generic
/// `=> CHECK succeed on service <=` / `=> CHECK failed on service : REASON <=`
/// (`=> CHECK failed on service <=` without a reason, check_smtp.c:379).
pub fn real_server(
    router_id: &str,
    rs: &RsName,
    up: bool,
    body: Option<&str>,
    reason: &str,
) -> Option<(String, String)> {
    let subject = format!(
        "[{router_id}] Realserver {rs} of virtual server {vs} - {state}",
        vs = rs.vs,
        state = if up { "UP" } else { "DOWN" }
    );
    let body = match body {
        Some("") => return None,
        Some(body) => body.to_owned(),
        None if up => "=> CHECK succeed on service <=".to_owned(),
        None if reason.is_empty() => "=> CHECK failed on service <=".to_owned(),
        None => format!("=> CHECK failed on service : {reason} <="),
    };
    Some((subject, body))
}

/// Subject and body of a quorum mail (`do_vs_notifies`): the threshold is
/// `quorum + hysteresis` when gaining, `quorum - hysteresis` when losing
/// (`update_quorum_state`), printed as a signed number.
pub fn quorum(
    router_id: &str,
    vs: &VsName,
    up: bool,
    quorum: u32,
    hysteresis: u32,
    alive_weight: u32,
) -> (String, String) {
    let threshold = if up {
        i64::from(quorum) + i64::from(hysteresis)
    } else {
        i64::from(quorum) - i64::from(hysteresis)
    };
    let subject = format!(
        "[{router_id}] Virtualserver {vs} - {}",
        if up { "UP" } else { "DOWN" }
    );
    let body = format!(
        "=> {} {quorum}+{hysteresis}={threshold} <= {alive_weight} <=",
        if up { "Gained quorum" } else { "Lost quorum" }
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs() -> VsName {
        VsName::Addr {
            ip: "198.51.100.10".into(),
            port: 80,
            protocol: "tcp".into(),
        }
    }

    fn rs() -> RsName {
        RsName {
            vs: vs(),
            ip: "203.0.113.12".into(),
            port: 80,
        }
    }

    /// The DATA section of keepalived 2.2.7's DOWN mail as measured
    /// (docs/keepalived-checker.md, "Mails").
    #[test]
    fn real_server_down_mail_is_keepalived_2_2_7s_byte_for_byte() {
        let (subject, body) = real_server(
            "keepalivedR1",
            &rs(),
            false,
            Some("=> CHECK failed on service : HTTP request failed <="),
            "HTTP request failed",
        )
        .unwrap();
        let text = data(
            "Sat, 28 Nov 2026 15:33:29 +0000",
            "keepalived@localhost",
            &subject,
            &["root@localhost".to_owned()],
            &body,
        );
        assert_eq!(
            text,
            "Date: Sat, 28 Nov 2026 15:33:29 +0000\r\n\
             From: keepalived@localhost\r\n\
             Subject: [keepalivedR1] Realserver [203.0.113.12]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - DOWN\r\n\
             X-Mailer: Keepalived\r\n\
             To: root@localhost\r\n\
             \r\n\
             => CHECK failed on service : HTTP request failed <=\r\n\
             \r\n\
             .\r\n"
        );
    }

    #[test]
    fn real_server_mail_sends_the_checkers_body_as_is_and_none_when_empty() {
        let (subject, body) = real_server(
            "keepalivedR1",
            &rs(),
            true,
            Some("=> TCP CHECK succeed on service <="),
            "",
        )
        .unwrap();
        assert_eq!(
            subject,
            "[keepalivedR1] Realserver [203.0.113.12]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - UP"
        );
        assert_eq!(body, "=> TCP CHECK succeed on service <=");
        assert_eq!(real_server("r", &rs(), false, Some(""), "x"), None);
    }

    #[test]
    fn an_event_without_the_checkers_body_gets_the_generic_one() {
        let body = |up, reason| real_server("r", &rs(), up, None, reason).unwrap().1;
        assert_eq!(body(true, ""), "=> CHECK succeed on service <=");
        assert_eq!(
            body(false, "HTTP request failed"),
            "=> CHECK failed on service : HTTP request failed <="
        );
        assert_eq!(body(false, ""), "=> CHECK failed on service <=");
    }

    #[test]
    fn subject_and_body_are_cut_to_keepaliveds_buffers() {
        let long = "é".repeat(300);
        let text = data("d", "f", &long, &["t".to_owned()], &"b".repeat(600));
        let subject = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap();
        // 255 bytes is not a character boundary of two-byte characters: 254.
        assert_eq!(subject.len(), 254);
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        assert_eq!(body.len(), 511);
    }

    #[test]
    fn vrrp_mails_use_vrrp_notify_wording_and_none_on_stop() {
        assert_eq!(
            instance("keepalivedR1", "VI_1", State::Master),
            Some((
                "[keepalivedR1] VRRP Instance VI_1 - Entering MASTER state".into(),
                "=> VRRP Instance is now owning VRRP VIPs <=".into()
            ))
        );
        assert_eq!(
            instance("keepalivedR1", "VI_1", State::Backup).unwrap().1,
            "=> VRRP Instance is no longer owning VRRP VIPs <="
        );
        assert_eq!(
            instance("r", "VI_1", State::Fault),
            Some((
                "[r] VRRP Instance VI_1 - Entering FAULT state".into(),
                "=> VRRP Instance is no longer owning VRRP VIPs <=".into()
            ))
        );
        assert_eq!(instance("r", "VI_1", State::Stop), None);
        assert_eq!(
            group("r", "G1", State::Master),
            Some((
                "[r] VRRP Group G1 - Entering MASTER state".into(),
                "=> All VRRP group instances are now in MASTER state <=".into()
            ))
        );
    }

    #[test]
    fn quorum_mails_print_threshold_with_hysteresis() {
        assert_eq!(
            quorum("r", &vs(), true, 2, 1, 3),
            (
                "[r] Virtualserver [198.51.100.10]:tcp:80 - UP".into(),
                "=> Gained quorum 2+1=3 <= 3 <=".into()
            )
        );
        assert_eq!(
            quorum("r", &vs(), false, 1, 2, 0).1,
            "=> Lost quorum 1+2=-1 <= 0 <="
        );
    }

    #[test]
    fn several_recipients_are_comma_space_separated() {
        assert_eq!(
            to_header(&["a@x".into(), "b@y".into(), "c@z".into()]),
            "a@x, b@y, c@z"
        );
    }

    #[test]
    fn date_is_rfc822_with_numeric_zone() {
        use chrono::TimeZone as _;
        let t = chrono::Local.timestamp_opt(0, 0).unwrap();
        let d = rfc822_date(t);
        // "Thu, 01 Jan 1970 00:00:00 +0000" in UTC; the zone varies by host.
        assert_eq!(d.len(), "Thu, 01 Jan 1970 00:00:00 +0000".len(), "{d}");
        assert!(d[26..].starts_with('+') || d[26..].starts_with('-'), "{d}");
    }
}
