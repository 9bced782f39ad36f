//! Prints the IPVS table like `ipvsadm -Ln --stats` would, through keepalived-ipvs.
//! Exits with status 2 and says so when the kernel has no IPVS (what `--backend auto` checks).

use keepalived_ipvs::{Ipvs, IpvsError};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut ipvs = match Ipvs::open() {
        Ok(i) => i,
        Err(IpvsError::NotAvailable) => {
            eprintln!("IPVS is not available in this kernel");
            std::process::exit(2);
        }
        Err(e) => return Err(e.into()),
    };
    let info = ipvs.info()?;
    println!(
        "IP Virtual Server version {} (size={})",
        info.version_string(),
        info.conn_tab_size
    );
    for s in ipvs.services()? {
        let st = s.stats.unwrap_or_default();
        println!(
            "{} {} flags={:#x} timeout={} netmask={:#x}  conns={} inpkts={} outpkts={}",
            s.key, s.scheduler, s.flags.0, s.timeout, s.netmask, st.conns, st.inpkts, st.outpkts
        );
        for d in ipvs.dests(&s.key)? {
            let st = d.stats.unwrap_or_default();
            println!(
                "  -> {}:{} {:?} weight={} active={} inactive={}  conns={} inpkts={}",
                d.addr,
                d.port,
                d.forward,
                d.weight,
                d.active_conns,
                d.inactive_conns,
                st.conns,
                st.inpkts
            );
        }
    }
    Ok(())
}
