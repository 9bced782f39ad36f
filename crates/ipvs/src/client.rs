//! The blocking IPVS client: request/reply bookkeeping around [`crate::codec`] and the socket.

use crate::codec::{self, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, Reply};
use crate::error::{ApplyError, IpvsError};
use crate::socket::NlSocket;
use crate::types::{Dest, Info, Op, Service, ServiceKey, Timeouts};

/// Most messages sent in one datagram by [`Ipvs::apply`]. Bounded so that a batch in which
/// every message fails still fits its error replies into the socket's receive buffer
/// (each costs about 1 KiB of buffer accounting).
pub const MAX_BATCH_MSGS: usize = 256;
/// Most bytes sent in one datagram: the kernel refuses a datagram larger than the socket's send
/// buffer (EMSGSIZE), whose default is about 208 KiB.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;

/// A generic-netlink socket bound to the IPVS family of the caller's network namespace.
///
/// Blocking and single-threaded: wrap it in `spawn_blocking` (or a dedicated thread) from
/// async code. Every call completes its exchange with the kernel before returning.
pub struct Ipvs {
    sock: NlSocket,
    family: u16,
    seq: u32,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

// Callers own the client in one task and move it into `spawn_blocking`: it must stay Send.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<Ipvs>();
};

impl std::fmt::Debug for Ipvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ipvs")
            .field("family", &self.family)
            .field("seq", &self.seq)
            .finish()
    }
}

impl Ipvs {
    /// Opens a socket and resolves the "IPVS" genl family. Returns
    /// [`IpvsError::NotAvailable`] when the kernel has no IPVS (the family lookup also makes
    /// the kernel try to load `ip_vs`).
    pub fn open() -> Result<Ipvs, IpvsError> {
        let mut me = Ipvs::unresolved()?;
        me.family = me.resolve_family(codec::IPVS_GENL_NAME)?;
        Ok(me)
    }

