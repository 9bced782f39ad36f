//! kactl: the keepalived-rs command line. It talks to the four services of
//! one or several directors over their gRPC APIs:
//!
//! - `kactl status`: VRRP instances (state, effective/base priority, master,
//!   VIPs) and the load-balancer tables formatted like `ipvsadm -Ln` with
//!   health, plus the probers' and the notifier's summary;
//! - `kactl events [--follow]`: the merged Watch streams of all services, one
//!   line per event with its trace id (reconnecting, through
//!   [`keepalived_bus::Subscriber`]);
//! - `kactl maintenance VI_1 on|off`, `kactl drain|undrain VIP:PORT RS:PORT`,
//!   `kactl weight VIP:PORT RS:PORT N|reset`: the state-changing RPCs (root
//!   over the unix sockets, or an mTLS client).
//!
//! `--output json` prints kactl's own view structs ([`view`], [`events`]).
#![forbid(unsafe_code)]

pub mod events;
pub mod targets;
pub mod view;

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use keepalived_api::v1;
use keepalived_api::v1::{
    health_client::HealthClient, ipvs_client::IpvsClient, notifier_client::NotifierClient,
    vrrp_client::VrrpClient,
};
use keepalived_bus::addr::{Address, TracedChannel};
use keepalived_bus::{Backoff, Subscriber, Upstreams};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::events::{Describe, EventLine};
use crate::view::{
    DeliveryView, DirectorStatus, InstanceView, RealServerView, ServiceError, TablesView,
    TargetView,
};

/// The four services of a director.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// vrrp-core.
    Vrrp,
    /// ipvs-manager.
    Ipvs,
    /// health-prober.
    Health,
    /// notifier.
    Notifier,
}

impl Service {
    /// All four, in bus order.
    pub const ALL: [Service; 4] = [Self::Vrrp, Self::Ipvs, Self::Health, Self::Notifier];

    /// The binary's name, which is also its socket's name.
    pub fn binary(self) -> &'static str {
        match self {
            Self::Vrrp => "vrrp-core",
            Self::Ipvs => "ipvs-manager",
            Self::Health => "health-prober",
            Self::Notifier => "notifier",
        }
    }

    /// The service's default TCP port.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Vrrp => 50051,
            Self::Ipvs => 50052,
            Self::Health => 50053,
            Self::Notifier => 50054,
        }
    }
}

/// Errors of kactl's own arguments.
#[derive(Debug, thiserror::Error)]
pub enum ArgError {
    /// `--director` is not `NAME=PREFIX`.
    #[error("--director {0:?}: expected NAME=PREFIX (unix:DIR, tcp://HOST or HOST)")]
    Director(String),
    /// A `VIP:PORT` / `RS:PORT` argument that does not parse.
    #[error("{0:?}: expected ADDRESS:PORT ([V6]:PORT for IPv6), fwmark:N or group:NAME")]
    Endpoint(String),
    /// A malformed service address.
    #[error(transparent)]
    Address(#[from] keepalived_bus::addr::AddressError),
}

/// The four endpoints of one director.
#[derive(Debug, Clone, PartialEq)]
pub struct Director {
    /// Its name in output.
    pub name: String,
    /// vrrp-core.
    pub vrrp: Address,
    /// ipvs-manager.
    pub ipvs: Address,
    /// health-prober.
    pub health: Address,
    /// notifier.
    pub notifier: Address,
}

impl Director {
    /// The default director: `unix:/run/keepalived-rs/<service>.sock`.
    pub fn local() -> Self {
        Self::from_prefix("local", "unix:/run/keepalived-rs").expect("valid default prefix")
    }

