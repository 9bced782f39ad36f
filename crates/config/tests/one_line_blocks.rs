//! Blocks written on one line, and `{` on the next line, read as keepalived 2.2 reads them:
//! `read_line` splits a line only at `{` and `}`, so each piece between braces is one
//! statement whose first word is the keyword and whose other words are its arguments.

use std::path::Path;

use keepalived_config::*;

fn load(text: &str) -> Result<Loaded, Vec<Diagnostic>> {
    load_with_host(
        text,
        Path::new("/etc/keepalived/keepalived.conf"),
        &LoadOptions::default(),
        "lb1.example.net",
    )
    .map_err(|e| match e {
        LoadError::Invalid { diagnostics } => diagnostics,
        other => panic!("{other}"),
    })
}

fn ok(text: &str) -> (Config, Vec<String>) {
    match load(text) {
        Ok(l) => (
            l.config,
            l.diagnostics.iter().map(|d| d.to_string()).collect(),
        ),
        Err(d) => panic!("unexpected errors: {d:#?}"),
    }
}

const F: &str = "/etc/keepalived/keepalived.conf";

fn http_vs(checker: &str) -> String {
    format!(
        "virtual_server 198.51.100.1 80 {{\n    lvs_sched rr\n    lvs_method NAT\n    protocol TCP\n    real_server 203.0.113.1 80 {{\n{checker}\n    }}\n}}\n"
    )
}

fn first_http(cfg: &Config) -> &HttpCheck {
    match &cfg.virtual_servers[0].real_servers[0].checkers[0].kind {
        CheckerKind::HttpGet(h) => h,
        other => panic!("expected HTTP_GET, got {other:?}"),
    }
}

#[test]
fn nested_one_line_blocks_close_and_the_next_statement_follows_on_the_same_line() {
    let (cfg, w) = ok(&http_vs(
        "        HTTP_GET { url { path /health } connect_timeout 3 }",
    ));
    assert!(w.is_empty(), "{w:?}");
    let h = first_http(&cfg);
    assert_eq!(h.urls.len(), 1);
    assert_eq!(h.urls[0].path, "/health");
    let c = &cfg.virtual_servers[0].real_servers[0].checkers[0];
    assert_eq!(c.connect_timeout, Some(TimeUs(3_000_000)));
    assert_eq!(c.timing.connect_timeout, TimeUs(3_000_000));
}

#[test]
fn second_keyword_inside_one_line_url_block_is_an_ignored_argument_with_a_warning() {
    // keepalived hands `path / status_code 200` to the `path` handler, which keeps `/` only.
    let (cfg, w) = ok(&http_vs(
        "        HTTP_GET {\n            url { path / status_code 200 }\n        }",
    ));
    let h = first_http(&cfg);
    assert_eq!(h.urls[0].path, "/");
    // status_code stays at keepalived's default 200-299: keepalived never reads the 200.
    assert_eq!(
        h.urls[0].status_code,
        vec![StatusRange { from: 200, to: 299 }]
    );
    assert_eq!(
        w,
        vec![format!(
            "{F}:7:26: note: 'status_code' is on the same line as 'path': keepalived reads \
             one statement per line, so it is an extra argument of 'path' and has no effect; \
             put it on its own line"
        )]
    );
}

#[test]
fn auth_pass_after_auth_type_on_one_line_is_not_set_and_is_reported() {
    let (cfg, w) = ok(
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    \
         authentication { auth_type PASS auth_pass secret }\n    virtual_ipaddress {\n        \
         198.51.100.10\n    }\n}\n",
    );
    // keepalived never sees auth_pass on that line, and without a password it drops the
    // authentication (vrrp.c: "Authentication specified but no password given. Ignoring").
    assert_eq!(cfg.vrrp_instances[0].authentication, None);
    assert!(
        w[0].starts_with(&format!(
            "{F}:4:37: note: 'auth_pass' is on the same line as 'auth_type'"
        )),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|m| m.contains("Authentication specified but no password given")),
        "{w:?}"
    );
}

