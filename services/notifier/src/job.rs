//! One thing to deliver to one destination, as stored in the spool: fully
//! resolved when the event arrives, so a retry after a restart sends exactly
//! what was decided then.

use serde::{Deserialize, Serialize};

/// A unit of delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Ordering key: jobs of one lane are delivered one at a time, in event
    /// order (one SMTP server, one webhook URL, one instance's scripts).
    pub lane: String,
    /// Recipient list, URL or command line, for the API.
    pub destination: String,
    /// Human-readable summary (the mail subject, the script's arguments).
    pub summary: String,
    /// What to do.
    pub action: Action,
}

/// How a job is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "channel")]
pub enum Action {
    /// An SMTP alert, keepalived's dialogue.
    Mail(MailJob),
    /// A notify script.
    Script(ScriptJob),
    /// An HTTP POST of a signed JSON payload.
    Webhook(WebhookJob),
    /// A line written to a notify FIFO.
    Fifo(FifoJob),
}

impl Action {
    /// The API's channel.
    pub fn channel(&self) -> keepalived_api::v1::Channel {
        use keepalived_api::v1::Channel;
        match self {
            Self::Mail(_) => Channel::Mail,
            Self::Script(_) => Channel::Script,
            Self::Webhook(_) => Channel::Webhook,
            Self::Fifo(_) => Channel::Fifo,
        }
    }
}

/// One mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailJob {
    /// SMTP server host.
    pub server_host: String,
    /// SMTP server port.
    pub server_port: u16,
    /// HELO name.
    pub helo: String,
    /// `notification_email_from`.
    pub from: String,
    /// `notification_email`, in order.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Body (one line in keepalived's alerts).
    pub body: String,
    /// `smtp_connect_timeout`, seconds: connect and every reply.
    pub timeout_secs: u64,
}

/// One run of a notify script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptJob {
    /// Program and arguments (the command line split as keepalived does, plus
    /// the generic `notify` arguments).
    pub argv: Vec<String>,
    /// User to run as (the script's own, else `script_user`), `None` for
    /// keepalived's default `keepalived_script`.
    pub user: Option<String>,
    /// Group to run as.
    pub group: Option<String>,
    /// `enable_script_security`.
    pub secure: bool,
}

/// One webhook call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookJob {
    /// `http://…` or `https://…` URL.
    pub url: String,
    /// The JSON payload, exactly as signed and sent.
    pub body: String,
    /// File holding the HMAC secret, read at send time so rotating it needs
    /// no restart and the secret never lands in the spool.
    pub secret_file: Option<String>,
    /// PEM certificates trusted for https besides the system's (absent in
    /// spools written before it existed).
    #[serde(default)]
    pub ca_file: Option<String>,
}

/// One line for one notify FIFO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FifoJob {
    /// The FIFO's path.
    pub path: String,
    /// The line, newline included, exactly as keepalived writes it.
    pub line: String,
}