    /// A director from an address prefix: `unix:DIR` gives
    /// `unix:DIR/<service>.sock`; `tcp://HOST` or `HOST` gives
    /// `tcp://HOST:<default port>` (50051–50054).
    pub fn from_prefix(name: &str, prefix: &str) -> Result<Self, ArgError> {
        let bad = || ArgError::Director(format!("{name}={prefix}"));
        let address = |service: Service| -> Result<Address, ArgError> {
            if let Some(dir) = prefix
                .strip_prefix("unix://")
                .or_else(|| prefix.strip_prefix("unix:"))
            {
                if dir.is_empty() {
                    return Err(bad());
                }
                let dir = dir.trim_end_matches('/');
                return Ok(Address::Unix(
                    format!("{dir}/{}.sock", service.binary()).into(),
                ));
            }
            let host = prefix
                .strip_prefix("tcp://")
                .or_else(|| prefix.strip_prefix("http://"))
                .unwrap_or(prefix)
                .trim_end_matches('/');
            // A bare IPv6 address is given in brackets; a port is not allowed.
            let has_port = if host.starts_with('[') {
                !host.ends_with(']')
            } else {
                host.contains(':')
            };
            if host.is_empty() || has_port || host.contains("://") {
                return Err(bad());
            }
            Ok(Address::Tcp {
                host: host.to_owned(),
                port: service.default_port(),
            })
        };
        Ok(Self {
            name: name.to_owned(),
            vrrp: address(Service::Vrrp)?,
            ipvs: address(Service::Ipvs)?,
            health: address(Service::Health)?,
            notifier: address(Service::Notifier)?,
        })
    }

    /// The endpoint of `service`.
    pub fn address(&self, service: Service) -> &Address {
        match service {
            Service::Vrrp => &self.vrrp,
            Service::Ipvs => &self.ipvs,
            Service::Health => &self.health,
            Service::Notifier => &self.notifier,
        }
    }
}

impl FromStr for Director {
    type Err = ArgError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, prefix) = s
            .split_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .ok_or_else(|| ArgError::Director(s.to_owned()))?;
        Self::from_prefix(name, prefix)
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Human text (`ipvsadm -Ln`-like tables, one line per event).
    Text,
    /// JSON: one document for status and changes, one object per line for events.
    Json,
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    /// Switch on.
    On,
    /// Switch off.
    Off,
}

