//! IMAP against a real server: Debian's `dovecot-imapd`, started by each test on a free loopback port with
//! a throwaway config and Maildir (`.ci/run` installs the package). Messages are delivered into the Maildir
//! the way a local delivery agent does, Kefu's poller fetches them, and the Maildir file names show which
//! messages the server has flagged `\Seen` (the `S` after `:2,`) and that none was deleted (`T`, or a file
//! gone). Dovecot is killed in the middle of a poll and started again: every message ends up stored once,
//! and a message is flagged only once its row was committed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kefu_domain::Role;
use kefu_store::InboundFilter;
use serde_json::json;

use crate::harness::api_test;

const DOVECOT: &str = "/usr/sbin/dovecot";

/// A dovecot serving one user (`kefu` / `secret`) whose INBOX is a Maildir under a temp dir.
struct Dovecot {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

fn id_of(args: &[&str]) -> u32 {
    let output = Command::new("id").args(args).output().expect("id");
    String::from_utf8_lossy(&output.stdout).trim().parse().expect("a numeric id")
}

impl Dovecot {
    fn start() -> Dovecot {
        assert!(
            Path::new(DOVECOT).exists(),
            "this test needs Debian's dovecot-imapd (apt-get install dovecot-imapd; .ci/run installs it)"
        );
        let dir = tempfile::tempdir().expect("dovecot dir");
        let root = dir.path();
        for sub in ["run", "state", "home", "mail/kefu/tmp", "mail/kefu/new", "mail/kefu/cur"] {
            std::fs::create_dir_all(root.join(sub)).expect("dovecot dirs");
        }
        // Dovecot refuses to run its login process or a mail user as root: as root, use the users the
        // Debian package creates; otherwise everything runs as the current user.
        let (internal, login, uid, gid) = if id_of(&["-u"]) == 0 {
            ("dovecot".to_owned(), "dovenull".to_owned(), id_of(&["-u", "dovecot"]), id_of(&["-g", "dovecot"]))
        } else {
            let user =
                String::from_utf8_lossy(&Command::new("id").arg("-un").output().expect("id").stdout).trim().to_owned();
            (user.clone(), user, id_of(&["-u"]), id_of(&["-g"]))
        };
        for sub in ["mail", "mail/kefu", "mail/kefu/tmp", "mail/kefu/new", "mail/kefu/cur", "home"] {
            std::os::unix::fs::chown(root.join(sub), Some(uid), Some(gid)).expect("chown the Maildir");
        }
        std::fs::write(root.join("passwd"), "kefu:{PLAIN}secret::::::\n").expect("passwd");
        let port = free_port();
        let root = root.display();
        let config = format!(
            "base_dir = {root}/run\nstate_dir = {root}/state\nlog_path = {root}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\n\
             auth_mechanisms = plain login\nfirst_valid_uid = 0\n\
             default_internal_user = {internal}\ndefault_internal_group = {internal}\ndefault_login_user = {login}\n\
             mail_location = maildir:{root}/mail/%u\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {root}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={root}/home/%u\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
             \x20 inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n"
        );
        std::fs::write(dir.path().join("dovecot.conf"), config).expect("dovecot.conf");
        let mut dovecot = Dovecot { dir, port, child: None };
        dovecot.spawn();
        dovecot
    }

    /// Starts the master in the foreground, in a process group of its own, and waits for the greeting.
    fn spawn(&mut self) {
        use std::os::unix::process::CommandExt;
        let child = Command::new(DOVECOT)
            .process_group(0)
            .arg("-F")
            .arg("-c")
            .arg(self.dir.path().join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dovecot");
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut greeting = [0u8; 64];
                if stream.read(&mut greeting).is_ok_and(|n| greeting[..n].starts_with(b"* OK")) {
                    let _ = stream.write_all(b"a LOGOUT\r\n");
                    return;
                }
            }
            let log = std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default();
            assert!(started.elapsed() < Duration::from_secs(20), "dovecot did not start: {log}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the master and every process it started (SIGKILL to its process group, as a crash of the
    /// machine's mail server would): open connections drop at once.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
        }
        // The next master may start only once the old processes have let go of the port.
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(started.elapsed() < Duration::from_secs(20), "dovecot's port stayed open after the kill");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail/kefu")
    }

