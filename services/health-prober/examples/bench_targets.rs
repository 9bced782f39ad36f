//! Benchmark helper: one small HTTP server listening on `COUNT` ports of
//! `ADDR` (default 127.0.0.1) starting at `BASE`, answering every request
//! `200 OK`. With `COUNT_FILE` it writes the number of requests served so far
//! to that file twice a second, so a benchmark can count any checker's
//! attempts from the target's side.
//! Usage: `bench_targets BASE COUNT [ADDR [COUNT_FILE]]` (raise `ulimit -n` first).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let base: u16 = args.next().unwrap_or_else(|| "20000".into()).parse()?;
    let count: u16 = args.next().unwrap_or_else(|| "10000".into()).parse()?;
    let addr: IpAddr = args.next().unwrap_or_else(|| "127.0.0.1".into()).parse()?;
    let count_file = args.next();
    let served = Arc::new(AtomicU64::new(0));
    for port in base..base + count {
        let listener = TcpListener::bind((addr, port)).await?;
        let served = served.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let served = served.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 512];
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
                            _ => return,
                        }
                    }
                    served.fetch_add(1, Ordering::Relaxed);
                    let _ = stream
                        .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .await;
                    let _ = stream.shutdown().await;
                });
            }
        });
    }
    println!(
        "listening on {addr}:{base}..{}",
        u32::from(base) + u32::from(count) - 1
    );
    match count_file {
        Some(path) => loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let tmp = format!("{path}.tmp");
            std::fs::write(&tmp, served.load(Ordering::Relaxed).to_string())?;
            std::fs::rename(&tmp, &path)?;
        },
        None => std::future::pending::<()>().await,
    }
    Ok(())
}
