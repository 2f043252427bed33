//! What the node is: virtualisation, CPU, memory, the block device and file system under test.
