//! Option sets in two stages, as ripgrep's low and high arguments: as typed (the one struct that
//! the command line flattens and that profiles deserialise) and resolved (validated, every default
//! filled in, ready to run). The command layer and profiles fill them; the domain only reads them.

pub mod cluster;
pub mod disk;
pub mod etcd;
