//! What the engine says after an apply: keepalived's log lines, the bus events and the
//! API's view, in that order.

use super::*;

impl Engine {
    /// Logs keepalived's lines and publishes the events for what changed.
    pub(super) fn announce(
        &mut self,
        desired: &Desired,
        changes: &[Change],
        before: &HashMap<VsName, bool>,
    ) {
        for c in changes {
            match c {
                Change::AddService { key, .. } => self.vs_changed(key, true),
                Change::DelService { key } => self.vs_changed(key, false),
                _ => {}
            }
        }
        let mut logical = BTreeMap::new();
        for vs in &desired.virtual_servers {
            self.announce_vs(desired, vs, before, &mut logical);
        }
        // Real servers of virtual servers that left the configuration.
        for ((name, key), before) in &self.logical {
            if !logical.contains_key(&(name.clone(), *key))
                && let Some(w) = before
            {
                tracing::info!("Removing service {} from VS {name}", fmt_rs(name, *key));
                self.publish_rs(
                    name,
                    *key,
                    v1::RealServerChangeKind::Removed,
                    *w,
                    0,
                    "virtual server removed from the configuration",
                    "",
                    None,
                    None,
                );
            }
        }
        self.logical = logical;
    }

    /// [`Self::announce`] for one virtual server: its lines and events, its
    /// entries into `logical`.
    pub(super) fn announce_vs(
        &self,
        desired: &Desired,
        vs: &desired::VsOutcome,
        before: &HashMap<VsName, bool>,
        logical: &mut BTreeMap<(VsName, DestKey), Option<u32>>,
    ) {
        {
            // A virtual server the data plane cannot carry has no entries.
            let programmed = vs
                .plan
                .services
                .first()
                .is_some_and(|k| desired.table.services.contains_key(k));
            for r in &vs.real_servers {
                let entry = if programmed { r.entry } else { None };
                logical.insert((vs.plan.name.clone(), r.plan.key), entry);
                let before = self
                    .logical
                    .get(&(vs.plan.name.clone(), r.plan.key))
                    .copied()
                    .flatten();
                if before != entry {
                    self.rs_changed(vs, Some(r), r.plan.key, before, entry);
                }
            }
            if let Some((s, entry)) = &vs.sorry {
                let entry = if programmed { *entry } else { None };
                logical.insert((vs.plan.name.clone(), s.key), entry);
                let before = self
                    .logical
                    .get(&(vs.plan.name.clone(), s.key))
                    .copied()
                    .flatten();
                if before != entry {
                    self.rs_changed(vs, None, s.key, before, entry);
                }
            }
            let was = before.get(&vs.plan.name).copied();
            let now = vs.quorum.up;
            if was != Some(now) {
                let q = vs.plan.quorum;
                let h = vs.plan.hysteresis;
                let w = vs.quorum.alive_weight;
                if now {
                    tracing::info!(
                        "Gained quorum {q}+{h}={} <= {w} for VS {}",
                        q.saturating_add(h),
                        vs.plan.name
                    );
                } else {
                    tracing::info!(
                        "Lost quorum {q}-{h}={} > {w} for VS {}",
                        q.saturating_sub(h),
                        vs.plan.name
                    );
                }
                self.producer.publish(v1::IpvsEvent {
                    header: None,
                    payload: Some(Payload::QuorumChanged(v1::QuorumChange {
                        key: Some(view::vs_key(&vs.plan.name)),
                        quorum: Some(v1::Quorum {
                            quorum: q,
                            hysteresis: h,
                            alive_weight: w,
                            up: now,
                        }),
                    })),
                });
            }
        }
    }

    pub(super) fn vs_changed(&self, key: &ServiceKey, added: bool) {
        let name = self
            .plan
            .virtual_servers
            .iter()
            .find(|v| v.services.contains(key))
            .map(|v| v.name.to_string())
            .unwrap_or_else(|| key.to_string());
        if added {
            if name == key.to_string() {
                tracing::info!("Adding Virtual Server {key}");
            } else {
                tracing::info!("Adding Virtual Server {key} of {name}");
            }
        } else {
            tracing::info!("Removing Virtual Server {key}");
        }
        let vs_key = self
            .plan
            .virtual_servers
            .iter()
            .find(|v| v.services.contains(key))
            .map(|v| view::vs_key(&v.name))
            .unwrap_or_else(|| match key {
                ServiceKey::Addr { proto, ip, port } => view::vs_key(&VsName::Addr {
                    proto: *proto,
                    ip: *ip,
                    port: *port,
                }),
                ServiceKey::Fwmark { mark, .. } => view::vs_key(&VsName::Fwmark { mark: *mark }),
            });
        self.producer.publish(v1::IpvsEvent {
            header: None,
            payload: Some(Payload::VirtualServerChanged(v1::VirtualServerChange {
                key: Some(vs_key),
                added,
            })),
        });
    }

