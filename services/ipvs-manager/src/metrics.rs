//! Per-real-server metrics, read from the API's view at scrape time (the view, rebuilt
//! after every reconcile, owns these facts).

use std::sync::{Arc, RwLock};

use keepalived_api::v1;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

use crate::view::View;

/// `keepalived_ipvs_real_server_*{virtual_server,real_server}`.
#[derive(Debug)]
pub struct RealServerMetrics(pub Arc<RwLock<View>>);

/// A virtual server as kactl names it: `VIP:PORT/tcp`, `fwmark:N`, `group:NAME/tcp`.
fn vs_label(key: Option<&v1::VirtualServerKey>) -> String {
    use v1::virtual_server_key::Kind;
    let Some(key) = key else {
        return String::new();
    };
    let proto = v1::Protocol::try_from(key.protocol)
        .map(|p| match p {
            v1::Protocol::Tcp => "tcp",
            v1::Protocol::Udp => "udp",
            v1::Protocol::Sctp => "sctp",
            _ => "",
        })
        .unwrap_or("");
    match &key.kind {
        Some(Kind::AddressPort(a)) if a.address.contains(':') => {
            format!("[{}]:{}/{proto}", a.address, a.port)
        }
        Some(Kind::AddressPort(a)) => format!("{}:{}/{proto}", a.address, a.port),
        Some(Kind::Fwmark(mark)) => format!("fwmark:{mark}"),
        Some(Kind::Group(name)) => format!("group:{name}/{proto}"),
        None => String::new(),
    }
}

fn rs_label(a: Option<&v1::AddressPort>) -> String {
    match a {
        Some(a) if a.address.contains(':') => format!("[{}]:{}", a.address, a.port),
        Some(a) => format!("{}:{}", a.address, a.port),
        None => String::new(),
    }
}

const VERDICTS: [(v1::RealServerHealth, &str); 4] = [
    (v1::RealServerHealth::Up, "up"),
    (v1::RealServerHealth::Down, "down"),
    (v1::RealServerHealth::Unchecked, "unchecked"),
    (v1::RealServerHealth::Unknown, "unknown"),
];

type Series = Vec<(Vec<(&'static str, String)>, i64)>;

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    series: &Series,
) -> std::fmt::Result {
    let mut family =
        encoder.encode_descriptor(name, help, None, ConstGauge::new(0i64).metric_type())?;
    for (labels, value) in series {
        ConstGauge::new(*value).encode(family.encode_family(labels)?)?;
    }
    Ok(())
}

impl Collector for RealServerMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let (mut verdict, mut weight, mut configured, mut in_table, mut vs_in_table) = (
            Series::new(),
            Series::new(),
            Series::new(),
            Series::new(),
            Series::new(),
        );
        {
            let view = self.0.read().unwrap_or_else(|e| e.into_inner());
            for vs in &view.virtual_servers {
                let vs_name = vs_label(vs.key.as_ref());
                vs_in_table.push((
                    vec![("virtual_server", vs_name.clone())],
                    i64::from(vs.in_kernel),
                ));
                for rs in vs.real_servers.iter().filter(|rs| !rs.sorry_server) {
                    let labels = vec![
                        ("virtual_server", vs_name.clone()),
                        ("real_server", rs_label(rs.address.as_ref())),
                    ];
                    for (health, name) in VERDICTS {
                        let mut l = labels.clone();
                        l.push(("verdict", name.to_owned()));
                        verdict.push((l, i64::from(rs.health == health as i32)));
                    }
                    weight.push((labels.clone(), i64::from(rs.kernel_weight)));
                    configured.push((labels.clone(), i64::from(rs.configured_weight)));
                    in_table.push((labels, i64::from(rs.in_kernel)));
                }
            }
        }
        gauge(
            &mut encoder,
            "ipvs_real_server_verdict",
            "1 for the real server's combined health verdict, 0 for the others",
            &verdict,
        )?;
        gauge(
            &mut encoder,
            "ipvs_real_server_weight",
            "Weight in the kernel table (0 when absent)",
            &weight,
        )?;
        gauge(
            &mut encoder,
            "ipvs_real_server_configured_weight",
            "Weight from keepalived.conf",
            &configured,
        )?;
        gauge(
            &mut encoder,
            "ipvs_real_server_in_table",
            "1 while the real server is in the kernel table",
            &in_table,
        )?;
        gauge(
            &mut encoder,
            "ipvs_virtual_server_in_table",
            "1 while the virtual server is in the kernel table",
            &vs_in_table,
        )?;
        Ok(())
    }
}
