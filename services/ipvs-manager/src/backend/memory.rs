//! An in-memory data plane: a [`TableState`] behind the [`Backend`] trait,
//! with IPVS's rules (adding what exists or removing what does not is
//! refused, and nothing of a refused batch is applied). It lets the engine
//! (full and per-virtual-server reconciles, adoption, drift repair, refused
//! applies, the stop) run in tests without root or a kernel.
//!
//! The test keeps a [`MemoryHandle`] to the same table, to look at it, to
//! change it behind the engine's back (drift), and to make the next applies
//! fail.

use std::sync::{Arc, Mutex, MutexGuard};

use keepalived_api::v1;

use super::{Backend, BackendError, ObservedState};
use crate::table::{Change, Service, ServiceKey, TableState};

#[derive(Debug, Default)]
struct State {
    table: TableState,
    refuse_next: usize,
    applied: Vec<Vec<Change>>,
    timeouts: Option<(Option<u32>, Option<u32>, Option<u32>)>,
}

/// The data plane: owned by the engine.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    state: Arc<Mutex<State>>,
    kind: MemoryKind,
}

/// Which real data plane the memory backend answers as (`kind()`), since the
/// engine's scope differs: nft's tables are ours alone, IPVS's are shared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MemoryKind {
    /// Like IPVS: only the services in the configuration are ours.
    #[default]
    Ipvs,
    /// Like nft: everything in the table is ours.
    Nft,
}

/// The test's view of the same table.
#[derive(Debug, Clone)]
pub struct MemoryHandle {
    state: Arc<Mutex<State>>,
}

impl MemoryBackend {
    /// An empty table answering as `kind`, and a handle to it.
    pub fn new(kind: MemoryKind) -> (Self, MemoryHandle) {
        Self::with_table(kind, TableState::default())
    }

    /// A table that already holds `table` (what a previous run left), and a handle.
    pub fn with_table(kind: MemoryKind, table: TableState) -> (Self, MemoryHandle) {
        let state = Arc::new(Mutex::new(State {
            table,
            ..State::default()
        }));
        (
            Self {
                state: state.clone(),
                kind,
            },
            MemoryHandle { state },
        )
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemoryHandle {
    /// The table as it is now.
    pub fn table(&self) -> TableState {
        lock(&self.state).table.clone()
    }

    /// Changes the table as an operator with `ipvsadm` would (drift).
    pub fn edit(&self, changes: &[Change]) -> Result<(), crate::table::ApplyError> {
        lock(&self.state).table.apply(changes)
    }

    /// Makes the next `n` applies fail, as a kernel refusing them would.
    pub fn refuse_next(&self, n: usize) {
        lock(&self.state).refuse_next = n;
    }

    /// Every batch applied so far, in order.
    pub fn applied(&self) -> Vec<Vec<Change>> {
        lock(&self.state).applied.clone()
    }

    /// The connection timeouts last set (`lvs_timeouts`).
    pub fn timeouts(&self) -> Option<(Option<u32>, Option<u32>, Option<u32>)> {
        lock(&self.state).timeouts
    }
}

impl Backend for MemoryBackend {
    fn kind(&self) -> v1::Backend {
        match self.kind {
            MemoryKind::Ipvs => v1::Backend::Ipvs,
            MemoryKind::Nft => v1::Backend::Nft,
        }
    }

    fn supports(&self, _key: &ServiceKey, _service: &Service) -> Result<(), String> {
        Ok(())
    }

    fn observe(&mut self) -> Result<ObservedState, BackendError> {
        Ok(ObservedState {
            table: lock(&self.state).table.clone(),
            ..ObservedState::default()
        })
    }

    fn apply(&mut self, _current: &TableState, changes: &[Change]) -> Result<(), BackendError> {
        let mut state = lock(&self.state);
        if state.refuse_next > 0 {
            state.refuse_next -= 1;
            return Err(BackendError::Refused("refused by the test".into()));
        }
        // All or nothing: apply to a copy, keep it only when every change fits.
        let mut next = state.table.clone();
        next.apply(changes)
            .map_err(|e| BackendError::Refused(e.to_string()))?;
        state.table = next;
        state.applied.push(changes.to_vec());
        Ok(())
    }

    fn set_timeouts(
        &mut self,
        tcp: Option<u32>,
        tcpfin: Option<u32>,
        udp: Option<u32>,
    ) -> Result<(), BackendError> {
        lock(&self.state).timeouts = Some((tcp, tcpfin, udp));
        Ok(())
    }
}
