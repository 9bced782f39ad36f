//! IPVS scheduler names (`lvs_sched`, formerly `lb_algo`), validated against
//! the schedulers the Linux kernel ships (`net/netfilter/ipvs/ip_vs_*.c`).

/// Every scheduler the kernel provides, as `ipvsadm -s` names them.
pub const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

/// Whether `name` is a kernel IPVS scheduler.
pub fn is_valid(name: &str) -> bool {
    SCHEDULERS.contains(&name)
}

/// Whether the kernel scheduler `name` ignores weights above 0: `rr`
/// (ip_vs_rr.c gives every server with a weight one turn), `lc` (least
/// connections, not divided by weight) and `dh` (hash buckets dealt in turn).
/// Weight 0 still takes a server out. The nft layouts give such servers one
/// equal share each, so a weight change there moves no flow.
pub fn ignores_weights(name: &str) -> bool {
    matches!(name, "rr" | "lc" | "dh")
}

/// How the nftables data plane realises a scheduler (it has no connection
/// counts, so only round robin and hashing are exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NftStrategy {
    /// `numgen inc` over slots, weighted unless [`ignores_weights`]: exact
    /// for `rr`/`wrr`.
    RoundRobin,
    /// A consistent hash of the source (`sh`, `mh`, persistence).
    SourceHash,
}

/// The nft strategy for `name`, and whether it only approximates the IPVS
/// scheduler (logged once per service so nobody mistakes it for the real one).
pub fn nft_strategy(name: &str, persistent: bool) -> (NftStrategy, bool) {
    match name {
        _ if persistent => (NftStrategy::SourceHash, !matches!(name, "sh" | "mh")),
        "rr" | "wrr" => (NftStrategy::RoundRobin, false),
        "sh" | "mh" => (NftStrategy::SourceHash, false),
        _ => (NftStrategy::RoundRobin, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_schedulers_are_valid_and_typos_are_not() {
        for name in ["rr", "wlc", "mh", "twos"] {
            assert!(is_valid(name));
        }
        assert!(!is_valid("roundrobin"));
        assert!(!is_valid("RR"));
    }

    #[test]
    fn only_the_unweighted_kernel_schedulers_ignore_weights() {
        for name in ["rr", "lc", "dh"] {
            assert!(ignores_weights(name), "{name}");
        }
        for name in ["wrr", "wlc", "sh", "mh", "sed", "nq", "lblc", "fo", "ovf"] {
            assert!(!ignores_weights(name), "{name}");
        }
    }

    #[test]
    fn least_connection_is_an_approximation_on_nft() {
        assert_eq!(nft_strategy("rr", false), (NftStrategy::RoundRobin, false));
        assert_eq!(nft_strategy("wlc", false), (NftStrategy::RoundRobin, true));
        assert_eq!(nft_strategy("rr", true), (NftStrategy::SourceHash, true));
    }
}
