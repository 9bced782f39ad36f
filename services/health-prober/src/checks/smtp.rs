//! SMTP_CHECK: connect, read the 220 banner, `HELO <name>`, read 250,
//! `QUIT`, read the reply (`check_smtp.c`'s engine).

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use super::conn::{ConnOpts, timed};
use crate::outcome::{Failure, Outcome};

/// An SMTP_CHECK ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpProbe {
    /// The HELO name.
    pub helo: String,
}

/// The 3-digit code at the start of a reply line, as keepalived reads it.
fn status(line: &str) -> Option<u16> {
    let code = line.get(..3)?.parse().ok()?;
    match line.as_bytes().get(3) {
        None | Some(b' ') | Some(b'\r') | Some(b'\n') => Some(code),
        _ => None,
    }
}

impl SmtpProbe {
    /// One attempt.
    pub async fn run(&self, conn: &ConnOpts) -> Outcome {
        match self.dialogue(conn).await {
            Ok(()) => Outcome::ok(),
            Err(failure) => Outcome::failed(failure),
        }
    }

    async fn dialogue(&self, conn: &ConnOpts) -> Result<(), Failure> {
        let stream = conn.tcp().await?;
        let mut stream = BufReader::new(stream);
        let mut line = String::new();
        let read_line = async |line: &mut String, stream: &mut BufReader<tokio::net::TcpStream>| {
            line.clear();
            let n = timed(conn.timeout, Failure::ReadTimeout, stream.read_line(line)).await?;
            if n == 0 {
                return Err(Failure::NoData);
            }
            Ok::<(), Failure>(())
        };
        read_line(&mut line, &mut stream).await?;
        if status(&line) != Some(220) {
            return Err(Failure::Protocol("Bad greeting banner".into()));
        }
        let helo = format!("HELO {}\r\n", self.helo);
        timed(
            conn.timeout,
            Failure::WriteTimeout,
            stream.get_mut().write_all(helo.as_bytes()),
        )
        .await?;
        read_line(&mut line, &mut stream).await?;
        if status(&line) != Some(250) {
            return Err(Failure::Protocol("Bad HELO response".into()));
        }
        timed(
            conn.timeout,
            Failure::WriteTimeout,
            stream.get_mut().write_all(b"QUIT\r\n"),
        )
        .await?;
        read_line(&mut line, &mut stream).await?;
        Ok(())
    }
}
