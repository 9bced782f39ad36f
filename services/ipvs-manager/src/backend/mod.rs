//! The data planes behind ipvs-manager. A backend reads the kernel table back
//! (`observe`, for adoption at start and drift repair) and applies a list of
//! changes as one unit (one atomic `nft -f` transaction; one netlink batch
//! for IPVS).

pub mod ipvs;
pub mod memory;
pub mod nft;

use std::collections::BTreeMap;

use crate::table::{Change, DestKey, ServiceKey, TableState};

/// Traffic counters the data plane can report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets in.
    pub packets: u64,
    /// Bytes in.
    pub bytes: u64,
    /// Connections scheduled (IPVS only; nft counts packets of the first hook).
    pub connections: u64,
}

/// What the kernel holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedState {
    /// Services and destinations.
    pub table: TableState,
    /// Counters per service, where the data plane has them.
    pub service_counters: BTreeMap<ServiceKey, Counters>,
    /// Counters per destination, where the data plane has them.
    pub dest_counters: BTreeMap<(ServiceKey, DestKey), Counters>,
}

/// Why a backend call failed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Running the tool or talking to the kernel failed.
    #[error("{0}")]
    Io(String),
    /// The kernel refused the change; nothing was applied.
    #[error("kernel refused the change: {0}")]
    Refused(String),
    /// The kernel's table could not be understood.
    #[error("cannot read the kernel table: {0}")]
    Parse(String),
    /// The data plane cannot express this service.
    #[error("{0}")]
    Unsupported(String),
}

/// A data plane.
pub trait Backend: Send {
    /// Which API enum value names it.
    fn kind(&self) -> keepalived_api::v1::Backend;

    /// Whether this data plane can carry `service` as wanted; an error names
    /// what it cannot do (the service is then left out, with that error logged).
    fn supports(&self, key: &ServiceKey, service: &crate::table::Service) -> Result<(), String>;

    /// Reads the kernel table (only what this process may manage).
    fn observe(&mut self) -> Result<ObservedState, BackendError>;

    /// Applies `changes` to `current`, the table as last observed or applied
    /// (the caller owns it: the engine's `observed`; a backend keeps no copy),
    /// as one unit: either all of them are in the kernel afterwards or none.
    fn apply(&mut self, current: &TableState, changes: &[Change]) -> Result<(), BackendError>;

    /// Sets the connection timeouts (`lvs_timeouts tcp N tcpfin N udp N`;
    /// `None` leaves one unchanged). An error names what cannot be done.
    fn set_timeouts(
        &mut self,
        tcp: Option<u32>,
        tcpfin: Option<u32>,
        udp: Option<u32>,
    ) -> Result<(), BackendError> {
        let _ = (tcp, tcpfin, udp);
        Err(BackendError::Unsupported(
            "lvs_timeouts is not implemented by this data plane".into(),
        ))
    }

    /// Removes the services in `keys` (`lvs_flush_on_stop`).
    fn remove_services(&mut self, keys: &[ServiceKey]) -> Result<(), BackendError> {
        let observed = self.observe()?;
        let changes: Vec<Change> = keys
            .iter()
            .filter(|k| observed.table.services.contains_key(k))
            .map(|k| Change::DelService { key: *k })
            .collect();
        self.apply(&observed.table, &changes)
    }
}