    /// Delivers a message as a local delivery agent does: written into `tmp/`, then renamed into `new/`.
    fn deliver(&self, name: &str, raw: &str) {
        let file = format!("{}.{name}.kefu-test", std::process::id());
        let tmp = self.maildir().join("tmp").join(&file);
        std::fs::write(&tmp, raw.replace('\n', "\r\n")).expect("write a message");
        std::fs::rename(&tmp, self.maildir().join("new").join(&file)).expect("deliver a message");
    }

    /// Every message in the folder: its Message-ID and its Maildir flags (`S` seen, `T` deleted).
    fn messages(&self) -> BTreeMap<String, String> {
        let mut found = BTreeMap::new();
        for sub in ["new", "cur"] {
            for entry in std::fs::read_dir(self.maildir().join(sub)).expect("read the Maildir") {
                let path = entry.expect("entry").path();
                let Ok(content) = std::fs::read_to_string(&path) else { continue };
                let message_id = content
                    .lines()
                    .find_map(|line| line.strip_prefix("Message-ID: "))
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_owned();
                let flags = name.split_once(":2,").map(|(_, flags)| flags.to_owned()).unwrap_or_default();
                found.insert(message_id, flags);
            }
        }
        found
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.kill();
    }
}

fn message(n: usize) -> String {
    format!(
        "From: Customer {n} <customer{n}@example.com>\nTo: imap@kefu.example\nMessage-ID: <imap-{n}@example.com>\n\
         Subject: =?gb2312?B?t6LGsc7KzOI=?= {n}\nContent-Type: text/plain; charset=utf-8\n\n第 {n} 封邮件：我的发票还没有收到。\n"
    )
}

/// The stored inbound rows of a mailbox: Message-ID -> (status, ticket id).
async fn stored(app: &kefu_app::App, mailbox_id: i64) -> BTreeMap<String, (String, Option<i64>)> {
    let filter = InboundFilter { mailbox_id: Some(mailbox_id), status: None };
    let page = app.store().repo().list_inbound(&filter, 1000, None).await.expect("inbound rows");
    let mut rows = BTreeMap::new();
    for row in page.items {
        let key = format!("<{}>", row.header_message_id.clone().unwrap_or_default());
        let previous = rows.insert(key.clone(), (row.status, row.ticket_id.map(|id| id.0)));
        assert!(previous.is_none(), "{key} was stored twice");
    }
    rows
}

async fn imap_mailbox(admin: &crate::harness::Client, port: u16, poll_seconds: u32) -> i64 {
    let mailbox = admin
        .post(
            "/api/v1/mailboxes",
            json!({ "address": "imap@kefu.example", "name": "IMAP",
                    "imap": { "host": "127.0.0.1", "port": port, "security": "none", "username": "kefu",
                              "password": "secret", "poll_seconds": poll_seconds } }),
        )
        .await
        .assert_status(201)
        .clone();
    mailbox["id"].as_i64().expect("mailbox id")
}

api_test!(imap_poll_survives_a_server_crash_mid_poll, |app: &TestApp| async move {
    const COUNT: usize = 80;
    let mut dovecot = Dovecot::start();
    let admin = app.agent("admin@kefu.example", Role::Admin).await;
    let mailbox_id = imap_mailbox(&admin, dovecot.port, 300).await;
    for n in 0..COUNT {
        dovecot.deliver(&format!("m{n}"), &message(n));
    }

    // Poll, and kill the server once part of the folder is stored.
    let poller = {
        let app = app.app.clone();
        tokio::spawn(async move { app.poll_mailbox(mailbox_id, Duration::from_secs(10)).await })
    };
    let started = Instant::now();
    while stored(&app.app, mailbox_id).await.len() < 10 {
        assert!(started.elapsed() < Duration::from_secs(60), "the poll stored nothing");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    dovecot.kill();
    let outcome = poller.await.expect("poll task");
    let before_restart = stored(&app.app, mailbox_id).await;
    assert!(outcome.is_err(), "the poll noticed the server going away");
    assert!(before_restart.len() < COUNT, "the kill landed mid-poll ({} stored)", before_restart.len());
    let flagged = dovecot.messages();
    for (message_id, flags) in &flagged {
        if flags.contains('S') {
            assert!(before_restart.contains_key(message_id), "{message_id} was flagged \\Seen before it was stored");
        }
    }
    let status = admin.get(&format!("/api/v1/mailboxes/{mailbox_id}")).await.assert_status(200).clone();
    assert!(status["last_poll_error"].is_string(), "the failed poll is shown to admins: {status}");

    // Start it again: the next polls fetch the rest; nothing twice.
    dovecot.spawn();
    let mut total = before_restart.len();
    for _ in 0..5 {
        match app.app.poll_mailbox(mailbox_id, Duration::from_secs(10)).await {
            Ok(0) => break,
            Ok(count) => total += count,
            Err(error) => panic!("polling after the restart: {error}"),
        }
    }
    assert_eq!(total, COUNT, "every message stored exactly once across the crash");
    let rows = stored(&app.app, mailbox_id).await;
    assert_eq!(rows.len(), COUNT);
    let tickets: BTreeSet<i64> = rows.values().filter_map(|(_, ticket)| *ticket).collect();
    assert!(rows.values().all(|(status, _)| status == "processed"), "{rows:?}");
    assert_eq!(tickets.len(), COUNT, "one ticket per message");
    let ticket = admin.get(&format!("/api/v1/tickets/{}", tickets.first().expect("a ticket"))).await;
    assert!(ticket.assert_status(200)["subject"].as_str().unwrap_or_default().starts_with("发票问题"));

    // On the server: every message is still there, flagged \Seen, none deleted.
    let messages = dovecot.messages();
    assert_eq!(messages.len(), COUNT, "no message was removed from the folder");
    for (message_id, flags) in &messages {
        assert!(flags.contains('S'), "{message_id} not flagged: {flags:?}");
        assert!(!flags.contains('T'), "{message_id} was flagged deleted");
        assert!(rows.contains_key(message_id));
    }
    assert_eq!(app.app.poll_mailbox(mailbox_id, Duration::from_secs(10)).await.expect("poll"), 0);
    let status = admin.get(&format!("/api/v1/mailboxes/{mailbox_id}")).await.assert_status(200).clone();
    assert!(status["last_poll_error"].is_null(), "a good poll clears the error: {status}");
});

api_test!(imap_idle_fetches_new_mail_at_once_and_reconnects_after_a_restart, |app: &TestApp| async move {
    let mut dovecot = Dovecot::start();
    let admin = app.agent("admin@kefu.example", Role::Admin).await;
    // A five-minute poll interval: only IDLE can bring a message in within seconds.
    let mailbox_id = imap_mailbox(&admin, dovecot.port, 300).await;
    dovecot.deliver("early", &message(0));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let poller = {
        let (app, shutdown) = (app.app.clone(), shutdown.clone());
        tokio::spawn(async move { app.run_imap_poller(shutdown).await })
    };
    let wait_for = |count: usize, limit: Duration| {
        let app = app.app.clone();
        async move {
            let started = Instant::now();
            loop {
                let rows = stored(&app, mailbox_id).await;
                if rows.len() >= count && rows.values().all(|(status, _)| status == "processed") {
                    return started.elapsed();
                }
                assert!(started.elapsed() < limit, "{count} messages not in after {limit:?}: {rows:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(1, Duration::from_secs(20)).await;
    // The watcher is now idle on the folder: a delivery wakes it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    dovecot.deliver("idle", &message(1));
    let took = wait_for(2, Duration::from_secs(10)).await;
    assert!(took < Duration::from_secs(10), "IDLE brought the message in after {took:?}");

    // The server restarts under the idle connection: the watcher reconnects (1 s, 2 s ... backoff).
    dovecot.restart();
    dovecot.deliver("after-restart", &message(2));
    wait_for(3, Duration::from_secs(30)).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), poller).await.expect("the poller stops").expect("poller task");
    let messages = dovecot.messages();
    assert_eq!(messages.len(), 3);
    assert!(messages.values().all(|flags| flags.contains('S') && !flags.contains('T')), "{messages:?}");
});
