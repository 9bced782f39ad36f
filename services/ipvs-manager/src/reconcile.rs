//! The reconciler: a pure diff from the observed kernel table to the desired
//! one, as the minimal ordered list of changes.
//!
//! Order, as IPVS needs it and as keepalived's checker does it: a service is
//! added before its destinations and its destinations are removed before it;
//! weights, methods, schedulers and persistence are edited in place (an edit
//! keeps established connections, a delete + add would not). Services the
//! kernel holds outside `scope` are never touched: adopting a running table
//! means leaving other people's services alone, as keepalived does.

use std::collections::BTreeSet;

use crate::table::{Change, DestKey, Service, ServiceKey, TableState};

/// The changes that turn `observed` into `desired` for every service in
/// `desired` or in `scope` (the services this process owns, e.g. those of
/// the previous configuration). Empty when they already match.
pub fn diff(
    desired: &TableState,
    observed: &TableState,
    scope: &BTreeSet<ServiceKey>,
) -> Vec<Change> {
    diff_of(
        desired.services.iter(),
        observed.services.iter(),
        desired,
        observed,
        scope,
    )
}

/// [`diff`] restricted to the services in `keys`: the same changes, in the
/// same order, as `diff` filtered to those services, at a cost proportional
/// to those services only. For a change known to touch only them (one
/// virtual server's real servers); start-up, reloads and resyncs use `diff`.
pub fn diff_services(
    desired: &TableState,
    observed: &TableState,
    scope: &BTreeSet<ServiceKey>,
    keys: &BTreeSet<ServiceKey>,
) -> Vec<Change> {
    diff_of(
        keys.iter()
            .filter_map(|k| desired.services.get_key_value(k)),
        keys.iter()
            .filter_map(|k| observed.services.get_key_value(k)),
        desired,
        observed,
        scope,
    )
}

/// [`diff_services`] when, of the services `keys`, only the destinations
/// `dests` may differ (an update that knows what it edited, the rest in
/// step with the kernel): the same changes in the same order, without a walk
/// over every destination. `None` when a service is missing on either side
/// or its spec differs (use `diff_services`).
pub fn diff_dests(
    desired: &TableState,
    observed: &TableState,
    keys: &BTreeSet<ServiceKey>,
    dests: &BTreeSet<DestKey>,
) -> Option<Vec<Change>> {
    let mut out = Vec::new();
    for key in keys {
        let (want, have) = (desired.services.get(key)?, observed.services.get(key)?);
        if want.spec != have.spec {
            return None;
        }
        // As in `diff_of`: removals before additions and edits, each in key order.
        let mut rest = Vec::new();
        for dest in dests {
            match (want.dests.get(dest), have.dests.get(dest)) {
                (None, Some(_)) => out.push(Change::DelDest {
                    service: *key,
                    dest: *dest,
                }),
                (Some(spec), None) => rest.push(Change::AddDest {
                    service: *key,
                    dest: *dest,
                    spec: *spec,
                }),
                (Some(spec), Some(current)) if spec != current => rest.push(Change::EditDest {
                    service: *key,
                    dest: *dest,
                    spec: *spec,
                }),
                _ => {}
            }
        }
        out.extend(rest);
    }
    Some(out)
}

