//! A fake NameServer: answers GET_ROUTEINFO_BY_TOPIC from a table the test (and the fake
//! brokers, when they auto-create topics) fill in. Everything else gets
//! REQUEST_CODE_NOT_SUPPORTED.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use protocol::body::TopicRouteData;
use protocol::header::GetRouteInfoRequestHeader;
use protocol::remoting::{
    ConnId, Context, EventLoop, RemotingConfig, RemotingHandle, Reply, RequestHandler,
};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

/// Topic → route, shared by the NameServer and the brokers that register topics.
pub type Routes = Arc<Mutex<HashMap<String, TopicRouteData>>>;

struct Handler {
    routes: Routes,
    route_queries: Arc<AtomicUsize>,
}

impl RequestHandler for Handler {
    fn on_request(&mut self, _: &mut Context<'_>, _: ConnId, req: RemotingCommand) -> Reply {
        if req.request_code() != Some(RequestCode::GET_ROUTEINFO_BY_TOPIC) {
            return Reply::Now(RemotingCommand::error_response(
                &req,
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                "fake NameServer",
            ));
        }
        self.route_queries.fetch_add(1, Ordering::SeqCst);
        let Ok(h) = req.decode_header::<GetRouteInfoRequestHeader>() else {
            return Reply::Now(RemotingCommand::error_response(
                &req,
                ResponseCode::SYSTEM_ERROR,
                "bad header",
            ));
        };
        let route = self.routes.lock().unwrap().get(&h.topic).cloned();
        Reply::Now(match route {
            Some(r) => RemotingCommand::response_to(&req, ResponseCode::SUCCESS)
                .with_body(r.encode(req.version, false)),
            None => RemotingCommand::error_response(
                &req,
                ResponseCode::TOPIC_NOT_EXIST,
                format!(
                    "No topic route info in name server for the topic: {}",
                    h.topic
                ),
            ),
        })
    }
}

/// A running fake NameServer on 127.0.0.1.
pub struct FakeNameServer {
    addr: SocketAddr,
    routes: Routes,
    route_queries: Arc<AtomicUsize>,
    handle: RemotingHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl FakeNameServer {
    /// Starts on a free port.
    pub fn start() -> FakeNameServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut event_loop = EventLoop::new(RemotingConfig::default()).unwrap();
        event_loop.listen(listener).unwrap();
        let handle = event_loop.handle();
        let routes: Routes = Arc::default();
        let route_queries = Arc::new(AtomicUsize::new(0));
        let handler = Handler {
            routes: routes.clone(),
            route_queries: route_queries.clone(),
        };
        let thread = event_loop.spawn("fake-namesrv", handler).unwrap();
        FakeNameServer {
            addr,
            routes,
            route_queries,
            handle,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The shared route table.
    pub fn routes(&self) -> Routes {
        self.routes.clone()
    }

    /// Route queries answered so far.
    pub fn route_queries(&self) -> usize {
        self.route_queries.load(Ordering::SeqCst)
    }

    /// Stops the server (connections close).
    pub fn stop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeNameServer {
    fn drop(&mut self) {
        self.stop();
    }
}
