//! `virtual_routes` and `virtual_rules` follow the instance; `static_ipaddress`,
//! `static_routes` and `static_rules` do not (root, network namespaces). Virtual: installed
//! on the MASTER only, IPv4 and IPv6, with keepalived's `proto keepalived` (a gateway route, a
//! route with a VIP as its source, a blackhole, a route in another table, a from and a to
//! rule), moved with the VIP when the master stops, none left on the stopped director.
//! Statics: on MASTER and BACKUP alike, gone after the stop.

mod common;

use std::time::Duration;

use common::{Conf, Topology, Which};
use keepalived_testlab::wait_until;

const ROUTES: &str = "    virtual_routes {
        203.0.113.0/26 via 198.51.100.20 dev eth0
        2001:db8:1::/64 via 2001:db8::20 dev eth0
        to 2001:db8:2::/64 src 2001:db8::10 dev eth0 metric 7
        blackhole 203.0.113.128/26
        203.0.113.64/26 dev eth0 table 100
    }
    virtual_rules {
        from 203.0.113.0/24 table 100 priority 100
        to 2001:db8:3::/64 lookup 100 pref 101
    }
";

/// Each route as `ip route` prints a part of it, with the command that lists it.
const EXPECT: [(&[&str], &str); 7] = [
    (
        &["-4", "rule", "show"],
        "100:\tfrom 203.0.113.0/24 lookup 100 proto keepalived",
    ),
    (
        &["-6", "rule", "show"],
        "101:\tfrom all to 2001:db8:3::/64 lookup 100 proto keepalived",
    ),
    (
        &["-4", "route", "show"],
        "203.0.113.0/26 via 198.51.100.20 dev eth0 proto keepalived",
    ),
    (
        &["-6", "route", "show"],
        "2001:db8:1::/64 via 2001:db8::20 dev eth0 proto keepalived",
    ),
    (
        &["-6", "route", "show"],
        "2001:db8:2::/64 dev eth0 proto keepalived src 2001:db8::10 metric 7",
    ),
    (
        &["-4", "route", "show"],
        "blackhole 203.0.113.128/26 proto keepalived",
    ),
    (
        &["-4", "route", "show", "table", "100"],
        "203.0.113.64/26 dev eth0 proto keepalived scope link",
    ),
];

/// Which of the routes `which` holds.
fn routes(t: &Topology, which: Which) -> Vec<&'static str> {
    let ns = &t.director(which).host.netns;
    EXPECT
        .iter()
        .filter(|(args, line)| {
            let mut argv = vec!["ip"];
            argv.extend_from_slice(args);
            t.lab
                .exec(ns, &argv)
                .map(|o| String::from_utf8_lossy(&o.stdout).contains(line))
                .unwrap_or(false)
        })
        .map(|(_, line)| *line)
        .collect()
}

#[test]
fn virtual_routes_are_on_the_master_only_and_move_with_it() {
    if !common::prerequisites("virtual_routes", &[]) {
        return;
    }
    let mut t = Topology::new_v6("vcrt");
    let all: Vec<&str> = EXPECT.iter().map(|(_, l)| *l).collect();
    let mut dr1 = Conf::fast_v6("keepalivedR1", 99);
    dr1.instance_extra = ROUTES.into();
    let mut dr2 = Conf::fast_v6("keepalivedR2", 90);
    dr2.instance_extra = ROUTES.into();
    t.start(Which::Dr1, &dr1);
    t.start(Which::Dr2, &dr2);
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(5), || routes(&t, Which::Dr1) == all),
        "dr1 (MASTER) holds {:?}; ip -4 route table all: {}\n{}",
        routes(&t, Which::Dr1),
        String::from_utf8_lossy(
            &t.lab
                .exec(
                    &t.director(Which::Dr1).host.netns,
                    &["ip", "-4", "route", "show", "table", "all"]
                )
                .map(|o| o.stdout)
                .unwrap_or_default()
        ),
        t.logs()
    );
    assert_eq!(routes(&t, Which::Dr2), Vec::<&str>::new(), "dr2 is BACKUP");

    t.stop(Which::Dr1, "TERM");
    t.wait_vip_on(Which::Dr2, Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(5), || routes(&t, Which::Dr2) == all),
        "dr2 (now MASTER) holds {:?}\n{}",
        routes(&t, Which::Dr2),
        t.logs()
    );
    assert_eq!(
        routes(&t, Which::Dr1),
        Vec::<&str>::new(),
        "the stopped dr1 left routes behind"
    );
    t.stop(Which::Dr2, "TERM");
    assert_eq!(routes(&t, Which::Dr2), Vec::<&str>::new());
}

const STATICS: &str = "static_ipaddress {
    203.0.113.50/24 dev eth0
    2001:db8:5::1/64 dev eth0
}
static_routes {
    203.0.113.192/26 via 198.51.100.20 dev eth0
}
static_rules {
    from 198.51.100.0/24 fwmark 7 table 200 priority 200
}
";

/// Which of the static entries `which` holds.
fn statics(t: &Topology, which: Which) -> Vec<&'static str> {
    let ns = &t.director(which).host.netns;
    let show = |args: &[&str]| {
        let mut argv = vec!["ip"];
        argv.extend_from_slice(args);
        t.lab
            .exec(ns, &argv)
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let addrs = show(&["addr", "show", "dev", "eth0"]);
    let routes = show(&["-4", "route", "show"]);
    let rules = show(&["-4", "rule", "show"]);
    [
        ("inet 203.0.113.50/24", &addrs),
        ("inet6 2001:db8:5::1/64", &addrs),
        (
            "203.0.113.192/26 via 198.51.100.20 dev eth0 proto keepalived",
            &routes,
        ),
        (
            "200:\tfrom 198.51.100.0/24 fwmark 0x7 lookup 200 proto keepalived",
            &rules,
        ),
    ]
    .into_iter()
    .filter(|(needle, text)| text.contains(needle))
    .map(|(needle, _)| needle)
    .collect()
}

#[test]
fn static_addresses_and_routes_are_there_in_every_state_and_gone_after_stop() {
    if !common::prerequisites("static_ipaddress", &[]) {
        return;
    }
    let mut t = Topology::new_v6("vcst");
    let mut dr1 = Conf::fast_v6("keepalivedR1", 99);
    dr1.top_extra = STATICS.into();
    let mut dr2 = Conf::fast_v6("keepalivedR2", 90);
    dr2.top_extra = STATICS.into();
    t.start(Which::Dr1, &dr1);
    t.start(Which::Dr2, &dr2);
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    for which in [Which::Dr1, Which::Dr2] {
        assert!(
            wait_until(Duration::from_secs(5), || statics(&t, which).len() == 4),
            "{which:?} (MASTER or BACKUP) holds {:?}\n{}",
            statics(&t, which),
            t.logs()
        );
    }
    t.stop(Which::Dr2, "TERM");
    assert_eq!(
        statics(&t, Which::Dr2),
        Vec::<&str>::new(),
        "left behind by dr2"
    );
    assert_eq!(statics(&t, Which::Dr1).len(), 4);
    t.stop(Which::Dr1, "TERM");
    assert_eq!(statics(&t, Which::Dr1), Vec::<&str>::new());
}
