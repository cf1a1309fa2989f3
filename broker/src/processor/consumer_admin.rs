//! Admin requests about clients: GET_CONSUMER_CONNECTION_LIST (203),
//! GET_PRODUCER_CONNECTION_LIST (204), GET_ALL_PRODUCER_INFO (328), CHECK_CLIENT_CONFIG (46),
//! QUERY_TOPIC_CONSUME_BY_WHO (300), QUERY_TOPICS_BY_CONSUMER (343), and the two requests
//! the broker answers by asking the consumers themselves: GET_CONSUMER_RUNNING_INFO (307,
//! forwarded to one client) and INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223, fanned out as
//! GET_CONSUMER_STATUS_FROM_CLIENT 221 to every member). RocketMQ `AdminBrokerProcessor`,
//! `ClientManageProcessor.checkClientConfig` and `Broker2Client`.
//!
//! Runs on the event-loop thread over the loop-local consumer and producer tables. Calls to
//! clients never block the loop: the request goes out with `Context::send_request`, the
//! admin's request is answered later ([`Reply::Later`]) from the response callback (which runs
//! on the loop thread) through the loop's `RemotingHandle`.

use std::sync::{Arc, Mutex};

use protocol::body::heartbeat::EXPRESSION_TYPE_TAG;
use protocol::body::{
    CheckClientRequestBody, GetConsumerStatusBody, GroupList, JsonBody, ProducerInfo,
    ProducerTableInfo, TopicList,
};
use protocol::command::FLAG_RESPONSE;
use protocol::header::{
    GetConsumerConnectionListRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusRequestHeader, GetProducerConnectionListRequestHeader,
    QueryTopicConsumeByWhoRequestHeader, QueryTopicsByConsumerRequestHeader,
};
use protocol::remoting::{ConnId, Context, RemotingError, RemotingHandle, Reply};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::{decode, error, lock, success, BrokerHandler, Outcome};

/// How long the broker waits for a client it asks on an admin's behalf (RocketMQ
/// `Broker2Client.callClient`).
pub const CALL_CLIENT_TIMEOUT_MS: u64 = 10_000;
/// Per-client wait of GET_CONSUMER_STATUS_FROM_CLIENT.
pub const CONSUMER_STATUS_TIMEOUT_MS: u64 = 5_000;

/// The family's entry in the processor table.
pub fn handle(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    conn: ConnId,
    code: RequestCode,
    req: &RemotingCommand,
) -> Option<Outcome> {
    use RequestCode as C;
    Some(match code {
        C::GET_CONSUMER_CONNECTION_LIST => consumer_connection_list(h, req),
        C::GET_PRODUCER_CONNECTION_LIST => producer_connection_list(h, req),
        C::GET_ALL_PRODUCER_INFO => all_producer_info(h, req),
        C::CHECK_CLIENT_CONFIG => check_client_config(req),
        C::QUERY_TOPIC_CONSUME_BY_WHO => topic_consume_by_who(h, req),
        C::QUERY_TOPICS_BY_CONSUMER => topics_by_consumer(h, req),
        C::GET_CONSUMER_RUNNING_INFO => consumer_running_info(h, ctx, conn, req),
        C::INVOKE_BROKER_TO_GET_CONSUMER_STATUS => consumer_status(h, ctx, conn, req),
        _ => return None,
    })
}

/// GET_CONSUMER_CONNECTION_LIST: the group's members and subscriptions; CONSUMER_NOT_ONLINE
/// when it has none.
pub fn consumer_connection_list(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: GetConsumerConnectionListRequestHeader = decode(req)?;
    let Some(info) = h.consumers.group_info(&header.consumer_group) else {
        let remark = format!("the consumer group[{}] not online", header.consumer_group);
        return Err(error(req, ResponseCode::CONSUMER_NOT_ONLINE, remark));
    };
    let body = info.to_consumer_connection().encode_body();
    Ok(Reply::Now(success(req).with_body(body)))
}

/// GET_PRODUCER_CONNECTION_LIST: the group's producer connections; SYSTEM_ERROR when none.
pub fn producer_connection_list(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: GetProducerConnectionListRequestHeader = decode(req)?;
    let Some(connections) = h.producers.producer_connection(&header.producer_group) else {
        let remark = format!("the producer group[{}] not exist", header.producer_group);
        return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
    };
    Ok(Reply::Now(
        success(req).with_body(connections.encode_body()),
    ))
}