/// The command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "kactl",
    version,
    about = "Look at and steer keepalived-rs directors (vrrp-core, ipvs-manager, health-prober, notifier)"
)]
pub struct Cli {
    /// A director as NAME=PREFIX (repeatable): `unix:DIR` means DIR/SERVICE.sock,
    /// `tcp://HOST` or `HOST` means HOST:50051..50054. Default: one director
    /// `local` at unix:/run/keepalived-rs/SERVICE.sock.
    #[arg(long = "director", value_name = "NAME=PREFIX", global = true)]
    pub directors: Vec<Director>,
    /// vrrp-core's address (single-director mode).
    #[arg(long, value_name = "ADDR", global = true, conflicts_with = "directors")]
    pub vrrp: Option<Address>,
    /// ipvs-manager's address (single-director mode).
    #[arg(long, value_name = "ADDR", global = true, conflicts_with = "directors")]
    pub ipvs: Option<Address>,
    /// health-prober's address (single-director mode).
    #[arg(long, value_name = "ADDR", global = true, conflicts_with = "directors")]
    pub health: Option<Address>,
    /// notifier's address (single-director mode).
    #[arg(long, value_name = "ADDR", global = true, conflicts_with = "directors")]
    pub notifier: Option<Address>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text", global = true)]
    pub output: Output,
    /// Seconds to wait for a connection or a unary answer.
    #[arg(long, value_name = "SECS", default_value_t = 5, global = true)]
    pub timeout: u64,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// kactl's commands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Instances, tables (like `ipvsadm -Ln`), probers and deliveries.
    Status,
    /// The merged event streams of every service: the snapshots, then with
    /// --follow every change until interrupted.
    Events {
        /// Keep following (reconnecting when a service restarts).
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Switch maintenance of a VRRP instance on (it gives up mastership and
    /// stays BACKUP) or off.
    Maintenance {
        /// Instance name, e.g. VI_1.
        instance: String,
        /// on or off.
        #[arg(value_enum)]
        state: OnOff,
        /// Free text recorded in the services' logs and events.
        #[arg(long, default_value = "kactl")]
        reason: String,
    },
    /// Every check target of the director's health-prober replica: its
    /// verdict, and when the replicas divide the checks, whether this
    /// replica owns it, its owners and why.
    Targets,
    /// Drain a real server: weight 0, no new connections.
    Drain(RealServerArgs),
    /// Undo `drain`.
    Undrain(RealServerArgs),
    /// Override a real server's weight, or `reset` to the configured one.
    Weight {
        /// Which real server.
        #[command(flatten)]
        target: RealServerArgs,
        /// The weight (0–65535) or `reset`.
        weight: String,
    },
}

/// Names a real server of a virtual server.
#[derive(Debug, Clone, clap::Args)]
pub struct RealServerArgs {
    /// The virtual server: VIP:PORT, fwmark:N or group:NAME.
    pub virtual_server: String,
    /// The real server: ADDRESS:PORT.
    pub real_server: String,
    /// The virtual server's protocol.
    #[arg(long, default_value = "tcp", value_parser = ["tcp", "udp", "sctp"])]
    pub protocol: String,
}

fn split_host_port(s: &str) -> Option<(String, u32)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || (host.contains(':') && !s.starts_with('[')) {
        return None;
    }
    let port: u16 = port.parse().ok()?;
    Some((host.to_owned(), u32::from(port)))
}

impl RealServerArgs {
    /// The API key these arguments name.
    pub fn key(&self) -> Result<v1::RealServerKey, ArgError> {
        let protocol = match self.protocol.as_str() {
            "udp" => v1::Protocol::Udp,
            "sctp" => v1::Protocol::Sctp,
            _ => v1::Protocol::Tcp,
        } as i32;
        let vs = &self.virtual_server;
        let kind = if let Some(mark) = vs.strip_prefix("fwmark:") {
            v1::virtual_server_key::Kind::Fwmark(
                mark.parse().map_err(|_| ArgError::Endpoint(vs.clone()))?,
            )
        } else if let Some(group) = vs.strip_prefix("group:") {
            v1::virtual_server_key::Kind::Group(group.to_owned())
        } else {
            let (address, port) =
                split_host_port(vs).ok_or_else(|| ArgError::Endpoint(vs.clone()))?;
            v1::virtual_server_key::Kind::AddressPort(v1::AddressPort { address, port })
        };
        let (address, port) = split_host_port(&self.real_server)
            .ok_or_else(|| ArgError::Endpoint(self.real_server.clone()))?;
        Ok(v1::RealServerKey {
            virtual_server: Some(v1::VirtualServerKey {
                kind: Some(kind),
                protocol,
            }),
            real_server: Some(v1::AddressPort { address, port }),
        })
    }
}

impl Cli {
    /// The directors to talk to.
    pub fn directors(&self) -> Vec<Director> {
        if !self.directors.is_empty() {
            return self.directors.clone();
        }
        let mut local = Director::local();
        if let Some(a) = &self.vrrp {
            local.vrrp = a.clone();
        }
        if let Some(a) = &self.ipvs {
            local.ipvs = a.clone();
        }
        if let Some(a) = &self.health {
            local.health = a.clone();
        }
        if let Some(a) = &self.notifier {
            local.notifier = a.clone();
        }
        vec![local]
    }
}

async fn connect(address: &Address, timeout: Duration) -> anyhow::Result<TracedChannel> {
    keepalived_bus::addr::connect_with(address, |e| e.connect_timeout(timeout))
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to {address}: {}", error_chain(&e)))
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn status_error(address: &Address, status: tonic::Status) -> anyhow::Error {
    let hint = if status.code() == tonic::Code::PermissionDenied {
        " (state-changing RPCs need root over the unix socket, or an mTLS client certificate)"
    } else {
        ""
    };
    anyhow::anyhow!("{address}: {:?}: {}{hint}", status.code(), status.message())
}

/// Asks the four services of `director` for their state. A service that
/// cannot be asked is reported in `errors`, not fatal.
pub async fn director_status(director: &Director, timeout: Duration) -> DirectorStatus {
    let mut status = DirectorStatus {
        director: director.name.clone(),
        instances: None,
        tables: None,
        targets: None,
        deliveries: None,
        errors: Vec::new(),
    };
    let vrrp = tokio::time::timeout(timeout, async {
        let a = &director.vrrp;
        let mut c = VrrpClient::new(connect(a, timeout).await?)
            .max_decoding_message_size(keepalived_bus::MAX_MESSAGE_BYTES);
        let r = c
            .list_instances(v1::ListInstancesRequest {})
            .await
            .map_err(|s| status_error(a, s))?;
        anyhow::Ok(
            r.get_ref()
                .instances
                .iter()
                .map(InstanceView::from)
                .collect::<Vec<_>>(),
        )
    });
    let ipvs = tokio::time::timeout(timeout, async {
        let a = &director.ipvs;
        let mut c = IpvsClient::new(connect(a, timeout).await?)
            .max_decoding_message_size(keepalived_bus::MAX_MESSAGE_BYTES);
        let r = c
            .list_virtual_servers(v1::ListVirtualServersRequest {})
            .await
            .map_err(|s| status_error(a, s))?;
        anyhow::Ok(TablesView::from(r.get_ref()))
    });
    let health = tokio::time::timeout(timeout, async {
        let a = &director.health;
        let mut c = HealthClient::new(connect(a, timeout).await?)
            .max_decoding_message_size(keepalived_bus::MAX_MESSAGE_BYTES);
        let r = c
            .list_targets(v1::ListTargetsRequest {})
            .await
            .map_err(|s| status_error(a, s))?;
        anyhow::Ok(
            r.get_ref()
                .targets
                .iter()
                .map(TargetView::from)
                .collect::<Vec<_>>(),
        )
    });
    let notifier = tokio::time::timeout(timeout, async {
        let a = &director.notifier;
        let mut c = NotifierClient::new(connect(a, timeout).await?)
            .max_decoding_message_size(keepalived_bus::MAX_MESSAGE_BYTES);
        let r = c
            .list_deliveries(v1::ListDeliveriesRequest {
                state: 0,
                limit: 20,
            })
            .await
            .map_err(|s| status_error(a, s))?;
        anyhow::Ok(
            r.get_ref()
                .deliveries
                .iter()
                .map(DeliveryView::from)
                .collect::<Vec<_>>(),
        )
    });
    let (vrrp, ipvs, health, notifier) = tokio::join!(vrrp, ipvs, health, notifier);
    let (vrrp, ipvs, health, notifier) = (
        flatten(vrrp, timeout),
        flatten(ipvs, timeout),
        flatten(health, timeout),
        flatten(notifier, timeout),
    );
    for (service, error) in [
        (Service::Vrrp, vrrp.as_ref().err()),
        (Service::Ipvs, ipvs.as_ref().err()),
        (Service::Health, health.as_ref().err()),
        (Service::Notifier, notifier.as_ref().err()),
    ] {
        if let Some(error) = error {
            status.errors.push(ServiceError {
                service: service.binary().into(),
                address: director.address(service).to_string(),
                error: error.clone(),
            });
        }
    }
    let (vrrp, ipvs, health, notifier) = (vrrp.ok(), ipvs.ok(), health.ok(), notifier.ok());
    status.instances = vrrp;
    status.tables = ipvs;
    status.targets = health;
    status.deliveries = notifier;
    status
}

/// The answer of a service within the timeout, or why there is none.
fn flatten<T>(
    r: Result<anyhow::Result<T>, tokio::time::error::Elapsed>,
    timeout: Duration,
) -> Result<T, String> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
    }
}

