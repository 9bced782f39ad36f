//! `kactl targets`: every check target of a director's health-prober
//! replica, with what that replica does with it when the replicas divide
//! the checks (owner, handing over, not an owner) and why.

use std::fmt::Write as _;
use std::time::Duration;

use keepalived_api::v1;
use keepalived_api::v1::health_client::HealthClient;
use serde::Serialize;

use crate::{Director, Output, connect, print_json, status_error, view};

/// `kactl targets`: asks each director's prober; 1 when one could not be asked.
pub async fn run(directors: &[Director], output: Output, timeout: Duration) -> anyhow::Result<i32> {
    let mut failed = false;
    for director in directors {
        let a = &director.health;
        let listed = tokio::time::timeout(timeout, async {
            let mut c = HealthClient::new(connect(a, timeout).await?)
                .max_decoding_message_size(keepalived_bus::MAX_MESSAGE_BYTES);
            let r = c
                .list_targets(v1::ListTargetsRequest {})
                .await
                .map_err(|s| status_error(a, s))?;
            anyhow::Ok(r.into_inner().targets)
        })
        .await;
        match listed {
            Ok(Ok(targets)) => match output {
                Output::Json => print_json(&serde_json::json!({
                    "director": director.name,
                    "targets": targets.iter().map(view::TargetView::from).collect::<Vec<_>>(),
                }))?,
                Output::Text => print!("{}", format_targets(&director.name, &targets)),
            },
            Ok(Err(e)) => {
                failed = true;
                eprintln!("health-prober at {a}: {e:#}");
            }
            Err(_) => {
                failed = true;
                eprintln!("health-prober at {a}: no answer in {timeout:?}");
            }
        }
    }
    Ok(i32::from(failed))
}

/// `owner`, `handing-over`, `not-owner`, `waiting`; `all` when the checks
/// are not divided (the replica checks every target).
pub fn role_name(ownership: Option<&v1::Ownership>) -> &'static str {
    let role = ownership
        .and_then(|o| v1::OwnershipRole::try_from(o.role).ok())
        .unwrap_or(v1::OwnershipRole::Unspecified);
    match role {
        v1::OwnershipRole::Unspecified => "all",
        v1::OwnershipRole::Owner => "owner",
        v1::OwnershipRole::HandingOver => "handing-over",
        v1::OwnershipRole::NotOwner => "not-owner",
        v1::OwnershipRole::Waiting => "waiting",
    }
}

/// Ownership of one target as kactl shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct OwnershipView {
    /// See [`role_name`].
    pub role: String,
    /// The target's owners, highest rank first.
    pub owners: Vec<String>,
    /// Why (`rank 1 of 4 live replicas, k=2`, …).
    pub reason: String,
    /// Whose verdict a new owner started from, while it has none of its own.
    pub seeded_from: String,
}

impl From<Option<&v1::Ownership>> for OwnershipView {
    fn from(o: Option<&v1::Ownership>) -> Self {
        Self {
            role: role_name(o).into(),
            owners: o.map(|o| o.owners.clone()).unwrap_or_default(),
            reason: o.map(|o| o.reason.clone()).unwrap_or_default(),
            seeded_from: o
                .filter(|o| o.seeded)
                .map(|o| o.seeded_from.clone())
                .unwrap_or_default(),
        }
    }
}

/// One line per target: id, verdict, role, owners, why.
pub fn format_targets(director: &str, targets: &[v1::Target]) -> String {
    let mut out = format!("== director {director}: {} check targets\n", targets.len());
    for t in targets {
        let o = OwnershipView::from(t.ownership.as_ref());
        let verdict = crate::view::verdict_name(t.verdict);
        let _ = write!(out, "{} {verdict} {}", t.id, o.role);
        if !o.owners.is_empty() {
            let _ = write!(out, " owners {}", o.owners.join(","));
        }
        if !o.reason.is_empty() {
            let _ = write!(out, " ({})", o.reason);
        }
        if !o.seeded_from.is_empty() {
            let _ = write!(out, " seeded from {}", o.seeded_from);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_says_its_role_owners_and_why() {
        let owned = v1::Target {
            id: "HTTP_GET:198.51.100.21:80".into(),
            verdict: v1::Verdict::Up as i32,
            ownership: Some(v1::Ownership {
                role: v1::OwnershipRole::Owner as i32,
                owners: vec!["health-prober@a".into(), "health-prober@b".into()],
                live_replicas: 3,
                k: 2,
                reason: "rank 1 of 3 live replicas, k=2".into(),
                seeded: true,
                seeded_from: "health-prober@c".into(),
            }),
            ..Default::default()
        };
        let all = v1::Target {
            id: "TCP_CHECK:198.51.100.22:80".into(),
            verdict: v1::Verdict::Down as i32,
            ..Default::default()
        };
        assert_eq!(
            format_targets("dr1", &[owned, all]),
            "== director dr1: 2 check targets\n\
             HTTP_GET:198.51.100.21:80 UP owner owners health-prober@a,health-prober@b (rank 1 of 3 live replicas, k=2) seeded from health-prober@c\n\
             TCP_CHECK:198.51.100.22:80 DOWN all\n"
        );
    }
}
