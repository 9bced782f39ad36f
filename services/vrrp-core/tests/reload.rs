//! SIGHUP reloads by difference: an unchanged instance keeps running with no flap, a
//! new one starts, a removed one stops and removes its VIPs.

mod common;

use std::time::Duration;

use common::{Conf, Topology, Which};
use keepalived_testlab::wait_until;

const VI_2: &str = "vrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 4\n    priority 100\n    advert_int 0.1\n    version 3\n    virtual_ipaddress {\n        198.51.100.40/24\n    }\n}\n";

#[test]
fn sighup_keeps_unchanged_instances_starts_new_and_stops_removed_ones() {
    if !common::prerequisites("reload", &[]) {
        return;
    }
    let mut t = Topology::new("vcreload");
    let mut conf = Conf::fast("R1", 99);
    t.start(Which::Dr1, &conf);
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    let ns = t.dr1.host.netns.clone();
    let pid = t.dr1.pid.unwrap();

    conf.top_extra = VI_2.into();
    std::fs::write(&t.dr1.conf, conf.render()).unwrap();
    t.lab.signal(pid, "HUP").unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || common::has_address(
            &t.lab,
            &ns,
            "198.51.100.40"
        )),
        "VI_2 not started\n{}",
        t.logs()
    );
    conf.top_extra.clear();
    std::fs::write(&t.dr1.conf, conf.render()).unwrap();
    // The removed instance's last transition on the bus is FAULT, reason RELOAD: what
    // keepalived notifies for a deleted instance without `notify_deleted`
    // (vrrp.c clear_diff_vrrp), so notify_fault runs where notify_stop ran before.
    let last = common::block_on(async {
        use futures::StreamExt as _;
        use keepalived_api::v1::{self, vrrp_event::Payload};
        let mut client = common::connect_unix(t.dr1.sock.clone()).await;
        let mut events = client
            .watch(v1::WatchRequest {
                consumer: "reload-test".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        t.lab.signal(pid, "HUP").unwrap();
        tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(e)) = events.next().await {
                if let Some(Payload::Transition(tr)) = e.payload
                    && tr.instance == "VI_2"
                {
                    return Some(tr);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    });
    let last = last.unwrap_or_else(|| panic!("no VI_2 transition at its removal\n{}", t.logs()));
    assert_eq!(
        (last.to, last.reason),
        (
            keepalived_api::v1::VrrpState::Fault as i32,
            keepalived_api::v1::TransitionReason::Reload as i32
        ),
        "{last:?}"
    );
    assert!(
        wait_until(Duration::from_secs(5), || !common::has_address(
            &t.lab,
            &ns,
            "198.51.100.40"
        )),
        "VI_2's VIP not removed\n{}",
        t.logs()
    );
    // VI_1 never flapped through both reloads.
    let vi1 = t.instance(Which::Dr1);
    let c = vi1.counters.unwrap();
    assert_eq!((c.become_master, c.release_master), (1, 0), "{}", t.logs());
    assert!(t.has_vip(Which::Dr1));
}