/// Starts a reconnecting subscription to one service's Watch and forwards
/// its updates as [`EventLine`]s.
fn subscribe<E, F, Fut>(director: &Director, service: Service, open: F, tx: mpsc::Sender<EventLine>)
where
    E: keepalived_api::BusEvent + Describe,
    F: Fn(TracedChannel) -> Fut + Send + Sync + Copy + 'static,
    Fut: Future<Output = Result<tonic::Response<tonic::Streaming<E>>, tonic::Status>>
        + Send
        + 'static,
{
    let address = director.address(service).clone();
    let name = director.name.clone();
    let upstream = address.to_string();
    let connector = move |_upstream: String| {
        let address = address.clone();
        async move {
            let channel = keepalived_bus::addr::connect(&address)
                .await
                .map_err(|e| error_chain(&e))?;
            open(channel)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
        }
    };
    let mut subscriber = Subscriber::start(
        Upstreams::Static(vec![upstream]),
        Arc::new(connector),
        Backoff::default(),
    );
    tokio::spawn(async move {
        while let Some(update) = subscriber.updates.recv().await {
            if tx
                .send(EventLine::from_update(&name, &update.update))
                .await
                .is_err()
            {
                break;
            }
        }
    });
}

fn watch_request() -> v1::WatchRequest {
    v1::WatchRequest {
        consumer: "kactl".into(),
        ..Default::default()
    }
}

