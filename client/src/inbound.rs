//! Broker-initiated requests on the client's connections (Java `ClientRemotingProcessor`):
//! NOTIFY_CONSUMER_IDS_CHANGED (40) triggers a rebalance and CHECK_TRANSACTION_STATE (39)
//! hands a half message to its producer's check thread, and RESET_CONSUMER_CLIENT_OFFSET
//! (220) moves a push consumer's offsets (as `mqadmin resetOffsetByTime` does). Everything
//! else is answered with REQUEST_CODE_NOT_SUPPORTED (one-way requests are never answered).
//!
//! Runs on the event-loop thread: decoding only, never blocking work.

use std::sync::Weak;

use protocol::body::{JsonBody, ResetOffsetBody};
use protocol::header::{
    CheckTransactionStateRequestHeader, GetConsumerRunningInfoRequestHeader,
    NotifyConsumerIdsChangedRequestHeader, ResetOffsetRequestHeader,
};
use protocol::message::{keys, MessageExt, RecordRead};
use protocol::remoting::{ConnId, Context, Reply, RequestHandler};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::instance::InstanceCore;

/// The client's [`RequestHandler`].
#[derive(Debug)]
pub(crate) struct InboundHandler {
    core: Weak<InstanceCore>,
}

impl InboundHandler {
    pub(crate) fn new(core: Weak<InstanceCore>) -> Self {
        InboundHandler { core }
    }

    fn on_check_transaction(&self, core: &InstanceCore, conn: ConnId, request: RemotingCommand) {
        let header: CheckTransactionStateRequestHeader = match request.decode_header() {
            Ok(h) => h,
            Err(e) => {
                log::warn!("{conn}: bad CHECK_TRANSACTION_STATE header: {e}");
                return;
            }
        };
        let msg = match MessageExt::decode(&request.body) {
            Ok(RecordRead::Message(msg, _)) => msg,
            Ok(_) => {
                log::warn!("{conn}: CHECK_TRANSACTION_STATE without a complete message body");
                return;
            }
            Err(e) => {
                log::warn!("{conn}: undecodable CHECK_TRANSACTION_STATE body: {e}");
                return;
            }
        };
        let Some(group) = msg.properties.get(keys::PGROUP).map(str::to_string) else {
            log::warn!("{conn}: transaction check for a message without PGROUP");
            return;
        };
        match core.producer(&group) {
            Some(producer) => producer.check_transaction(conn, header, msg),
            None => log::debug!("transaction check for group {group}, which is not here"),
        }
    }
}

impl InboundHandler {
    fn on_reset_offset(&self, core: &InstanceCore, conn: ConnId, request: &RemotingCommand) {
        let header: ResetOffsetRequestHeader = match request.decode_header() {
            Ok(h) => h,
            Err(e) => {
                log::warn!("{conn}: bad RESET_CONSUMER_CLIENT_OFFSET header: {e}");
                return;
            }
        };
        let body = match ResetOffsetBody::decode_body(&request.body) {
            Ok(b) => b,
            Err(e) => {
                log::warn!("{conn}: bad RESET_CONSUMER_CLIENT_OFFSET body: {e}");
                return;
            }
        };
        match core.consumer(&header.group) {
            Some(consumer) => {
                log::info!(
                    "resetting offsets of group {} on {}",
                    header.group,
                    header.topic
                );
                consumer.reset_offset(&header.topic, body.offset_table.0);
            }
            None => log::debug!("offset reset for group {}, which is not here", header.group),
        }
    }
}

/// Answers GET_CONSUMER_RUNNING_INFO with the group's running info (JSON body).
fn running_info(core: &InstanceCore, request: &RemotingCommand) -> RemotingCommand {
    let header: GetConsumerRunningInfoRequestHeader = match request.decode_header() {
        Ok(h) => h,
        Err(e) => {
            return RemotingCommand::error_response(
                request,
                ResponseCode::SYSTEM_ERROR,
                e.to_string(),
            )
        }
    };
    let info = core
        .consumer(&header.consumer_group)
        .and_then(|c| c.running_info());
    let Some(info) = info else {
        let remark = format!(
            "The Consumer Group <{}> not exist in this consumer",
            header.consumer_group
        );
        return RemotingCommand::error_response(request, ResponseCode::SYSTEM_ERROR, remark);
    };
    RemotingCommand::response_to(request, ResponseCode::SUCCESS).with_body(info.encode_body())
}

impl RequestHandler for InboundHandler {
    fn on_request(
        &mut self,
        _ctx: &mut Context<'_>,
        conn: ConnId,
        request: RemotingCommand,
    ) -> Reply {
        let Some(core) = self.core.upgrade() else {
            return Reply::Nothing;
        };
        match request.request_code() {
            Some(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED) => {
                let group = request
                    .decode_header::<NotifyConsumerIdsChangedRequestHeader>()
                    .map(|h| h.consumer_group)
                    .unwrap_or_default();
                log::info!("{conn}: consumer ids of group {group} changed; rebalancing");
                core.request_rebalance();
                Reply::Nothing
            }
            Some(RequestCode::CHECK_TRANSACTION_STATE) => {
                self.on_check_transaction(&core, conn, request);
                Reply::Nothing
            }
            Some(RequestCode::RESET_CONSUMER_CLIENT_OFFSET) => {
                self.on_reset_offset(&core, conn, &request);
                if request.is_oneway() {
                    Reply::Nothing
                } else {
                    Reply::Now(RemotingCommand::response_to(
                        &request,
                        ResponseCode::SUCCESS,
                    ))
                }
            }
            Some(RequestCode::GET_CONSUMER_RUNNING_INFO) => {
                Reply::Now(running_info(&core, &request))
            }
            _ if request.is_oneway() => Reply::Nothing,
            _ => {
                let remark = format!(" request type {} not supported", request.code);
                Reply::Now(RemotingCommand::error_response(
                    &request,
                    ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                    remark,
                ))
            }
        }
    }
}
