//! keepalived's SMTP client (core/smtp.c), over a tokio TcpStream: connect,
//! 220, `HELO`, 250, `MAIL FROM:<…>`, 250, one `RCPT TO:<…>` per recipient,
//! 250 each, `DATA`, 354, headers + body + `.`, 250, `QUIT`. Every step is
//! bounded by `smtp_connect_timeout`, as keepalived's read/write threads are.
//! Log lines are keepalived's.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

use crate::job::MailJob;
use crate::mail;

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SmtpError {
    /// Connecting failed.
    #[error("SMTP connection ERROR to {0}.")]
    Connect(String),
    /// Connecting took longer than smtp_connect_timeout.
    #[error("Timeout connecting SMTP server {0}.")]
    ConnectTimeout(String),
    /// A reply took too long.
    #[error("Timeout reading data to remote SMTP server {0}.")]
    ReadTimeout(String),
    /// The server closed the connection.
    #[error("Remote SMTP server {0} has closed the connection.")]
    Closed(String),
    /// Reading or writing failed.
    #[error("Error reading data from remote SMTP server {0}.")]
    Io(String),
    /// A step got an unexpected code; `step` is keepalived's word (`HELO`,
    /// `MAIL`, `RCPT`, `DATA`, `DOT`), empty for the greeting.
    #[error("Error {step} SMTP server {server}. SMTP status code = {code}")]
    Status {
        /// `processing HELO cmd on` or `connecting`.
        step: String,
        /// `[IP]:PORT`.
        server: String,
        /// The code received.
        code: u16,
    },
}

/// `[IP]:PORT` (keepalived's `FMT_SMTP_HOST`, `inet_sockaddrtopair`).
fn pair(addr: &SocketAddr) -> String {
    format!("[{}]:{}", addr.ip(), addr.port())
}

struct Session {
    reader: BufReader<TcpStream>,
    server: String,
    timeout: Duration,
}

impl Session {
    /// Reads one reply (continuation lines `NNN-` skipped) and returns its
    /// code, as `smtp_read_thread` does.
    async fn reply(&mut self) -> Result<u16, SmtpError> {
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout(self.timeout, self.reader.read_line(&mut line))
                .await
                .map_err(|_| SmtpError::ReadTimeout(self.server.clone()))?
                .map_err(|_| SmtpError::Io(self.server.clone()))?;
            if read == 0 {
                return Err(SmtpError::Closed(self.server.clone()));
            }
            if line.as_bytes().get(3) == Some(&b'-') {
                continue;
            }
            return Ok(line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .unwrap_or_default());
        }
    }

    async fn send(&mut self, text: &str) -> Result<(), SmtpError> {
        tokio::time::timeout(
            self.timeout,
            self.reader.get_mut().write_all(text.as_bytes()),
        )
        .await
        .map_err(|_| SmtpError::Io(self.server.clone()))?
        .map_err(|_| SmtpError::Io(self.server.clone()))
    }

    async fn expect(&mut self, want: u16, step: &str) -> Result<(), SmtpError> {
        let code = self.reply().await?;
        if code == want {
            Ok(())
        } else {
            Err(SmtpError::Status {
                step: step.to_owned(),
                server: self.server.clone(),
                code,
            })
        }
    }
}

/// Sends one alert. `date` is the Date header's value.
pub async fn send(job: &MailJob, date: &str) -> Result<(), SmtpError> {
    let timeout = Duration::from_secs(job.timeout_secs.max(1));
    let display = format!("[{}]:{}", job.server_host, job.server_port);
    let stream = tokio::time::timeout(
        timeout,
        TcpStream::connect((job.server_host.as_str(), job.server_port)),
    )
    .await
    .map_err(|_| SmtpError::ConnectTimeout(display.clone()))?
    .map_err(|_| SmtpError::Connect(display.clone()))?;
    let server = stream.peer_addr().map_or(display, |a| pair(&a));
    tracing::info!("Remote SMTP server {server} connected.");
    let mut s = Session {
        reader: BufReader::new(stream),
        server,
        timeout,
    };
    s.expect(220, "connecting").await?;
    s.send(&format!("HELO {}\r\n", job.helo)).await?;
    s.expect(250, "processing HELO cmd on").await?;
    s.send(&format!("MAIL FROM:<{}>\r\n", job.from)).await?;
    s.expect(250, "processing MAIL cmd on").await?;
    for rcpt in &job.to {
        s.send(&format!("RCPT TO:<{rcpt}>\r\n")).await?;
        s.expect(250, "processing RCPT cmd on").await?;
    }
    s.send("DATA\r\n").await?;
    s.expect(354, "processing DATA cmd on").await?;
    s.send(&mail::data(
        date,
        &job.from,
        &job.subject,
        &job.to,
        &job.body,
    ))
    .await?;
    s.expect(250, "processing DOT cmd on").await?;
    tracing::info!("SMTP alert successfully sent.");
    // The mail is accepted; QUIT's answer cannot change that (keepalived's
    // quit_code ignores the status).
    if s.send("QUIT\r\n").await.is_ok() {
        let _ = s.reply().await;
    }
    Ok(())
}
