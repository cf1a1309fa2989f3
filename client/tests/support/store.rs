//! The fake broker's in-memory state: queues of stored messages, half messages, consumer
//! offsets, group membership, queue locks, and a log of what clients asked for.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use protocol::body::{BrokerData, MessageQueue, QueueData};
use protocol::header::*;
use protocol::message::{keys, tags_code, MessageExt, Properties, TagFilter};
use protocol::remoting::ConnId;
use protocol::ResponseCode;

use super::namesrv::Routes;

/// The half-message topic.
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";

/// A client connection and its id.
#[derive(Debug, Clone)]
pub struct Member {
    pub client_id: String,
    pub conn: ConnId,
}

/// Everything the fake broker keeps.
pub struct BrokerState {
    pub name: String,
    pub addr: SocketAddr,
    routes: Routes,
    pub auto_create: bool,
    /// Topic → queue count.
    pub topics: BTreeMap<String, i32>,
    /// (topic, queue id) → messages; index = queue offset.
    pub queues: HashMap<(String, i32), Vec<MessageExt>>,
    /// Half messages not yet committed or rolled back.
    pub half: Vec<MessageExt>,
    next_phys: i64,
    /// (group, topic, queue id) → committed offset.
    pub offsets: HashMap<(String, String, i32), i64>,
    /// Group → members (consumers).
    pub consumers: BTreeMap<String, Vec<Member>>,
    /// Group → members (producers).
    pub producers: BTreeMap<String, Vec<Member>>,
    /// (group, queue) → client id holding the lock.
    pub locks: HashMap<(String, MessageQueue), String>,
    /// Answers for the next sends instead of storing them.
    pub fail_next_sends: VecDeque<ResponseCode>,
    /// Answer CONSUMER_SEND_MSG_BACK with SYSTEM_ERROR.
    pub fail_send_back: bool,
    pub send_requests: usize,
    pub heartbeats: usize,
    pub pull_headers: Vec<PullMessageRequestHeader>,
    pub send_backs: Vec<ConsumerSendMsgBackRequestHeader>,
    pub end_transactions: Vec<EndTransactionRequestHeader>,
    pub unregisters: Vec<UnregisterClientRequestHeader>,
    pub lock_requests: usize,
}

impl BrokerState {
    pub fn new(name: &str, addr: SocketAddr, routes: Routes) -> Self {
        BrokerState {
            name: name.to_string(),
            addr,
            routes,
            auto_create: false,
            topics: BTreeMap::new(),
            queues: HashMap::new(),
            half: Vec::new(),
            next_phys: 0,
            offsets: HashMap::new(),
            consumers: BTreeMap::new(),
            producers: BTreeMap::new(),
            locks: HashMap::new(),
            fail_next_sends: VecDeque::new(),
            fail_send_back: false,
            send_requests: 0,
            heartbeats: 0,
            pull_headers: Vec::new(),
            send_backs: Vec::new(),
            end_transactions: Vec::new(),
            unregisters: Vec::new(),
            lock_requests: 0,
        }
    }

    /// Creates `topic` with `queues` queues and registers it with the NameServer (as
    /// REGISTER_BROKER would), merging with other brokers hosting it.
    pub fn create_topic(&mut self, topic: &str, queues: i32, perm: i32) {
        self.topics.insert(topic.to_string(), queues);
        let mut routes = self.routes.lock().unwrap();
        let route = routes.entry(topic.to_string()).or_default();
        route.queue_datas.retain(|q| q.broker_name != self.name);
        route.queue_datas.push(QueueData {
            broker_name: self.name.clone(),
            perm,
            read_queue_nums: queues,
            write_queue_nums: queues,
            topic_sys_flag: 0,
        });
        route.broker_datas.retain(|b| b.broker_name != self.name);
        let mut bd = BrokerData::new("DefaultCluster", self.name.as_str());
        bd.broker_addrs.insert(0, self.addr.to_string());
        route.broker_datas.push(bd);
    }

    fn assign_phys(&mut self, msg: &mut MessageExt) {
        msg.commit_log_offset = self.next_phys;
        msg.store_host = self.addr;
        self.next_phys += msg.encoded_len() as i64;
    }