#[test]
fn one_statement_per_line_inside_braces_gives_no_warning() {
    let (cfg, w) = ok(
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    \
         authentication {\n        auth_type PASS\n        auth_pass secret\n    }\n}\n",
    );
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        cfg.vrrp_instances[0]
            .authentication
            .as_ref()
            .unwrap()
            .auth_pass,
        "secret"
    );
}

#[test]
fn one_line_list_blocks_take_their_items() {
    let (cfg, w) = ok("global_defs {\n    enable_script_security\n}\n\
         vrrp_script chk_down {\n    script \"/bin/true\"\n}\n\
         vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    \
         virtual_ipaddress { 198.51.100.10/24 }\n    track_script { chk_down }\n}\n\
         global_defs { notification_email { a@example.net b@example.net } }\n");
    assert!(w.is_empty(), "{w:?}");
    let v = &cfg.vrrp_instances[0];
    assert_eq!(v.virtual_ipaddress.len(), 1);
    assert_eq!(
        v.virtual_ipaddress[0].address,
        "198.51.100.10".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(v.virtual_ipaddress[0].prefix_len, 24);
    assert_eq!(v.track_script.len(), 1);
    assert_eq!(v.track_script[0].name, "chk_down");
    // notification_email is read with read_value_block: every word is an address.
    assert_eq!(
        cfg.global_defs.notification_email,
        vec!["a@example.net", "b@example.net"]
    );
}

#[test]
fn two_addresses_on_one_virtual_ipaddress_line_keep_the_first_with_a_warning_that_says_why() {
    let (c, w) = ok(
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    \
         virtual_ipaddress { 198.51.100.10/24 198.51.100.11/24 }\n}\n",
    );
    assert_eq!(c.vrrp_instances[0].virtual_ipaddress.len(), 1);
    assert_eq!(
        w,
        vec![format!(
            "{F}:4:42: warning: Unknown configuration entry '198.51.100.11/24' for ip address - \
             ignoring: keepalived reads one address per line, put '198.51.100.11/24' on its own \
             line"
        )]
    );
}

#[test]
fn opening_brace_on_the_next_line_opens_the_block() {
    let (cfg, w) = ok(
        "vrrp_instance VI_1\n{\n    interface eth0\n    virtual_router_id 51\n    \
         virtual_ipaddress\n    {\n        198.51.100.10\n    }\n}\n",
    );
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(cfg.vrrp_instances[0].name, "VI_1");
    assert_eq!(cfg.vrrp_instances[0].virtual_router_id, 51);
    assert_eq!(cfg.vrrp_instances[0].virtual_ipaddress.len(), 1);
}

#[test]
fn statements_after_a_one_line_block_keep_their_own_line_and_column() {
    // An error in the statement after a closing brace on the same line points at it.
    let (_, w) = ok(&http_vs(
        "        HTTP_GET { url { path / } connect_timeout x }",
    ));
    assert_eq!(
        w,
        vec![format!(
            "{F}:6:51: warning: connect_timeout 'x' invalid - ignoring, as keepalived does"
        )]
    );
}

#[test]
fn command_lines_may_contain_keyword_words_without_a_same_line_warning() {
    // notify scripts are free text: `state` is no keepalived keyword there. keepalived reads
    // the first word as the command and the next two as user and group (lib/notify.c).
    let (cfg, w) = ok(
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    \
         notify_master /usr/local/bin/notify state priority\n    virtual_ipaddress {\n        \
         198.51.100.10\n    }\n}\n",
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(
            "note: keepalived runs only '/usr/local/bin/notify' here and reads 'state' as the user"
        ),
        "{w:?}"
    );
    let s = cfg.vrrp_instances[0].notify_master.as_ref().unwrap();
    assert_eq!(
        (s.command.as_str(), s.user.as_deref(), s.group.as_deref()),
        ("/usr/local/bin/notify", Some("state"), Some("priority"))
    );
}
