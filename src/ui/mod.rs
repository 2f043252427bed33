//! Terminal text: plain `String` builders for what the commands print (fio-style disk text, the
//! etcd summary, the verdict table) and the one progress renderer. Reads results and util only;
//! the command layer decides where the text goes.

pub mod cluster;
pub mod disk;
pub mod etcd;
pub mod progress;
pub mod verdict;
pub mod watch;