/// Subscribes to every service of every director; lines arrive on the receiver.
pub fn follow_events(directors: &[Director]) -> mpsc::Receiver<EventLine> {
    let (tx, rx) = mpsc::channel(1024);
    for d in directors {
        subscribe(
            d,
            Service::Vrrp,
            |c| async move {
                VrrpClient::new(c)
                    .max_decoding_message_size(keepalived_bus::MAX_MESSAGE_BYTES)
                    .watch(watch_request())
                    .await
            },
            tx.clone(),
        );
        subscribe(
            d,
            Service::Ipvs,
            |c| async move {
                IpvsClient::new(c)
                    .max_decoding_message_size(keepalived_bus::MAX_MESSAGE_BYTES)
                    .watch(watch_request())
                    .await
            },
            tx.clone(),
        );
        subscribe(
            d,
            Service::Health,
            |c| async move {
                HealthClient::new(c)
                    .max_decoding_message_size(keepalived_bus::MAX_MESSAGE_BYTES)
                    .watch(watch_request())
                    .await
            },
            tx.clone(),
        );
        subscribe(
            d,
            Service::Notifier,
            |c| async move {
                NotifierClient::new(c)
                    .max_decoding_message_size(keepalived_bus::MAX_MESSAGE_BYTES)
                    .watch(watch_request())
                    .await
            },
            tx.clone(),
        );
    }
    rx
}

fn print_line(output: Output, line: &EventLine) {
    match output {
        Output::Text => println!("{}", line.human()),
        Output::Json => println!(
            "{}",
            serde_json::to_string(line).expect("event lines serialise")
        ),
    }
}

fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// One director's answer to a state-changing command.
#[derive(Debug, Serialize)]
struct Changed<T> {
    director: String,
    #[serde(flatten)]
    result: T,
}

#[derive(Debug, Serialize)]
struct InstanceResult {
    instance: InstanceView,
}

#[derive(Debug, Serialize)]
struct RealServerResult {
    real_server: RealServerView,
}

