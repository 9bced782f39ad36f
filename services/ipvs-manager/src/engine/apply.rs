//! Computing, diffing and applying: the full reconcile and the per-virtual-server one.

use super::*;

impl Engine {
    /// Computes, diffs, applies; logs and publishes what changed. Returns
    /// false when the kernel refused (state unchanged, retried at resync).
    pub(super) fn reconcile(&mut self, cause: Cause) -> bool {
        let before = self.previous_quorum();
        let mut quorum = before.clone();
        let mut desired = desired::compute(
            &self.plan,
            &self.book,
            self.settings.policy,
            &self.overrides,
            &mut quorum,
        );
        // Leave out what this data plane cannot carry, saying so once.
        let backend = &self.backend;
        let reported = &mut self.reported;
        desired
            .table
            .services
            .retain(|key, service| match backend.supports(key, service) {
                Ok(()) => true,
                Err(why) => {
                    if reported.insert(why.clone()) {
                        tracing::error!("{why}; this virtual server is not programmed");
                    }
                    false
                }
            });
        for vs in &desired.virtual_servers {
            self.approximation_note(vs, &desired);
        }
        let scope = self.scope_now();
        let changes = reconcile::diff(&desired.table, &self.observed.table, &scope);
        // The full diff brings every service in step (unless the apply says otherwise).
        self.in_step = true;
        if !self.apply_changes(&changes) {
            return false;
        }
        if cause == Cause::Resync && !changes.is_empty() {
            self.metrics.drift_repairs.inc();
            for c in &changes {
                tracing::warn!(
                    "kernel table was changed outside keepalived-rs; repaired: {}",
                    describe(c)
                );
            }
        }
        // The view first: a Watch snapshot taken after an event's seq must
        // already include that event's change.
        self.refresh_view(&desired);
        self.announce(&desired, &changes, &before);
        self.last_desired = desired;
        true
    }

    /// Applies `changes` to the kernel and to `observed`. False when the
    /// kernel refused (observed re-read).
    pub(super) fn apply_changes(&mut self, changes: &[Change]) -> bool {
        if !changes.is_empty() {
            if let Err(e) = self.backend.apply(&self.observed.table, changes) {
                self.metrics.apply_errors.inc();
                tracing::error!(
                    "cannot apply {} change(s) to the kernel table: {e}; will retry at the next resync",
                    changes.len()
                );
                // IPVS batches are not transactions: part may have been
                // applied, so the next diff starts from a fresh read.
                match self.backend.observe() {
                    Ok(o) => self.observed = o,
                    Err(e) => tracing::error!("cannot re-read the kernel table: {e}"),
                }
                self.in_step = false;
                return false;
            }
            self.metrics.changes.inc_by(changes.len() as u64);
            if let Err(e) = self.observed.table.apply(changes) {
                tracing::warn!("kernel table out of step after apply ({e}); re-reading it");
                self.in_step = false;
                if let Ok(o) = self.backend.observe() {
                    self.observed = o;
                }
            }
        }
        true
    }

    /// A verdict changed: the virtual servers holding a real server whose
    /// verdicts changed are computed again ([`Self::reconcile_vss`]); all of
    /// them when the book cannot say which (a snapshot, a prober stale or
    /// gone).
    pub(super) fn reconcile_health(&mut self) -> bool {
        let Some(changed) = self.book.changed_since(self.last_desired.book_generation) else {
            return self.reconcile(Cause::Health);
        };
        let indices: Vec<usize> = self
            .plan
            .virtual_servers
            .iter()
            .enumerate()
            .filter(|(_, vs)| {
                changed.iter().any(|(rs, name)| {
                    name.as_ref().is_none_or(|n| *n == vs.name)
                        && vs.real_servers.iter().any(|r| r.key == *rs)
                })
            })
            .map(|(i, _)| i)
            .collect();
        self.reconcile_vss(&indices, Cause::Health)
    }

