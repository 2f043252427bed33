//! Peer reachability before a cluster run's disk phase: every node listens on its own peer port
//! and connects to every peer's, so a firewall that drops or rejects TCP <peer port> between two
//! nodes is named (link and port) as soon as the window runs out, not after the whole disk phase
//! plus `--join-timeout`. Nothing is sent: a TCP handshake, then the connection is closed.

use super::spec::NodeSpec;
use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(800);
/// Pause between rounds of attempts.
const ROUND: Duration = Duration::from_millis(200);
/// After every peer answered: how long to keep listening for the peers that have not yet
/// connected here (they need this node's answer to pass their own check).
const LINGER: Duration = Duration::from_secs(10);

/// Wait until this node (`nodes[me]`) has completed a TCP handshake with every peer on `port`,
/// listening on its own `port` meanwhile. Err after `window`: one line naming the first link
/// that never answered, its port and what the last attempt said.
pub fn check_peers(
    nodes: &[NodeSpec],
    me: usize,
    port: u16,
    window: Duration,
) -> Result<(), String> {
    let own = SocketAddr::new(nodes[me].addr, port);
    let listener = TcpListener::bind(own)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot listen on {own} to check the peers: {e}"))?;
    let peers: Vec<&NodeSpec> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != me)
        .map(|(_, n)| n)
        .collect();
    let mut unreached: BTreeSet<usize> = (0..peers.len()).collect();
    let mut unheard: BTreeSet<IpAddr> = peers.iter().map(|p| p.addr).collect();
    let mut last: BTreeMap<usize, String> = BTreeMap::new();
    // Outgoing handshakes from this node's own address, so a peer knows who reached it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let started = Instant::now();
    let mut all_reached: Option<Instant> = None;
    loop {
        while let Ok((conn, from)) = listener.accept() {
            unheard.remove(&from.ip());
            drop(conn);
        }
        for i in unreached.clone() {
            let to = SocketAddr::new(peers[i].addr, port);
            match handshake(&rt, nodes[me].addr, to) {
                Ok(_) => {
                    unreached.remove(&i);
                }
                Err(e) => {
                    last.insert(i, describe(&e));
                }
            }
        }
        if unreached.is_empty() {
            let since = *all_reached.get_or_insert_with(Instant::now);
            if unheard.is_empty() || since.elapsed() >= LINGER {
                return Ok(());
            }
        } else if started.elapsed() >= window {
            let i = *unreached.iter().next().unwrap_or(&0);
            let more = unreached.len() - 1;
            return Err(format!(
                "{} → {} ({}): {} for {:.0} s{}; open TCP {port} between the nodes (docs/cluster.md, Ports) and start nodefit on every node",
                nodes[me].name,
                peers[i].name,
                SocketAddr::new(peers[i].addr, port),
                last.get(&i).map(String::as_str).unwrap_or("no answer"),
                window.as_secs_f64(),
                if more > 0 {
                    format!(" (and {more} more peer(s))")
                } else {
                    String::new()
                }
            ));
        }
        std::thread::sleep(ROUND);
    }
}

/// One TCP handshake from `from` (any port) to `to`, closed at once.
fn handshake(rt: &tokio::runtime::Runtime, from: IpAddr, to: SocketAddr) -> std::io::Result<()> {
    rt.block_on(async {
        let s = if to.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        s.bind(SocketAddr::new(from, 0))?;
        match tokio::time::timeout(CONNECT_TIMEOUT, s.connect(to)).await {
            Ok(r) => r.map(drop),
            Err(_) => Err(ErrorKind::TimedOut.into()),
        }
    })
}

/// What a failed handshake says about the link.
fn describe(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => {
            "connection refused (nothing listening there, or a firewall rejecting)".into()
        }
        ErrorKind::TimedOut | ErrorKind::WouldBlock => {
            "no answer (a firewall dropping the port, or no route)".into()
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_port() -> u16 {
        // Bound on 127.0.0.1 and dropped: free on 127.0.0.2 as well in practice.
        TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(0)
    }

    fn nodes() -> Vec<NodeSpec> {
        vec![
            NodeSpec {
                name: "cp1".into(),
                addr: "127.0.0.1".parse().unwrap(),
            },
            NodeSpec {
                name: "cp2".into(),
                addr: "127.0.0.2".parse().unwrap(),
            },
        ]
    }

    #[test]
    fn two_nodes_started_apart_both_pass() {
        let port = free_port();
        let n = nodes();
        let n2 = n.clone();
        let t0 = Instant::now();
        let a = std::thread::spawn(move || check_peers(&n2, 0, port, Duration::from_secs(20)));
        std::thread::sleep(Duration::from_millis(1500));
        let b = check_peers(&n, 1, port, Duration::from_secs(20));
        assert_eq!(b, Ok(()));
        assert_eq!(a.join().unwrap(), Ok(()));
        // Each heard the other: neither sat out the linger.
        assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    }

    #[test]
    fn a_peer_that_never_answers_is_named_with_its_port() {
        let port = free_port();
        let t0 = Instant::now();
        let e = check_peers(&nodes(), 0, port, Duration::from_secs(2)).unwrap_err();
        assert!(t0.elapsed() >= Duration::from_secs(2));
        assert!(
            e.starts_with(&format!("cp1 → cp2 (127.0.0.2:{port}): connection refused")),
            "{e}"
        );
        assert!(
            e.contains(&format!("open TCP {port} between the nodes")),
            "{e}"
        );
    }
}
