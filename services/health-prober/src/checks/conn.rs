//! Opening the connection of one attempt: a new socket each time, optional
//! source address/port (`bindto`, `bind_port`), interface (`bind_if`) and
//! mark (`fwmark`), and `connect_timeout` on the connect itself.

use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use crate::outcome::Failure;

/// Where and how an attempt connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnOpts {
    /// The checked address.
    pub dst: SocketAddr,
    /// `bindto` / `bind_port`.
    pub bind: Option<SocketAddr>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `fwmark`.
    pub fwmark: Option<u32>,
    /// `connect_timeout`: bounds the connect and each later read or write.
    pub timeout: Duration,
}

impl ConnOpts {
    fn domain(&self) -> Domain {
        if self.dst.is_ipv4() {
            Domain::IPV4
        } else {
            Domain::IPV6
        }
    }

    /// The source address, filling the unspecified address when only a port is set.
    fn source(&self) -> Option<SocketAddr> {
        self.bind
    }

    fn raw(&self, ty: Type, protocol: Protocol) -> Result<Socket, Failure> {
        let net = |e: std::io::Error| Failure::Network(e.to_string());
        let socket = Socket::new(self.domain(), ty, Some(protocol)).map_err(net)?;
        socket.set_nonblocking(true).map_err(net)?;
        socket.set_cloexec(true).map_err(net)?;
        if let Some(mark) = self.fwmark {
            socket.set_mark(mark).map_err(net)?;
        }
        if let Some(dev) = &self.bind_if {
            socket.bind_device(Some(dev.as_bytes())).map_err(net)?;
        }
        if let Some(src) = self.source() {
            socket.set_reuse_address(true).map_err(net)?;
            socket.bind(&src.into()).map_err(net)?;
        }
        Ok(socket)
    }

    /// A connected TCP stream, or why not (timeout, refused, …).
    pub async fn tcp(&self) -> Result<TcpStream, Failure> {
        let socket = if self.bind.is_none() && self.bind_if.is_none() && self.fwmark.is_none() {
            match self.dst {
                SocketAddr::V4(_) => TcpSocket::new_v4(),
                SocketAddr::V6(_) => TcpSocket::new_v6(),
            }
            .map_err(|e| Failure::Network(e.to_string()))?
        } else {
            let raw = self.raw(Type::STREAM, Protocol::TCP)?;
            TcpSocket::from_std_stream(std::net::TcpStream::from(raw))
        };
        match tokio::time::timeout(self.timeout, socket.connect(self.dst)).await {
            // No TCP_NODELAY here: a plain request is the first segment on a
            // fresh connection, which Nagle never holds back (TLS sets it).
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(Failure::from_io(&e)),
            Err(_) => Err(Failure::ConnectTimeout),
        }
    }

    /// A UDP socket connected to the destination (ICMP errors then surface
    /// as `ECONNREFUSED` on receive).
    pub async fn udp(&self) -> Result<UdpSocket, Failure> {
        let raw = self.raw(Type::DGRAM, Protocol::UDP)?;
        let socket = UdpSocket::from_std(std::net::UdpSocket::from(raw))
            .map_err(|e| Failure::Network(e.to_string()))?;
        socket
            .connect(self.dst)
            .await
            .map_err(|e| Failure::from_io(&e))?;
        Ok(socket)
    }

    /// An unprivileged ICMP datagram socket (`net.ipv4.ping_group_range`).
    pub fn icmp(&self) -> Result<UdpSocket, Failure> {
        let protocol = if self.dst.is_ipv4() {
            Protocol::ICMPV4
        } else {
            Protocol::ICMPV6
        };
        let raw = self.raw(Type::DGRAM, protocol).map_err(|f| match f {
            Failure::Network(e) => Failure::Network(format!(
                "cannot open an ICMP datagram socket ({e}); check net.ipv4.ping_group_range"
            )),
            other => other,
        })?;
        UdpSocket::from_std(std::net::UdpSocket::from(raw))
            .map_err(|e| Failure::Network(e.to_string()))
    }
}

/// Runs `io` with the attempt's per-operation timeout; `on_timeout` names it.
pub async fn timed<T>(
    timeout: Duration,
    on_timeout: Failure,
    io: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(timeout, io).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Failure::from_io(&e)),
        Err(_) => Err(on_timeout),
    }
}
