//! The email channel end to end: mailboxes (secrets never returned), raw import into tickets, dedupe,
//! threading, failures kept and retried, replies sent to a local SMTP sink with threading headers and a
//! delivery status, and the SMTP listener driven by Python's smtplib.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu_domain::Role;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::harness::{Client, Options, Response, api_test};

/// A local SMTP sink: accepts everything and records each message's DATA.
pub(crate) async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
    let port = listener.local_addr().expect("address").port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let mut in_data = false;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store.lock().expect("sink lock").push(std::mem::take(&mut data));
                            let _ = write.write_all(b"250 stored\r\n").await;
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let upper = line.to_ascii_uppercase();
                    let answer: &[u8] = if upper.starts_with("EHLO") {
                        b"250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("AUTH") {
                        b"235 ok\r\n"
                    } else if upper.starts_with("DATA") {
                        in_data = true;
                        b"354 go\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = write.write_all(answer).await;
                }
            });
        }
    });
    (port, received)
}

async fn post_raw(client: &Client, path: &str, raw: &str) -> Response {
    let request = client
        .request(reqwest::Method::POST, path)
        .header("content-type", "message/rfc822")
        .body(raw.as_bytes().to_vec());
    client.send(request).await
}

api_test!(mail_becomes_tickets_threads_and_replies_go_out, |app: &TestApp| async move {
    let (sink_port, sink) = smtp_sink().await;
    let admin = app.agent("admin@kefu.example", Role::Admin).await;
    let agent = app.agent("agent@kefu.example", Role::Agent).await;
    let mailbox = admin
        .post(
            "/api/v1/mailboxes",
            json!({ "address": "Support@Kefu.example", "name": "客服", "auto_ack": true,
                    "smtp": { "host": "127.0.0.1", "port": sink_port, "security": "none", "username": "u", "password": "secret" } }),
        )
        .await
        .assert_status(201)
        .clone();
    assert_eq!(mailbox["address"], "support@kefu.example");
    assert_eq!(mailbox["smtp"]["password_set"], true);
    assert!(!mailbox.to_string().contains("secret"), "a password came back: {mailbox}");
    agent.get("/api/v1/mailboxes").await.assert_problem(403, "mailbox.manage_forbidden");
    let id = mailbox["id"].as_i64().expect("mailbox id");
    let raw_path = format!("/api/v1/mailboxes/{id}/raw");

    // A new message opens a ticket for the sender, with the Cc'd person as a participant.
    let first = "From: =?gb2312?B?wO7A1w==?= <li@example.com>\r\nTo: support@kefu.example\r\nCc: han@example.com\r\n\
Message-ID: <c1@example.com>\r\nSubject: =?gb2312?B?t6LGsc7KzOI=?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n我的发票还没有收到。\r\n";
    let imported = post_raw(&admin, &raw_path, first).await.assert_status(201).clone();
    assert_eq!(imported["duplicate"], false);
    assert_eq!(imported["inbound"]["status"], "processed", "{imported}");
    let ticket_id = imported["inbound"]["ticket_id"].as_i64().expect("a ticket");
    let ticket = admin.get(&format!("/api/v1/tickets/{ticket_id}")).await.assert_status(200).clone();
    assert_eq!(ticket["subject"], "发票问题");
    assert_eq!(ticket["channel"], "email");
    let number = ticket["number"].as_i64().expect("number");

    // The same message again changes nothing.
    let again = post_raw(&admin, &raw_path, first).await.assert_status(200).clone();
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["inbound"]["id"], imported["inbound"]["id"]);

    // A reply with In-Reply-To (and quoted history) threads to the ticket; only the new text is shown.
    let reply = "From: li@example.com\r\nTo: support@kefu.example\r\nMessage-ID: <c2@example.com>\r\n\
In-Reply-To: <c1@example.com>\r\nSubject: Re: something else\r\n\r\n补充：订单号 12345\r\n\r\n\
-----原始邮件-----\r\n发件人: 李雷 <li@example.com>\r\n发送时间: 2026年1月2日\r\n主题: 发票问题\r\n\r\n我的发票还没有收到。\r\n";
    let threaded = post_raw(&admin, &raw_path, reply).await.assert_status(201).clone();
    assert_eq!(threaded["inbound"]["ticket_id"], ticket_id);
    let message_id = threaded["inbound"]["message_id"].as_i64().expect("message");
    let email = admin.get(&format!("/api/v1/messages/{message_id}/email")).await.assert_status(200).clone();
    assert!(email["full_text"].as_str().unwrap_or_default().contains("原始邮件"));
    let messages = admin.get(&format!("/api/v1/tickets/{ticket_id}/messages")).await.assert_status(200).clone();
    assert_eq!(messages["items"][1]["body"], "补充：订单号 12345");

    // A subject tag from a stranger does not thread (sender check); from the requester it does.
    let stranger = format!("From: eve@example.org\r\nSubject: Re: [#{number}] hijack\r\n\r\nhello\r\n");
    let opened = post_raw(&admin, &raw_path, &stranger).await.assert_status(201).clone();
    assert_ne!(opened["inbound"]["ticket_id"], ticket_id);
    let tagged = format!("From: han@example.com\r\nSubject: Re: [#{number}] 发票问题\r\n\r\n我也没收到\r\n");
    let joined = post_raw(&admin, &raw_path, &tagged).await.assert_status(201).clone();
    assert_eq!(joined["inbound"]["ticket_id"], ticket_id, "a participant's tagged mail threads");

    // Automated mail never opens a ticket; a message without a sender fails and stays visible.
    let auto = "From: robot@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\naway\r\n";
    let ignored = post_raw(&admin, &raw_path, auto).await.assert_status(201).clone();
    assert_eq!(ignored["inbound"]["status"], "ignored");
    let broken = post_raw(&admin, &raw_path, "Subject: who am I\r\n\r\nno sender\r\n").await.assert_status(201).clone();
    assert_eq!(broken["inbound"]["status"], "failed");
    let failed = admin.get(&format!("/api/v1/mailboxes/{id}/inbound?status=failed")).await.assert_status(200).clone();
    assert_eq!(failed["items"].as_array().map(Vec::len), Some(1));
    assert!(failed["items"][0]["error"].as_str().unwrap_or_default().contains("sender"));
    let broken_id = broken["inbound"]["id"].as_i64().expect("id");
    let retried = admin.post(&format!("/api/v1/inbound/{broken_id}/retry"), json!({})).await.assert_status(200).clone();
    assert_eq!(retried["attempts"], 2);
    let original = admin.send(admin.request(reqwest::Method::GET, &format!("/api/v1/inbound/{broken_id}/raw"))).await;
    assert_eq!(original.header("content-type"), Some("message/rfc822"));

    // The auto-acknowledgement and an agent's reply go out through the relay with threading headers.
    let sent_reply = agent
        .post(&format!("/api/v1/tickets/{ticket_id}/messages"), json!({ "body": "已为您补开发票。" }))
        .await
        .assert_status(201)
        .clone();
    assert_eq!(app.app.queue_email_replies().await.expect("queue"), 1);
    app.app.send_due_mail(Duration::from_secs(10)).await.expect("send");
    let reply_id = sent_reply["id"].as_i64().expect("reply id");
    let delivery = admin.get(&format!("/api/v1/messages/{reply_id}/email")).await.assert_status(200).clone();
    assert_eq!(delivery["delivery"]["status"], "sent", "{delivery}");
    let received = sink.lock().expect("sink").clone();
    let ack = received.iter().find(|mail| mail.contains("Auto-Submitted: auto-replied")).expect("an acknowledgement");
    assert!(ack.contains("li@example.com"));
    let out = received
        .iter()
        .find(|mail| !mail.contains("Auto-Submitted") && mail.contains("In-Reply-To:"))
        .expect("the reply");
    assert!(out.contains(&format!("[#{number}]")), "subject tag in {out}");
    assert!(out.contains("<c1@example.com> <c2@example.com>"), "References carry the thread: {out}");
    assert!(out.contains("X-Kefu-Loop: support@kefu.example"));
    let copied = out.lines().any(|line| line.starts_with("Cc:") && line.contains("han@example.com"));
    assert!(copied, "participants are copied: {out}");
    assert!(out.contains("multipart/alternative"));
});