    /// Only the inputs of virtual servers `indices` changed (an operator
    /// override, verdicts on their real servers): what [`Self::reconcile`]
    /// does, computed, diffed, viewed and announced for them alone (a single
    /// change in a 10,000-server table costs that virtual server, not the
    /// table). Falls back to the full reconcile when the rest is not known to
    /// be in step with the kernel (a failed apply, a drifted read) or some
    /// virtual server's quorum changes at every computation by itself
    /// (quorum + hysteresis 0 with nothing alive).
    pub(super) fn reconcile_vss(&mut self, indices: &[usize], cause: Cause) -> bool {
        if !self.in_step
            || self.last_desired.virtual_servers.len() != self.plan.virtual_servers.len()
            || self
                .plan
                .virtual_servers
                .iter()
                .any(|v| v.quorum.saturating_add(v.hysteresis) == 0)
        {
            return self.reconcile(cause);
        }
        let before = self.previous_quorum();
        let mut quorum = before.clone();
        let mut desired = std::mem::take(&mut self.last_desired);
        let generation = desired.book_generation;
        let mut replaced = Vec::with_capacity(indices.len());
        let mut touched = BTreeSet::new();
        for &index in indices {
            let r = desired::update_vs(
                &mut desired,
                &self.plan,
                index,
                &self.book,
                self.settings.policy,
                &self.overrides,
                &mut quorum,
            );
            touched.extend(r.touched.iter().copied());
            replaced.push(r);
        }
        // Every virtual server whose verdicts changed is computed again.
        desired.book_generation = self.book.generation();
        for key in &touched {
            if let Some(service) = desired.table.services.get(key)
                && let Err(why) = self.backend.supports(key, service)
            {
                if self.reported.insert(why.clone()) {
                    tracing::error!("{why}; this virtual server is not programmed");
                }
                desired.table.services.remove(key);
            }
        }
        for &index in indices {
            self.approximation_note(&desired.virtual_servers[index], &desired);
        }
        // The destinations edited, when every update only edited some.
        let edited: Option<BTreeSet<DestKey>> =
            replaced.iter().try_fold(BTreeSet::new(), |mut all, r| {
                all.extend(r.dests.as_ref()?);
                Some(all)
            });
        let changes = edited
            .and_then(|dests| {
                reconcile::diff_dests(&desired.table, &self.observed.table, &touched, &dests)
            })
            .unwrap_or_else(|| {
                let scope = self.scope_now();
                reconcile::diff_services(&desired.table, &self.observed.table, &scope, &touched)
            });
        if !self.apply_changes(&changes) {
            for r in replaced.into_iter().rev() {
                r.restore(&mut desired);
            }
            desired.book_generation = generation;
            self.last_desired = desired;
            return false;
        }
        for &index in indices {
            self.refresh_view_vs(&desired, index);
        }
        for c in &changes {
            match c {
                Change::AddService { key, .. } => self.vs_changed(key, true),
                Change::DelService { key } => self.vs_changed(key, false),
                _ => {}
            }
        }
        let mut logical = BTreeMap::new();
        for &index in indices {
            self.announce_vs(
                &desired,
                &desired.virtual_servers[index],
                &before,
                &mut logical,
            );
        }
        self.logical.extend(logical);
        self.last_desired = desired;
        true
    }

    /// Each virtual server's quorum as last applied (the input of the next
    /// computation's hysteresis): read off `last_desired`, its one owner.
    fn previous_quorum(&self) -> HashMap<VsName, bool> {
        self.last_desired
            .virtual_servers
            .iter()
            .map(|v| (v.plan.name.clone(), v.quorum.up))
            .collect()
    }

    /// Services this process may change now.
    pub(super) fn scope_now(&self) -> BTreeSet<ServiceKey> {
        let mut scope = self.scope.clone();
        scope.extend(self.plan.service_keys());
        if self.backend.kind() == v1::Backend::Nft {
            // The nft tables are ours alone: anything in them is ours to remove.
            scope.extend(self.observed.table.services.keys().copied());
        }
        scope
    }

    /// Says once that the nft backend approximates this virtual server's
    /// scheduler, ignores its `ops` or cannot forward fragmented UDP (DR).
    pub(super) fn approximation_note(&mut self, vs: &desired::VsOutcome, desired: &Desired) {
        if let Some(key) = vs.plan.services.first() {
            let persistent = vs.plan.spec.persistence.is_some();
            let (_, approx) = crate::sched::nft_strategy(&vs.plan.spec.scheduler, persistent);
            let mut notes = Vec::new();
            if approx {
                notes.push(format!(
                    "VS {}: scheduler {}{} is approximated by the nft backend (round robin or a consistent source hash)",
                    vs.plan.name,
                    vs.plan.spec.scheduler,
                    if persistent { " with persistence" } else { "" }
                ));
            }
            // One-packet scheduling (IP_VS_SVC_F_ONEPACKET) needs a decision
            // per datagram; the nft NAT is conntrack's, made once per flow.
            if vs.plan.spec.ops {
                notes.push(format!(
                    "VS {}: ops (one-packet scheduling) is not implemented by the nft backend; each flow is scheduled once, as conntrack keeps it",
                    vs.plan.name
                ));
            }
            // DR forwards at ingress, before any reassembly: a non-first
            // fragment has no UDP header to match (IPVS sees the datagram
            // reassembled at LOCAL_IN). Measured: 3000 bytes lost, 1400 fine.
            let udp = matches!(
                key,
                ServiceKey::Addr {
                    proto: crate::table::Proto::Udp,
                    ..
                }
            );
            let dr = desired.table.services.get(key).is_some_and(|s| {
                s.dests
                    .values()
                    .any(|d| d.method == crate::table::Method::Dr)
            });
            if udp && dr {
                notes.push(format!(
                    "VS {}: UDP datagrams fragmented before the director are not forwarded by the nft backend's DR (no reassembly at ingress)",
                    vs.plan.name
                ));
            }
            if self.backend.kind() == v1::Backend::Nft && desired.table.services.contains_key(key) {
                for note in notes {
                    if self.reported.insert(note.clone()) {
                        tracing::warn!("{note}");
                    }
                }
            }
        }
    }
}
