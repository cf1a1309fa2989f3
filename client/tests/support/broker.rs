//! A fake broker built on `protocol::remoting`: stores sends in memory, serves pulls (with
//! long polling), offsets, group membership, locks, send-back and transactions, and can call
//! clients back (transaction checks, consumer-id change notices). Good enough to drive the
//! client end to end; not a storage engine.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use bytes::Bytes;
use protocol::body::{
    from_json_slice, GetConsumerListByGroupResponseBody, HeartbeatData, JsonBody,
    LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody,
};
use protocol::header::*;
use protocol::message::{decode_batch, keys, MessageExt, Properties};
use protocol::remoting::{
    ConnId, Context, EventLoop, RemotingConfig, RemotingHandle, Reply, RequestHandler,
};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::namesrv::Routes;
use super::store::{message_from_send, wall_ms, BrokerState};

/// A parked long-polling pull.
struct Parked {
    conn: ConnId,
    request: RemotingCommand,
    header: PullMessageRequestHeader,
    deadline_ms: u64,
}

struct Handler {
    state: Arc<Mutex<BrokerState>>,
    parked: Vec<Parked>,
}

fn ok(req: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(req, ResponseCode::SUCCESS)
}

fn err(req: &RemotingCommand, code: ResponseCode, remark: &str) -> RemotingCommand {
    RemotingCommand::error_response(req, code, remark)
}

