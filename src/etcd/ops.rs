//! The requests the load sends: put, txn-put and linearizable range, on keys of a fixed length
//! under the run's prefix. Key choice is deterministic for sequential keys and uniform over the key
//! space otherwise; the value is the same random bytes for every request (generated once).

use crate::options::etcd::OpKind;
use etcd_client::{KvClient, Txn, TxnOp};
use rand::RngExt;

/// Builds keys and values and performs one request.
#[derive(Clone, Debug)]
pub struct Workload {
    op: OpKind,
    prefix: String,
    digits: usize,
    key_space: u64,
    sequential: bool,
    value: Vec<u8>,
}

impl Workload {
    /// `key_size` counts the prefix; the rest is a zero-padded key number (at least enough digits
    /// to number the key space).
    pub fn new(
        op: OpKind,
        prefix: &str,
        key_size: usize,
        val_size: usize,
        key_space: u64,
        sequential: bool,
    ) -> Self {
        let need = key_space.saturating_sub(1).max(1).to_string().len();
        let digits = key_size.saturating_sub(prefix.len()).max(need);
        let mut rng = rand::rng();
        let value = (0..val_size)
            .map(|_| rng.random_range(b'a'..=b'z'))
            .collect();
        Workload {
            op,
            prefix: prefix.to_string(),
            digits,
            key_space,
            sequential,
            value,
        }
    }

    /// Key for request number `i`.
    pub fn key(&self, i: u64) -> Vec<u8> {
        let n = if self.sequential {
            i % self.key_space
        } else {
            rand::rng().random_range(0..self.key_space)
        };
        // Zero-padded number after the prefix, written without the formatter (which pads char by
        // char: noticeable client CPU at thousands of requests per second).
        let mut key = Vec::with_capacity(self.prefix.len() + self.digits);
        key.extend_from_slice(self.prefix.as_bytes());
        let mut digits = [0u8; 20];
        let mut len = 0;
        let mut v = n;
        loop {
            digits[len] = b'0' + (v % 10) as u8;
            len += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        key.resize(key.len() + self.digits.saturating_sub(len), b'0');
        key.extend(digits[..len].iter().rev());
        key
    }

    /// Send request number `i`.
    pub async fn execute(&self, kv: &mut KvClient, i: u64) -> Result<(), etcd_client::Error> {
        let key = self.key(i);
        match self.op {
            OpKind::Put => kv.put(key, self.value.clone(), None).await.map(|_| ()),
            OpKind::TxnPut => kv
                .txn(Txn::new().and_then([TxnOp::put(key, self.value.clone(), None)]))
                .await
                .map(|_| ()),
            OpKind::Range => kv.get(key, None).await.map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_requested_length_and_prefix() {
        let w = Workload::new(OpKind::Put, "/nodefit/x/", 256, 1024, 100_000, false);
        for i in 0..100 {
            let k = w.key(i);
            assert_eq!(k.len(), 256);
            assert!(k.starts_with(b"/nodefit/x/"));
        }
        assert_eq!(w.value.len(), 1024);
        let s = Workload::new(OpKind::Put, "/p/", 8, 8, 10, true);
        assert_eq!(s.key(3), b"/p/00003".to_vec());
        assert_eq!(s.key(13), b"/p/00003".to_vec());
        let q = Workload::new(OpKind::Put, "/q/", 40, 8, u64::MAX, true);
        for n in [0u64, 7, 10, 12345, 99_999, u64::MAX - 1] {
            assert_eq!(q.key(n), format!("/q/{n:037}").into_bytes());
        }
        // A key size smaller than the prefix still numbers the whole key space.
        let t = Workload::new(OpKind::Put, "/long/prefix/", 4, 8, 1000, true);
        assert_eq!(t.key(999), b"/long/prefix/999".to_vec());
    }
}
