//! Benchmark helper: one small HTTP server listening on `COUNT` ports of
//! 127.0.0.1 starting at `BASE`, answering every request `200 OK`.
//! Usage: `bench_targets BASE COUNT` (raise `ulimit -n` first).

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let base: u16 = args.next().unwrap_or_else(|| "20000".into()).parse()?;
    let count: u16 = args.next().unwrap_or_else(|| "10000".into()).parse()?;
    for port in base..base + count {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let mut buf = [0u8; 512];
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
                            _ => return,
                        }
                    }
                    let _ = stream
                        .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .await;
                    let _ = stream.shutdown().await;
                });
            }
        });
    }
    println!(
        "listening on 127.0.0.1:{base}..{}",
        u32::from(base) + u32::from(count) - 1
    );
    std::future::pending::<()>().await;
    Ok(())
}