impl Handler {
    fn state(&self) -> MutexGuard<'_, BrokerState> {
        self.state.lock().unwrap()
    }

    fn notify_group(ctx: &mut Context<'_>, st: &BrokerState, group: &str) {
        for m in st.consumers.get(group).into_iter().flatten() {
            let h = NotifyConsumerIdsChangedRequestHeader {
                consumer_group: group.to_string(),
            };
            let req =
                RemotingCommand::request_with_header(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED, &h);
            let _ = ctx.send_oneway(m.conn, req);
        }
    }

    fn send(
        &mut self,
        ctx: &mut Context<'_>,
        conn: ConnId,
        req: &RemotingCommand,
    ) -> RemotingCommand {
        let h = match SendMessageRequestHeader::read_for_code(req.code, &req.ext_fields) {
            Ok(h) => h,
            Err(e) => return err(req, ResponseCode::SYSTEM_ERROR, &e.to_string()),
        };
        let born = ctx
            .peer_addr(conn)
            .unwrap_or_else(|| "127.0.0.1:1".parse().unwrap());
        let mut st = self.state();
        st.send_requests += 1;
        if let Some(code) = st.fail_next_sends.pop_front() {
            return err(req, code, "injected failure");
        }
        if !st.topics.contains_key(&h.topic) {
            if !st.auto_create || h.default_topic != "TBW102" {
                return err(req, ResponseCode::TOPIC_NOT_EXIST, "topic not exist");
            }
            st.create_topic(&h.topic, h.default_topic_queue_nums, 6);
        }
        let queue_nums = st.topics[&h.topic];
        if h.queue_id >= queue_nums {
            return err(req, ResponseCode::SYSTEM_ERROR, "queue id out of range");
        }
        let stored = match Self::store_send(&mut st, &h, req, born) {
            Ok(stored) => stored,
            Err(resp) => return resp,
        };
        let ids: Vec<String> = stored.iter().map(MessageExt::offset_msg_id).collect();
        let header = SendMessageResponseHeader {
            msg_id: ids.join(","),
            queue_id: stored[0].queue_id,
            queue_offset: stored[0].queue_offset,
            transaction_id: stored[0].uniq_key().map(str::to_string),
            ..Default::default()
        }
        .with_broker_defaults(false);
        ok(req).with_header(&header)
    }

    /// Stores a send (batch, half or plain message); `Err` is the error response.
    fn store_send(
        st: &mut BrokerState,
        h: &SendMessageRequestHeader,
        req: &RemotingCommand,
        born: std::net::SocketAddr,
    ) -> Result<Vec<MessageExt>, RemotingCommand> {
        let props = Properties::decode(h.properties.as_deref().unwrap_or("").as_bytes());
        if h.is_batch(req.code) {
            let Ok(items) = decode_batch(&req.body) else {
                return Err(err(req, ResponseCode::MESSAGE_ILLEGAL, "bad batch"));
            };
            return Ok(items
                .into_iter()
                .map(|it| {
                    let p = Properties::decode(&it.properties);
                    st.append(message_from_send(h, it.body, p, it.flag, born))
                })
                .collect());
        }
        let msg = message_from_send(h, req.body.clone(), props.clone(), h.flag, born);
        if props.get(keys::TRAN_MSG) == Some("true") {
            Ok(vec![st.append_half(msg)])
        } else {
            Ok(vec![st.append(msg)])
        }
    }

    fn pull_response(
        st: &BrokerState,
        req: &RemotingCommand,
        h: &PullMessageRequestHeader,
    ) -> (ResponseCode, RemotingCommand) {
        let (code, header, body) = st.pull(h);
        let resp = RemotingCommand::response_to(req, code)
            .with_header(&header)
            .with_body(body);
        (code, resp)
    }

    fn pull(&mut self, ctx: &mut Context<'_>, conn: ConnId, req: RemotingCommand) -> Reply {
        let h: PullMessageRequestHeader = match req.decode_header() {
            Ok(h) => h,
            Err(e) => return Reply::Now(err(&req, ResponseCode::SYSTEM_ERROR, &e.to_string())),
        };
        let mut st = self.state();
        st.pull_headers.push(h.clone());
        if h.has_commit_offset() {
            st.offsets.insert(
                (h.consumer_group.clone(), h.topic.clone(), h.queue_id),
                h.commit_offset,
            );
        }
        let (code, resp) = Self::pull_response(&st, &req, &h);
        drop(st);
        if code == ResponseCode::PULL_NOT_FOUND && h.has_suspend() {
            let deadline_ms = ctx.now_ms() + h.suspend_timeout_millis.max(0) as u64;
            self.parked.push(Parked {
                conn,
                request: req,
                header: h,
                deadline_ms,
            });
            return Reply::Later;
        }
        Reply::Now(resp)
    }

    fn heartbeat(
        &mut self,
        ctx: &mut Context<'_>,
        conn: ConnId,
        req: &RemotingCommand,
    ) -> RemotingCommand {
        let Ok(data) = HeartbeatData::decode_body(&req.body) else {
            return err(req, ResponseCode::SYSTEM_ERROR, "bad heartbeat");
        };
        let mut st = self.state();
        for group in st.heartbeat(conn, &data) {
            Self::notify_group(ctx, &st, &group);
        }
        ok(req)
    }

    fn unregister(&mut self, ctx: &mut Context<'_>, req: &RemotingCommand) -> RemotingCommand {
        let Ok(h) = req.decode_header::<UnregisterClientRequestHeader>() else {
            return err(req, ResponseCode::SYSTEM_ERROR, "bad header");
        };
        let mut st = self.state();
        st.unregisters.push(h.clone());
        let left = st.remove_client(|m| m.client_id == h.client_id);
        for group in left {
            Self::notify_group(ctx, &st, &group);
        }
        ok(req)
    }

    fn consumer_call(&mut self, req: &RemotingCommand) -> RemotingCommand {
        let mut st = self.state();
        match req.request_code() {
            Some(RequestCode::GET_CONSUMER_LIST_BY_GROUP) => {
                let h: GetConsumerListByGroupRequestHeader = req.decode_header().unwrap();
                let mut ids: Vec<String> = st
                    .consumers
                    .get(&h.consumer_group)
                    .into_iter()
                    .flatten()
                    .map(|m| m.client_id.clone())
                    .collect();
                if ids.is_empty() {
                    return err(
                        req,
                        ResponseCode::SYSTEM_ERROR,
                        "no consumer for this group",
                    );
                }
                ids.sort();
                let body = GetConsumerListByGroupResponseBody {
                    consumer_id_list: ids,
                };
                ok(req).with_body(body.encode_body())
            }
            Some(RequestCode::CONSUMER_SEND_MSG_BACK) => {
                let h: ConsumerSendMsgBackRequestHeader = req.decode_header().unwrap();
                match st.send_back(&h) {
                    ResponseCode::SUCCESS => ok(req),
                    code => err(req, code, "send back refused"),
                }
            }
            _ => Self::offset_call(&mut st, req),
        }
    }

    fn offset_call(st: &mut BrokerState, req: &RemotingCommand) -> RemotingCommand {
        match req.request_code() {
            Some(RequestCode::QUERY_CONSUMER_OFFSET) => {
                let h: QueryConsumerOffsetRequestHeader = req.decode_header().unwrap();
                match st.offsets.get(&(h.consumer_group, h.topic, h.queue_id)) {
                    Some(o) => {
                        ok(req).with_header(&QueryConsumerOffsetResponseHeader { offset: *o })
                    }
                    None => err(req, ResponseCode::QUERY_NOT_FOUND, "Not found"),
                }
            }
            Some(RequestCode::UPDATE_CONSUMER_OFFSET) => {
                let h: UpdateConsumerOffsetRequestHeader = req.decode_header().unwrap();
                st.offsets
                    .insert((h.consumer_group, h.topic, h.queue_id), h.commit_offset);
                ok(req)
            }
            Some(RequestCode::GET_MAX_OFFSET) => {
                let h: GetMaxOffsetRequestHeader = req.decode_header().unwrap();
                let max = st
                    .queues
                    .get(&(h.topic, h.queue_id))
                    .map_or(0, |q| q.len() as i64);
                ok(req).with_header(&GetMaxOffsetResponseHeader { offset: max })
            }
            Some(RequestCode::GET_MIN_OFFSET) => {
                ok(req).with_header(&GetMinOffsetResponseHeader { offset: 0 })
            }
            Some(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP) => {
                let h: SearchOffsetRequestHeader = req.decode_header().unwrap();
                let q = st
                    .queues
                    .get(&(h.topic, h.queue_id))
                    .cloned()
                    .unwrap_or_default();
                let pos = q
                    .iter()
                    .position(|m| m.store_timestamp >= h.timestamp)
                    .unwrap_or(q.len());
                ok(req).with_header(&SearchOffsetResponseHeader { offset: pos as i64 })
            }
            _ => err(req, ResponseCode::REQUEST_CODE_NOT_SUPPORTED, "fake broker"),
        }
    }

    fn locks(&mut self, req: &RemotingCommand) -> RemotingCommand {
        let mut st = self.state();
        if req.request_code() == Some(RequestCode::LOCK_BATCH_MQ) {
            let body: LockBatchRequestBody = from_json_slice(&req.body).unwrap();
            let locked = st.lock(&body.consumer_group, &body.client_id, &body.mq_set);
            let resp = LockBatchResponseBody {
                lock_ok_mq_set: locked,
            };
            return ok(req).with_body(resp.encode_body());
        }
        let body: UnlockBatchRequestBody = from_json_slice(&req.body).unwrap();
        for mq in &body.mq_set {
            let key = (body.consumer_group.clone(), mq.clone());
            if st.locks.get(&key) == Some(&body.client_id) {
                st.locks.remove(&key);
            }
        }
        ok(req)
    }

    fn end_transaction(&mut self, req: &RemotingCommand) {
        let Ok(h) = req.decode_header::<EndTransactionRequestHeader>() else {
            return;
        };
        let mut st = self.state();
        st.end_transactions.push(h.clone());
        if h.is_commit() || h.is_rollback() {
            st.end_half(h.commit_log_offset, h.is_commit());
        }
    }
}