fn diff_of<'a>(
    wanted: impl Iterator<Item = (&'a ServiceKey, &'a Service)>,
    held: impl Iterator<Item = (&'a ServiceKey, &'a Service)>,
    desired: &TableState,
    observed: &TableState,
    scope: &BTreeSet<ServiceKey>,
) -> Vec<Change> {
    let mut removals = Vec::new();
    let mut edits = Vec::new();
    let mut additions = Vec::new();

    // Services that are no longer wanted: their destinations first, then them.
    for (key, service) in held {
        if desired.services.contains_key(key) || !scope.contains(key) {
            continue;
        }
        for dest in service.dests.keys() {
            removals.push(Change::DelDest {
                service: *key,
                dest: *dest,
            });
        }
        removals.push(Change::DelService { key: *key });
    }

    for (key, want) in wanted {
        match observed.services.get(key) {
            None => {
                additions.push(Change::AddService {
                    key: *key,
                    spec: want.spec.clone(),
                });
                for (dest, spec) in &want.dests {
                    additions.push(Change::AddDest {
                        service: *key,
                        dest: *dest,
                        spec: *spec,
                    });
                }
            }
            Some(have) => {
                if have.spec != want.spec {
                    edits.push(Change::EditService {
                        key: *key,
                        spec: want.spec.clone(),
                    });
                }
                // Removals before additions inside a service, so that a
                // weight sum never exceeds what either table allows. One
                // walk over both sorted maps (no lookup per destination).
                let mut gone = Vec::new();
                let mut rest = Vec::new();
                let mut have_it = have.dests.iter().peekable();
                for (dest, spec) in &want.dests {
                    while let Some((h, _)) = have_it.next_if(|(h, _)| *h < dest) {
                        gone.push(Change::DelDest {
                            service: *key,
                            dest: *h,
                        });
                    }
                    match have_it.next_if(|(h, _)| *h == dest) {
                        Some((_, current)) if current == spec => {}
                        Some(_) => rest.push(Change::EditDest {
                            service: *key,
                            dest: *dest,
                            spec: *spec,
                        }),
                        None => rest.push(Change::AddDest {
                            service: *key,
                            dest: *dest,
                            spec: *spec,
                        }),
                    }
                }
                for (h, _) in have_it {
                    gone.push(Change::DelDest {
                        service: *key,
                        dest: *h,
                    });
                }
                edits.extend(gone);
                edits.extend(rest);
            }
        }
    }

    removals.extend(edits);
    removals.extend(additions);
    removals
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::{IpAddr, Ipv4Addr};

    use proptest::prelude::*;

    use super::*;
    use crate::table::{Dest, DestKey, Method, Persistence, Proto, Service, ServiceSpec};

    fn svc(last: u8) -> ServiceKey {
        ServiceKey::Addr {
            proto: Proto::Tcp,
            ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, last)),
            port: 80,
        }
    }

    fn dest(last: u8) -> DestKey {
        DestKey {
            ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, last)),
            port: 80,
        }
    }

    fn spec(scheduler: &str) -> ServiceSpec {
        ServiceSpec {
            scheduler: scheduler.into(),
            persistence: None,
            ops: false,
        }
    }

    /// (service, scheduler, [(destination, weight)]).
    type Entry<'a> = (u8, &'a str, &'a [(u8, u32)]);

    fn table(entries: &[Entry<'_>]) -> TableState {
        let mut t = TableState::default();
        for (s, sched, dests) in entries {
            t.services.insert(
                svc(*s),
                Service {
                    spec: spec(sched),
                    dests: dests
                        .iter()
                        .map(|(d, w)| {
                            (
                                dest(*d),
                                Dest {
                                    method: Method::Dr,
                                    weight: *w,
                                },
                            )
                        })
                        .collect(),
                },
            );
        }
        t
    }

    #[test]
    fn a_new_service_is_added_before_its_destinations() {
        let desired = table(&[(10, "rr", &[(11, 1), (12, 1)])]);
        let changes = diff(&desired, &TableState::default(), &BTreeSet::new());
        assert!(matches!(changes[0], Change::AddService { .. }));
        assert_eq!(changes.len(), 3);
    }

    #[test]
    fn a_removed_service_loses_its_destinations_first() {
        let observed = table(&[(10, "rr", &[(11, 1), (12, 1)])]);
        let scope = BTreeSet::from([svc(10)]);
        let changes = diff(&TableState::default(), &observed, &scope);
        assert_eq!(changes.len(), 3);
        assert!(matches!(changes[2], Change::DelService { .. }));
    }

    #[test]
    fn weight_and_scheduler_changes_are_edits_in_place() {
        let observed = table(&[(10, "rr", &[(11, 1), (12, 1)])]);
        let desired = table(&[(10, "wrr", &[(11, 1), (12, 0)])]);
        let changes = diff(&desired, &observed, &BTreeSet::new());
        assert_eq!(
            changes,
            vec![
                Change::EditService {
                    key: svc(10),
                    spec: spec("wrr")
                },
                Change::EditDest {
                    service: svc(10),
                    dest: dest(12),
                    spec: Dest {
                        method: Method::Dr,
                        weight: 0
                    }
                },
            ]
        );
    }

    #[test]
    fn services_outside_the_scope_are_adopted_untouched() {
        let observed = table(&[(10, "rr", &[(11, 1)]), (20, "wlc", &[(21, 3)])]);
        let desired = table(&[(10, "rr", &[(11, 1)])]);
        assert!(diff(&desired, &observed, &BTreeSet::from([svc(10)])).is_empty());
    }

    fn arb_table() -> impl Strategy<Value = TableState> {
        let dests = proptest::collection::btree_map(
            0u8..6,
            (0u32..4, prop_oneof![Just(Method::Dr), Just(Method::Nat)]),
            0..5,
        );
        let service = (
            prop_oneof![Just("rr"), Just("wrr"), Just("mh")],
            proptest::option::of(1u32..3),
            dests,
        );
        proptest::collection::btree_map(0u8..5, service, 0..5).prop_map(|services| TableState {
            services: services
                .into_iter()
                .map(|(s, (sched, timeout, dests))| {
                    (
                        svc(s),
                        Service {
                            spec: ServiceSpec {
                                scheduler: sched.into(),
                                persistence: timeout.map(|timeout| Persistence {
                                    timeout,
                                    netmask: None,
                                }),
                                ops: false,
                            },
                            dests: dests
                                .into_iter()
                                .map(|(d, (weight, method))| (dest(d), Dest { method, weight }))
                                .collect::<BTreeMap<_, _>>(),
                        },
                    )
                })
                .collect(),
        })
    }

    proptest! {
        /// Observed and desired differ only in some destinations of some
        /// services: naming them gives the changes of the full walk.
        #[test]
        fn the_named_destinations_give_the_changes_of_the_walk(
            observed in arb_table(),
            edits in proptest::collection::vec(
                (0u8..5, 0u8..6, proptest::option::of((0u32..4, prop_oneof![Just(Method::Dr), Just(Method::Nat)]))),
                0..8,
            ),
        ) {
            let mut desired = observed.clone();
            let (mut keys, mut dests) = (BTreeSet::new(), BTreeSet::new());
            for (s, d, value) in edits {
                let Some(service) = desired.services.get_mut(&svc(s)) else { continue };
                match value {
                    Some((weight, method)) => service.dests.insert(dest(d), Dest { method, weight }),
                    None => service.dests.remove(&dest(d)),
                };
                keys.insert(svc(s));
                dests.insert(dest(d));
            }
            // A named destination that did not change is no change.
            dests.insert(dest(5));
            let scope = observed.services.keys().copied().collect();
            prop_assert_eq!(
                diff_dests(&desired, &observed, &keys, &dests),
                Some(diff_services(&desired, &observed, &scope, &keys))
            );
        }

        #[test]
        fn applying_the_diff_to_observed_yields_desired(
            desired in arb_table(),
            observed in arb_table(),
            unmanaged in proptest::collection::btree_set(0u8..5, 0..5),
        ) {
            // Everything observed is ours except `unmanaged` keys.
            let scope: BTreeSet<ServiceKey> = observed
                .services
                .keys()
                .filter(|k| !unmanaged.iter().any(|u| svc(*u) == **k))
                .copied()
                .collect();
            let changes = diff(&desired, &observed, &scope);
            let mut result = observed.clone();
            result.apply(&changes).expect("the diff applies cleanly");
            for (key, service) in &result.services {
                match desired.services.get(key) {
                    Some(want) => prop_assert_eq!(want, service),
                    // Only services outside the scope may remain, untouched.
                    None => {
                        prop_assert!(!scope.contains(key));
                        prop_assert_eq!(observed.services.get(key), Some(service));
                    }
                }
            }
            for key in desired.services.keys() {
                prop_assert!(result.services.contains_key(key));
            }
            // Once applied, nothing is left to do.
            prop_assert!(diff(&desired, &result, &scope).is_empty());
        }

        #[test]
        fn the_diff_of_some_services_is_the_full_diff_restricted_to_them(
            desired in arb_table(),
            observed in arb_table(),
            unmanaged in proptest::collection::btree_set(0u8..5, 0..5),
            picked in proptest::collection::btree_set(0u8..6, 0..4),
        ) {
            let scope: BTreeSet<ServiceKey> = (0u8..5)
                .filter(|s| !unmanaged.contains(s))
                .map(svc)
                .collect();
            let keys: BTreeSet<ServiceKey> = picked.into_iter().map(svc).collect();
            let full: Vec<Change> = diff(&desired, &observed, &scope)
                .into_iter()
                .filter(|c| keys.contains(c.service()))
                .collect();
            prop_assert_eq!(diff_services(&desired, &observed, &scope, &keys), full);
        }

        #[test]
        fn no_change_when_desired_matches_observed(t in arb_table()) {
            let scope = t.services.keys().copied().collect();
            prop_assert!(diff(&t, &t, &scope).is_empty());
        }

        #[test]
        fn every_change_touches_what_differs_only(
            desired in arb_table(),
            observed in arb_table(),
        ) {
            let scope = observed.services.keys().copied().collect();
            for change in diff(&desired, &observed, &scope) {
                let key = change.service();
                prop_assert!(desired.services.get(key) != observed.services.get(key));
            }
        }
    }
}
