//! What a page says, as plain data and plain text, with no markup: one node's figures
//! ([`node`]), several side by side ([`compare`], [`summary`]), a cluster run ([`cluster`]), a
//! history ([`trend`], judged by [`regress`]). The format files (`html`, `markdown`, `json`) only
//! lay these out, so each page says the same thing in every format.

pub mod cluster;
pub mod compare;
pub mod node;
pub mod regress;
pub mod summary;
pub mod trend;
