//! Crash safety of email ingest with the real binary: a bulk import over the SMTP listener, `kefu serve`
//! killed with SIGKILL half-way, started again, the import finished (resending whatever was not
//! acknowledged, and some that were, as an MTA unsure of a lost answer does), and then not one message
//! lost and not one stored twice: every generated Message-ID is one inbound row, processed into exactly
//! one ticket message.
//!
//! CI sends 1,500 messages on SQLite and 600 on PostgreSQL; `KEFU_CRASH_MESSAGES=10000` runs the full
//! size (as recorded in BENCHMARKS.md, with `--release`).

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kefu_mail::samples::{self, Sample};
use kefu_store::testing::{TestBackend, TestDb};
use serde_json::{Value, json};
use support::{Server, free_port, kefu};

/// A minimal SMTP client, as an MTA delivering to Kefu would be.
struct SmtpClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl SmtpClient {
    fn connect(port: u16) -> std::io::Result<SmtpClient> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut client = SmtpClient { reader: BufReader::new(stream.try_clone()?), writer: stream };
        client.expect(220)?;
        client.command("EHLO crash-test.example", 250)?;
        Ok(client)
    }

    fn reply(&mut self) -> std::io::Result<u16> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let code = line.get(..3).and_then(|code| code.parse().ok()).unwrap_or(0);
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(code);
            }
        }
    }

    fn expect(&mut self, code: u16) -> std::io::Result<()> {
        match self.reply()? {
            answer if answer == code => Ok(()),
            answer => Err(std::io::Error::other(format!("expected {code}, got {answer}"))),
        }
    }

    fn command(&mut self, line: &str, code: u16) -> std::io::Result<()> {
        self.writer.write_all(format!("{line}\r\n").as_bytes())?;
        self.expect(code)
    }

    /// Sends one message; Ok once the server answered 250 to the data, which means it is stored.
    fn send(&mut self, raw: &[u8]) -> std::io::Result<()> {
        self.command("MAIL FROM:<customer@example.net>", 250)?;
        self.command("RCPT TO:<support@kefu.example>", 250)?;
        self.command("DATA", 354)?;
        let mut data = Vec::with_capacity(raw.len() + 64);
        for line in raw.split(|&byte| byte == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.first() == Some(&b'.') {
                data.push(b'.');
            }
            data.extend_from_slice(line);
            data.extend_from_slice(b"\r\n");
        }
        data.extend_from_slice(b".\r\n");
        self.writer.write_all(&data)?;
        self.expect(250)
    }
}

/// Sends `samples[i]` for each index in order on one connection; marks each acknowledged one; stops at
/// the first error (the server went away).
fn deliver(port: u16, samples: Arc<Vec<Sample>>, indexes: Vec<usize>, acked: Arc<Vec<AtomicUsize>>) {
    let Ok(mut client) = SmtpClient::connect(port) else { return };
    for index in indexes {
        if client.send(&samples[index].raw).is_err() {
            return;
        }
        acked[index].fetch_add(1, Ordering::SeqCst);
    }
    let _ = client.command("QUIT", 221);
}

async fn admin_token(base: &str) -> String {
    let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": "admin@kefu.example", "password": "a long enough password" }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let csrf = login["csrf_token"].as_str().expect("csrf").to_owned();
    let token: Value = http
        .post(format!("{base}/api/v1/auth/tokens"))
        .header("x-csrf-token", csrf)
        .json(&json!({ "name": "crash test" }))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token body");
    token["token"].as_str().expect("token").to_owned()
}