/// Runs a parsed command line; the exit status is 0 on success, 1 when a
/// service could not be asked or refused.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let directors = cli.directors();
    let timeout = Duration::from_secs(cli.timeout.max(1));
    match &cli.command {
        Command::Status => {
            let statuses =
                futures::future::join_all(directors.iter().map(|d| director_status(d, timeout)))
                    .await;
            match cli.output {
                Output::Json => print_json(&statuses)?,
                Output::Text => {
                    let texts: Vec<String> = statuses.iter().map(view::format_status).collect();
                    print!("{}", texts.join("\n"));
                }
            }
            Ok(i32::from(statuses.iter().any(|s| !s.errors.is_empty())))
        }
        Command::Events { follow } => {
            let mut rx = follow_events(&directors);
            if *follow {
                loop {
                    tokio::select! {
                        line = rx.recv() => match line {
                            Some(line) => print_line(cli.output, &line),
                            None => return Ok(1),
                        },
                        _ = tokio::signal::ctrl_c() => return Ok(0),
                    }
                }
            }
            // Without --follow: each stream's snapshot (or why there is none).
            let mut pending = directors.len() * Service::ALL.len();
            let mut failed = false;
            let deadline = tokio::time::sleep(timeout);
            tokio::pin!(deadline);
            while pending > 0 {
                tokio::select! {
                    line = rx.recv() => {
                        let Some(line) = line else { break };
                        match line.kind.as_str() {
                            "snapshot" => pending -= 1,
                            "disconnected" => { pending -= 1; failed = true; }
                            _ => {}
                        }
                        print_line(cli.output, &line);
                    }
                    () = &mut deadline => {
                        eprintln!("kactl: {pending} stream(s) gave no snapshot within {} s", timeout.as_secs());
                        failed = true;
                        break;
                    }
                }
            }
            Ok(i32::from(failed))
        }
        Command::Maintenance {
            instance,
            state,
            reason,
        } => {
            let mut results = Vec::new();
            for d in &directors {
                let mut c = VrrpClient::new(connect(&d.vrrp, timeout).await?)
                    .max_decoding_message_size(keepalived_bus::MAX_MESSAGE_BYTES);
                let r = c
                    .set_maintenance(v1::SetMaintenanceRequest {
                        name: instance.clone(),
                        enabled: *state == OnOff::On,
                        reason: reason.clone(),
                    })
                    .await
                    .map_err(|s| status_error(&d.vrrp, s))?;
                results.push(Changed {
                    director: d.name.clone(),
                    result: InstanceResult {
                        instance: InstanceView::from(r.get_ref()),
                    },
                });
            }
            match cli.output {
                Output::Json => print_json(&results)?,
                Output::Text => {
                    for r in &results {
                        let i = &r.result.instance;
                        println!(
                            "{}: {} maintenance {}, state {}, priority {} (base {})",
                            r.director,
                            i.name,
                            if i.maintenance { "on" } else { "off" },
                            i.state,
                            i.effective_priority,
                            i.base_priority
                        );
                    }
                }
            }
            Ok(0)
        }
        Command::Targets => targets::run(&directors, cli.output, timeout).await,
        Command::Drain(target) | Command::Undrain(target) => {
            let drain = matches!(cli.command, Command::Drain(_));
            let key = target.key()?;
            let mut results = Vec::new();
            for d in &directors {
                let mut c = IpvsClient::new(connect(&d.ipvs, timeout).await?)
                    .max_decoding_message_size(keepalived_bus::MAX_MESSAGE_BYTES);
                let r = c
                    .drain_real_server(v1::DrainRealServerRequest {
                        key: Some(key.clone()),
                        drain,
                    })
                    .await
                    .map_err(|s| status_error(&d.ipvs, s))?;
                results.push(Changed {
                    director: d.name.clone(),
                    result: RealServerResult {
                        real_server: RealServerView::from(r.get_ref()),
                    },
                });
            }
            print_real_servers(cli.output, &results)?;
            Ok(0)
        }
        Command::Weight { target, weight } => {
            let key = target.key()?;
            let weight = match weight.as_str() {
                "reset" => None,
                w => Some(
                    w.parse::<u16>()
                        .map_err(|_| anyhow::anyhow!("weight {w:?}: expected 0-65535 or reset"))?
                        .into(),
                ),
            };
            let mut results = Vec::new();
            for d in &directors {
                let mut c = IpvsClient::new(connect(&d.ipvs, timeout).await?)
                    .max_decoding_message_size(keepalived_bus::MAX_MESSAGE_BYTES);
                let r = c
                    .set_real_server_weight(v1::SetRealServerWeightRequest {
                        key: Some(key.clone()),
                        weight,
                    })
                    .await
                    .map_err(|s| status_error(&d.ipvs, s))?;
                results.push(Changed {
                    director: d.name.clone(),
                    result: RealServerResult {
                        real_server: RealServerView::from(r.get_ref()),
                    },
                });
            }
            print_real_servers(cli.output, &results)?;
            Ok(0)
        }
    }
}

