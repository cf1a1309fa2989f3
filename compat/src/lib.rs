//! Wire-compatibility tests of ferromq against `rocketmq-client-rust` (and its protocol crate),
//! a RocketMQ client we did not write. Only tests live here; see `tests/`.
