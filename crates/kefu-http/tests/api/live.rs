//! The live WebSocket: changes reach the agents allowed to see them, and shutdown closes sockets cleanly.

use futures::StreamExt;
use kefu_domain::Role;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::harness::{Client, Options, TestApp, api_test};

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A live socket signed in as `client`, past its `hello`.
pub(crate) async fn connect(client: &Client) -> Socket {
    let url = format!("{}/api/v1/live", client.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("request");
    let token = format!("Bearer {}", client.token.as_deref().expect("token"));
    request.headers_mut().insert("authorization", token.parse().expect("header"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket handshake");
    let hello = next_json(&mut socket).await;
    assert_eq!(hello, json!({ "type": "hello", "agent_id": client.agent_id }));
    socket
}

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a live message within 10 s")
            .expect("socket open")
            .expect("frame");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("json"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

api_test!(changes_reach_only_agents_who_may_see_them, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let finance = admin.post("/api/v1/groups", json!({ "name": "Finance" })).await.json["id"].as_i64().expect("id");
    let support = admin.post("/api/v1/groups", json!({ "name": "Support" })).await.json["id"].as_i64().expect("id");
    let restricted = app.agent_in("fin@example.com", Role::Agent, &[finance], true).await;
    let mut admin_socket = connect(&admin).await;
    let mut restricted_socket = connect(&restricted).await;

    let hidden = admin.create_ticket("not for finance", "c@example.com", json!({ "group_id": support })).await;
    let visible = admin.create_ticket("refund", "c@example.com", json!({ "group_id": finance })).await;
    let first = next_json(&mut admin_socket).await;
    assert_eq!(
        (first["type"].clone(), first["change"].clone(), first["ticket_id"].clone()),
        (json!("ticket"), json!("created"), hidden["id"].clone())
    );
    assert_eq!(first["actor_agent_id"], admin.agent_id);
    assert_eq!(next_json(&mut admin_socket).await["ticket_id"], visible["id"]);
    let seen = next_json(&mut restricted_socket).await;
    assert_eq!(seen["ticket_id"], visible["id"], "the hidden ticket never reached the restricted agent");

    admin
        .post(&format!("/api/v1/tickets/{}/messages", visible["id"]), json!({ "body": "note", "internal": true }))
        .await
        .assert_status(201);
    let message = next_json(&mut restricted_socket).await;
    assert_eq!((message["change"].clone(), message["internal"].clone()), (json!("message_added"), json!(true)));
    admin.patch(&format!("/api/v1/tickets/{}", visible["id"]), json!({ "group_id": support })).await.assert_status(200);
    let removed = next_json(&mut restricted_socket).await;
    assert_eq!(removed, json!({ "type": "ticket_removed", "ticket_id": visible["id"] }));
    let _ = admin_socket.close(None).await;
});

api_test!(anonymous_and_cross_site_sockets_are_refused, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let url = format!("{}/api/v1/live", app.base.replace("http://", "ws://"));
    let anonymous = tokio_tungstenite::connect_async(url.clone()).await;
    assert!(anonymous.is_err(), "anonymous handshake must fail");
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {}", admin.token.as_deref().expect("token")).parse().expect("header"));
    request.headers_mut().insert("origin", "https://evil.example".parse().expect("header"));
    assert!(tokio_tungstenite::connect_async(request).await.is_err(), "cross-site handshake must fail");
    admin.get("/api/v1/live").await.assert_problem(400, "request.websocket_required");
});

mod shutdown_closes_live_sockets_and_finishes {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = TestApp::start(kefu_store::testing::TestBackend::Sqlite, Options::default()).await.expect("sqlite");
        let admin = app.agent("admin@example.com", Role::Admin).await;
        let mut socket = connect(&admin).await;
        let stopping = tokio::spawn(app.stop());
        let frame =
            tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await.expect("close within 10 s");
        match frame {
            Some(Ok(Message::Close(Some(close)))) => assert_eq!(u16::from(close.code), 1001),
            other => panic!("expected a 1001 close frame, got {other:?}"),
        }
        stopping.await.expect("graceful stop");
    }
}