/// GET_ALL_PRODUCER_INFO: every producer group with its producers.
pub fn all_producer_info(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let mut table = ProducerTableInfo::default();
    for group in h.producers.all_groups() {
        let producers = h
            .producers
            .connections(&group)
            .into_iter()
            .map(|(_, info)| ProducerInfo {
                client_id: info.client_id,
                language: info.language,
                last_update_timestamp: i64::try_from(info.last_update_ms).unwrap_or(i64::MAX),
                remote_ip: info.client_addr,
                version: info.version,
            })
            .collect();
        table.data.insert(group, producers);
    }
    Ok(Reply::Now(success(req).with_body(table.encode_body())))
}

/// CHECK_CLIENT_CONFIG: TAG subscriptions are fine; other expression types (SQL92) are
/// refused because this broker does not filter by properties.
pub fn check_client_config(req: &RemotingCommand) -> Outcome {
    let body = CheckClientRequestBody::decode_body(&req.body).map_err(|e| {
        error(
            req,
            ResponseCode::SYSTEM_ERROR,
            format!("bad check body: {e}"),
        )
    })?;
    let Some(sub) = body.subscription_data else {
        return Ok(Reply::Now(success(req)));
    };
    let expression_type = sub.expression_type.trim();
    if expression_type.is_empty() || expression_type.eq_ignore_ascii_case(EXPRESSION_TYPE_TAG) {
        return Ok(Reply::Now(success(req)));
    }
    let remark = format!(
        "The broker does not support consumer to filter message by {expression_type}: unsupported"
    );
    Err(error(req, ResponseCode::SYSTEM_ERROR, remark))
}

/// QUERY_TOPIC_CONSUME_BY_WHO: groups subscribing the topic now or holding offsets on it.
pub fn topic_consume_by_who(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: QueryTopicConsumeByWhoRequestHeader = decode(req)?;
    let mut groups = lock(&h.shared.offsets).which_groups_by_topic(&header.topic);
    groups.extend(h.consumers.groups_subscribing(&header.topic));
    let body = GroupList { group_list: groups };
    Ok(Reply::Now(success(req).with_body(body.encode_body())))
}

/// QUERY_TOPICS_BY_CONSUMER: topics the group holds offsets on.
pub fn topics_by_consumer(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: QueryTopicsByConsumerRequestHeader = decode(req)?;
    let topic_list = lock(&h.shared.offsets).which_topics_by_consumer(&header.group);
    let body = TopicList {
        broker_addr: Some(h.shared.config.broker_addr()),
        topic_list,
    };
    Ok(Reply::Now(success(req).with_body(body.encode_body())))
}

/// A client's response re-addressed as the answer to the admin's request.
fn as_answer(mut response: RemotingCommand, admin: &AdminRequest) -> RemotingCommand {
    response.opaque = admin.opaque;
    response.flag = FLAG_RESPONSE;
    response.serialize_type = admin.serialize_type;
    response
}

/// What is needed to answer an admin's request later.
#[derive(Debug, Clone)]
struct AdminRequest {
    conn: ConnId,
    opaque: i32,
    serialize_type: protocol::SerializeType,
    template: RemotingCommand,
    handle: RemotingHandle,
}

impl AdminRequest {
    fn new(h: &BrokerHandler, conn: ConnId, req: &RemotingCommand) -> Self {
        AdminRequest {
            conn,
            opaque: req.opaque,
            serialize_type: req.serialize_type,
            template: success(req),
            handle: h.handle.clone(),
        }
    }

    fn answer(&self, response: RemotingCommand) {
        if let Err(e) = self.handle.send_to(self.conn, response) {
            log::debug!("answer to admin {} dropped: {e}", self.conn);
        }
    }

    fn answer_error(&self, code: ResponseCode, remark: String) {
        let mut response = self.template.clone();
        response.code = code.code();
        response.remark = Some(remark);
        self.answer(response);
    }
}

