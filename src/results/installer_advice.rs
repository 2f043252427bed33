//! The advised etcd timing said the way each installer takes it: kubespray's group_vars, kubeadm's
//! `ClusterConfiguration`, plain etcd flags. Never below the installer's own defaults: where its
//! default already covers what the network needs, the advice is to keep it (pasting etcd's
//! bare-flag advice of 100/1000 ms into kubespray would lower its 250/5000 ms).

/// One installer's advice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallerAdvice {
    /// "kubespray", "kubeadm", "etcd".
    pub installer: &'static str,
    /// The installer's own defaults, ms (heartbeat, election).
    pub defaults_ms: (u64, u64),
    /// What to set, ms: the advice raised to the installer's defaults.
    pub set_ms: (u64, u64),
    /// True when the defaults already cover the advice: nothing to change.
    pub keep_defaults: bool,
    /// The text to paste (or the note to keep the defaults).
    pub snippet: String,
}

/// kubespray's `etcd_heartbeat_interval` / `etcd_election_timeout` defaults (roles/etcd defaults).
pub const KUBESPRAY_DEFAULTS_MS: (u64, u64) = (250, 5000);
/// kubeadm passes neither flag, so etcd's own defaults apply.
pub const KUBEADM_DEFAULTS_MS: (u64, u64) = (100, 1000);
/// etcd's defaults.
pub const ETCD_DEFAULTS_MS: (u64, u64) = (100, 1000);

/// Advice for every installer from the advised heartbeat and election timeout (ms).
pub fn per_installer(heartbeat_ms: u64, election_ms: u64) -> Vec<InstallerAdvice> {
    let raise = |d: (u64, u64)| (heartbeat_ms.max(d.0), election_ms.max(d.1));
    let keep = |d: (u64, u64)| heartbeat_ms <= d.0 && election_ms <= d.1;
    let mut out = Vec::new();

    let d = KUBESPRAY_DEFAULTS_MS;
    let (hb, el) = raise(d);
    out.push(InstallerAdvice {
        installer: "kubespray",
        defaults_ms: d,
        set_ms: (hb, el),
        keep_defaults: keep(d),
        snippet: if keep(d) {
            format!(
                "keep yours: {}/{} ms already ≥ what this network needs ({heartbeat_ms}/{election_ms})",
                d.0, d.1
            )
        } else {
            format!("# inventory/<cluster>/group_vars/etcd.yml\netcd_heartbeat_interval: \"{hb}\"\netcd_election_timeout: \"{el}\"")
        },
    });

    let d = KUBEADM_DEFAULTS_MS;
    let (hb, el) = raise(d);
    out.push(InstallerAdvice {
        installer: "kubeadm",
        defaults_ms: d,
        set_ms: (hb, el),
        keep_defaults: keep(d),
        snippet: if keep(d) {
            format!(
                "keep etcd's defaults: {}/{} ms already ≥ what this network needs ({heartbeat_ms}/{election_ms})",
                d.0, d.1
            )
        } else {
            format!(
                "# kubeadm ClusterConfiguration (v1beta4; v1beta3 takes a map: heartbeat-interval: \"{hb}\")\netcd:\n  local:\n    extraArgs:\n      - name: heartbeat-interval\n        value: \"{hb}\"\n      - name: election-timeout\n        value: \"{el}\""
            )
        },
    });

    let d = ETCD_DEFAULTS_MS;
    let (hb, el) = raise(d);
    out.push(InstallerAdvice {
        installer: "etcd",
        defaults_ms: d,
        set_ms: (hb, el),
        keep_defaults: keep(d),
        snippet: if keep(d) {
            format!(
                "keep etcd's defaults: {}/{} ms already ≥ what this network needs",
                d.0, d.1
            )
        } else {
            format!("etcd ... --heartbeat-interval={hb} --election-timeout={el}")
        },
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_below_an_installers_defaults() {
        // A LAN: etcd's defaults are enough; kubespray's larger ones are kept, not lowered.
        let a = per_installer(100, 1000);
        let spray = &a[0];
        assert!(spray.keep_defaults);
        assert_eq!(spray.set_ms, (250, 5000));
        assert!(
            spray.snippet.starts_with("keep yours: 250/5000 ms"),
            "{}",
            spray.snippet
        );
        assert!(a[1].keep_defaults && a[2].keep_defaults);
        // 171/1710 (an 80 ms link with jitter): above etcd's and kubeadm's defaults, so those
        // change; kubespray's heartbeat default of 250 and election of 5000 stay.
        let a = per_installer(171, 1710);
        assert!(a[0].keep_defaults, "{:?}", a[0]);
        assert_eq!(a[1].set_ms, (171, 1710));
        assert!(a[1]
            .snippet
            .contains("name: heartbeat-interval\n        value: \"171\""));
        assert_eq!(
            a[2].snippet,
            "etcd ... --heartbeat-interval=171 --election-timeout=1710"
        );
        // A slow WAN: kubespray gets the larger of each.
        let a = per_installer(300, 3000);
        assert!(!a[0].keep_defaults);
        assert_eq!(a[0].set_ms, (300, 5000));
        assert!(a[0].snippet.contains("etcd_heartbeat_interval: \"300\""));
        assert!(a[0].snippet.contains("etcd_election_timeout: \"5000\""));
        for x in per_installer(300, 3000)
            .iter()
            .chain(&per_installer(50, 500))
        {
            assert!(
                x.set_ms.0 >= x.defaults_ms.0 && x.set_ms.1 >= x.defaults_ms.1,
                "{x:?}"
            );
        }
    }
}