    /// One real server's entry changed: keepalived 2.2.7's line, then the event.
    pub(super) fn rs_changed(
        &self,
        vs: &desired::VsOutcome,
        r: Option<&desired::RsOutcome>,
        key: DestKey,
        before: Option<u32>,
        after: Option<u32>,
    ) {
        use v1::RealServerChangeKind as K;
        let name = &vs.plan.name;
        let rs = fmt_rs(name, key);
        let inhibit = r.map(|r| r.plan.inhibit).unwrap_or(false);
        let alive = r.map(|r| r.alive).unwrap_or(true);
        // The verdict that decided, with the prober's words for its mail.
        let source = r.and_then(|r| r.verdicts.sources.iter().find(|s| s.up == alive));
        let (reason, checker, mail_body) = match source {
            Some(s) => (
                if alive { "" } else { &*s.reason },
                &*s.checker,
                s.mail_body.as_deref(),
            ),
            None => ("", "", None),
        };
        // keepalived: "Adding sorry server [IP]:tcp:80 to VS …", "Adding service …".
        let sorry = if r.is_none() {
            "sorry server"
        } else {
            "service"
        };
        let kind = match (before, after) {
            (None, Some(0)) if !alive => {
                tracing::info!("Disabling {sorry} {rs} of VS {name}");
                K::Disabled
            }
            (None, Some(_)) => {
                tracing::info!("Adding {sorry} {rs} to VS {name}");
                K::Added
            }
            (Some(_), None) => {
                tracing::info!("Removing {sorry} {rs} from VS {name}");
                K::Removed
            }
            (Some(a), Some(0)) if a > 0 && !alive => {
                tracing::info!("Disabling {sorry} {rs} of VS {name}");
                K::Disabled
            }
            (Some(0), Some(b)) if b > 0 && (inhibit || r.is_none()) => {
                tracing::info!("Enabling {sorry} {rs} of VS {name}");
                K::Enabled
            }
            (Some(a), Some(b)) => {
                tracing::info!("Changing weight from {a} to {b} for service {rs} of VS {name}");
                K::WeightChanged
            }
            (None, None) => return,
        };
        let after_view = r.map(|r| {
            let mut v = view::real_server(&vs.plan, r, &self.observed);
            v.kernel_weight = after.unwrap_or(0);
            v.in_kernel = after.is_some();
            v
        });
        self.publish_rs(
            name,
            key,
            kind,
            before.unwrap_or(0),
            after.unwrap_or(0),
            reason,
            checker,
            mail_body,
            after_view,
        );
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn publish_rs(
        &self,
        name: &VsName,
        key: DestKey,
        kind: v1::RealServerChangeKind,
        old_weight: u32,
        new_weight: u32,
        reason: &str,
        checker: &str,
        mail_body: Option<&str>,
        real_server: Option<v1::RealServer>,
    ) {
        self.producer.publish(v1::IpvsEvent {
            header: None,
            payload: Some(Payload::RealServerChanged(v1::RealServerChange {
                key: Some(v1::RealServerKey {
                    virtual_server: Some(view::vs_key(name)),
                    real_server: Some(view::address(key)),
                }),
                kind: kind as i32,
                old_weight,
                new_weight,
                reason: reason.to_owned(),
                checker: checker.to_owned(),
                real_server,
                mail_body: mail_body.map(str::to_owned),
            })),
        });
    }

    /// [`Self::refresh_view`] for virtual server `index` only.
    pub(super) fn refresh_view_vs(&self, desired: &Desired, index: usize) {
        let backend = self.backend.kind() as i32;
        let one = view::virtual_server(&desired.virtual_servers[index], &self.observed, backend);
        let mut view = self.view.write().unwrap_or_else(|e| e.into_inner());
        if view.backend == backend && view.virtual_servers.len() == desired.virtual_servers.len() {
            view.virtual_servers[index] = one;
            return;
        }
        drop(view);
        self.refresh_view(desired);
    }

    pub(super) fn refresh_view(&self, desired: &Desired) {
        let backend = self.backend.kind() as i32;
        let list = desired
            .virtual_servers
            .iter()
            .map(|v| view::virtual_server(v, &self.observed, backend))
            .collect();
        let mut view = self.view.write().unwrap_or_else(|e| e.into_inner());
        view.backend = backend;
        view.virtual_servers = list;
    }
}

pub(super) fn describe(c: &Change) -> String {
    match c {
        Change::AddService { key, spec } => format!("added service {key} ({})", spec.scheduler),
        Change::EditService { key, spec } => format!("edited service {key} ({})", spec.scheduler),
        Change::DelService { key } => format!("removed service {key}"),
        Change::AddDest {
            service,
            dest,
            spec,
        } => format!(
            "added {dest} to {service} (weight {}, {})",
            spec.weight,
            spec.method.ipvsadm_name()
        ),
        Change::EditDest {
            service,
            dest,
            spec,
        } => format!(
            "set {dest} in {service} to weight {}, {}",
            spec.weight,
            spec.method.ipvsadm_name()
        ),
        Change::DelDest { service, dest } => format!("removed {dest} from {service}"),
    }
}
