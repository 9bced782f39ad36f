//! A minimal syslog sink: RFC 3164-style datagrams to `/dev/log`, facility
//! daemon, as keepalived logs. Never blocks: a full socket drops the line.

use std::fmt::Write as _;
use std::os::unix::net::UnixDatagram;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

const LOG_DAEMON: u8 = 3 << 3;
const DEV_LOG: &str = "/dev/log";

/// Sends every event to the local syslog daemon.
pub(crate) struct SyslogLayer {
    socket: UnixDatagram,
    ident: String,
}

impl SyslogLayer {
    /// Connects to `/dev/log`; `None` when there is no syslog daemon (containers).
    pub(crate) fn connect(ident: &str) -> Option<Self> {
        let socket = UnixDatagram::unbound().ok()?;
        socket.connect(DEV_LOG).ok()?;
        socket.set_nonblocking(true).ok()?;
        Some(Self {
            socket,
            ident: ident.to_owned(),
        })
    }
}

fn severity(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// Collects the message first, then the other fields as `key=value`.
#[derive(Default)]
pub(crate) struct LineVisitor {
    pub(crate) message: String,
    pub(crate) fields: String,
}

impl Visit for LineVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for SyslogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut visitor = LineVisitor::default();
        event.record(&mut visitor);
        let priority = LOG_DAEMON | severity(event.metadata().level());
        let line = format!(
            "<{priority}>{}[{}]: {}{}",
            self.ident,
            std::process::id(),
            visitor.message,
            visitor.fields
        );
        let _ = self.socket.send(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn sends_rfc3164_datagram_with_daemon_facility() {
        let dir = std::env::temp_dir().join(format!("ka-syslog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client.connect(&path).unwrap();
        let layer = SyslogLayer {
            socket: client,
            ident: "vrrp-core".into(),
        };
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(instance = "VI_1", "(VI_1) Entering FAULT STATE");
        });
        let mut buf = [0u8; 512];
        let n = server.recv(&mut buf).unwrap();
        let line = std::str::from_utf8(&buf[..n]).unwrap();
        let expected = format!(
            "<28>vrrp-core[{}]: (VI_1) Entering FAULT STATE instance=VI_1",
            std::process::id()
        );
        assert_eq!(line, expected);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