impl RequestHandler for Handler {
    fn on_request(&mut self, ctx: &mut Context<'_>, conn: ConnId, req: RemotingCommand) -> Reply {
        use RequestCode as C;
        let reply = match req.request_code() {
            Some(C::SEND_MESSAGE | C::SEND_MESSAGE_V2 | C::SEND_BATCH_MESSAGE) => {
                self.send(ctx, conn, &req)
            }
            Some(C::PULL_MESSAGE | C::LITE_PULL_MESSAGE) => return self.pull(ctx, conn, req),
            Some(C::HEART_BEAT) => self.heartbeat(ctx, conn, &req),
            Some(C::UNREGISTER_CLIENT) => self.unregister(ctx, &req),
            Some(C::LOCK_BATCH_MQ | C::UNLOCK_BATCH_MQ) => self.locks(&req),
            Some(C::END_TRANSACTION) => {
                self.end_transaction(&req);
                return Reply::Nothing;
            }
            _ => self.consumer_call(&req),
        };
        Reply::Now(reply)
    }

    fn on_closed(&mut self, ctx: &mut Context<'_>, conn: ConnId) {
        self.parked.retain(|p| p.conn != conn);
        let mut st = self.state();
        for group in st.remove_client(|m| m.conn == conn) {
            Self::notify_group(ctx, &st, &group);
        }
    }

    fn on_tick(&mut self, ctx: &mut Context<'_>, now_ms: u64) {
        let parked = std::mem::take(&mut self.parked);
        let st = self.state.clone();
        let st = st.lock().unwrap();
        for p in parked {
            let (code, resp) = Self::pull_response(&st, &p.request, &p.header);
            if code != ResponseCode::PULL_NOT_FOUND || now_ms >= p.deadline_ms {
                let _ = ctx.respond(p.conn, resp);
            } else {
                self.parked.push(p);
            }
        }
    }
}