    fn unresolved() -> Result<Ipvs, IpvsError> {
        let sock = NlSocket::open()?;
        Ok(Ipvs {
            sock,
            family: 0,
            // Any start works; a time-based one keeps replies to an earlier socket with the same
            // port id (impossible, but cheap to rule out) from matching.
            seq: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as u32)
                .unwrap_or(1),
            tx: Vec::with_capacity(codec::NLMSG_HDRLEN * 4),
            rx: Vec::new(),
        })
    }

    /// The generic-netlink family id the kernel assigned to IPVS.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Asks the genl controller for the id of family `name`.
    fn resolve_family(&mut self, name: &str) -> Result<u16, IpvsError> {
        let seq = self.next_seq();
        self.tx.clear();
        codec::encode_get_family(&mut self.tx, seq, name);
        let mut id = None;
        let r = self.exchange(seq, codec::GENL_ID_CTRL, false, |_, attrs| {
            id = Some(codec::decode_family_id(attrs)?);
            Ok(())
        });
        match r {
            Err(IpvsError::Kernel { errno, .. }) if errno == libc::ENOENT => {
                Err(IpvsError::NotAvailable)
            }
            Err(e) => Err(e),
            Ok(()) => id.ok_or(IpvsError::NotAvailable),
        }
    }

    /// Sends `self.tx` (one request with sequence `seq`) and feeds every data message of the
    /// reply to `on_msg` until the ACK (plain requests) or `NLMSG_DONE` (dumps).
    fn exchange(
        &mut self,
        seq: u32,
        family: u16,
        dump: bool,
        mut on_msg: impl FnMut(u8, &[u8]) -> Result<(), IpvsError>,
    ) -> Result<(), IpvsError> {
        self.sock.send(&self.tx)?;
        loop {
            self.sock.recv(&mut self.rx)?;
            for m in codec::split_messages(&self.rx)? {
                // Replies to an exchange abandoned earlier (by an error) carry older numbers.
                if m.seq != seq {
                    continue;
                }
                match codec::classify(&m, family)? {
                    Reply::Genl { cmd, attrs } => on_msg(cmd, attrs)?,
                    Reply::Ack if !dump => return Ok(()),
                    Reply::Done if dump => return Ok(()),
                    Reply::Error { errno, message } => {
                        return Err(IpvsError::Kernel { errno, message });
                    }
                    Reply::Ack | Reply::Done | Reply::Other => {}
                }
            }
        }
    }

    /// IPVS version and connection table size (`ipvsadm`'s first line).
    pub fn info(&mut self) -> Result<Info, IpvsError> {
        let seq = self.next_seq();
        self.tx.clear();
        let family = self.family;
        codec::encode_simple(
            &mut self.tx,
            family,
            seq,
            NLM_F_REQUEST | NLM_F_ACK,
            codec::cmd::GET_INFO,
        );
        let mut info = None;
        self.exchange(seq, family, false, |_, attrs| {
            info = Some(codec::decode_info(attrs)?);
            Ok(())
        })?;
        info.ok_or(IpvsError::Decode(codec::DecodeError::Missing("info reply")))
    }

    /// Every virtual service, with counters.
    pub fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        let seq = self.next_seq();
        self.tx.clear();
        let family = self.family;
        codec::encode_simple(
            &mut self.tx,
            family,
            seq,
            NLM_F_REQUEST | NLM_F_DUMP,
            codec::cmd::GET_SERVICE,
        );
        let mut out = Vec::new();
        self.exchange(seq, family, true, |_, attrs| {
            out.push(codec::decode_service_msg(attrs)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The destinations of one service, with counters and connection counts. For a service
    /// that does not exist the kernel answers an empty dump, so this returns an empty list.
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, IpvsError> {
        if let ServiceKey::Fwmark { mark: 0, .. } = key {
            return Err(codec::EncodeError::ZeroFwmark.into());
        }
        let seq = self.next_seq();
        self.tx.clear();
        let family = self.family;
        codec::encode_get_dests(&mut self.tx, family, seq, key);
        let svc_family = key.family();
        let mut out = Vec::new();
        self.exchange(seq, family, true, |_, attrs| {
            out.push(codec::decode_dest_msg(attrs, svc_family)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Applies `ops` in order, many messages per datagram (at most [`MAX_BATCH_MSGS`] or
    /// [`MAX_BATCH_BYTES`]). Only the last message of a datagram asks for an ACK; the kernel
    /// answers failures on its own, so a batch of N changes costs one round trip, not N.
    ///
    /// Not transactional: on failure see [`ApplyError`] for what was applied. All ops are
    /// validated before anything is sent.
    pub fn apply(&mut self, ops: &[Op]) -> Result<(), ApplyError> {
        for (index, op) in ops.iter().enumerate() {
            codec::validate_op(op).map_err(|e| ApplyError {
                index,
                sent: 0,
                source: e.into(),
            })?;
        }
        let family = self.family;
        let mut next = 0;
        while next < ops.len() {
            let first = next;
            let first_seq = self.seq.wrapping_add(1);
            self.tx.clear();
            let mut last_start = 0;
            while next < ops.len()
                && next - first < MAX_BATCH_MSGS
                && self.tx.len() < MAX_BATCH_BYTES
            {
                let seq = self.next_seq();
                last_start = codec::encode_op(&mut self.tx, family, seq, NLM_F_REQUEST, &ops[next])
                    .map_err(|e| ApplyError {
                        index: next,
                        sent: first,
                        source: e.into(),
                    })?;
                next += 1;
            }
            codec::add_msg_flags(&mut self.tx, last_start, NLM_F_ACK);
            let last_seq = self.seq;
            if let Err(e) = self.sock.send(&self.tx) {
                return Err(ApplyError {
                    index: first,
                    sent: first,
                    source: e.into(),
                });
            }
            self.collect_batch(first_seq, last_seq)
                .map_err(|(offset, source)| ApplyError {
                    index: first + offset,
                    sent: next,
                    source,
                })?;
        }
        Ok(())
    }

    /// Reads the replies to the batch just sent (sequences `first_seq..=last_seq`) until the
    /// final ACK. Returns the offset within the batch of the first failure.
    fn collect_batch(&mut self, first_seq: u32, last_seq: u32) -> Result<(), (usize, IpvsError)> {
        let count = last_seq.wrapping_sub(first_seq);
        let mut failure: Option<(usize, IpvsError)> = None;
        loop {
            if let Err(e) = self.sock.recv(&mut self.rx) {
                // Replies were lost (ENOBUFS) or the socket broke: the outcome of the batch
                // from the first unconfirmed op on is unknown.
                let at = failure.as_ref().map(|f| f.0).unwrap_or(0);
                return Err((at, e.into()));
            }
            let msgs = codec::split_messages(&self.rx).map_err(|e| (0, e.into()))?;
            for m in msgs {
                let offset = m.seq.wrapping_sub(first_seq);
                if offset > count {
                    continue;
                }
                let reply = codec::classify(&m, self.family).map_err(|e| (0, e.into()))?;
                let terminal = matches!(reply, Reply::Ack | Reply::Error { .. });
                if let Reply::Error { errno, message } = reply {
                    let offset = offset as usize;
                    if failure.as_ref().is_none_or(|f| offset < f.0) {
                        failure = Some((offset, IpvsError::Kernel { errno, message }));
                    }
                }
                // The last message is answered (ACK or error) after all the others: the
                // kernel processes a datagram's messages in order.
                if m.seq == last_seq && terminal {
                    return match failure {
                        Some(f) => Err(f),
                        None => Ok(()),
                    };
                }
            }
        }
    }

    /// The TCP, TCP-FIN and UDP connection timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let seq = self.next_seq();
        self.tx.clear();
        let family = self.family;
        codec::encode_simple(
            &mut self.tx,
            family,
            seq,
            NLM_F_REQUEST | NLM_F_ACK,
            codec::cmd::GET_CONFIG,
        );
        let mut t = None;
        self.exchange(seq, family, false, |_, attrs| {
            t = Some(codec::decode_timeouts(attrs)?);
            Ok(())
        })?;
        t.ok_or(IpvsError::Decode(codec::DecodeError::Missing(
            "config reply",
        )))
    }

    /// Sets the connection timeouts; a 0 leaves that timeout unchanged.
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        let seq = self.next_seq();
        self.tx.clear();
        let family = self.family;
        codec::encode_set_timeouts(&mut self.tx, family, seq, NLM_F_REQUEST | NLM_F_ACK, t);
        self.exchange(seq, family, false, |_, _| Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The controller exchange against the running kernel: every Linux kernel has the
    /// controller family itself ("nlctrl", id 0x10), and no kernel has a family by this name.
    #[test]
    fn resolves_families_through_the_real_controller() {
        let mut c = Ipvs::unresolved().expect("netlink socket");
        assert_eq!(c.resolve_family("nlctrl").unwrap(), codec::GENL_ID_CTRL);
        assert!(matches!(
            c.resolve_family("no-such-family"),
            Err(IpvsError::NotAvailable)
        ));
        // The socket stays usable after a refusal.
        assert_eq!(c.resolve_family("nlctrl").unwrap(), codec::GENL_ID_CTRL);
    }
}
