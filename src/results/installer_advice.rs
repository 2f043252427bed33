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
    let need = (heartbeat_ms, election_ms);
    vec![
        advise(
            "kubespray",
            KUBESPRAY_DEFAULTS_MS,
            need,
            "keep yours",
            |hb, el| {
                format!("# inventory/<cluster>/group_vars/etcd.yml\netcd_heartbeat_interval: \"{hb}\"\netcd_election_timeout: \"{el}\"")
            },
        ),
        advise(
            "kubeadm",
            KUBEADM_DEFAULTS_MS,
            need,
            "keep etcd's defaults",
            |hb, el| {
                format!(
                "# kubeadm ClusterConfiguration (v1beta4; v1beta3 takes a map: heartbeat-interval: \"{hb}\")\netcd:\n  local:\n    extraArgs:\n      - name: heartbeat-interval\n        value: \"{hb}\"\n      - name: election-timeout\n        value: \"{el}\""
            )
            },
        ),
        advise(
            "etcd",
            ETCD_DEFAULTS_MS,
            need,
            "keep etcd's defaults",
            |hb, el| format!("etcd ... --heartbeat-interval={hb} --election-timeout={el}"),
        ),
    ]
}

/// One installer's advice: `need` raised to its `defaults`; the note to keep them when they
/// already cover it, else the `snippet` that sets the raised values.
fn advise(
    installer: &'static str,
    defaults: (u64, u64),
    need: (u64, u64),
    keep_words: &str,
    snippet: impl Fn(u64, u64) -> String,
) -> InstallerAdvice {
    let set_ms = (need.0.max(defaults.0), need.1.max(defaults.1));
    let keep_defaults = need.0 <= defaults.0 && need.1 <= defaults.1;
    InstallerAdvice {
        installer,
        defaults_ms: defaults,
        set_ms,
        keep_defaults,
        snippet: if keep_defaults {
            format!(
                "{keep_words}: {}/{} ms already ≥ what this network needs ({}/{})",
                defaults.0, defaults.1, need.0, need.1
            )
        } else {
            snippet(set_ms.0, set_ms.1)
        },
    }
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