fn message_count(default: usize) -> usize {
    std::env::var("KEFU_CRASH_MESSAGES").ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

async fn import_survives_sigkill(database_url: Option<String>, count: usize) {
    let dir = tempfile::tempdir().expect("dir");
    let with_database = |mut command: std::process::Command| {
        if let Some(url) = &database_url {
            command.env("KEFU_DATABASE_URL", url);
        }
        command
    };
    let create = with_database(kefu(dir.path()))
        .args(["user", "create", "--email", "admin@kefu.example", "--role", "admin"])
        .env("KEFU_PASSWORD", "a long enough password")
        .output()
        .expect("kefu user create");
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    let smtp_port = free_port();
    let serve = || {
        let mut command = with_database(kefu(dir.path()));
        command.env("KEFU_SMTP_LISTEN", format!("127.0.0.1:{smtp_port}"));
        command
    };
    let server = Server::start(serve()).await;
    let token = admin_token(&server.base).await;
    let mailbox: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/mailboxes", server.base))
        .bearer_auth(&token)
        .json(&json!({ "address": "support@kefu.example", "name": "客服" }))
        .send()
        .await
        .expect("create mailbox")
        .json()
        .await
        .expect("mailbox");
    let mailbox_id = mailbox["id"].as_i64().expect("mailbox id");

    let samples = Arc::new(samples::generate(count, 2026, "kefu.example"));
    let acked: Arc<Vec<AtomicUsize>> = Arc::new((0..count).map(|_| AtomicUsize::new(0)).collect());
    let acked_total = |acked: &[AtomicUsize]| acked.iter().filter(|n| n.load(Ordering::SeqCst) > 0).count();

    // Import, and kill the server half-way through.
    let started = Instant::now();
    let sender = {
        let (samples, acked) = (samples.clone(), acked.clone());
        std::thread::spawn(move || deliver(smtp_port, samples, (0..count).collect(), acked))
    };
    while acked_total(&acked) < count / 2 {
        assert!(!sender.is_finished(), "the first half of the import stopped early");
        assert!(started.elapsed() < Duration::from_secs(600), "the import is too slow");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.crash();
    sender.join().expect("sender");
    let before_crash = acked_total(&acked);
    assert!(before_crash < count, "the kill landed mid-import");

    // Start again and finish: everything not acknowledged, and the last 100 that were.
    let server = Server::start(serve()).await;
    let last_acked = (0..count).filter(|&i| acked[i].load(Ordering::SeqCst) > 0).collect::<Vec<_>>();
    let mut resend: Vec<usize> = last_acked.iter().rev().take(100).copied().collect();
    resend.extend((0..count).filter(|&i| acked[i].load(Ordering::SeqCst) == 0));
    resend.sort_unstable();
    let sender = {
        let (samples, acked) = (samples.clone(), acked.clone());
        std::thread::spawn(move || deliver(smtp_port, samples, resend, acked))
    };
    tokio::task::spawn_blocking(move || sender.join().expect("sender")).await.expect("join");
    assert_eq!(acked_total(&acked), count, "every message was acknowledged once the server was back");

    // Wait for the processing the crash interrupted (and the rest) to finish.
    let url = database_url.clone().unwrap_or_else(|| format!("sqlite://{}/kefu.db", dir.path().display()));
    let store = kefu_store::Store::connect(&url).await.expect("open the database");
    let counts = loop {
        let counts = store.repo().inbound_counts(mailbox_id).await.expect("counts");
        let waiting = counts.iter().any(|(status, _)| status == "received");
        if !waiting {
            break counts;
        }
        assert!(started.elapsed() < Duration::from_secs(900), "processing did not finish: {counts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let elapsed = started.elapsed();
    let (success, _, stderr) = server.stop();
    assert!(success, "{stderr}");

    let failed = kefu_store::InboundFilter { mailbox_id: Some(mailbox_id), status: Some("failed".into()) };
    let failures = store.repo().list_inbound(&failed, 10, None).await.expect("failures").items;
    let errors: Vec<_> = failures.iter().map(|row| (row.header_message_id.clone(), row.error.clone())).collect();
    assert_eq!(
        counts,
        vec![("processed".to_owned(), count as i64)],
        "every message stored once and processed: {errors:?}"
    );
    let (messages, distinct) = store.repo().mail_message_counts(mailbox_id, "inbound").await.expect("messages");
    assert_eq!((messages, distinct), (count as i64, count as i64), "one ticket message per Message-ID");
    store.close().await;
    println!(
        "{count} messages ({before_crash} acknowledged before SIGKILL, {} resent after): none lost, none duplicated, \
         {:.1} s in all ({:.0} msg/s)",
        count - before_crash + 100.min(before_crash),
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_bulk_import_loses_and_duplicates_nothing_on_sqlite() {
    import_survives_sigkill(None, message_count(1500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_bulk_import_loses_and_duplicates_nothing_on_postgres() {
    let Some(db) = TestDb::new(TestBackend::Postgres).await else { return };
    import_survives_sigkill(Some(db.url.clone()), message_count(600)).await;
}