/// A running fake broker (master, id 0) on 127.0.0.1.
pub struct FakeBroker {
    addr: SocketAddr,
    state: Arc<Mutex<BrokerState>>,
    handle: RemotingHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl FakeBroker {
    /// Starts broker group `name`, registering its topics in `routes`.
    pub fn start(name: &str, routes: Routes) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let config = RemotingConfig {
            tick_interval_ms: 10,
            ..RemotingConfig::default()
        };
        let mut event_loop = EventLoop::new(config).unwrap();
        event_loop.listen(listener).unwrap();
        let handle = event_loop.handle();
        let state = Arc::new(Mutex::new(BrokerState::new(name, addr, routes)));
        let handler = Handler {
            state: state.clone(),
            parked: Vec::new(),
        };
        let thread = event_loop
            .spawn(&format!("fake-broker-{name}"), handler)
            .unwrap();
        FakeBroker {
            addr,
            state,
            handle,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The broker's state, for assertions and setup.
    pub fn state(&self) -> MutexGuard<'_, BrokerState> {
        self.state.lock().unwrap()
    }

    /// Stored messages of `topic`.
    pub fn messages(&self, topic: &str) -> Vec<MessageExt> {
        self.state().messages(topic)
    }

    /// Stores a message directly (as if produced earlier).
    pub fn put(&self, topic: &str, queue_id: i32, body: &str, tag: Option<&str>) -> MessageExt {
        let mut msg = MessageExt::new(topic, Bytes::copy_from_slice(body.as_bytes()));
        msg.queue_id = queue_id;
        msg.born_timestamp = wall_ms();
        msg.born_host = "127.0.0.1:1".parse().unwrap();
        msg.properties
            .insert(keys::UNIQ_KEY, format!("UNIQ-{topic}-{queue_id}-{body}"));
        if let Some(t) = tag {
            msg.properties.insert(keys::TAGS, t);
        }
        self.state().append(msg)
    }

    /// Asks a producer of `group` about the oldest half message (CHECK_TRANSACTION_STATE).
    pub fn check_transaction(&self, group: &str) -> bool {
        let st = self.state();
        let Some(member) = st.producers.get(group).and_then(|m| m.first()).cloned() else {
            return false;
        };
        let Some(half) = st.half.first().cloned() else {
            return false;
        };
        drop(st);
        let mut body_msg = half.clone();
        body_msg.topic = half
            .properties
            .get(keys::REAL_TOPIC)
            .unwrap_or("")
            .to_string();
        let mut body = bytes::BytesMut::new();
        body_msg.encode(&mut body).unwrap();
        let header = CheckTransactionStateRequestHeader {
            topic: Some(body_msg.topic.clone()),
            tran_state_table_offset: half.queue_offset,
            commit_log_offset: half.commit_log_offset,
            msg_id: half.uniq_key().map(str::to_string),
            transaction_id: half.uniq_key().map(str::to_string),
            offset_msg_id: Some(half.offset_msg_id()),
        };
        let req =
            RemotingCommand::request_with_header(RequestCode::CHECK_TRANSACTION_STATE, &header)
                .with_body(body.freeze());
        self.handle.send_to(member.conn, req).is_ok()
    }

    /// Tells every consumer of `group` to move its offsets of `topic` (as the broker does for
    /// `mqadmin resetOffsetByTime`), one-way.
    pub fn reset_offset(
        &self,
        group: &str,
        topic: &str,
        offsets: &[(protocol::body::MessageQueue, i64)],
    ) -> usize {
        let members = self
            .state()
            .consumers
            .get(group)
            .cloned()
            .unwrap_or_default();
        let header = ResetOffsetRequestHeader {
            topic: topic.to_string(),
            group: group.to_string(),
            queue_id: None,
            offset: None,
            timestamp: 0,
            is_force: true,
        };
        let body = protocol::body::ResetOffsetBody {
            offset_table: offsets.iter().cloned().collect(),
        };
        for m in &members {
            let req = RemotingCommand::request_with_header(
                RequestCode::RESET_CONSUMER_CLIENT_OFFSET,
                &header,
            )
            .with_body(body.encode_body());
            self.handle.send_to(m.conn, req).unwrap();
        }
        members.len()
    }

    /// Stops the broker (its connections close).
    pub fn stop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.stop();
    }
}