    /// Appends to a queue, assigning offsets; returns the stored copy.
    pub fn append(&mut self, mut msg: MessageExt) -> MessageExt {
        let key = (msg.topic.clone(), msg.queue_id);
        let queue = self.queues.entry(key).or_default();
        msg.queue_offset = queue.len() as i64;
        msg.store_timestamp = wall_ms();
        msg.store_host = self.addr;
        msg.commit_log_offset = self.next_phys;
        self.next_phys += msg.encoded_len() as i64;
        msg.store_size = msg.encoded_len() as i32;
        queue.push(msg.clone());
        msg
    }

    /// Stores a half message; returns it with its half-queue offset.
    pub fn append_half(&mut self, mut msg: MessageExt) -> MessageExt {
        msg.properties.insert(keys::REAL_TOPIC, msg.topic.clone());
        msg.properties
            .insert(keys::REAL_QID, msg.queue_id.to_string());
        if let Some(u) = msg.uniq_key().map(str::to_string) {
            msg.properties.insert(keys::TRANSACTION_ID, u);
        }
        msg.topic = HALF_TOPIC.to_string();
        msg.queue_id = 0;
        msg.sys_flag &= !0xC;
        msg.queue_offset = self.half.len() as i64;
        msg.store_timestamp = wall_ms();
        self.assign_phys(&mut msg);
        self.half.push(msg.clone());
        msg
    }

    pub fn find_by_phys(&self, phys: i64) -> Option<MessageExt> {
        self.queues
            .values()
            .flatten()
            .chain(self.half.iter())
            .find(|m| m.commit_log_offset == phys)
            .cloned()
    }

    /// Commits (true) or rolls back a half message; false if not found.
    pub fn end_half(&mut self, phys: i64, commit: bool) -> bool {
        let Some(pos) = self.half.iter().position(|m| m.commit_log_offset == phys) else {
            return false;
        };
        let mut msg = self.half.remove(pos);
        if commit {
            msg.topic = msg
                .properties
                .get(keys::REAL_TOPIC)
                .unwrap_or("")
                .to_string();
            msg.queue_id = msg
                .properties
                .get(keys::REAL_QID)
                .and_then(|q| q.parse().ok())
                .unwrap_or(0);
            msg.prepared_transaction_offset = phys;
            msg.sys_flag = (msg.sys_flag & !0xC) | 0x8;
            self.append(msg);
        }
        true
    }

    /// Messages of `topic` across its queues, in queue then offset order.
    pub fn messages(&self, topic: &str) -> Vec<MessageExt> {
        let mut keys: Vec<_> = self
            .queues
            .keys()
            .filter(|(t, _)| t == topic)
            .cloned()
            .collect();
        keys.sort();
        keys.iter().flat_map(|k| self.queues[k].clone()).collect()
    }