fn print_real_servers(output: Output, results: &[Changed<RealServerResult>]) -> anyhow::Result<()> {
    match output {
        Output::Json => print_json(&results),
        Output::Text => {
            for r in results {
                let rs = &r.result.real_server;
                println!(
                    "{}: {} weight {} (configured {}{}){}, {}",
                    r.director,
                    rs.address,
                    rs.weight,
                    rs.configured_weight,
                    rs.weight_override
                        .map(|w| format!(", override {w}"))
                        .unwrap_or_default(),
                    if rs.drained { ", drained" } else { "" },
                    rs.health
                );
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn director_prefixes() {
        let d: Director = "dr1=unix:/run/dr1/".parse().unwrap();
        assert_eq!(d.name, "dr1");
        assert_eq!(d.vrrp.to_string(), "unix:/run/dr1/vrrp-core.sock");
        assert_eq!(d.notifier.to_string(), "unix:/run/dr1/notifier.sock");
        let d: Director = "dr2=tcp://198.51.100.12".parse().unwrap();
        assert_eq!(d.ipvs.to_string(), "tcp://198.51.100.12:50052");
        assert_eq!(d.health.to_string(), "tcp://198.51.100.12:50053");
        let d: Director = "v6=[2001:db8::12]".parse().unwrap();
        assert_eq!(d.vrrp.to_string(), "tcp://[2001:db8::12]:50051");
        for bad in ["dr1", "=x", "dr1=", "dr1=tcp://h:50051", "dr1=unix:"] {
            assert!(bad.parse::<Director>().is_err(), "{bad}");
        }
        assert_eq!(
            Director::local().health.to_string(),
            "unix:/run/keepalived-rs/health-prober.sock"
        );
    }

    #[test]
    fn single_director_flags_override_the_local_sockets() {
        let cli = Cli::try_parse_from([
            "kactl",
            "--ipvs",
            "tcp://127.0.0.1:6000",
            "status",
            "-o",
            "json",
        ])
        .unwrap();
        let d = &cli.directors()[0];
        assert_eq!(d.ipvs.to_string(), "tcp://127.0.0.1:6000");
        assert_eq!(d.vrrp.to_string(), "unix:/run/keepalived-rs/vrrp-core.sock");
        assert_eq!(cli.output, Output::Json);
        assert!(
            Cli::try_parse_from(["kactl", "--director", "a=h", "--vrrp", "unix:/x", "status"])
                .is_err(),
            "--director and --vrrp conflict"
        );
    }

    #[test]
    fn real_server_keys() {
        let args = RealServerArgs {
            virtual_server: "198.51.100.10:80".into(),
            real_server: "198.51.100.22:80".into(),
            protocol: "tcp".into(),
        };
        let key = args.key().unwrap();
        let vs = key.virtual_server.unwrap();
        assert_eq!(vs.protocol, v1::Protocol::Tcp as i32);
        assert_eq!(
            vs.kind,
            Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                address: "198.51.100.10".into(),
                port: 80
            }))
        );
        assert_eq!(key.real_server.unwrap().address, "198.51.100.22");
        let v6 = RealServerArgs {
            virtual_server: "fwmark:7".into(),
            real_server: "[2001:db8::5]:443".into(),
            protocol: "udp".into(),
        }
        .key()
        .unwrap();
        assert_eq!(
            v6.virtual_server.unwrap().kind,
            Some(v1::virtual_server_key::Kind::Fwmark(7))
        );
        assert_eq!(v6.real_server.unwrap().address, "2001:db8::5");
        for bad in ["198.51.100.10", "2001:db8::5:80", "h:99999", ":80"] {
            let args = RealServerArgs {
                virtual_server: "198.51.100.10:80".into(),
                real_server: bad.into(),
                protocol: "tcp".into(),
            };
            assert!(args.key().is_err(), "{bad}");
        }
    }
}
