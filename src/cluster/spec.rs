//! `--cluster name=address,…`: the candidate nodes, and which of them this node is.

use super::ClusterError;
use std::net::IpAddr;

/// One candidate node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    pub addr: IpAddr,
}

/// Parse `cp1=10.0.0.11,cp2=10.0.0.12,…` (IPv6 addresses as `cp1=fd00::11` or `cp1=[fd00::11]`).
/// Names follow etcd's member-name rules loosely: letters, digits, '-', '_' and '.'.
pub fn parse(text: &str) -> Result<Vec<NodeSpec>, ClusterError> {
    let mut out: Vec<NodeSpec> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, addr) = part.split_once('=').ok_or_else(|| {
            ClusterError::Invalid(format!(
                "--cluster entry '{part}' is not name=address (e.g. cp1=10.0.0.11)"
            ))
        })?;
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ClusterError::Invalid(format!(
                "--cluster: bad node name '{name}' (letters, digits, '-', '_', '.')"
            )));
        }
        let a = addr.trim().trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = a.parse().map_err(|_| {
            ClusterError::Invalid(format!(
                "--cluster: '{addr}' (node {name}) is not an IP address"
            ))
        })?;
        if addr.is_unspecified() || addr.is_multicast() {
            return Err(ClusterError::Invalid(format!(
                "--cluster: {addr} (node {name}) is not a node's address"
            )));
        }
        if let Some(o) = out.iter().find(|o| o.name == name) {
            return Err(ClusterError::Invalid(format!(
                "--cluster names {name} twice ({} and {addr})",
                o.addr
            )));
        }
        if let Some(o) = out.iter().find(|o| o.addr == addr) {
            return Err(ClusterError::Invalid(format!(
                "--cluster gives {} and {name} the same address {addr} (one member per node)",
                o.name
            )));
        }
        out.push(NodeSpec {
            name: name.to_string(),
            addr,
        });
    }
    if out.len() < 2 {
        return Err(ClusterError::Invalid(format!(
            "--cluster needs at least 2 nodes (3 or 5 for a control plane), got {}",
            out.len()
        )));
    }
    Ok(out)
}

/// Index of this node in `nodes`: by `--node-name`, default the host name.
pub fn find_self(nodes: &[NodeSpec], node_name: Option<&str>) -> Result<usize, ClusterError> {
    let (name, how) = match node_name {
        Some(n) => (n.to_string(), "--node-name"),
        None => (
            gethostname::gethostname().to_string_lossy().into_owned(),
            "the host name",
        ),
    };
    nodes.iter().position(|n| n.name == name).ok_or_else(|| {
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        ClusterError::Invalid(format!(
            "this node is '{name}' ({how}) but --cluster names {}; pass --node-name with one of them",
            names.join(", ")
        ))
    })
}

/// `host:port` with IPv6 bracketed, for URLs and socket addresses.
pub fn host_port(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_finds_self() {
        let n = parse("cp1=10.0.0.11, cp2=[fd00::12],cp3=10.0.0.13").unwrap();
        assert_eq!(n.len(), 3);
        assert_eq!(n[1].addr, "fd00::12".parse::<IpAddr>().unwrap());
        assert_eq!(host_port(n[1].addr, 12380), "[fd00::12]:12380");
        assert_eq!(find_self(&n, Some("cp3")).unwrap(), 2);
        let e = find_self(&n, Some("cp9")).unwrap_err().to_string();
        assert!(e.contains("cp9") && e.contains("cp1, cp2, cp3"), "{e}");
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in [
            "cp1=10.0.0.11",
            "cp1",
            "cp1=host.example,cp2=10.0.0.2",
            "cp1=10.0.0.1,cp1=10.0.0.2",
            "cp1=10.0.0.1,cp2=10.0.0.1",
            "c p=10.0.0.1,cp2=10.0.0.2",
            "cp1=0.0.0.0,cp2=10.0.0.2",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
