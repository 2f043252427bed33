//! The cluster tests' network fixture, checked by measurement: namespaces joined by a bridge reach
//! each other, and a node given D ms of delay is a real ≈ 2·D round trip away (TCP handshakes
//! timed from another namespace), while the other links stay fast. Cleans up after itself.

use crate::support::netns;

use netns::{tcp_rtts, tcp_sink, Netns};
use std::sync::atomic::Ordering;

const PORT: u16 = 17001;

#[test]
fn delay_is_a_measured_round_trip() {
    let d_ms = 15;
    let Some(net) = Netns::new(3, &[0, 0, d_ms]) else {
        return;
    };
    let (a, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let sinks = [tcp_sink(b, PORT), tcp_sink(c, PORT)];
    let fast = tcp_rtts(a, &b.addr, PORT, 30);
    let slow = tcp_rtts(a, &c.addr, PORT, 30);
    for (stop, h) in sinks {
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap();
    }
    let ms = |v: u64| v as f64 / 1e6;
    let (f50, s50, smin) = (ms(fast[15]), ms(slow[15]), ms(slow[0]));
    eprintln!("cp1→cp2 handshake p50 {f50:.3} ms; cp1→cp3 (+{d_ms} ms each way) min {smin:.3} p50 {s50:.3} ms");
    // Each direction holds every frame D ms: a handshake can't be quicker than 2·D.
    assert!(smin >= 2.0 * d_ms as f64, "min {smin} ms < 2·{d_ms} ms");
    // …and the forwarder adds little on top (generous: 2 cores shared by several builds).
    assert!(
        s50 < 2.0 * d_ms as f64 + 10.0,
        "p50 {s50} ms far above 2·{d_ms} ms"
    );
    assert!(f50 < d_ms as f64, "undelayed link p50 {f50} ms");
    let names: Vec<String> = net.nodes.iter().map(|n| n.ns.clone()).collect();
    drop(net);
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for n in names {
        assert!(!list.contains(&n), "namespace {n} left behind");
    }
}
