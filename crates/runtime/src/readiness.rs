//! `grpc.health.v1` status tied to the service's real readiness.

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Reports whether the service is ready. Starts NOT_SERVING for both the
/// service's own name and the overall (empty) name; the service says when it
/// is ready (e.g. ipvs-manager after adopting the kernel's tables).
#[derive(Clone, Debug)]
pub struct Readiness {
    reporter: HealthReporter,
    service: &'static str,
}

impl Readiness {
    pub(crate) async fn new(reporter: HealthReporter, service: &'static str) -> Self {
        let readiness = Self { reporter, service };
        readiness.set(false).await;
        readiness
    }

    /// Sets the service (and the overall server) SERVING or NOT_SERVING.
    pub async fn set(&self, ready: bool) {
        let status = if ready {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.reporter.set_service_status(self.service, status).await;
        self.reporter.set_service_status("", status).await;
    }
}