/// GET_CONSUMER_RUNNING_INFO: forwards the request to the named client of the group and
/// answers with the client's response; CONSUME_MSG_TIMEOUT when it does not answer in time.
pub fn consumer_running_info(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    conn: ConnId,
    req: &RemotingCommand,
) -> Outcome {
    let header: GetConsumerRunningInfoRequestHeader = decode(req)?;
    let (group, client_id) = (header.consumer_group, header.client_id);
    let Some(client) = h.consumers.find_channel(&group, &client_id) else {
        let remark = format!("The Consumer <{group}> <{client_id}> not online");
        return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
    };
    if req.is_oneway() {
        return Ok(Reply::Nothing);
    }
    let mut forward = RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO);
    forward.ext_fields = req.ext_fields.clone();
    forward.body = req.body.clone();
    let admin = AdminRequest::new(h, conn, req);
    ctx.send_request(
        client,
        forward,
        CALL_CLIENT_TIMEOUT_MS,
        move |result| match result {
            Ok(response) => admin.answer(as_answer(response, &admin)),
            Err(RemotingError::Timeout { .. }) => admin.answer_error(
                ResponseCode::CONSUME_MSG_TIMEOUT,
                format!("consumer <{group}> <{client_id}> Timeout"),
            ),
            Err(e) => admin.answer_error(
                ResponseCode::SYSTEM_ERROR,
                format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
            ),
        },
    );
    Ok(Reply::Later)
}

/// The answers collected by one INVOKE_BROKER_TO_GET_CONSUMER_STATUS.
struct StatusFanOut {
    admin: AdminRequest,
    waiting: usize,
    body: GetConsumerStatusBody,
}

impl StatusFanOut {
    /// Records one client's answer (`None`: it failed); answers the admin after the last.
    fn on_answer(&mut self, client_id: &str, answer: Option<RemotingCommand>) {
        let table = answer
            .filter(|r| r.code == ResponseCode::SUCCESS.code() && !r.body.is_empty())
            .and_then(|r| GetConsumerStatusBody::decode_body(&r.body).ok());
        match table {
            Some(status) => {
                self.body
                    .consumer_table
                    .insert(client_id.to_owned(), status.message_queue_table);
            }
            None => log::debug!("no consumer status from {client_id}"),
        }
        self.waiting = self.waiting.saturating_sub(1);
        if self.waiting == 0 {
            let body = self.body.encode_body();
            self.admin
                .answer(self.admin.template.clone().with_body(body));
        }
    }
}

/// INVOKE_BROKER_TO_GET_CONSUMER_STATUS: asks every member of the group (or only the one whose
/// client id is `clientAddr`) for its queue offsets with GET_CONSUMER_STATUS_FROM_CLIENT and
/// answers `{"consumerTable":{clientId:{<mq>:offset}}}` once all answered or timed out.
pub fn consumer_status(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    conn: ConnId,
    req: &RemotingCommand,
) -> Outcome {
    let header: GetConsumerStatusRequestHeader = decode(req)?;
    let Some(info) = h.consumers.group_info(&header.group) else {
        let remark = format!(
            "No Any Consumer online in the consumer group: [{}]",
            header.group
        );
        return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
    };
    let only = header.client_addr.as_deref().filter(|c| !c.is_empty());
    let mut targets: Vec<(ConnId, String)> = info
        .channels()
        .iter()
        .filter(|(_, ch)| only.is_none_or(|id| id == ch.client_id))
        .map(|(conn, ch)| (*conn, ch.client_id.clone()))
        .collect();
    targets.sort_by(|a, b| a.1.cmp(&b.1));
    let admin = AdminRequest::new(h, conn, req);
    if targets.is_empty() || req.is_oneway() {
        let body = GetConsumerStatusBody::default().encode_body();
        return Ok(Reply::Now(admin.template.with_body(body)));
    }
    let fan_out = Arc::new(Mutex::new(StatusFanOut {
        admin,
        waiting: targets.len(),
        body: GetConsumerStatusBody::default(),
    }));
    let ask = GetConsumerStatusRequestHeader {
        client_addr: None,
        ..header
    };
    for (client, client_id) in targets {
        let request = RemotingCommand::request_with_header(
            RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT,
            &ask,
        );
        let fan_out = Arc::clone(&fan_out);
        ctx.send_request(client, request, CONSUMER_STATUS_TIMEOUT_MS, move |r| {
            lock(&fan_out).on_answer(&client_id, r.ok());
        });
    }
    Ok(Reply::Later)
}