    /// Evaluates a pull; PULL_NOT_FOUND means "caught up" (park it if suspension is allowed).
    pub fn pull(
        &self,
        h: &PullMessageRequestHeader,
    ) -> (ResponseCode, PullMessageResponseHeader, Bytes) {
        let queue = self.queues.get(&(h.topic.clone(), h.queue_id));
        let max = queue.map_or(0, |q| q.len() as i64);
        let header = |next: i64| PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: next,
            min_offset: 0,
            max_offset: max,
            ..Default::default()
        };
        if h.queue_offset < 0 || h.queue_offset > max {
            let next = if h.queue_offset < 0 { 0 } else { max };
            return (ResponseCode::PULL_OFFSET_MOVED, header(next), Bytes::new());
        }
        if h.queue_offset == max {
            return (ResponseCode::PULL_NOT_FOUND, header(max), Bytes::new());
        }
        let filter =
            protocol::message::parse_sub_expression(h.subscription.as_deref().unwrap_or("*"));
        let queue = queue.map(Vec::as_slice).unwrap_or(&[]);
        let mut body = BytesMut::new();
        let mut next = h.queue_offset;
        let mut found = 0;
        for msg in &queue[h.queue_offset as usize..] {
            if found >= h.max_msg_nums {
                break;
            }
            next += 1;
            if matches(&filter, msg) {
                msg.encode(&mut body).unwrap();
                found += 1;
            }
        }
        if found == 0 {
            return (
                ResponseCode::PULL_RETRY_IMMEDIATELY,
                header(next),
                Bytes::new(),
            );
        }
        (ResponseCode::SUCCESS, header(next), body.freeze())
    }

    /// Registers a heartbeat's members; returns the consumer groups whose membership grew.
    pub fn heartbeat(&mut self, conn: ConnId, data: &protocol::body::HeartbeatData) -> Vec<String> {
        self.heartbeats += 1;
        let mut changed = Vec::new();
        for cd in &data.consumer_data_set {
            let members = self.consumers.entry(cd.group_name.clone()).or_default();
            if !members.iter().any(|m| m.client_id == data.client_id) {
                members.push(Member {
                    client_id: data.client_id.clone(),
                    conn,
                });
                changed.push(cd.group_name.clone());
            }
            let retry = format!("%RETRY%{}", cd.group_name);
            if !self.topics.contains_key(&retry) {
                self.create_topic(&retry, 1, 6);
            }
        }
        for pd in &data.producer_data_set {
            let members = self.producers.entry(pd.group_name.clone()).or_default();
            if !members.iter().any(|m| m.client_id == data.client_id) {
                members.push(Member {
                    client_id: data.client_id.clone(),
                    conn,
                });
            }
        }
        changed
    }

    /// Removes a client (unregister or closed connection); returns the groups it left.
    pub fn remove_client(&mut self, pred: impl Fn(&Member) -> bool) -> Vec<String> {
        let mut left = Vec::new();
        for (group, members) in self.consumers.iter_mut() {
            let before = members.len();
            members.retain(|m| !pred(m));
            if members.len() != before {
                left.push(group.clone());
            }
        }
        for members in self.producers.values_mut() {
            members.retain(|m| !pred(m));
        }
        left
    }

    /// LOCK_BATCH_MQ: the queues now locked by `client_id`.
    pub fn lock(
        &mut self,
        group: &str,
        client_id: &str,
        mqs: &BTreeSet<MessageQueue>,
    ) -> BTreeSet<MessageQueue> {
        self.lock_requests += 1;
        let mut ok = BTreeSet::new();
        for mq in mqs {
            let holder = self
                .locks
                .entry((group.to_string(), mq.clone()))
                .or_insert_with(|| client_id.to_string());
            if holder == client_id {
                ok.insert(mq.clone());
            }
        }
        ok
    }

    /// CONSUMER_SEND_MSG_BACK: re-stores the message in the group's retry topic (no delay).
    pub fn send_back(&mut self, h: &ConsumerSendMsgBackRequestHeader) -> ResponseCode {
        self.send_backs.push(h.clone());
        if self.fail_send_back {
            return ResponseCode::SYSTEM_ERROR;
        }
        let Some(orig) = self.find_by_phys(h.offset) else {
            return ResponseCode::SYSTEM_ERROR;
        };
        let retry = format!("%RETRY%{}", h.group);
        if !self.topics.contains_key(&retry) {
            self.create_topic(&retry, 1, 6);
        }
        let mut msg = orig.clone();
        if !msg.properties.contains_key(keys::RETRY_TOPIC) {
            msg.properties.insert(keys::RETRY_TOPIC, orig.topic.clone());
        }
        if !msg.properties.contains_key(keys::ORIGIN_MESSAGE_ID) {
            msg.properties
                .insert(keys::ORIGIN_MESSAGE_ID, orig.offset_msg_id());
        }
        msg.topic = retry;
        msg.queue_id = 0;
        msg.reconsume_times += 1;
        self.append(msg);
        ResponseCode::SUCCESS
    }
}

fn matches(filter: &TagFilter, msg: &MessageExt) -> bool {
    filter.matches(tags_code(msg.tags()))
}

/// Builds a stored message from a send header and body.
pub fn message_from_send(
    h: &SendMessageRequestHeader,
    body: Bytes,
    props: Properties,
    flag: i32,
    born: SocketAddr,
) -> MessageExt {
    let mut msg = MessageExt::new(h.topic.clone(), body);
    msg.queue_id = h.queue_id.max(0);
    msg.flag = flag;
    msg.sys_flag = h.sys_flag;
    msg.born_timestamp = h.born_timestamp;
    msg.born_host = born;
    msg.reconsume_times = h.reconsume_times.unwrap_or(0);
    msg.properties = props;
    msg
}

pub fn wall_ms() -> i64 {
    protocol::util::clock::now_millis() as i64
}
