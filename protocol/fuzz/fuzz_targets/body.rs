//! JSON bodies in RocketMQ's dialect: the rectifier and typed decoding of the bodies that
//! arrive from peers (heartbeats, routes, registrations, lock requests) must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::body::{
    from_json_slice, rectify, HeartbeatData, LockBatchRequestBody, RegisterBrokerBody,
    TopicRouteData,
};

fuzz_target!(|data: &[u8]| {
    let _ = rectify(data);
    let _ = from_json_slice::<HeartbeatData>(data);
    let _ = from_json_slice::<TopicRouteData>(data);
    let _ = from_json_slice::<LockBatchRequestBody>(data);
    for compressed in [false, true] {
        for version in [0, 37, 401, 413, 479] {
            let _ = RegisterBrokerBody::decode(data, compressed, version);
        }
    }
});