api_test!(replies_without_a_mailbox_are_passed_over_at_once, Options::manual_clock(), |app: &TestApp| async move {
    let admin = app.agent("admin@kefu.example", Role::Admin).await;
    let ticket = admin
        .post(
            "/api/v1/tickets",
            json!({ "subject": "发票", "channel": "email", "requester": { "email": "li@example.com" } }),
        )
        .await
        .assert_status(201)
        .clone();
    let replies = format!("/api/v1/tickets/{}/messages", ticket["id"]);
    // More replies than one pass of the scanner reads, written before any mailbox exists.
    for n in 0..55 {
        admin.post(&replies, json!({ "body": format!("reply {n}") })).await.assert_status(201);
    }
    app.advance(chrono::Duration::minutes(2));
    assert_eq!(app.app.queue_email_replies().await.expect("queue"), 0, "nothing to send from");

    // One pass went past all of them: once a mailbox exists, only a new reply is queued.
    admin
        .post("/api/v1/mailboxes", json!({ "address": "support@kefu.example", "name": "Support" }))
        .await
        .assert_status(201);
    admin.post(&replies, json!({ "body": "after the mailbox" })).await.assert_status(201);
    assert_eq!(app.app.queue_email_replies().await.expect("queue"), 1);
});

api_test!(the_smtp_listener_stores_before_it_answers, |app: &TestApp| async move {
    let admin = app.agent("admin@kefu.example", Role::Admin).await;
    let mailbox = admin
        .post("/api/v1/mailboxes", json!({ "address": "help@kefu.example", "name": "Help" }))
        .await
        .assert_status(201)
        .clone();
    let id = mailbox["id"].as_i64().expect("id");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(kefu_http::smtp::serve_smtp(
        listener,
        app.app.clone(),
        kefu_http::smtp::SmtpConfig { max_message_bytes: 64 * 1024, ..Default::default() },
        shutdown.clone(),
    ));
    let script = format!(
        r#"
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "王芳 <wang@example.com>"
m["To"] = "help@kefu.example"
m["Subject"] = "无法登录"
m.set_content("您好，我无法登录账户。")
s = smtplib.SMTP("127.0.0.1", {port}, timeout=10)
try:
    s.sendmail("wang@example.com", ["nobody@kefu.example"], m.as_bytes())
    print("unknown recipient accepted"); sys.exit(1)
except smtplib.SMTPRecipientsRefused:
    pass
code, answer = s.ehlo()
refused = s.sendmail("wang@example.com", ["help@kefu.example"], m.as_bytes())
try:
    s.sendmail("wang@example.com", ["help@kefu.example"], b"Subject: big\r\n\r\n" + b"x" * 100000)
    print("oversized accepted"); sys.exit(1)
except smtplib.SMTPDataError as error:
    assert error.smtp_code == 552, error
try:
    s.quit()
except smtplib.SMTPServerDisconnected:
    pass
print("ok")
"#
    );
    let output =
        tokio::process::Command::new("python3").arg("-c").arg(&script).output().await.unwrap_or_else(|error| {
            panic!("this test needs python3 (Debian package python3) to act as the SMTP client: {error}")
        });
    assert!(
        output.status.success(),
        "smtplib: {} {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Processing runs after the 250; wait for it.
    let mut page = serde_json::Value::Null;
    for _ in 0..50 {
        page = admin.get(&format!("/api/v1/mailboxes/{id}/inbound")).await.assert_status(200).clone();
        if page["items"][0]["status"] == "processed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["items"][0]["source"], "smtp");
    assert_eq!(page["items"][0]["status"], "processed", "{page}");
    let ticket_id = page["items"][0]["ticket_id"].as_i64().expect("ticket");
    let ticket = admin.get(&format!("/api/v1/tickets/{ticket_id}")).await.assert_status(200).clone();
    assert_eq!(ticket["subject"], "无法登录");
    shutdown.cancel();
    let _ = server.await;
});
